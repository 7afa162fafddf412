"""Pinned versions (``clusters/calico/versions.yaml``): kind, node images by digest, Calico
releases with manifest URLs, sizes and sha256 sums, and the images each install runs, each
with its digest (or ``null`` with the fix, when no digest could be verified: see
:meth:`CalicoRelease.require_digests`).

Digests resolved on this machine (``labkit up --resolve-digests``, trusted on first use) are
kept apart, in the lab folder (``calico-digests.json``: :func:`load_recorded_digests`,
:func:`record_digests`); :func:`with_recorded_digests` fills a release's missing digests from
them. A digest pinned in ``versions.yaml`` always wins over a recorded one."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labkit.cluster.labdir import calico_digests_path, folder_error, write_json_atomic
from labkit.cluster.paths import clusters_dir
from labkit.errors import ClusterError

log = logging.getLogger(__name__)

SHA256 = re.compile(r"^[0-9a-f]{64}$")
DIGEST_REF = re.compile(r"^[a-z0-9./-]+:v?[0-9][\w.-]*@sha256:[0-9a-f]{64}$")
TAG_REF = re.compile(r"^[a-z0-9.-]+(?::[0-9]+)?/[a-z0-9./_-]+:[\w][\w.-]*$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
CALICO_MODES = ("operator", "manifest")
DIGEST_FIX = (
    "on a machine with registry access run `docker buildx imagetools inspect {ref}` (or "
    "`crane digest {ref}`) and set its digest in {source}, with verified: true"
)
RESOLVE_FIX = (
    "or, trusting the registry on first use, `labkit up --calico {mode} --resolve-digests` "
    "pulls each image by tag here and records the digest it was served in the lab folder "
    "(calico-digests.json; not pinned in the repository)"
)


@dataclass(frozen=True)
class ImagePin:
    """One image by tag (``quay.io/calico/node:v3.32.1``) and its pinned index digest.

    ``digest`` is ``None`` when no digest could be verified (the pins say why); ``verified``
    says whether the digest was checked against the registry or copied from a public file.
    """

    tag_ref: str
    digest: str | None
    verified: bool
    modes: tuple[str, ...]

    @property
    def ref(self) -> str:
        """``name:tag@sha256:...`` (the tag stays for people; the runtime pulls the digest)."""
        return f"{self.tag_ref}@{self.digest}" if self.digest else self.tag_ref

    @property
    def repository(self) -> str:
        """``quay.io/calico/node``."""
        return self.tag_ref.rsplit(":", 1)[0]

    @property
    def path(self) -> str:
        """The name without registry, tag or digest (``calico/node``): what an ImageSet lists."""
        return self.repository.split("/", 1)[1]


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
    image_pins: tuple[ImagePin, ...]
    source: str = ""

    def manifest(self, role: str) -> ManifestPin:
        for pin in self.manifests:
            if pin.role == role:
                return pin
        raise ClusterError(f"Calico {self.version}: no manifest pinned for {role!r}")

    def pins(self, mode: str) -> tuple[ImagePin, ...]:
        """The images the ``mode`` install runs."""
        return tuple(p for p in self.image_pins if mode in p.modes)

    def images(self, mode: str) -> tuple[str, ...]:
        """References to pull: by digest when pinned, by tag when the digest is missing."""
        return tuple(p.ref for p in self.pins(mode))

    @property
    def operator_images(self) -> tuple[str, ...]:
        return self.images("operator")

    @property
    def manifest_images(self) -> tuple[str, ...]:
        return self.images("manifest")

    def pin_for(self, tag_ref: str) -> ImagePin | None:
        """The pin of ``quay.io/calico/node:v3.32.1`` (``docker.io/`` or no registry: same)."""
        for pin in self.image_pins:
            if pin.tag_ref == tag_ref or pin.tag_ref.split("/", 1)[1] == tag_ref:
                return pin
        return None

    def require_digests(self, mode: str) -> tuple[ImagePin, ...]:
        """The ``mode`` pins, every one with a digest; raises :class:`ClusterError` naming
        each image without one (labkit deploys Calico by digest only)."""
        pins = self.pins(mode)
        missing = [p for p in pins if p.digest is None]
        if missing:
            where = self.source or "clusters/calico/versions.yaml"
            raise ClusterError(
                f"{where}: Calico {self.version} ({mode} install): no digest pinned for "
                + ", ".join(p.tag_ref for p in missing)
                + "; labkit deploys Calico images by digest only\n    fix: "
                + DIGEST_FIX.format(ref=missing[0].tag_ref, source=where)
                + (" (same for the others)" if len(missing) > 1 else "")
                + "; "
                + RESOLVE_FIX.format(mode=mode)
                + (
                    "; until then `labkit up --calico manifest` uses the pinned images of calico.yaml"
                    if mode == "operator" and all(p.digest for p in self.pins("manifest"))
                    else ""
                )
            )
        return pins

    def missing_digests(self, mode: str) -> tuple[ImagePin, ...]:
        """The ``mode`` pins without a digest."""
        return tuple(p for p in self.pins(mode) if p.digest is None)

    def with_digests(self, found: Mapping[str, str]) -> CalicoRelease:
        """This release with each pin that has no digest given ``found[tag_ref]`` (still
        ``verified=False``); a pin that has a digest keeps it."""
        return dataclasses.replace(
            self,
            image_pins=tuple(
                dataclasses.replace(p, digest=found[p.tag_ref])
                if p.digest is None and p.tag_ref in found
                else p
                for p in self.image_pins
            ),
        )


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
    agnhost_verified: bool
    calico_default: str
    calico: tuple[CalicoRelease, ...]

    @property
    def agnhost_tag(self) -> str:
        """``registry.k8s.io/e2e-test-images/agnhost:2.66.1`` (the pin without its digest)."""
        return self.agnhost_image.split("@", 1)[0]

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


def _image_pins(entries: Any, where: str, source: str) -> tuple[ImagePin, ...]:
    """``{tag ref: {digest, verified, modes}}`` -> pins; a digest may be null (missing), but
    a digest that is given must be ``sha256:`` and 64 lowercase hex digits."""
    if not isinstance(entries, dict) or not entries:
        raise ClusterError(f"{source}: {where} must map each image (name:tag) to its digest")
    pins = []
    for ref, entry in entries.items():
        field = f"{where}.{ref}"
        if not isinstance(entry, dict):
            raise ClusterError(f"{source}: {field} must be a mapping (digest, verified, modes)")
        if not TAG_REF.match(str(ref)) or "@" in str(ref):
            raise ClusterError(
                f"{source}: {field}: the key must be registry/name:tag (the digest goes in digest:)"
            )
        digest = entry.get("digest")
        if digest is not None and not DIGEST.match(str(digest)):
            raise ClusterError(
                f"{source}: {field}.digest must be sha256:<64 lowercase hex> or null, "
                f"found {digest!r}"
            )
        modes = tuple(str(m) for m in entry.get("modes") or ())
        if not modes or set(modes) - set(CALICO_MODES):
            raise ClusterError(
                f"{source}: {field}.modes must list operator and/or manifest, found {modes}"
            )
        pins.append(
            ImagePin(
                str(ref),
                None if digest is None else str(digest),
                bool(entry.get("verified", False)),
                modes,
            )
        )
    return tuple(pins)


def _agnhost(data: Any, source: str) -> str:
    image = str(_get(data, "agnhost.image", source))
    if not DIGEST_REF.match(image):
        raise ClusterError(
            f"{source}: agnhost.image must be pinned by digest (name:tag@sha256:<64 hex>), "
            f"found {image!r}\n    fix: "
            + DIGEST_FIX.format(ref=image.split("@", 1)[0], source=source)
        )
    return image


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
        releases.append(
            CalicoRelease(
                str(version),
                str(rel.get("operator_image", "")),
                tuple(str(v) for v in rel.get("tested_kubernetes") or ()),
                tuple(manifests),
                _image_pins(rel.get("images"), f"calico.releases.{version}.images", source),
                source,
            )
        )
    return Pins(
        source=source,
        kind_version=str(_get(data, "kind.version", source)),
        kind_min_version=str(_get(data, "kind.min_version", source)),
        kubectl_version=str(_get(data, "kubectl.version", source)),
        node_image=node("default"),
        node_image_cgroup_v1=node("cgroup_v1"),
        agnhost_image=_agnhost(data, source),
        agnhost_verified=bool(_get(data, "agnhost", source).get("verified", False)),
        calico_default=str(_get(data, "calico.default", source)),
        calico=tuple(releases),
    )


# -- digests resolved on this machine (trusted on first use) -----------------------------------
RECORD_ABOUT = (
    "Calico image digests that `labkit up --resolve-digests` resolved by pulling each image by "
    "tag on this machine: TRUSTED ON FIRST USE, not pinned in clusters/calico/versions.yaml "
    "and verified by nobody. labkit uses them only for images whose pin has digest: null. "
    "Delete this file to forget them."
)


@dataclass(frozen=True)
class RecordedDigest:
    """One digest resolved here: the image by tag, the digest the registry served, when
    (UTC, ISO 8601) and how (the commands and which output the digest came from)."""

    tag_ref: str
    digest: str
    resolved_at: str
    how: str

    def as_json(self) -> dict[str, str]:
        return {"digest": self.digest, "resolved_at": self.resolved_at, "how": self.how}


def load_recorded_digests(path: Path | None = None) -> dict[str, RecordedDigest]:
    """The digests recorded in the lab folder (``calico-digests.json``), by image tag; empty
    when the file does not exist. A damaged file raises :class:`ClusterError`."""
    file = path or calico_digests_path()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClusterError(
            f"{file} is damaged ({exc})\n    fix: delete it; `labkit up --resolve-digests` "
            "resolves the digests again"
        ) from None
    except OSError as exc:
        raise folder_error(file, exc, "read") from None
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        raise ClusterError(
            f"{file} has no images mapping\n    fix: delete it; `labkit up --resolve-digests` "
            "resolves the digests again"
        )
    found = {}
    for ref, entry in images.items():
        digest = entry.get("digest") if isinstance(entry, dict) else None
        if not TAG_REF.match(str(ref)) or not DIGEST.match(str(digest)):
            raise ClusterError(
                f"{file}: images.{ref} must be registry/name:tag with a digest "
                f"sha256:<64 lowercase hex>, found {digest!r}\n    fix: delete the file; "
                "`labkit up --resolve-digests` resolves the digests again"
            )
        found[str(ref)] = RecordedDigest(
            str(ref), str(digest), str(entry.get("resolved_at", "")), str(entry.get("how", ""))
        )
    return found


def record_digests(entries: list[RecordedDigest], path: Path | None = None) -> Path:
    """Add ``entries`` to the lab folder's record (replacing older entries of the same images);
    returns the file written."""
    file = path or calico_digests_path()
    known = load_recorded_digests(file)
    known.update({e.tag_ref: e for e in entries})
    write_json_atomic(
        file,
        {"about": RECORD_ABOUT, "images": {ref: e.as_json() for ref, e in sorted(known.items())}},
    )
    return file


def with_recorded_digests(
    release: CalicoRelease, path: Path | None = None
) -> tuple[CalicoRelease, tuple[RecordedDigest, ...]]:
    """``(release with its missing digests filled from the lab folder's record, the records
    used)``. A pin of ``versions.yaml`` wins: a recorded digest that differs from it is
    ignored, with a warning."""
    recorded = load_recorded_digests(path)
    used = []
    for pin in release.image_pins:
        entry = recorded.get(pin.tag_ref)
        if entry is None:
            continue
        if pin.digest is None:
            used.append(entry)
        elif pin.digest != entry.digest:
            log.warning(
                "%s: %s is pinned at %s in %s, but %s was recorded here on %s; using the pin",
                path or calico_digests_path(),
                pin.tag_ref,
                pin.digest,
                release.source or "clusters/calico/versions.yaml",
                entry.digest,
                entry.resolved_at,
            )
    return release.with_digests({e.tag_ref: e.digest for e in used}), tuple(used)


def versions_yaml_lines(
    entries: list[RecordedDigest] | tuple[RecordedDigest, ...], release: CalicoRelease
) -> list[str]:
    """The lines of ``clusters/calico/versions.yaml`` that would pin ``entries`` (one line per
    image, replacing its ``{digest: null, ...}`` line), still ``verified: false``."""
    lines = []
    for entry in entries:
        pin = release.pin_for(entry.tag_ref)
        modes = ", ".join(pin.modes) if pin is not None else "operator"
        lines.append(
            f"        {entry.tag_ref}: {{digest: {entry.digest}, verified: false, "
            f"modes: [{modes}]}}"
        )
    return lines
