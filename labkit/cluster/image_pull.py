"""Recognising an image pull that failed, and saying how to carry the images in instead.

Where a failed pull shows (Kubernetes and engine sources):
* a container's ``state.waiting.reason`` is ``ErrImagePull`` or ``ImagePullBackOff`` (kubelet
  ``pkg/kubelet/images``: ``ErrImagePullBackOff``, ``ErrImagePull``; also
  ``ErrImageNeverPull`` and ``InvalidImageName``, which no network fixes, so not here);
* ``docker pull`` / ``podman pull`` / ``kind create`` (which pulls the node image) exit
  non-zero with the registry's or the proxy's error: ``proxyconnect tcp``, ``Client.Timeout
  exceeded``, ``TLS handshake timeout``, ``i/o timeout``, ``toomanyrequests``, ``manifest
  unknown``, ``failed to pull image``...

In every case the fix is the same: pull once where the registries are reachable and carry the
archive over (``labkit images pull``, ``labkit images save``, ``labkit images load``), or give
the engine the proxy (Docker reads ``HTTPS_PROXY`` from its service, not from your shell).
:func:`resolve_fix` says the same for ``--resolve-digests``, which must reach the registry to
learn a digest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

PULL_REASONS = ("ErrImagePull", "ImagePullBackOff")
FIX = (
    "the images could not be pulled (a proxy, a firewall, a registry rate limit or no "
    "network): on a machine that can reach the registries run `labkit images pull` then "
    "`labkit images save --archive labkit-images.tar`, copy the archive (with its .json and "
    ".manifests/) here and run `labkit images load --archive labkit-images.tar`, then "
    "`labkit up`; behind a proxy, set HTTPS_PROXY for the container engine's service "
    "(Docker: a systemd drop-in or Docker Desktop's proxy settings), not only in your shell"
)
_PULL_FAILED = re.compile(
    r"ErrImagePull|ImagePullBackOff|failed to pull image|error pulling image|"
    r"pull access denied|proxyconnect|Client\.Timeout exceeded|TLS handshake timeout|"
    r"toomanyrequests|manifest unknown|error from registry|"
    r"(?:registry|quay\.io|registry\.k8s\.io|docker\.io|ghcr\.io)\S*.*(?:i/o timeout|"
    r"connection refused|no such host|network is unreachable)",
    re.IGNORECASE,
)


def pull_fix() -> str:
    """The fix for a failed image pull (see the module docstring)."""
    return FIX


def resolve_fix(image: str, mode: str = "operator") -> str:
    """The fix when ``--resolve-digests`` cannot learn ``image``'s digest: retry the pull
    alone, carry the digest over from a connected machine, or pin it in the repository."""
    return (
        f"check that `docker pull {image}` works here (network, proxy, registry rate limits), "
        f"then retry the resolution alone with `labkit images pull --calico-mode {mode} "
        "--resolve-digests` (`labkit images list --calico-mode "
        f"{mode}` shows what is still missing); without registry access, run that command "
        "on a machine that has it and copy its <lab folder>/calico-digests.json here, or "
        f"pin the digest in clusters/calico/versions.yaml (`docker buildx imagetools inspect "
        f"{image}` prints it)"
    )


def is_pull_failure(text: str) -> bool:
    """Whether ``text`` (a pod's waiting reason, or an engine's or kind's stderr) says an
    image pull failed."""
    return bool(_PULL_FAILED.search(text))


def pull_hint(text: str) -> str:
    """:data:`FIX` when ``text`` shows a failed pull, else ``""``."""
    return FIX if is_pull_failure(text) else ""


def pull_failures(pods: Iterable[Mapping[str, Any]]) -> list[str]:
    """``ns/pod: container c: ImagePullBackOff (message)`` for each container of ``pods``
    (``kubectl get pods -o json`` items) whose image pull failed: what a Calico or lab wait
    can add to its timeout message, with :data:`FIX`."""
    found = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        status = pod.get("status") or {}
        for cs in (status.get("initContainerStatuses") or []) + (
            status.get("containerStatuses") or []
        ):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in PULL_REASONS:
                message = f" ({waiting['message']})" if waiting.get("message") else ""
                found.append(
                    f"{meta.get('namespace')}/{meta.get('name')}: container {cs.get('name')}: "
                    f"{waiting['reason']}{message}"
                )
    return found
