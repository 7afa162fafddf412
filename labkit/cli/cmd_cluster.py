"""``labkit up | down | status | doctor | reset``: the lab cluster's lifecycle.

The kubectl-like object commands (``apply``, ``delete``, ``label``, ``get``, ``describe``)
are registered from :mod:`labkit.cli.cmd_objects`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from labkit.cli import cmd_objects
from labkit.cli.common import emit_json
from labkit.errors import ClusterError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "up",
        help="start the lab cluster (kind + Calico when Docker works, else simulated)",
        description="Start the lab cluster, or reattach to the one that runs, and apply the lab "
        "topology. --backend auto takes kind + Calico when Docker, kind and kubectl are usable, "
        "else the simulated cluster, and says why.",
    )
    p.add_argument(
        "--backend",
        choices=("auto", "kind", "existing", "simulated", "workshop"),
        default="auto",
        help="workshop: back to a workshop learner's lab (after a private simulated one)",
    )
    p.add_argument(
        "--context",
        metavar="NAME",
        help="use this kubeconfig context's cluster (implies --backend existing); inside a "
        "pod, --backend existing without --context uses the pod's service account",
    )
    p.add_argument(
        "--nodes",
        type=int,
        choices=(1, 3),
        default=None,
        help="kind nodes: 1 (light) or 3 (control plane + 2 workers); default: the recorded "
        "cluster's, else 3",
    )
    p.add_argument(
        "--calico",
        choices=("operator", "manifest"),
        default=None,
        help="kind: install Calico with the tigera operator or the lighter calico.yaml; "
        "default: the recorded cluster's, else manifest (every image pinned by digest)",
    )
    p.add_argument(
        "--resolve-digests",
        action="store_true",
        help="kind (implies --backend kind): for each Calico image of the install whose pin in "
        "clusters/calico/versions.yaml has no digest (the operator install's, today), pull it "
        "by tag here, record the digest the registry served in the lab folder "
        "(calico-digests.json) and deploy it by that digest. TRUSTED ON FIRST USE: not pinned "
        "in the repository, verified by nobody; labkit prints the versions.yaml lines to pin "
        "them. Later `labkit up` runs reuse the recorded digests",
    )
    p.add_argument(
        "--recreate",
        action="store_true",
        help="delete the lab cluster and create it again (kind, simulated); without it labkit "
        "never deletes a cluster",
    )
    p.add_argument(
        "--cni",
        choices=("calico", "none"),
        default="calico",
        help="simulated backend: calico enforces NetworkPolicy; none stores policies and "
        "enforces nothing (a CNI without policy support; the canary says so)",
    )
    p.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")
    p.set_defaults(handler=run_up)

    p = sub.add_parser(
        "down",
        help="delete the lab cluster",
        description="Delete the lab cluster (an existing cluster only loses the "
        "objects labkit created, labelled labkit.dev/managed=true). Without a record of it, "
        "a labkit kind cluster is looked for anyway.",
    )
    p.set_defaults(handler=run_down)

    p = sub.add_parser("status", help="backend, nodes, CNI, topology and the enforcement canary")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.set_defaults(handler=run_status)

    p = sub.add_parser("doctor", help="check Docker, kind, kubectl and the host for the kind lab")
    p.set_defaults(handler=run_doctor)

    p = sub.add_parser(
        "reset",
        help="back to the lab topology; deletes only what labkit created",
        description="Delete every object labkit created (labelled labkit.dev/managed=true: "
        "`labkit apply` adds the label) that is not part of the lab topology, restore the "
        "topology's namespaces, pods and labels. Objects labkit did not create, such as "
        "another team's on a shared cluster, are left alone.",
    )
    p.set_defaults(handler=run_reset)

    cmd_objects.register(sub)


def run_up(args: argparse.Namespace) -> int:
    from labkit.cli.progress import TerminalProgress
    from labkit.cluster import lifecycle

    backend = args.backend
    if args.resolve_digests:
        if args.context is not None or backend not in ("auto", "kind"):
            raise ClusterError(
                "--resolve-digests pulls the Calico images of the kind backend; it cannot be "
                f"combined with {'--context' if args.context else f'--backend {backend}'}\n"
                "    fix: drop --resolve-digests, or use `labkit up --backend kind --calico "
                "operator --resolve-digests`"
            )
        backend = "kind"
        resolve_digests(args.calico, dry_run=args.dry_run)
    result = lifecycle.up(
        backend,
        context=args.context,
        nodes=args.nodes,
        dry_run=args.dry_run,
        progress=TerminalProgress(),
        calico_mode=args.calico,
        recreate=args.recreate,
        cni=args.cni,
    )
    if isinstance(result, str):
        print(result)
        return 0
    status = lifecycle.status()
    print("\n".join(status.lines()))
    return 0 if status.ready else 1


def resolve_digests(calico_mode: str | None, *, dry_run: bool) -> None:
    """``labkit up --resolve-digests``: resolve (or, with ``dry_run``, list) the digests the
    kind install still lacks, before ``up`` runs (which then finds them recorded). The mode
    and release are the ones ``up`` will use: the option, else the recorded cluster's."""
    from labkit.cli.progress import TerminalProgress
    from labkit.cluster import lifecycle
    from labkit.cluster.kind import images
    from labkit.cluster.kind.options import KindOptions
    from labkit.cluster.kind.pins import load_pins, with_recorded_digests

    record = lifecycle.read_record() or {}
    saved = (record.get("options") or {}) if record.get("backend") == "kind" else {}
    mode = calico_mode or str(saved.get("calico_mode") or KindOptions.calico_mode)
    release = load_pins().calico_release(str(saved.get("calico_version") or "") or None)
    if dry_run:
        missing = with_recorded_digests(release)[0].missing_digests(mode)
        print(
            f"--resolve-digests would pull by tag and record (trusted on first use): "
            f"{', '.join(p.tag_ref for p in missing)}"
            if missing
            else f"--resolve-digests: nothing to resolve, every Calico image of the {mode} "
            "install has a digest (pinned, or recorded in the lab folder)",
            file=sys.stderr,
        )
        return
    result = images.ensure_digests(release, mode, TerminalProgress(), resolve=True)
    print_trusted(result, mode)


def print_trusted(result: Any, mode: str) -> None:
    """The loud warning and the versions.yaml lines of ``result``
    (:class:`labkit.cluster.kind.images.DigestResolution`), on stderr."""
    if not result.resolved:
        print(
            f"--resolve-digests: nothing to resolve, every Calico image of the {mode} install "
            "has a digest"
            + (
                f" ({len(result.reused)} recorded earlier in {result.path})"
                if result.reused
                else ""
            ),
            file=sys.stderr,
        )
        return
    print("\n" + result.warning(), file=sys.stderr)
    print("\n".join(result.yaml_lines()) + "\n", file=sys.stderr)


def run_down(args: argparse.Namespace) -> int:
    from labkit.cluster import lifecycle

    print(lifecycle.down())
    return 0


def run_status(args: argparse.Namespace) -> int:
    from labkit.cluster import lifecycle

    status = lifecycle.status()
    if args.output == "json":
        data = dataclasses.asdict(status)
        data["details"] = dict(status.details)
        emit_json(data)
    else:
        print("\n".join(status.lines()))
    return 0 if status.ready else 1


def run_doctor(args: argparse.Namespace) -> int:
    from labkit.cluster import lifecycle

    checks = lifecycle.doctor()
    for check in checks:
        line = getattr(check, "line", None)
        print(line() if callable(line) else str(check))
    failed = [c for c in checks if not getattr(c, "ok", True) and getattr(c, "required", True)]
    if failed:
        print(
            f"\n{len(failed)} required check{'s' if len(failed) != 1 else ''} failed: the "
            "kind lab cannot start here; `labkit up` will use the simulated cluster.",
            file=sys.stderr,
        )
        return 1
    return 0


def run_reset(args: argparse.Namespace) -> int:
    from labkit.cluster import lifecycle

    cluster = lifecycle.reset()
    inventory = cluster.inventory()
    print(
        f"{cluster.name} cluster reset: {len(inventory.pods)} pods, "
        f"{len(inventory.policies)} NetworkPolicies (only objects labelled "
        "labkit.dev/managed=true were deleted; others were kept)"
    )
    return 0
