"""Progress of long cluster operations as a status line on stderr.

On a terminal one line is rewritten in place (``[2/5] Installing Calico: waiting for
calico-node (34 s)``) and each finished step stays on screen; when stderr is a file or a pipe
every step and message is written on its own line, so logs stay readable.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO


class TerminalProgress:
    """Implements :class:`labkit.cluster.progress.Progress` for the command line."""

    def __init__(
        self, stream: TextIO | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.steps = 0
        self.name = ""
        self.total: int | None = None
        self.done = 0
        self.started = clock()
        self._line_open = False

    def step(self, name: str, total: int | None = None) -> None:
        self._close_line()
        self.steps += 1
        self.name, self.total, self.done = name, total, 0
        self.started = self.clock()
        self._show("")

    def advance(self, message: str = "") -> None:
        self.done += 1
        self._show(message)

    def finish(self, message: str = "") -> None:
        self._close_line()
        if message:
            self.stream.write(message + "\n")
            self.stream.flush()

    # -- drawing ---------------------------------------------------------------------------
    def _text(self, message: str) -> str:
        count = ""
        if self.total:
            count = f" [{min(self.done, self.total)}/{self.total}]"
        elapsed = self.clock() - self.started
        clock = f" ({elapsed:.0f} s)" if elapsed >= 1 else ""
        return f"{self.name}{count}{': ' + message if message else ''}{clock}"

    def _show(self, message: str) -> None:
        text = self._text(message)
        if self.tty:
            width = max(20, shutil.get_terminal_size((100, 20)).columns - 1)
            if len(text) > width:
                text = text[: width - 1] + "…"
            self.stream.write("\r\x1b[2K" + text)
            self._line_open = True
        elif self.done == 0:
            self.stream.write(self.name + "\n")
        elif message:
            self.stream.write("  " + message + "\n")
        self.stream.flush()

    def _close_line(self) -> None:
        if self._line_open:
            self.stream.write("\r\x1b[2K" + self._text("done") + "\n")
            self.stream.flush()
            self._line_open = False
