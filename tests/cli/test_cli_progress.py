"""The status line of long cluster operations."""

from __future__ import annotations

import io

from labkit.cli.progress import TerminalProgress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_one_line_per_step_and_message() -> None:
    out = io.StringIO()
    progress = TerminalProgress(out, clock=lambda: 0.0)
    progress.step("Creating the cluster", 2)
    progress.advance("nodes ready")
    progress.advance("")
    progress.step("Installing Calico")
    progress.finish("cluster ready")
    assert out.getvalue().splitlines() == [
        "Creating the cluster",
        "  nodes ready",
        "Installing Calico",
        "cluster ready",
    ]


def test_a_terminal_gets_one_line_rewritten_in_place() -> None:
    now = [0.0]
    out = Tty()
    progress = TerminalProgress(out, clock=lambda: now[0])
    progress.step("Installing Calico", 3)
    now[0] = 12.0
    progress.advance("waiting for calico-node")
    text = out.getvalue()
    assert "\n" not in text
    assert text.endswith("\r\x1b[2KInstalling Calico [1/3]: waiting for calico-node (12 s)")
    progress.finish("done")
    assert out.getvalue().endswith("\ndone\n")
