"""A progress bar for long cluster operations in a notebook.

:class:`NotebookProgress` implements :class:`labkit.cluster.progress.Progress`. In a kernel
whose frontend can show widgets it displays an ipywidgets bar with a status line and the list
of finished steps; elsewhere (a plain Python shell, a script, no ipywidgets) it reports through
``logging`` like :class:`labkit.cluster.progress.LogProgress`. Either way it logs each step,
so a notebook run by nbclient leaves the same trace as the CLI.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, replace
from typing import Any

from labkit.cluster.progress import LogProgress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProgressState:
    """What a progress display shows: finished steps, the current one and its count. Each
    event returns the next state."""

    done: tuple[str, ...] = ()
    current: str = ""
    total: int | None = None
    count: int = 0
    message: str = ""
    finished: bool = False
    failed: bool = False

    def _closed(self) -> tuple[str, ...]:
        return (*self.done, self.current) if self.current else self.done

    def step(self, name: str, total: int | None) -> ProgressState:
        return ProgressState(self._closed(), name, total)

    def advance(self, message: str) -> ProgressState:
        return replace(self, count=self.count + 1, message=message or self.message)

    def finish(self, message: str, *, failed: bool = False) -> ProgressState:
        return ProgressState(self._closed(), "", None, 0, message, True, failed)

    @property
    def bar(self) -> tuple[int, int]:
        """``(value, max)`` for a bar: sub-steps when known, else a step that fills on finish."""
        if self.finished:
            return (1, 1)
        if self.total:
            return (min(self.count, self.total), self.total)
        return (0, 1)

    def status_html(self) -> str:
        lines = [f"<div>✓ {html.escape(step)}</div>" for step in self.done]
        if self.current:
            counter = f" ({self.count}/{self.total})" if self.total else ""
            detail = f": {html.escape(self.message)}" if self.message else ""
            lines.append(f"<div><b>{html.escape(self.current)}</b>{counter}{detail}</div>")
        elif self.message:
            mark = "✗" if self.failed else "✓"
            lines.append(f"<div><b>{mark} {html.escape(self.message)}</b></div>")
        return "".join(lines)


def widgets_frontend() -> bool:
    """True inside a Jupyter kernel (a frontend that renders widgets) with ipywidgets."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


class NotebookProgress:
    """A notebook progress bar that falls back to logging without a widgets frontend."""

    def __init__(self, title: str = "", *, use_widgets: bool | None = None) -> None:
        self.title = title
        self.state = ProgressState()
        self._log = LogProgress()
        self._use_widgets = widgets_frontend() if use_widgets is None else use_widgets
        self._bar: Any = None
        self._status: Any = None
        self.widget: Any = None

    @property
    def uses_widgets(self) -> bool:
        return self._use_widgets

    def _ensure_widget(self) -> None:
        if not self._use_widgets or self.widget is not None:
            return
        import ipywidgets as widgets

        self._bar = widgets.IntProgress(
            value=0, min=0, max=1, bar_style="info", layout=widgets.Layout(width="30em")
        )
        self._status = widgets.HTML(value="")
        parts = [self._bar, self._status]
        if self.title:
            parts.insert(0, widgets.HTML(value=f"<b>{html.escape(self.title)}</b>"))
        self.widget = widgets.VBox(parts)
        self.widget.add_class("labkit-progress")
        from IPython.display import display

        display(self.widget)  # type: ignore[no-untyped-call]

    def _render(self) -> None:
        if self.widget is None:
            return
        value, maximum = self.state.bar
        self._bar.max = maximum
        self._bar.value = value
        if self.state.finished:
            self._bar.bar_style = "danger" if self.state.failed else "success"
        self._status.value = self.state.status_html()

    def step(self, name: str, total: int | None = None) -> None:
        self._log.step(name, total)
        self.state = self.state.step(name, total)
        self._ensure_widget()
        self._render()

    def advance(self, message: str = "") -> None:
        self._log.advance(message)
        self.state = self.state.advance(message)
        self._render()

    def finish(self, message: str = "") -> None:
        self._log.finish(message)
        self.state = self.state.finish(message)
        self._ensure_widget()
        self._render()

    def fail(self, message: str) -> None:
        """End in error: the bar turns red and the message says what failed."""
        log.error("%s", message)
        self.state = self.state.finish(message, failed=True)
        self._ensure_widget()
        self._render()
