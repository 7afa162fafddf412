"""Options of the kind cluster and the kind commands labkit runs (``kind create``,
``delete``, ``export kubeconfig``, ``get clusters``), each with labkit's own kubeconfig."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from labkit.cluster import commands
from labkit.cluster.kind.pins import Pins, load_pins
from labkit.cluster.paths import default_kubeconfig

log = logging.getLogger(__name__)


def _default_node_image() -> str:
    return load_pins().node_image.image


@dataclass(frozen=True)
class KindOptions:
    """How to build the kind cluster. ``node_image`` defaults to the pinned image (by
    digest); on a cgroup v1 host the pinned default is swapped for the cgroup v1 pin."""

    name: str = "labkit"
    nodes: int = 3
    calico_mode: str = "manifest"
    """``manifest`` (calico.yaml, every image pinned by digest) until the operator's ImageSet
    digests are recorded in ``clusters/calico/versions.yaml``; ``operator`` refuses to start
    while any of them is missing (labkit never runs a Calico image by tag)."""
    kubeconfig: Path = field(default_factory=default_kubeconfig)
    node_image: str = field(default_factory=_default_node_image)
    timeout_s: float = 1200.0
    """The whole `up` budget; Calico's own CI allows 10-20 minutes for a cold install."""
    calico_version: str = ""
    """``""``: the pinned default release."""
    resolve_digests: bool = False
    """Opt-in (``labkit up --resolve-digests``): a Calico image of the install whose pin has
    no digest is pulled by tag on the host and the digest the registry served is recorded in
    the lab folder and used (trusted on first use; see
    :func:`labkit.cluster.kind.images.ensure_digests`). Digests recorded earlier are used
    whether or not this is set."""

    @property
    def context(self) -> str:
        return f"kind-{self.name}"


def effective_node_image(options: KindOptions, pins: Pins, cgroup_v2: bool) -> tuple[str, str]:
    """``(image, why)``: the cgroup v1 pin replaces the default pin on cgroup v1 hosts."""
    if options.node_image == pins.node_image.image and not cgroup_v2:
        return (
            pins.node_image_cgroup_v1.image,
            "cgroup v1 host: Kubernetes >= 1.35 node images need cgroup v2",
        )
    if "@sha256:" not in options.node_image:
        log.warning(
            "node image %s is not pinned by digest; kind only guarantees images built "
            "for its release",
            options.node_image,
        )
    return (
        options.node_image,
        "pinned default" if options.node_image == pins.node_image.image else "chosen by the user",
    )


def kubernetes_minor(image: str) -> str:
    match = re.search(r":v(\d+)\.(\d+)", image)
    return f"{match[1]}.{match[2]}" if match else "1.36"


# -- kind commands -----------------------------------------------------------------------------
def kind_clusters() -> list[str]:
    done = commands.run(
        ["kind", "get", "clusters"], timeout=60, hint="is Docker running? `docker info` must work"
    )
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def create_command(options: KindOptions, config: Path, image: str) -> list[str]:
    return [
        "kind",
        "create",
        "cluster",
        "--name",
        options.name,
        "--config",
        str(config),
        "--image",
        image,
        "--kubeconfig",
        str(options.kubeconfig),
    ]


def delete_command(options: KindOptions) -> list[str]:
    return [
        "kind",
        "delete",
        "cluster",
        "--name",
        options.name,
        "--kubeconfig",
        str(options.kubeconfig),
    ]


def export_kubeconfig(options: KindOptions) -> None:
    options.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    commands.run(
        [
            "kind",
            "export",
            "kubeconfig",
            "--name",
            options.name,
            "--kubeconfig",
            str(options.kubeconfig),
        ],
        timeout=60,
    )
