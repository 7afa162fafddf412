"""``labkit workshop init | doctor | status | dashboard | reset | teardown``: the instructor's
side of workshop mode (one shared cluster, a lab per learner; issue 10).

The work is done in :mod:`labkit.cluster.workshop.ops` (and the doctor's checks in
:mod:`labkit.cluster.workshop.doctor`); this module parses, prints and picks the exit status:
0 when all went well, 1 for a refusal or a failed check, 2 for a teardown without a matching
``--confirm`` (which makes no call to the cluster at all). ``status`` and ``dashboard`` are
:mod:`labkit.cli.workshop_views`'s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from labkit.cli.common import emit_json

HOOK_HELP = (
    "put it in your Zero to JupyterHub values under hub.extraConfig (for example "
    "`hub: {extraConfig: {labkit: <the file's text>}}`) and run `helm upgrade`; it attaches "
    "each learner's ServiceAccount to their notebook pod (KubeSpawner pre_spawn_hook)"
)


def _add_id(p: argparse.ArgumentParser) -> None:
    p.add_argument("--id", dest="workshop_id", required=True, metavar="ID", help="workshop id")


def _add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--context",
        metavar="CTX",
        help="kubeconfig context of the cluster (default: the one recorded by `workshop init`)",
    )


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "workshop",
        help="workshop mode: one shared cluster, a lab per learner (instructor commands)",
        description="Workshop mode: every learner gets the lab's namespaces as ID-NAME-<ns>, "
        "walled off from the other learners. init creates it, doctor checks it, status and "
        "dashboard show progress, reset restores one learner's lab, teardown removes it all.",
    )
    wsub = p.add_subparsers(dest="workshop_command", metavar="SUBCOMMAND")
    p.set_defaults(handler=lambda args: _no_subcommand(p))

    q: argparse.ArgumentParser = wsub.add_parser(
        "init",
        help="create the workshop: namespaces, RBAC, walls, one lab per learner",
        description="Create (or extend: it is idempotent) the workshop. Refuses a cluster "
        "that fails the enforcement canary or the wall check, and learners beyond what the "
        "IP pools hold. Writes a KubeSpawner hook file for JupyterHub.",
    )
    _add_id(q)
    q.add_argument(
        "--learners",
        required=True,
        metavar="FILE",
        help="one learner per line: NAME, or NAME HUB_USER; # starts a comment",
    )
    target = q.add_mutually_exclusive_group(required=True)
    target.add_argument("--context", metavar="CTX", help="kubeconfig context of the cluster")
    target.add_argument(
        "--simulated",
        action="store_true",
        help="a simulated workshop in the lab folder (rehearsals, tests)",
    )
    q.add_argument(
        "--hub-namespace",
        default=None,
        metavar="NS",
        help="JupyterHub's namespace (ServiceAccounts, the labkit-workshop ConfigMap); "
        "default jhub",
    )
    q.add_argument(
        "--hook-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="where to write the KubeSpawner hook (default ./labkit-workshop-ID-hook.py)",
    )
    q.add_argument(
        "--dry-run", action="store_true", help="print what would be created, change nothing"
    )
    q.set_defaults(handler=run_init)

    q = wsub.add_parser(
        "doctor",
        help="canary, wall, can-i, pool room and DNS checks (exit 1 on any failure)",
    )
    _add_id(q)
    _add_target(q)
    q.add_argument("-o", "--output", choices=("text", "json"), default="text")
    q.set_defaults(handler=run_doctor)

    q = wsub.add_parser("status", help="each learner's namespaces, readiness and progress")
    _add_id(q)
    _add_target(q)
    q.add_argument("-o", "--output", choices=("text", "json"), default="text")
    q.set_defaults(handler=run_status)

    q = wsub.add_parser("dashboard", help="learners x checks, who is stuck, common mistakes")
    _add_id(q)
    _add_target(q)
    q.add_argument("-o", "--output", choices=("text", "json"), default="text")
    q.add_argument(
        "--stuck-minutes",
        type=float,
        default=10.0,
        metavar="N",
        help="a learner with no progress for N minutes is stuck (default 10)",
    )
    q.add_argument("--html", default=None, metavar="FILE", help="also write the grid as HTML")
    q.set_defaults(handler=run_dashboard)

    q = wsub.add_parser(
        "reset",
        help="one learner's lab back to the topology (nobody else's objects are touched)",
    )
    _add_id(q)
    _add_target(q)
    q.add_argument("--learner", required=True, metavar="NAME", help="the learner")
    q.set_defaults(handler=run_reset)

    q = wsub.add_parser(
        "teardown",
        help="delete everything labelled labkit.dev/workshop=ID (needs --confirm ID)",
        description="Print what carries labkit.dev/workshop=ID, kind by kind, and delete "
        "exactly that by label selector; another workshop's objects are never touched. The "
        "shared Calico tier goes only with the last workshop's walls.",
    )
    _add_id(q)
    _add_target(q)
    q.add_argument(
        "--confirm",
        default=None,
        metavar="ID",
        help="the workshop id again: nothing is deleted (or even read) without it",
    )
    q.set_defaults(handler=run_teardown)


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# -- init ------------------------------------------------------------------------------------------
def run_init(args: argparse.Namespace) -> int:
    from labkit.cli.progress import TerminalProgress
    from labkit.cluster.workshop import ops

    options = ops.InitOptions(
        workshop_id=args.workshop_id,
        learners_file=Path(args.learners),
        context=args.context,
        simulated=bool(args.simulated),
        hub_namespace=args.hub_namespace,
        dry_run=bool(args.dry_run),
        hook_file=args.hook_file,
    )
    result = ops.init_workshop(options, progress=TerminalProgress())
    if result.dry_run:
        print(f"workshop {result.workshop.id}: dry run, nothing was changed")
        print(f"would create {len(result.namespaces)} namespaces:")
        for name in result.namespaces:
            print(f"  {name}")
        print("objects by kind:")
        for kind, count in sorted(result.counts.items()):
            print(f"  {kind:<34} {count}")
        return 0
    workshop = result.workshop
    print(
        f"workshop {workshop.id} ready on {result.where}: {len(workshop.learners)} learners, "
        f"{len(result.namespaces)} namespaces, walls: {result.flavour}"
    )
    for kind, count in sorted(result.counts.items()):
        print(f"  {kind:<34} {count}")
    for line in result.check_lines:
        print(line)
    print("timings: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in result.timings))
    print(f"KubeSpawner hook written to {result.hook_file}")
    print(f"  {HOOK_HELP}")
    print(f"next: `labkit workshop doctor --id {workshop.id}`")
    return 0


# -- doctor ----------------------------------------------------------------------------------------
def run_doctor(args: argparse.Namespace) -> int:
    from labkit.cli.progress import TerminalProgress
    from labkit.cluster.workshop import ops

    report = ops.doctor_workshop(
        args.workshop_id, context=args.context, progress=TerminalProgress()
    )
    if args.output == "json":
        emit_json(report.as_dict())
    else:
        for check in report.checks:
            print(check.line())
        failed = report.failed
        if failed:
            print(
                f"\n{len(failed)} check{'s' if len(failed) != 1 else ''} failed: "
                f"workshop {report.workshop} is not safe to run; fix them and run "
                f"`labkit workshop doctor --id {report.workshop}` again",
                file=sys.stderr,
            )
    return 1 if report.failed else 0


# -- status / dashboard: labkit.cli.workshop_views --------------------------------------------------
def _views() -> Any:
    try:
        from labkit.cli import workshop_views
    except ModuleNotFoundError as exc:
        from labkit.errors import LabkitError

        if exc.name != "labkit.cli.workshop_views":
            raise
        raise LabkitError(
            "the workshop views (labkit.cli.workshop_views) are not part of this labkit "
            "installation\n    fix: reinstall labkit (`make install`)"
        ) from None
    return workshop_views


def run_status(args: argparse.Namespace) -> int:
    return int(_views().status(args))


def run_dashboard(args: argparse.Namespace) -> int:
    return int(_views().dashboard(args))


# -- reset -----------------------------------------------------------------------------------------
def run_reset(args: argparse.Namespace) -> int:
    from labkit.cluster.workshop import ops

    done = ops.reset_learner(args.workshop_id, args.learner, context=args.context)
    print(
        f"workshop {args.workshop_id}: {args.learner}'s lab is back to the topology "
        f"({done}); no other learner's objects were touched"
    )
    return 0


# -- teardown --------------------------------------------------------------------------------------
def run_teardown(args: argparse.Namespace) -> int:
    if args.confirm != args.workshop_id:
        given = "without --confirm" if args.confirm is None else f"with --confirm {args.confirm}"
        print(
            f"error: teardown deletes every object of workshop {args.workshop_id} (every "
            f"learner's namespaces and work); you ran it {given}, so nothing was read or "
            f"deleted\n    fix: labkit workshop teardown --id {args.workshop_id} --confirm "
            f"{args.workshop_id}",
            file=sys.stderr,
        )
        return 2
    from labkit.cluster.workshop import ops

    result = ops.teardown_workshop(args.workshop_id, context=args.context)
    print(f"workshop {args.workshop_id}: deleting what carries {result.selector}")
    if not result.counts:
        print("  nothing found")
    for kind, count in sorted(result.counts.items()):
        print(f"  {kind:<34} {count}")
    if result.tier_deleted:
        print("  the shared Calico tier went too: no other workshop's wall remains")
    elif result.tier_kept:
        print(f"  the shared Calico tier stays: {result.tier_kept}")
    print(f"workshop {args.workshop_id} torn down on {result.where}")
    return 0
