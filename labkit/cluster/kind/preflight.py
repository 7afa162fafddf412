"""What ``labkit up`` checks on the host before it runs ``kind create`` (one call from
:meth:`labkit.cluster.kind.cluster.KindCluster.up`).

First the pins: every image of the chosen Calico install must have a digest
(:meth:`labkit.cluster.kind.pins.CalicoRelease.require_digests`), checked before anything
is created (and before any command runs). A digest recorded in the lab folder by an earlier
``--resolve-digests`` counts, and ``up`` says it uses it; with ``options.resolve_digests``
the missing ones are resolved on the host once the host checks passed
(:func:`labkit.cluster.kind.images.ensure_digests`, trusted on first use, said loudly). Then ``labkit doctor``'s checks (:func:`labkit.cluster.doctor.run_checks`) for the requested
node count and stops on a required failure, with each finding and its fix: no container
engine, kind missing or older than v0.32 (``kind version``), kubectl missing, rootless
podman, kind's node network overlapping the pod CIDR. Warnings go to the progress display;
when the CPU or memory check finds the machine small for three nodes it suggests
``labkit up --nodes 1``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from labkit.cluster import doctor
from labkit.cluster.doctor import Check
from labkit.cluster.kind import images
from labkit.cluster.kind.options import KindOptions
from labkit.cluster.kind.pins import load_pins
from labkit.cluster.progress import Progress
from labkit.errors import PrerequisiteMissing

log = logging.getLogger(__name__)


def preflight(
    options: KindOptions,
    progress: Progress,
    *,
    proc_root: Path = Path("/proc"),
    cgroup_root: Path = Path("/sys/fs/cgroup"),
    timeout: float = 15.0,
) -> list[Check]:
    """Check the pins and the host for ``options``; raise :class:`ClusterError` for a
    missing digest and :class:`PrerequisiteMissing` listing every required host check that
    failed. Returns the host checks."""
    mode = options.calico_mode
    release = load_pins().calico_release(options.calico_version or None)
    digests = images.ensure_digests(release, mode, progress, resolve=False)
    if not options.resolve_digests:
        digests.release.require_digests(mode)  # refuses before any command
    nodes = options.nodes
    checks = doctor.run_checks(
        proc_root=proc_root, cgroup_root=cgroup_root, nodes=nodes, timeout=timeout
    )
    failed = [c for c in checks if c.required and not c.ok]
    if failed:
        raise PrerequisiteMissing(
            "`labkit up` stopped before creating the kind cluster:\n"
            + "\n".join("  " + c.line().replace("\n", "\n  ") for c in failed)
            + "\n    fix: apply the fixes above, then run `labkit up` again "
            "(`labkit doctor` shows every check)"
        )
    if digests.release.missing_digests(mode):
        digests = images.ensure_digests(release, mode, progress, resolve=True)
        log.warning("%s\n%s", digests.warning(), "\n".join(digests.yaml_lines()))
    elif digests.trusted:
        log.warning(
            "Calico %s (%s): using %d image digest(s) recorded in %s by an earlier "
            "--resolve-digests: TRUSTED ON FIRST USE, not pinned in the repository "
            "(`labkit images list --calico-mode %s` shows them; delete the file to forget them)",
            release.version,
            mode,
            len(digests.trusted),
            digests.path,
            mode,
        )
    if digests.trusted:
        progress.advance(
            f"Calico images by digests trusted on first use ({len(digests.trusted)}, "
            f"recorded in {digests.path}; not pinned in the repository)"
        )
    for check in checks:
        if not check.ok:
            log.warning("%s: %s", check.name, check.detail)
            progress.advance(f"warning: {check.name}: {check.detail}")
    if nodes > 1 and doctor.small_machine(checks):
        progress.advance(
            f"this machine is small for {nodes} nodes: {doctor.SMALL_MACHINE_FIX}; "
            "every lesson works on one node"
        )
    return checks
