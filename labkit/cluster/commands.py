"""The one place labkit runs a program (kind, kubectl, docker, podman).

:func:`run` turns every failure into a labkit error that says what ran, how it ended and
what to do: a missing program raises :class:`PrerequisiteMissing` with an install hint; a
non-zero exit raises :class:`CommandFailed` with the command, exit status, the end of its
stderr and a hint; a timeout raises :class:`CommandFailed` with ``timed_out=True`` (the
child is killed). Standard input is closed unless ``input`` is given, so a program never
waits for a keyboard. When the output shows a failed image pull (``docker pull`` behind a
proxy, ``kind create`` pulling the node image), the hint says how to carry the images in
(:mod:`labkit.cluster.image_pull`).
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from labkit.cluster.image_pull import pull_hint
from labkit.errors import CommandFailed, PrerequisiteMissing

log = logging.getLogger(__name__)

INSTALL_HINTS: dict[str, str] = {
    "docker": "install Docker Engine (Linux) or Docker Desktop and start it: "
    "https://docs.docker.com/engine/install/ (or run `labkit up --simulated`)",
    "kind": "install kind v0.32.0: https://kind.sigs.k8s.io/docs/user/quick-start/#installation "
    "(for example `go install sigs.k8s.io/kind@v0.32.0`)",
    "kubectl": "install kubectl within one minor version of the cluster (1.36): "
    "https://kubernetes.io/docs/tasks/tools/",
    "podman": "install podman, or use Docker: https://podman.io/docs/installation",
}


@dataclass(frozen=True)
class Completed:
    """A finished command: its exit status, output and how long it took."""

    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def which(tool: str) -> str | None:
    """The full path of ``tool`` on ``PATH``, or ``None``."""
    return shutil.which(tool)


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data


def run(
    cmd: Sequence[str],
    *,
    timeout: float,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    hint: str = "",
    check: bool = True,
) -> Completed:
    """Run ``cmd`` and capture its output.

    ``env`` adds to (and overrides) the current environment. With ``check`` (the default) a
    non-zero exit raises :class:`CommandFailed`; without it the caller reads ``returncode``.
    Timeouts and a missing program raise in both cases.
    """
    command = tuple(str(part) for part in cmd)
    if not command:
        raise ValueError("run() needs a command")
    tool = command[0]
    shown = shlex.join(command)
    if which(tool) is None:
        raise PrerequisiteMissing(
            f"`{tool}` is not installed or not on PATH (needed to run `{shown}`)\n"
            f"    fix: {INSTALL_HINTS.get(_program_name(tool), f'install {tool} and put it on PATH')}"
        )
    full_env = None if env is None else {**os.environ, **env}
    log.debug("running %s (timeout %.0fs)", shown, timeout)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            list(command),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=full_env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(
            command,
            None,
            _text(exc.stderr),
            hint
            or f"it did not finish within {timeout:.0f} s; check that the cluster and "
            "Docker respond, then try again",
            timed_out=True,
        ) from None
    except OSError as exc:  # found on PATH but cannot be executed
        raise PrerequisiteMissing(
            f"`{tool}` cannot be run: {exc}\n"
            f"    fix: {INSTALL_HINTS.get(_program_name(tool), f'reinstall {tool}')}"
        ) from None
    seconds = time.monotonic() - started
    done = Completed(command, proc.returncode, proc.stdout, proc.stderr, seconds)
    log.debug("%s exited %d after %.2fs", tool, proc.returncode, seconds)
    if check and proc.returncode != 0:
        output = proc.stderr or proc.stdout
        raise CommandFailed(command, proc.returncode, output, _with_pull_fix(hint, output))
    return done


def _with_pull_fix(hint: str, output: str) -> str:
    """``hint``, followed by the image-pull fix when ``output`` shows a failed pull."""
    fix = pull_hint(output)
    if not fix or fix in hint:
        return hint
    return f"{hint}; {fix}" if hint else fix


def _program_name(tool: str) -> str:
    """``/usr/bin/kubectl`` -> ``kubectl`` (hints are keyed by program name)."""
    return os.path.basename(tool)
