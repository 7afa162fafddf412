"""Installing Calico on the kind cluster, from pinned and checked manifests.

Manifests are downloaded from their pinned URL (``clusters/calico/versions.yaml``) into the
lab cache and used only when their size and sha256 match the pins. Two install modes:

* ``operator`` (Calico's own kind guide): the CRD bundle and ``tigera-operator.yaml``, then
  ``clusters/calico/installation.yaml`` (Installation with the default pool, APIServer, and
  Goldmane + Whisker for the flow logs of lesson 10).
  Images by digest as Calico's "Install images by registry digest" guide says: the
  operator's own Deployment rewritten to its digest, and an ``ImageSet`` named
  ``calico-<version>`` (the operator looks it up by that name, ``imageset.getSetName`` in
  tigera/operator) listing every image the operator deploys as ``calico/<name>`` with its
  ``sha256:`` digest. With an ImageSet present the operator refuses to deploy an image the
  set lacks (``components.GetReference``: "ImageSet did not contain image"), so labkit
  refuses first when a pinned digest is missing. Digests that ``--resolve-digests`` recorded
  in the lab folder (trusted on first use) fill the missing pins
  (:func:`labkit.cluster.kind.pins.with_recorded_digests`).
  Files are applied server-side: idempotent, and free of client-side apply's annotation size
  limit, the reason Calico's guide says ``create`` for the CRD bundle.
* ``manifest`` (``calico.yaml``, lighter): calico-node and kube-controllers in kube-system.
  Its default pool comes from environment variables of calico-node, which labkit sets to the
  lab's default pool (otherwise Calico takes the whole pod CIDR and the dedicated pools would
  overlap it). Every container and init container image is rewritten to its pinned digest
  (:func:`pin_image_refs`, fail-closed: an image without a pin stops the install).

The dedicated pools (``clusters/calico/ippools.yaml``) are applied once Calico serves them:
through the Calico API server (projectcalico.org/v3) with the operator, as
crd.projectcalico.org/v1 objects with the manifest install (which has no API server).
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from labkit.cluster.address_plan import AddressPlan
from labkit.cluster.kind.pins import (
    CalicoRelease,
    ImagePin,
    ManifestPin,
    with_recorded_digests,
)
from labkit.cluster.kubectl import Kubectl
from labkit.cluster.labdir import temporary_beside
from labkit.cluster.paths import cache_dir, clusters_dir
from labkit.cluster.progress import Progress
from labkit.errors import ClusterError

log = logging.getLogger(__name__)

Downloader = Callable[[str, Path, float], None]
MANIFEST_POOL_ENV = "CALICO_IPV4POOL_CIDR"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_manifest(path: Path, pin: ManifestPin) -> None:
    """Raise :class:`ClusterError` unless ``path`` has the pinned size and sha256."""
    size = path.stat().st_size
    if pin.size and size != pin.size:
        raise ClusterError(
            f"{path}: {size} bytes, but {pin.url} is pinned at {pin.size} bytes; labkit will "
            "not apply it\n    fix: delete the file and run `labkit up` again (the download "
            "was cut or the file changed upstream)"
        )
    actual = sha256_of(path)
    if actual != pin.sha256:
        raise ClusterError(
            f"{path}: sha256 {actual} does not match the pinned {pin.sha256} for {pin.url}; "
            "labkit will not apply it\n    fix: delete the file and run `labkit up` again; if "
            "it keeps failing, the upstream file changed: check clusters/calico/versions.yaml"
        )


def _download(url: str, dest: Path, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as resp, dest.open("wb") as out:
        while chunk := resp.read(1 << 20):
            out.write(chunk)


def fetch_manifest(
    pin: ManifestPin, cache: Path, *, download: Downloader = _download, timeout: float = 120.0
) -> Path:
    """The verified manifest in ``cache``, downloading it first when needed."""
    dest = cache / pin.file_name
    if dest.exists():
        try:
            verify_manifest(dest, pin)
            return dest
        except ClusterError:
            log.warning("cached %s does not match its pin; downloading it again", dest)
            dest.unlink()
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = temporary_beside(dest)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            download(pin.url, tmp, timeout)
        except OSError as exc:
            raise ClusterError(
                f"cannot download {pin.url}: {exc}\n    fix: check the network, or copy the "
                f"file into {cache} (`labkit images pull` on a connected machine caches it)"
            ) from exc
        verify_manifest(tmp, pin)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def pin_image_refs(docs: list[dict[str, Any]], pins: Sequence[ImagePin], what: str) -> int:
    """Rewrite every pod template's container and init container ``image`` in ``docs`` to
    the pinned ``name:tag@sha256:...`` in place; returns how many were rewritten.

    Fail-closed: an image that has no pin (or a pin without a digest) raises
    :class:`ClusterError`, so nothing of ``what`` runs by tag. References already by digest
    must carry a pinned digest.
    """
    by_tag = {p.tag_ref: p for p in pins}
    by_tag.update({p.tag_ref.split("/", 1)[1]: p for p in pins})
    count = 0
    for doc in docs:
        for container in _containers(doc):
            image = str(container.get("image", ""))
            tag, _, digest = image.partition("@")
            pin = by_tag.get(tag.removeprefix("docker.io/"))
            if pin is None or pin.digest is None or (digest and digest != pin.digest):
                name = (doc.get("metadata") or {}).get("name", "?")
                raise ClusterError(
                    f"{what}: {doc.get('kind')} {name}: image {image!r} has no pinned digest "
                    "in clusters/calico/versions.yaml; labkit will not run it by tag\n    fix: "
                    "pin it there (name:tag with its sha256 digest), or use the pinned release"
                )
            container["image"] = pin.ref
            count += 1
    return count


def _containers(doc: Any) -> list[dict[str, Any]]:
    """Containers and init containers of a workload (or a Pod)."""
    if not isinstance(doc, dict):
        return []
    spec = doc.get("spec") or {}
    pod_spec = spec if doc.get("kind") == "Pod" else ((spec.get("template") or {}).get("spec"))
    if not isinstance(pod_spec, dict):
        return []
    return [
        c
        for key in ("initContainers", "containers")
        for c in pod_spec.get(key) or ()
        if isinstance(c, dict)
    ]


def image_set(release: CalicoRelease) -> dict[str, Any]:
    """The operator's ``ImageSet`` for ``release``: every image the operator deploys, by
    digest (the operator image itself is pinned in its Deployment instead)."""
    pins = release.require_digests("operator")
    return {
        "apiVersion": "operator.tigera.io/v1",
        "kind": "ImageSet",
        "metadata": {"name": f"calico-{release.version}", "labels": {"labkit.dev/managed": "true"}},
        "spec": {
            "images": [
                {"image": p.path, "digest": p.digest}
                for p in pins
                if p.tag_ref != release.operator_image
            ]
        },
    }


def pinned_operator_manifest(source: Path, release: CalicoRelease, dest: Path) -> Path:
    """``tigera-operator.yaml`` with the operator's image at its pinned digest."""
    pins = [p for p in release.require_digests("operator") if p.tag_ref == release.operator_image]
    docs = [d for d in yaml.safe_load_all(source.read_text(encoding="utf-8")) if d]
    if pin_image_refs(docs, pins, source.name) == 0:
        raise ClusterError(
            f"{source.name}: no container runs {release.operator_image}; is the pinned "
            "manifest the right file?"
        )
    dest.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    return dest


def release_cache(release: CalicoRelease) -> Path:
    return cache_dir("calico", release.version)


def patch_manifest_pool(text: str, plan: AddressPlan) -> str:
    """``calico.yaml`` with calico-node's default pool set to the lab's default pool."""
    docs = [d for d in yaml.safe_load_all(text) if d]
    settings = {
        MANIFEST_POOL_ENV: str(plan.default.cidr),
        "CALICO_IPV4POOL_BLOCK_SIZE": str(plan.default.block_size),
        "CALICO_IPV4POOL_IPIP": "Never",
        "CALICO_IPV4POOL_VXLAN": "CrossSubnet",
    }
    patched = False
    for doc in docs:
        if doc.get("kind") != "DaemonSet" or doc.get("metadata", {}).get("name") != "calico-node":
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            if container.get("name") != "calico-node":
                continue
            env = [e for e in container.get("env") or [] if e.get("name") not in settings]
            env += [{"name": k, "value": v} for k, v in settings.items()]
            container["env"] = env
            patched = True
    if not patched:
        raise ClusterError(
            "calico.yaml has no calico-node DaemonSet container to configure; "
            "is the pinned manifest the right file?"
        )
    return yaml.safe_dump_all(docs, sort_keys=False)


def manifest_for_lab(text: str, plan: AddressPlan, release: CalicoRelease) -> str:
    """``calico.yaml`` as labkit applies it: the lab's default pool and every image by its
    pinned digest."""
    docs = [d for d in yaml.safe_load_all(patch_manifest_pool(text, plan)) if d]
    pin_image_refs(docs, release.require_digests("manifest"), "calico.yaml")
    return yaml.safe_dump_all(docs, sort_keys=False)


def ippool_docs(mode: str, root: Path | None = None) -> list[dict[str, Any]]:
    """The dedicated pools, in the API the install serves."""
    path = (root or clusters_dir()) / "calico" / "ippools.yaml"
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    if mode == "manifest":
        for doc in docs:
            doc["apiVersion"] = "crd.projectcalico.org/v1"
    return docs


def install(
    kube: Kubectl,
    release: CalicoRelease,
    mode: str,
    plan: AddressPlan,
    progress: Progress,
    *,
    download: Downloader = _download,
) -> None:
    """Apply Calico (idempotent: a half-made install is completed). Pins without a digest
    take the digest recorded in the lab folder by ``--resolve-digests``, if any."""
    release, trusted = with_recorded_digests(release)
    if trusted:
        log.warning(
            "Calico %s: %d image(s) deployed by digests trusted on first use (not pinned "
            "in the repository): %s",
            release.version,
            len(trusted),
            ", ".join(f"{e.tag_ref}@{e.digest}" for e in trusted),
        )
    cache = release_cache(release)
    root = clusters_dir()
    if mode == "operator":
        images = image_set(release)  # refuses before anything is applied when a digest is missing
        progress.advance(f"Calico {release.version}: CRDs")
        kube.apply_file(
            fetch_manifest(release.manifest("crds"), cache, download=download), timeout=300
        )
        kube.run(
            [
                "wait",
                "--for=condition=Established",
                "--timeout=120s",
                "crd/installations.operator.tigera.io",
                "crd/apiservers.operator.tigera.io",
                "crd/tigerastatuses.operator.tigera.io",
                "crd/imagesets.operator.tigera.io",
            ],
            timeout=150,
        )
        progress.advance(f"Calico {release.version}: ImageSet {images['metadata']['name']}")
        kube.apply([images])
        progress.advance(f"Calico {release.version}: operator {release.operator_image} (by digest)")
        operator = pinned_operator_manifest(
            fetch_manifest(release.manifest("operator"), cache, download=download),
            release,
            cache / "tigera-operator.labkit.yaml",
        )
        kube.apply_file(operator)
        progress.advance("Calico: Installation, APIServer, Goldmane, Whisker (installation.yaml)")
        kube.apply_file(root / "calico" / "installation.yaml")
    elif mode == "manifest":
        source = fetch_manifest(release.manifest("manifest"), cache, download=download)
        patched = cache / "calico.labkit.yaml"
        patched.write_text(
            manifest_for_lab(source.read_text(encoding="utf-8"), plan, release), encoding="utf-8"
        )
        progress.advance(
            f"Calico {release.version}: calico.yaml (default pool {plan.default.cidr}, "
            "images by digest)"
        )
        kube.apply_file(patched, timeout=300)
    else:
        raise ClusterError(
            f"unknown Calico install mode {mode!r}\n    fix: use operator or manifest"
        )


def apply_pools(kube: Kubectl, mode: str) -> None:
    """Create the dedicated pools (client-side apply: they are small, and the Calico API
    server handles plain create/patch in every version)."""
    import json

    docs = ippool_docs(mode)
    kube.run(
        ["apply", "-f", "-"], input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
    )


def pool_problems(items: list[dict[str, Any]], plan: AddressPlan) -> list[str]:
    """Compare the cluster's IP pools (``crd.projectcalico.org`` objects) with the plan.

    The default pool is matched by name or, failing that, by CIDR: with the manifest install
    calico-node creates it from ``CALICO_IPV4POOL_CIDR`` under its fixed name
    ``default-ipv4-ippool`` (calico/node startup), and no namespace names the default pool.
    """
    from ipaddress import ip_network

    found = {str(i.get("metadata", {}).get("name")): i.get("spec") or {} for i in items}
    names = {p.name: p.name for p in plan.pools}
    if plan.default.name not in found:
        for name, spec in found.items():
            try:
                same = ip_network(str(spec.get("cidr"))) == plan.default.cidr
            except ValueError:
                same = False
            if same and not spec.get("disabled"):
                names[plan.default.name] = name
                break
    out = []
    for pool in plan.pools:
        spec = found.get(names[pool.name])
        if spec is None:
            out.append(f"IP pool {pool.name} ({pool.cidr}) is missing")
        elif ip_network(str(spec.get("cidr"))) != pool.cidr:
            out.append(f"IP pool {pool.name} has {spec.get('cidr')}, the plan says {pool.cidr}")
    planned = set(names.values())
    for name, spec in found.items():
        if name in planned or spec.get("disabled"):
            continue
        try:
            net = ip_network(str(spec.get("cidr")))
        except ValueError:
            continue
        clash = [p.name for p in plan.pools if p.cidr.overlaps(net)]
        if clash:
            out.append(
                f"IP pool {name} ({net}) overlaps {', '.join(clash)}; delete it "
                f"(`kubectl delete ippools.crd.projectcalico.org {name}`) or recreate "
                "the cluster"
            )
    return out


def verify_pools(kube: Kubectl, plan: AddressPlan) -> list[str]:
    return pool_problems(kube.items(["get", "ippools.crd.projectcalico.org"]), plan)
