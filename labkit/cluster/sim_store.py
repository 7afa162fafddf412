"""Where the simulated cluster keeps its objects: a JSON file, or memory.

The file (``<lab folder>/simulated.json``) lets the CLI and a notebook see the same cluster.
Writers hold an exclusive ``fcntl`` lock on ``simulated.json.lock`` for the whole
read-modify-write, and replace the file atomically, so readers need no lock: they see the old
state or the new one, never a mix, and two writers never lose each other's changes. The lock
file is opened with ``O_NOFOLLOW``: a symbolic link put in its place is refused, never followed.
A file that cannot be read for lack of permission says so; only a file whose content is wrong
is "damaged" (:class:`StateDamaged`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from labkit.cluster.labdir import folder_error, make_folder, write_json_atomic
from labkit.errors import ClusterError
from labkit.model.objects import MANAGED_LABEL

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, single writer assumed
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

FORMAT = 2
"""2: objects applied through labkit carry ``labkit.dev/managed: "true"``. A format 1 file
(labkit did not label then, and nothing else wrote the file) is read with that label added to
every object outside the system namespaces, so ``labkit reset`` still finds the learner's."""
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
Entry = dict[str, Any]
"""``{"source": "<file:line>", "object": {...}}``: one stored object and where it came from."""
T = TypeVar("T")
LOCK_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class StateDamaged(ClusterError):
    """The simulated cluster's state file exists but its content is not a state."""


class Store(Protocol):
    """Ordered stored objects with an atomic read-modify-write."""

    def exists(self) -> bool: ...

    def read(self) -> list[Entry]: ...

    def stamp(self) -> object:
        """Changes whenever the contents change (a cache key)."""
        ...

    def update(self, change: Callable[[list[Entry]], tuple[list[Entry], T]]) -> T: ...

    def replace(self, entries: list[Entry]) -> None: ...

    def remove(self) -> bool: ...


class MemoryStore:
    """A store that lives as long as the object: canaries and throwaway clusters."""

    def __init__(self, entries: list[Entry] | None = None) -> None:
        self._entries: list[Entry] | None = copy.deepcopy(entries) if entries is not None else None
        self._generation = 0

    def exists(self) -> bool:
        return self._entries is not None

    def read(self) -> list[Entry]:
        if self._entries is None:
            raise ClusterError("this simulated cluster has not been created")
        return copy.deepcopy(self._entries)

    def stamp(self) -> object:
        return self._generation

    def update(self, change: Callable[[list[Entry]], tuple[list[Entry], T]]) -> T:
        entries, result = change(self.read())
        self.replace(entries)
        return result

    def replace(self, entries: list[Entry]) -> None:
        self._entries = copy.deepcopy(entries)
        self._generation += 1

    def remove(self) -> bool:
        existed = self._entries is not None
        self._entries = None
        self._generation += 1
        return existed


class FileStore:
    """The state file shared by every process that uses the same lab folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")

    def exists(self) -> bool:
        return self.path.is_file()

    def stamp(self) -> object:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def read(self) -> list[Entry]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ClusterError(
                f"there is no simulated cluster at {self.path}; start one with "
                "`labkit up --backend simulated` (or lab.up() in a notebook)"
            ) from None
        except UnicodeDecodeError as exc:
            raise self._damaged(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:
            raise folder_error(self.path, exc, "read") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._damaged(f"not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict) or data.get("format") not in (1, FORMAT):
            raise self._damaged(f'unknown format (expected {{"format": {FORMAT}, ...}})')
        objects = data.get("objects")
        if not isinstance(objects, list) or not all(
            isinstance(e, dict) and isinstance(e.get("object"), dict) for e in objects
        ):
            raise self._damaged("'objects' must be a list of {source, object} entries")
        return objects if data["format"] == FORMAT else [_labelled_v1(e) for e in objects]

    def _damaged(self, why: str) -> StateDamaged:
        return StateDamaged(
            f"the simulated cluster state {self.path} is damaged: {why}; run `labkit reset` to "
            "recreate the lab topology (your applied objects are lost)"
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        make_folder(self.lock_path.parent)
        try:
            fd = os.open(self.lock_path, LOCK_FLAGS, 0o600)
        except OSError as exc:
            raise folder_error(self.lock_path, exc, "lock") from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def update(self, change: Callable[[list[Entry]], tuple[list[Entry], T]]) -> T:
        with self._locked():
            entries, result = change(self.read())
            self._write(entries)
        return result

    def replace(self, entries: list[Entry]) -> None:
        with self._locked():
            self._write(entries)

    def _write(self, entries: list[Entry]) -> None:
        write_json_atomic(
            self.path, {"format": FORMAT, "kind": "labkit-simulated-cluster", "objects": entries}
        )

    def remove(self) -> bool:
        if not self.path.is_file():
            return False
        with self._locked():
            existed = self.path.is_file()
            self.path.unlink(missing_ok=True)
        return existed


def _labelled_v1(entry: Entry) -> Entry:
    """A format 1 entry with the managed label that labkit now gives what it applies (not
    to the system namespaces and their objects, which labkit did not apply)."""
    obj = entry["object"]
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return entry
    if obj.get("kind") == "Namespace":
        system = meta.get("name") in SYSTEM_NAMESPACES
    else:  # the learner's objects may well be in "default"
        system = meta.get("namespace") in SYSTEM_NAMESPACES - {"default"}
    if system:
        return entry
    found = meta.get("labels")
    labels: dict[str, Any] = found if isinstance(found, dict) else {}
    new_meta = {**meta, "labels": {**labels, MANAGED_LABEL: "true"}}
    return {**entry, "object": {**obj, "metadata": new_meta}}
