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

``resolve_digests`` (``labkit up --resolve-digests``, ``labkit images pull --resolve-digests``)
is the explicit opt-in for Calico images whose pin has ``digest: null``: each is pulled by tag
(the same ``pull`` as above) and the digest the registry served is recorded in the lab folder
(``calico-digests.json``), trusted on first use. Which digest: Docker's ``pull`` prints
``Digest: sha256:...``, the digest of what the tag resolved to, i.e. the multi-arch index (the
manifest list) for a multi-arch image (moby/moby#44144), the digest a pod's ``image@sha256:``
must carry to work on every architecture, the one ``docker buildx imagetools inspect`` shows
(and ``verify_digests.py`` asks the registry for). It is checked against ``docker image
inspect --format '{{json .RepoDigests}}'``. Podman prints no digest when it pulls, and its
``RepoDigests`` can list both the index digest and the digest of the one platform's manifest
it stored (its ``.Digest``): labkit takes the one that is not ``.Digest``, and refuses when
that leaves no single answer.

Every command goes through the engine kind uses (:mod:`labkit.cluster.kind.provider`):
``docker``, or ``podman`` with ``KIND_EXPERIMENTAL_PROVIDER=podman`` or when Docker is absent.
A pull that fails (a proxy, a registry rate limit, no network) says how to carry the images
in instead (:data:`labkit.cluster.image_pull.FIX`).
"""

from __future__ import annotations

import json
import logging
import re
import shlex
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from labkit.cluster import commands
from labkit.cluster.image_pull import pull_fix, resolve_fix
from labkit.cluster.kind import provider
from labkit.cluster.kind.calico import fetch_manifest, release_cache, verify_manifest
from labkit.cluster.kind.pins import (
    DIGEST,
    CalicoRelease,
    Pins,
    RecordedDigest,
    record_digests,
    versions_yaml_lines,
    with_recorded_digests,
)
from labkit.cluster.labdir import calico_digests_path
from labkit.cluster.paths import lab_home
from labkit.cluster.progress import Progress
from labkit.errors import ClusterError, CommandFailed

log = logging.getLogger(__name__)

PULL_TIMEOUT = 900.0
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def lab_images(pins: Pins, release: CalicoRelease, mode: str, node_image: str) -> list[str]:
    """Node image, Calico images of the install mode, agnhost (in that order, no repeats).
    A Calico image without a pinned digest is listed by the digest recorded in the lab folder
    (``--resolve-digests``) when there is one, else by tag."""
    release, _ = with_recorded_digests(release)
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


def pull_command(tool: str, image: str, plat: str) -> list[str]:
    return [tool, "pull", "--platform", plat, image]


def _pull_one(tool: str, image: str, plat: str) -> commands.Completed:
    return commands.run(
        pull_command(tool, image, plat),
        timeout=PULL_TIMEOUT,
        hint="check the network and registry rate limits (Docker Hub limits "
        f"anonymous pulls; `{tool} login` raises them); " + pull_fix(),
    )


def pull(images: Sequence[str], progress: Progress, *, plat: str | None = None) -> None:
    plat = plat or platform()
    tool = provider.detect().tool
    progress.step(f"pulling {len(images)} images ({plat}, {tool})", total=len(images))
    for image in images:
        progress.advance(image)
        _pull_one(tool, image, plat)
    progress.finish("pulled")


# -- digests trusted on first use (--resolve-digests) ------------------------------------------
_PULLED_DIGEST = re.compile(r"^Digest:\s*(sha256:[0-9a-f]{64})\s*$", re.MULTILINE)


@dataclass(frozen=True)
class DigestResolution:
    """What :func:`ensure_digests` did: ``release`` with every digest it could fill,
    ``resolved`` (pulled now), ``reused`` (recorded before) and the record's ``path``."""

    release: CalicoRelease
    resolved: tuple[RecordedDigest, ...]
    reused: tuple[RecordedDigest, ...]
    path: Path

    @property
    def trusted(self) -> tuple[RecordedDigest, ...]:
        return (*self.reused, *self.resolved)

    def warning(self) -> str:
        """The loud warning, or ``""`` when no digest was trusted on first use."""
        if not self.trusted:
            return ""
        head = (
            f"WARNING: {len(self.resolved)} Calico image digest(s) were resolved now by pulling "
            "each image by tag"
            if self.resolved
            else f"WARNING: using {len(self.reused)} Calico image digest(s) resolved earlier "
            f"on this machine (recorded in {self.path})"
        )
        if self.resolved and self.reused:
            head += f", and {len(self.reused)} recorded earlier are reused"
        return (
            f"{head}. They are TRUSTED ON FIRST USE: whatever the registry (or a proxy in "
            "between) served is what runs; they are NOT pinned in "
            f"{self.release.source or 'clusters/calico/versions.yaml'} and nobody verified "
            f"them. Recorded in {self.path} (delete it to forget them). To pin them for "
            "everyone, check each against the registry (`docker buildx imagetools inspect "
            "<image>`; the live workflow's verify_digests.py does it) and paste these lines "
            "into clusters/calico/versions.yaml:"
        )

    def yaml_lines(self) -> list[str]:
        """The ``versions.yaml`` lines pinning every trusted digest (``verified: false``)."""
        return versions_yaml_lines(sorted(self.trusted, key=lambda e: e.tag_ref), self.release)


def served_digest(
    tool: str, tag_ref: str, pull_output: str, *, mode: str = "operator", plat: str = ""
) -> tuple[str, str]:
    """``(digest, how)``: the digest the registry served when ``tag_ref`` was pulled (see
    the module docstring); :class:`ClusterError` naming the image when it cannot be told."""
    repository = tag_ref.rsplit(":", 1)[0]
    names = {repository, repository.removeprefix("docker.io/")}
    names.add(repository.removeprefix("docker.io/library/"))
    inspect = [tool, "image", "inspect", "--format", "{{json .RepoDigests}}", tag_ref]
    done = commands.run(inspect, timeout=30, check=False)
    try:
        entries = json.loads(done.stdout or "null") if done.ok else None
    except ValueError:
        entries = None
    if not isinstance(entries, list):
        raise ClusterError(
            f"{tag_ref} was pulled, but `{shlex.join(inspect)}` gave no repository digests "
            f"({(done.stderr or done.stdout).strip()[-200:] or 'no output'})\n    fix: "
            + resolve_fix(tag_ref, mode)
        )
    found = []
    for entry in entries:
        name, _, digest = str(entry).partition("@")
        if name in names and DIGEST.match(digest) and digest not in found:
            found.append(digest)
    shown = f"`{shlex.join(pull_command(tool, tag_ref, plat or 'linux/<arch>'))}`"
    printed = _PULLED_DIGEST.search(pull_output)
    if printed:
        digest = printed.group(1)
        if found and digest not in found:
            raise ClusterError(
                f"{tag_ref}: the pull printed Digest: {digest}, but {tool} lists "
                f"{', '.join(found)} for it\n    fix: " + resolve_fix(tag_ref, mode)
            )
        return digest, f"{shown} printed it (Digest:); in `{shlex.join(inspect)}`"
    if len(found) == 1:
        return found[0], f"{shown}; the one repository digest of `{shlex.join(inspect)}`"
    if found and provider.Engine(tool).is_podman:
        own = commands.run(
            [tool, "image", "inspect", "--format", "{{.Digest}}", tag_ref], timeout=30, check=False
        ).stdout.strip()
        others = [d for d in found if d != own]
        if own in found and len(others) == 1:
            return others[0], (
                f"{shown}; the repository digest of `{shlex.join(inspect)}` that is not the "
                f"platform manifest's ({own})"
            )
    raise ClusterError(
        f"{tag_ref}: cannot tell which digest the registry served ({tool} lists "
        f"{', '.join(found) or 'none'})\n    fix: " + resolve_fix(tag_ref, mode)
    )


def ensure_digests(
    release: CalicoRelease,
    mode: str,
    progress: Progress,
    *,
    resolve: bool,
    plat: str | None = None,
) -> DigestResolution:
    """``release`` with the digests recorded in the lab folder, and, with ``resolve``, the
    still missing ones of ``mode`` resolved now: each image pulled by tag on the host, the
    digest the registry served recorded (``calico-digests.json``, with when and how).

    Without ``resolve`` nothing is pulled: a digest still missing is left to
    :meth:`CalicoRelease.require_digests` to refuse. A failed pull or an unreadable digest
    raises :class:`ClusterError` naming the image; the digests resolved before it are kept."""
    path = calico_digests_path()
    filled, reused = with_recorded_digests(release, path)
    missing = filled.missing_digests(mode)
    if not missing or not resolve:
        return DigestResolution(filled, (), tuple(e for e in reused if _in(e, filled, mode)), path)
    plat = plat or platform()
    tool = provider.detect().tool
    progress.step(
        f"resolving {len(missing)} Calico image digest(s) by pulling them by tag ({plat}, "
        f"{tool}; trusted on first use)",
        total=len(missing),
    )
    resolved: list[RecordedDigest] = []
    try:
        for pin in missing:
            progress.advance(pin.tag_ref)
            try:
                done = _pull_one(tool, pin.tag_ref, plat)
            except CommandFailed as exc:
                raise ClusterError(
                    f"cannot resolve the digest of {pin.tag_ref}: `{shlex.join(exc.command)}` "
                    f"failed ({_last_line(exc)})\n    fix: " + resolve_fix(pin.tag_ref, mode)
                ) from exc
            digest, how = served_digest(
                tool, pin.tag_ref, done.stdout + "\n" + done.stderr, mode=mode, plat=plat
            )
            resolved.append(
                RecordedDigest(
                    pin.tag_ref,
                    digest,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    how,
                )
            )
    finally:
        if resolved:
            record_digests(resolved, path)
    progress.finish(f"recorded {len(resolved)} digest(s) in {path} (trusted on first use)")
    result = DigestResolution(
        filled.with_digests({e.tag_ref: e.digest for e in resolved}),
        tuple(resolved),
        tuple(e for e in reused if _in(e, filled, mode)),
        path,
    )
    return result


def _in(entry: RecordedDigest, release: CalicoRelease, mode: str) -> bool:
    pin = release.pin_for(entry.tag_ref)
    return pin is not None and mode in pin.modes


def _last_line(exc: CommandFailed) -> str:
    text = exc.stderr.strip()
    return text.splitlines()[-1] if text else f"exit {exc.returncode}"


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
