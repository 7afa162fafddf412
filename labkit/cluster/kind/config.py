"""kind cluster configs (``clusters/kind/labkit-<n>node(s).yaml``), checked before use.

kind facts the checks hold: ``networking.disableDefaultCNI: true`` (otherwise kindnet runs
and Calico cannot own the pod network), ``podSubnet`` equal to the lab pod CIDR (Calico's
pools must lie inside it), exactly one control-plane node, and nothing but ``networking`` and
``nodes`` (kind 0.32 moved to kubeadm v1beta4 for Kubernetes >= 1.36, so versioned kubeadm
patches break).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from labkit.cluster.address_plan import POD_CIDR
from labkit.cluster.paths import clusters_dir
from labkit.errors import ClusterError

CONFIG_FILES = {1: "labkit-1node.yaml", 3: "labkit-3nodes.yaml"}
ALLOWED_KEYS = {"kind", "apiVersion", "networking", "nodes"}


def config_path(nodes: int, root: Path | None = None) -> Path:
    if nodes not in CONFIG_FILES:
        raise ClusterError(
            f"a lab cluster has 1 or 3 nodes, not {nodes}\n"
            "    fix: use --nodes 1 (small machines) or --nodes 3 (default)"
        )
    return (root or clusters_dir()) / "kind" / CONFIG_FILES[nodes]


def check_config(data: Any, nodes: int, source: str) -> None:
    """Raise :class:`ClusterError` naming the field when ``data`` breaks a rule above."""

    def fail(field: str, message: str) -> ClusterError:
        return ClusterError(f"{source}: {field}: {message}")

    if not isinstance(data, dict):
        raise fail("(document)", "must be a kind Cluster mapping")
    if data.get("kind") != "Cluster" or data.get("apiVersion") != "kind.x-k8s.io/v1alpha4":
        raise fail("kind/apiVersion", "must be Cluster / kind.x-k8s.io/v1alpha4")
    extra = sorted(set(data) - ALLOWED_KEYS)
    if extra:
        raise fail(
            ", ".join(extra),
            "keep the config to networking and nodes (kubeadm patches "
            "break with kind 0.32 on Kubernetes >= 1.36)",
        )
    net = data.get("networking") or {}
    if net.get("disableDefaultCNI") is not True:
        raise fail(
            "networking.disableDefaultCNI",
            "must be true so Calico, not kindnet, enforces NetworkPolicy",
        )
    if net.get("podSubnet") != POD_CIDR:
        raise fail(
            "networking.podSubnet",
            f"must be {POD_CIDR} (the lab address plan), found {net.get('podSubnet')!r}",
        )
    roles = [n.get("role") for n in data.get("nodes") or [] if isinstance(n, dict)]
    if len(roles) != nodes or roles.count("control-plane") != 1:
        raise fail(
            "nodes", f"must hold {nodes} node(s) with exactly one control-plane, found {roles}"
        )


def load_config(nodes: int, root: Path | None = None) -> tuple[Path, str]:
    """The checked config file for ``nodes`` and its text (what ``kind create`` reads)."""
    path = config_path(nodes, root)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise ClusterError(f"{path}: cannot read the kind config: {exc}") from exc
    check_config(data, nodes, str(path))
    return path, text
