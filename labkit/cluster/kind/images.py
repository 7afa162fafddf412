"""Every image the lab needs, and moving them around for workshops with bad Wi-Fi.

* ``pull``: ``docker pull --platform linux/<arch>`` of the node image (by digest), the
  pinned Calico images and agnhost; the pinned Calico manifests are cached as well.
* ``save``: one ``docker save --platform`` archive of one platform (multi-arch images loaded
  whole fail in ``kind load`` with "content digest not found"), plus a JSON sidecar
  recording each image's ID and the cached manifests copied beside it.
* ``load``: ``docker load`` of the archive (so ``kind create`` finds the node image without a
  registry) and, when the cluster exists, ``kind load image-archive`` of the other images
  into its nodes.

``docker save`` of a digest reference keeps no name, so the node image is saved by tag and
matched back by the image ID recorded at save time (:func:`resolve_node_image`).

Every command goes through the engine kind uses (:mod:`labkit.cluster.kind.provider`):
``docker``, or ``podman`` with ``KIND_EXPERIMENTAL_PROVIDER=podman`` or when Docker is absent.
A pull that fails (a proxy, a registry rate limit, no network) says how to carry the images
in instead (:data:`labkit.cluster.image_pull.FIX`).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from labkit.cluster import commands
from labkit.cluster.image_pull import pull_fix
from labkit.cluster.kind import provider
from labkit.cluster.kind.calico import fetch_manifest, release_cache, verify_manifest
from labkit.cluster.kind.pins import CalicoRelease, Pins
from labkit.cluster.paths import lab_home
from labkit.cluster.progress import Progress
from labkit.errors import ClusterError, CommandFailed

log = logging.getLogger(__name__)

PULL_TIMEOUT = 900.0
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def lab_images(pins: Pins, release: CalicoRelease, mode: str, node_image: str) -> list[str]:
    """Node image, Calico images of the install mode, agnhost (in that order, no repeats)."""
    out: list[str] = []
    for image in (node_image, *release.images(mode), pins.agnhost_image):
        if image and image not in out:
            out.append(image)
    return out


def tag_of(image: str) -> str:
    """``kindest/node:v1.36.1@sha256:...`` -> ``kindest/node:v1.36.1``."""
    return image.split("@", 1)[0]


def platform() -> str:
    engine = provider.detect()
    done = commands.run(
        engine.arch_command(), timeout=30, hint=f"start {engine.tool} first (`labkit doctor`)"
    )
    arch = ARCHES.get(done.stdout.strip(), done.stdout.strip() or "amd64")
    return f"linux/{arch}"


def image_id(image: str) -> str | None:
    done = commands.run(
        [provider.detect().tool, "image", "inspect", "--format", "{{.Id}}", image],
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def docker_save(archive: Path, refs: Sequence[str], plat: str) -> None:
    """``docker save --platform`` (one platform: Docker API 1.48+, Docker 28); older engines
    refuse the flag and save without it (their classic image store holds one platform).
    ``podman save --multi-image-archive`` (podman keeps the one platform it pulled)."""
    engine = provider.detect()
    try:
        commands.run(engine.save_command(str(archive), list(refs), plat), timeout=PULL_TIMEOUT)
    except CommandFailed as exc:
        text = exc.stderr.lower()
        if (
            engine.is_podman
            or exc.timed_out
            or not ("unknown flag" in text or "api version" in text)
        ):
            raise
        log.info("this Docker cannot save one platform; saving the images whole")
        commands.run(engine.save_command(str(archive), list(refs), None), timeout=PULL_TIMEOUT)


def pull(images: Sequence[str], progress: Progress, *, plat: str | None = None) -> None:
    plat = plat or platform()
    tool = provider.detect().tool
    progress.step(f"pulling {len(images)} images ({plat}, {tool})", total=len(images))
    for image in images:
        progress.advance(image)
        commands.run(
            [tool, "pull", "--platform", plat, image],
            timeout=PULL_TIMEOUT,
            hint="check the network and registry rate limits (Docker Hub limits "
            f"anonymous pulls; `{tool} login` raises them); " + pull_fix(),
        )
    progress.finish("pulled")


def cache_manifests(release: CalicoRelease, progress: Progress) -> list[Path]:
    progress.step(f"caching Calico {release.version} manifests")
    paths = [fetch_manifest(pin, release_cache(release)) for pin in release.manifests]
    progress.finish(f"cached in {release_cache(release)}")
    return paths


def save(
    images: Sequence[str],
    archive: Path,
    release: CalicoRelease,
    node_image: str,
    progress: Progress,
    *,
    plat: str | None = None,
) -> Path:
    """Write ``archive`` (+ ``<archive>.json`` and ``<archive>.manifests/``)."""
    plat = plat or platform()
    refs = [tag_of(i) if i == node_image else i for i in images]
    ids = {}
    for image, ref in zip(images, refs, strict=True):
        found = image_id(image)
        if found is None:
            raise ClusterError(
                f"image {image} is not in {provider.detect().tool}\n    fix: run "
                "`labkit images pull` first"
            )
        if ref != image:
            commands.run([provider.detect().tool, "tag", found, ref], timeout=30)
        ids[ref] = found
    archive.parent.mkdir(parents=True, exist_ok=True)
    progress.step(f"saving {len(refs)} images to {archive}")
    docker_save(archive, refs, plat)
    sidecar = Path(f"{archive}.json")
    sidecar.write_text(
        json.dumps(
            {
                "platform": plat,
                "images": ids,
                "node_image": {"ref": node_image, "tag": tag_of(node_image)},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    mdir = Path(f"{archive}.manifests")
    mdir.mkdir(exist_ok=True)
    for pin in release.manifests:
        shutil.copy2(fetch_manifest(pin, release_cache(release)), mdir / pin.file_name)
    progress.finish(f"saved {archive} ({archive.stat().st_size / 2**20:.0f} MiB)")
    return archive


def _loaded_record() -> Path:
    return lab_home() / "images-loaded.json"


def load(
    archive: Path, release: CalicoRelease, progress: Progress, cluster_name: str | None = None
) -> None:
    """``docker load`` the archive, restore cached manifests, and fill the cluster's nodes."""
    if not archive.is_file():
        raise ClusterError(
            f"{archive}: no such archive\n    fix: pass the file written by "
            "`labkit images save --archive PATH`"
        )
    engine = provider.detect()
    progress.step(f"loading {archive} into {engine.tool}")
    commands.run([engine.tool, "load", "-i", str(archive)], timeout=PULL_TIMEOUT)
    sidecar = Path(f"{archive}.json")
    record: dict[str, object] = {}
    if sidecar.is_file():
        record = json.loads(sidecar.read_text(encoding="utf-8"))
        _loaded_record().parent.mkdir(parents=True, exist_ok=True)
        _loaded_record().write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    mdir = Path(f"{archive}.manifests")
    for pin in release.manifests:
        src = mdir / pin.file_name
        if src.is_file():
            verify_manifest(src, pin)
            shutil.copy2(src, release_cache(release) / pin.file_name)
    if cluster_name:
        images = [
            ref
            for ref in dict(record.get("images") or {})  # type: ignore[call-overload]
            if not ref.startswith("kindest/node")
        ]
        load_into_cluster(images, cluster_name, progress)
    progress.finish("loaded")


def load_into_cluster(
    images: Sequence[str], cluster_name: str, progress: Progress, *, plat: str | None = None
) -> list[str]:
    """Copy the ``images`` present in Docker into every node of the kind cluster (one
    platform, through an archive). Returns the images loaded."""
    present = [i for i in images if image_id(i) is not None]
    if not present:
        return []
    plat = plat or platform()
    progress.advance(f"loading {len(present)} local image(s) into the kind nodes")
    with tempfile.TemporaryDirectory(prefix="labkit-images-") as tmp:
        tar = Path(tmp) / "images.tar"
        docker_save(tar, present, plat)
        commands.run(
            ["kind", "load", "image-archive", str(tar), "--name", cluster_name],
            timeout=PULL_TIMEOUT,
            env=provider.detect().kind_env() or None,
        )
    return present


def resolve_node_image(ref: str) -> str:
    """The reference ``kind create`` should use for the pinned node image.

    ``ref`` itself when Docker has it by digest (or must pull it); its tag when the image was
    loaded from an archive and its ID equals the one recorded when the archive was saved.
    """
    if image_id(ref) is not None:
        return ref
    try:
        record = json.loads(_loaded_record().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ref
    tag = tag_of(ref)
    recorded = (record.get("images") or {}).get(tag)
    if (
        recorded
        and image_id(tag) == recorded
        and (record.get("node_image") or {}).get("ref") == ref
    ):
        log.info("using %s loaded from an archive (image ID %s matches)", tag, recorded)
        return tag
    return ref
