"""Pinned versions (``clusters/calico/versions.yaml``): kind, node images by digest, Calico
releases with manifest URLs, sizes and sha256 sums, and the images each install runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labkit.cluster.paths import clusters_dir
from labkit.errors import ClusterError

SHA256 = re.compile(r"^[0-9a-f]{64}$")
DIGEST_REF = re.compile(r"^[a-z0-9./-]+:v?[0-9][\w.-]*@sha256:[0-9a-f]{64}$")
CALICO_MODES = ("operator", "manifest")


@dataclass(frozen=True)
class ManifestPin:
    role: str
    url: str
    size: int
    sha256: str

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CalicoRelease:
    version: str
    operator_image: str
    tested_kubernetes: tuple[str, ...]
    manifests: tuple[ManifestPin, ...]
    operator_images: tuple[str, ...]
    manifest_images: tuple[str, ...]

    def manifest(self, role: str) -> ManifestPin:
        for pin in self.manifests:
            if pin.role == role:
                return pin
        raise ClusterError(f"Calico {self.version}: no manifest pinned for {role!r}")

    def images(self, mode: str) -> tuple[str, ...]:
        return self.operator_images if mode == "operator" else self.manifest_images


@dataclass(frozen=True)
class NodeImage:
    image: str
    kubernetes: str
    cgroup: str


@dataclass(frozen=True)
class Pins:
    source: str
    kind_version: str
    kind_min_version: str
    kubectl_version: str
    node_image: NodeImage
    node_image_cgroup_v1: NodeImage
    agnhost_image: str
    calico_default: str
    calico: tuple[CalicoRelease, ...]

    def calico_release(self, version: str | None = None) -> CalicoRelease:
        wanted = version or self.calico_default
        for rel in self.calico:
            if rel.version == wanted:
                return rel
        raise ClusterError(
            f"{self.source}: Calico {wanted} is not pinned; pinned: "
            + ", ".join(r.version for r in self.calico)
        )


def _get(data: Any, path: str, source: str) -> Any:
    node = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ClusterError(f"{source}: {path} is missing")
        node = node[part]
    return node


def load_pins(path: Path | None = None) -> Pins:
    """Read and check the pins; raises :class:`ClusterError` naming the bad field."""
    file = path or clusters_dir() / "calico" / "versions.yaml"
    source = str(file)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ClusterError(f"{source}: cannot read the pins: {exc}") from exc

    def node(key: str) -> NodeImage:
        entry = _get(data, f"node_images.{key}", source)
        image = str(entry.get("image", ""))
        if not DIGEST_REF.match(image):
            raise ClusterError(
                f"{source}: node_images.{key}.image must be pinned by digest "
                f"(name:tag@sha256:<64 hex>), found {image!r}"
            )
        return NodeImage(image, str(entry.get("kubernetes", "")), str(entry.get("cgroup", "")))

    releases = []
    for version, rel in (_get(data, "calico.releases", source) or {}).items():
        manifests = []
        for role, m in (rel.get("manifests") or {}).items():
            where = f"calico.releases.{version}.manifests.{role}"
            sha, url = str(m.get("sha256", "")), str(m.get("url", ""))
            if not SHA256.match(sha):
                raise ClusterError(f"{source}: {where}.sha256 must be 64 lowercase hex digits")
            if f"/{version}/" not in url or not url.startswith("https://"):
                raise ClusterError(f"{source}: {where}.url must be an https URL at tag {version}")
            manifests.append(ManifestPin(str(role), url, int(m.get("size", 0)), sha))
        images = rel.get("images") or {}
        releases.append(
            CalicoRelease(
                str(version),
                str(rel.get("operator_image", "")),
                tuple(str(v) for v in rel.get("tested_kubernetes") or ()),
                tuple(manifests),
                tuple(images.get("operator") or ()),
                tuple(images.get("manifest") or ()),
            )
        )
    return Pins(
        source=source,
        kind_version=str(_get(data, "kind.version", source)),
        kind_min_version=str(_get(data, "kind.min_version", source)),
        kubectl_version=str(_get(data, "kubectl.version", source)),
        node_image=node("default"),
        node_image_cgroup_v1=node("cgroup_v1"),
        agnhost_image=str(_get(data, "agnhost.image", source)),
        calico_default=str(_get(data, "calico.default", source)),
        calico=tuple(releases),
    )
