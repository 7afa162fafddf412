"""``labkit scenario list|start|check|stop NAME``: break-fix scenarios (lesson 8).

``start`` resets the lab and breaks it as ``notebooks/scenarios/NAME.yaml`` says; ``check``
grades the scenario's requirements (the grader's format) on the cluster's objects now and
exits 0 once fixed, 1 while not; ``stop`` resets the lab. ``list -o json`` prints
``[{"name", "title"}, ...]``. The cluster side is :mod:`labkit.cluster.scenarios`, the check
:mod:`labkit.grading.scenario_check`.
"""

from __future__ import annotations

import argparse
from typing import Any

from labkit.cli.common import emit_json

USAGE_ERROR = 2


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "scenario",
        help="break-fix scenarios: list, start, check or stop one",
        description="Break-fix scenarios: `start NAME` resets the lab and breaks it, `check "
        "NAME` says whether it is fixed (exit 0) or not (exit 1, with the feedback of each "
        "requirement), `stop NAME` resets the lab.",
    )
    p.add_argument("action", choices=("list", "start", "check", "stop"))
    p.add_argument("name", nargs="?", metavar="NAME", help="the scenario (see `list`)")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from labkit.cluster import scenarios

    if args.action == "list":
        found = [scenarios.load(name) for name in scenarios.names()]
        if args.output == "json":
            emit_json([{"name": s.name, "title": s.title} for s in found])
        else:
            print("\n".join(f"{s.name:<28} {s.title}" for s in found))
        return 0
    if not args.name:
        print(f"labkit scenario {args.action}: give the scenario's NAME (see `list`)")
        return USAGE_ERROR
    spec = scenarios.load(args.name)
    if args.action == "start":
        _, report = scenarios.start(spec)
        print(f"{report}\n\nscenario {spec.name}: {spec.title}\n\n{spec.story}")
        print(f"\nwhen you think it is fixed: labkit scenario check {spec.name}")
        return 0
    if args.action == "stop":
        scenarios.stop(spec)
        print(f"scenario {spec.name} stopped; the lab is back to its topology")
        return 0
    return _check(spec, args.output)


def _check(spec: Any, output: str) -> int:
    from labkit.cluster.scenarios import check_inputs
    from labkit.grading import to_dict
    from labkit.grading.report import grade_lines
    from labkit.grading.scenario_check import check_scenario, scenario_requirements

    inputs = check_inputs(spec)
    grade = check_scenario(
        spec.name,
        scenario_requirements(spec.requirements, str(spec.file)),
        inputs.broken,
        inputs.now,
        enforcement=inputs.enforcement,
    )
    fixed = all(r.passed for r in grade.requirements)
    if output == "json":
        emit_json({**to_dict(grade), "fixed": fixed})
    else:
        print("\n".join(grade_lines(grade, public_only=True)))
        print(f"scenario {spec.name}: {'fixed' if fixed else 'not fixed yet'}")
    return 0 if fixed else 1
