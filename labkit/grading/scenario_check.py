"""The check of a break-fix scenario: its requirements (the grader's format) on the cluster's
objects as they are now.

The caller passes the scenario's requirement mapping, the broken world (the lab plus the
scenario's objects, as raw objects) and the cluster's current inventory, as
:mod:`labkit.cluster.grading_inputs` passes the lab world to the grader: this module never
reads a cluster. Every requirement is public (a scenario hides nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from labkit.grading.evaluate import View
from labkit.grading.privilege import LeastPrivilege
from labkit.grading.requirements import RequirementSet, parse_requirements
from labkit.grading.score import Grade, RequirementResult, grade_world
from labkit.model.inventory import Inventory, build_inventory
from labkit.model.loader import RawObject

ENFORCED_ID = "policy-enforced"


def scenario_requirements(data: Mapping[str, object], file: str) -> RequirementSet:
    """Parse a scenario's ``requirements:`` mapping (errors name ``file``)."""
    return parse_requirements(dict(data), file=file)


def check_scenario(
    name: str,
    requirements: RequirementSet,
    broken: Sequence[RawObject],
    now: Inventory,
    *,
    enforcement: tuple[bool, str] | None = None,
) -> Grade:
    """Each requirement on ``now`` (``broken``: the world the scenario started from); with
    ``enforcement`` (``(enforced, canary line)``) one more requirement: the cluster enforces
    NetworkPolicy, as the canary found."""
    before = View(build_inventory(broken), requirements.externals)
    after = View(now, requirements.externals)
    results = list(grade_world(requirements, after, before))
    if enforcement is not None:
        enforced, line = enforcement
        results.append(
            RequirementResult(
                id=ENFORCED_ID,
                description="the cluster enforces NetworkPolicy (the enforcement canary)",
                hidden=False,
                points=1.0 if enforced else 0.0,
                max_points=1.0,
                passed=enforced,
                feedback="passed" if enforced else f"canary: {line}",
            )
        )
    return Grade(
        exercise=name,
        score=sum(r.points for r in results),
        max_score=sum(r.max_points for r in results),
        requirements=tuple(results),
        least_privilege=LeastPrivilege(0, 0, 0.0, 0.0),
    )
