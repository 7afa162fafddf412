"""The lab folder: where the backend record and the simulated cluster's state live.

The lab folder is ``$LABKIT_HOME`` when set, else ``<project>/.labkit`` where ``<project>`` is
the nearest directory at or above the current one whose ``pyproject.toml`` names the ``labkit``
project, else the checkout the package was imported from (an editable install), else
``~/.labkit``. It holds the backend record (``cluster.json``) and the simulated cluster's state
(``simulated.json``), next to kind's kubeconfig (``kubeconfig``) and the Calico image digests
resolved by ``labkit up --resolve-digests`` (``calico-digests.json``).

Problems with the folder are :class:`~labkit.errors.LabFolderError` that say so: a path that is
not a folder (``LABKIT_HOME=/dev/null``), a folder where files cannot be created
(``/proc/1``), a permission problem. Files are written atomically through a temporary file
named after the writing process (``.cluster.json.<pid>.<random>.tmp``); one left behind by a
killed process is removed by the next write.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from labkit.errors import LabFolderError

log = logging.getLogger(__name__)

HOME_ENV = "LABKIT_HOME"
PACKAGE_DIR = Path(__file__).resolve().parent
"""``labkit/cluster``; its ``data/`` folder ships the topology inside the package."""


def _names_labkit(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    project = data.get("project")
    return isinstance(project, dict) and project.get("name") == "labkit"


def find_project(start: Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` (default: cwd) holding labkit's
    ``pyproject.toml``, else the checkout beside the imported package; ``None`` for a plain
    install used outside a checkout."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and _names_labkit(candidate):
            return folder
    beside = PACKAGE_DIR.parents[1]
    return beside if _names_labkit(beside / "pyproject.toml") else None


def lab_home() -> Path:
    """The lab folder (created on first write, not here); raises :class:`LabFolderError`
    when the path exists and is not a folder."""
    env = os.environ.get(HOME_ENV)
    if env:
        home = Path(env).expanduser()
    else:
        root = find_project()
        home = root / ".labkit" if root is not None else Path.home() / ".labkit"
    _check_is_folder(home, from_env=bool(env))
    return home


def _where(home: Path, from_env: bool) -> str:
    return f"{HOME_ENV}={home}" if from_env else f"the lab folder {home}"


def _fix(from_env: bool) -> str:
    return (
        f"set {HOME_ENV} to a folder you can write (it is created when missing), or unset it"
        if from_env
        else f"move that file away, or set {HOME_ENV} to a folder you can write"
    )


def _check_is_folder(home: Path, *, from_env: bool) -> None:
    try:
        mode = os.stat(home).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise LabFolderError(
            f"{_where(home, from_env)} cannot be used: {exc.strerror}\n    fix: {_fix(from_env)}"
        ) from None
    if not stat.S_ISDIR(mode):
        raise LabFolderError(
            f"{_where(home, from_env)} is not a folder (it is {_file_type(mode)}); labkit keeps "
            f"the lab's state in a folder\n    fix: {_fix(from_env)}"
        )


def _file_type(mode: int) -> str:
    for test, name in (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a folder"


def folder_error(path: Path, exc: OSError, doing: str) -> LabFolderError:
    """A :class:`LabFolderError` for ``exc`` raised while ``doing`` ``path`` (``"write"``,
    ``"read"``, ``"lock"``): a permission problem says so, as does a folder where no file can
    be created."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        why = f"permission denied ({doing} {path})"
        fix = (
            f"give yourself access (`ls -ld {path.parent}` shows the owner), or set "
            f"{HOME_ENV} to a folder of yours"
        )
    elif exc.errno == errno.EROFS:
        why = f"{path.parent} is on a read-only file system"
        fix = f"set {HOME_ENV} to a folder you can write"
    elif exc.errno == errno.ELOOP:
        why = f"{path} is a symbolic link, and labkit does not follow links for its own files"
        fix = f"delete the link (`rm {path}`); labkit creates the file again"
    elif exc.errno == errno.ENOENT and path.parent.is_dir():
        why = f"files cannot be created in {path.parent}, which is not an ordinary folder"
        fix = f"set {HOME_ENV} to a folder you can write (it is created when missing)"
    elif exc.errno == errno.ENOSPC:
        why = f"no space left on the device of {path.parent}"
        fix = f"free some space, or set {HOME_ENV} to a folder on another disk"
    else:
        why = f"cannot {doing} {path}: {exc.strerror or exc}"
        fix = f"set {HOME_ENV} to an ordinary folder you can write (it is created when missing)"
    return LabFolderError(f"the lab folder cannot be used: {why}\n    fix: {fix}")


def project_clusters_dir() -> Path | None:
    """The project's ``clusters/`` folder, or ``None`` for a plain wheel install."""
    root = find_project()
    folder = root / "clusters" if root is not None else None
    if folder is not None and folder.is_dir():
        return folder
    packaged = Path(__file__).resolve().parents[1] / "_clusters"  # wheel: force-included copy
    return packaged if packaged.is_dir() else None


def cluster_record_path(home: Path | None = None) -> Path:
    return (home or lab_home()) / "cluster.json"


def simulated_state_path(home: Path | None = None) -> Path:
    return (home or lab_home()) / "simulated.json"


CALICO_DIGESTS = "calico-digests.json"
"""Calico image digests resolved on this machine by ``--resolve-digests`` (trusted on first
use, not pinned in the repository): image -> digest, with when and how each was resolved."""


def calico_digests_path(home: Path | None = None) -> Path:
    """``<lab folder>/calico-digests.json``, beside ``cluster.json``."""
    return (home or lab_home()) / CALICO_DIGESTS


def make_folder(folder: Path) -> None:
    """``mkdir -p folder``, with a :class:`LabFolderError` that says why it failed."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise LabFolderError(
            f"the lab folder cannot be used: {folder} exists and is not a folder\n    fix: "
            f"move it away, or set {HOME_ENV} to a folder you can write"
        ) from None
    except OSError as exc:
        raise folder_error(folder, exc, "create") from None


STALE_TEMPORARY_S = 600.0
"""A temporary file older than this is left over whatever its name says (a write takes
milliseconds)."""


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def remove_stale_temporaries(path: Path, *, now: float | None = None) -> list[Path]:
    """Remove the temporary files of ``path`` that a killed writer left behind: those whose
    process (the pid in the name) is gone, and any older than :data:`STALE_TEMPORARY_S`.
    Only regular files are touched (never through a symbolic link). Returns what was removed."""
    now = time.time() if now is None else now
    removed = []
    prefix = _temporary_prefix(path)
    try:
        names = [n for n in os.listdir(path.parent) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return []
    for name in names:
        candidate = path.parent / name
        try:
            info = os.lstat(candidate)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        pid = name[len(prefix) :].split(".", 1)[0]
        owner_gone = pid.isdigit() and not _process_alive(int(pid))
        if owner_gone or now - info.st_mtime > STALE_TEMPORARY_S:
            try:
                candidate.unlink()
            except OSError:
                continue
            log.info("removed %s, left by a writer that was killed", candidate)
            removed.append(candidate)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except (OverflowError, OSError):
        return False
    return True


def temporary_beside(path: Path) -> tuple[int, str]:
    """``(fd, name)`` of a new temporary file next to ``path``, to be renamed over it.

    Its name carries the writer's pid (``.<name>.<pid>.<random>.tmp``) so that the next
    writer removes it if this process is killed first (:func:`remove_stale_temporaries`,
    called here)."""
    remove_stale_temporaries(path)
    try:
        return tempfile.mkstemp(
            prefix=f"{_temporary_prefix(path)}{os.getpid()}.", suffix=".tmp", dir=path.parent
        )
    except OSError as exc:
        raise folder_error(path, exc, "write") from None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    make_folder(path.parent)
    fd, tmp = temporary_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise folder_error(path, exc, "write") from None
        raise
