"""The lab folder: where the backend record and the simulated cluster's state live.

The lab folder is ``$LABKIT_HOME`` when set, else ``<project>/.labkit`` where ``<project>`` is
the nearest directory at or above the current one whose ``pyproject.toml`` names the ``labkit``
project, else the checkout the package was imported from (an editable install), else
``~/.labkit``. It holds the backend record (``cluster.json``) and the simulated cluster's state
(``simulated.json``), next to kind's kubeconfig (``kubeconfig``).
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

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
    """The lab folder (created on first write, not here)."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    root = find_project()
    return root / ".labkit" if root is not None else Path.home() / ".labkit"


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


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
