"""Progress reporting for long cluster operations (a status line, or a notebook bar)."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class Progress(Protocol):
    """Receives the steps of a long operation. ``step`` starts a named step (``total`` sub-steps
    when known), ``advance`` reports a sub-step or a waiting message, ``finish`` ends."""

    def step(self, name: str, total: int | None = None) -> None: ...

    def advance(self, message: str = "") -> None: ...

    def finish(self, message: str = "") -> None: ...


class LogProgress:
    """Progress through ``logging`` (the default in library code)."""

    def step(self, name: str, total: int | None = None) -> None:
        log.info("%s", name)

    def advance(self, message: str = "") -> None:
        if message:
            log.info("  %s", message)

    def finish(self, message: str = "") -> None:
        if message:
            log.info("%s", message)
