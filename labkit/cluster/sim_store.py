"""Where the simulated cluster keeps its objects: a JSON file, or memory.

The file (``<lab folder>/simulated.json``) lets the CLI and a notebook see the same cluster.
Writers hold an exclusive ``fcntl`` lock on ``simulated.json.lock`` for the whole
read-modify-write, and replace the file atomically, so readers need no lock: they see the old
state or the new one, never a mix, and two writers never lose each other's changes.
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

from labkit.cluster.labdir import write_json_atomic
from labkit.errors import ClusterError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, single writer assumed
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

FORMAT = 1
Entry = dict[str, Any]
"""``{"source": "<file:line>", "object": {...}}``: one stored object and where it came from."""
T = TypeVar("T")


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
        except OSError as exc:
            raise ClusterError(
                f"cannot read the simulated cluster state {self.path}: {exc}"
            ) from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._damaged(f"not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise self._damaged(f'unknown format (expected {{"format": {FORMAT}, ...}})')
        objects = data.get("objects")
        if not isinstance(objects, list) or not all(
            isinstance(e, dict) and isinstance(e.get("object"), dict) for e in objects
        ):
            raise self._damaged("'objects' must be a list of {source, object} entries")
        return objects

    def _damaged(self, why: str) -> ClusterError:
        return ClusterError(
            f"the simulated cluster state {self.path} is damaged: {why}; run `labkit reset` to "
            "recreate the lab topology (your applied objects are lost)"
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

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
        with self._locked():
            existed = self.path.is_file()
            self.path.unlink(missing_ok=True)
        return existed
