"""The container engine kind runs its nodes on (docker or podman), detected as kind does.

kind's CLI (``sigs.k8s.io/kind/pkg/cluster/provider.go``, ``DetectNodeProvider``, and the
``KIND_EXPERIMENTAL_PROVIDER`` switch of ``pkg/cmd/kind/root``): the variable wins when set;
otherwise docker when ``docker -v`` says ``Docker version`` (the podman-docker shim says
``podman version``), then podman, and docker as the fallback. labkit runs every image
command (inspect, pull, tag, save, load, network inspect, stats) through the same engine,
so an image saved or pulled is the one kind's nodes can load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from labkit.cluster import commands
from labkit.errors import CommandFailed, PrerequisiteMissing

PROVIDER_ENV = "KIND_EXPERIMENTAL_PROVIDER"
ENGINES = ("docker", "podman")


@dataclass(frozen=True)
class Engine:
    """The engine's program name and the few places its command line differs."""

    tool: str

    @property
    def is_podman(self) -> bool:
        return self.tool == "podman"

    def save_command(self, archive: str, refs: list[str], plat: str | None) -> list[str]:
        """``docker save [--platform P] -o A refs...``; podman saves one platform anyway
        (it pulls one) and needs ``--multi-image-archive`` for more than one image."""
        if self.is_podman:
            multi = ["--multi-image-archive"] if len(refs) > 1 else []
            return [self.tool, "save", *multi, "-o", archive, *refs]
        platform = ["--platform", plat] if plat else []
        return [self.tool, "save", *platform, "-o", archive, *refs]

    def arch_command(self) -> list[str]:
        """The engine's CPU architecture (``docker``: ``x86_64``/``aarch64``; podman:
        ``amd64``/``arm64``)."""
        if self.is_podman:
            return [self.tool, "info", "--format", "{{.Host.Arch}}"]
        return [self.tool, "version", "--format", "{{.Server.Arch}}"]

    def kind_env(self) -> dict[str, str]:
        """What kind must see to use this engine (podman only by the variable)."""
        return {PROVIDER_ENV: "podman"} if self.is_podman else {}


def _says_docker() -> bool:
    try:
        done = commands.run(["docker", "-v"], timeout=15, check=False)
    except (PrerequisiteMissing, CommandFailed):
        return False
    return done.ok and done.stdout.startswith("Docker version")


def detect() -> Engine:
    """The engine kind would use here (see the module docstring)."""
    chosen = os.environ.get(PROVIDER_ENV, "").strip()
    if chosen:
        return Engine(chosen)
    has_docker = commands.which("docker") is not None
    has_podman = commands.which("podman") is not None
    if has_docker and (not has_podman or _says_docker()):
        return Engine("docker")
    if has_podman:
        return Engine("podman")
    return Engine("docker")
