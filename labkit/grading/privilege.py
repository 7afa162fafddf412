"""Least privilege: the flows a submission opens beyond the reference solution.

For every ordered pair (source, destination) in the exercise's scope (two peer expressions)
and each protocol of TCP, UDP and SCTP, the (source, destination, protocol) triple is
*excess* when the submission allows a port there that the reference solution does not.
Counted on full connectivity (port ranges, :mod:`labkit.grading.evaluate`), never on
sampled probe ports. ``excess_flows`` is that count; ``open_flows`` the same count for a
wide-open world (every port allowed) against the reference: the most a submission can open.
The score is ``points * max(0, 1 - excess / open)`` rounded to 2 decimals (``points`` when
the reference leaves nothing closed). Self traffic and pairs no policy governs are skipped,
as in :mod:`labkit.grading.evaluate`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from labkit.engine.endpoints import Endpoint
from labkit.engine.portset import FULL
from labkit.errors import RequirementsError
from labkit.grading.evaluate import View
from labkit.grading.peers import PeerExpr, expand, subtract_ranges
from labkit.model.ports import PROTOCOLS


@dataclass(frozen=True)
class LeastPrivilege:
    """``excess_flows`` of the submission, ``open_flows`` of a wide-open world, the points
    earned (``score``) of ``max_score``."""

    excess_flows: int
    open_flows: int
    score: float
    max_score: float
    gated: bool = False
    """The points were withheld because a requirement they depend on failed."""


@dataclass(frozen=True)
class Scope:
    """The pairs least privilege counts: every source of ``source`` to every destination
    of ``destination``; ``file`` names where it is written, for errors."""

    source: PeerExpr
    destination: PeerExpr
    file: str = "exercise.yaml"


def scoped_pairs(scope: Scope, view: View) -> Iterator[tuple[Endpoint, Endpoint]]:
    try:
        sources = expand(scope.source, view.inventory)
        destinations = expand(scope.destination, view.inventory)
    except LookupError as exc:
        raise RequirementsError(
            str(exc), file=scope.file, field="least_privilege.scope", hint="name peers of the world"
        ) from None
    for src in sources:
        for dst in destinations:
            if src != dst:
                yield src, dst


def excess_flows(scope: Scope, submission: View, reference: View) -> int:
    """(source, destination, protocol) triples where ``submission`` opens a port that
    ``reference`` keeps closed."""
    count = 0
    for src, dst in scoped_pairs(scope, reference):
        mine, ref = submission.ports(src, dst), reference.ports(src, dst)
        if mine is None or ref is None:
            continue
        count += sum(1 for p in PROTOCOLS if subtract_ranges(mine.ranges(p), ref.ranges(p)))
    return count


def open_flows(scope: Scope, reference: View) -> int:
    """The triples a wide-open world would count as excess against ``reference``."""
    count = 0
    for src, dst in scoped_pairs(scope, reference):
        ref = reference.ports(src, dst)
        if ref is not None:
            count += sum(1 for p in PROTOCOLS if ref.ranges(p) != FULL)
    return count


def privilege_score(points: float, excess: int, opened: int) -> float:
    if opened == 0:
        return round(points, 2)
    return round(points * max(0.0, 1.0 - excess / opened), 2)


def least_privilege(
    scope: Scope, points: float, submission: View, reference: View, *, earned: bool
) -> LeastPrivilege:
    """The least-privilege result; ``earned`` False (its gate failed) scores 0."""
    excess = excess_flows(scope, submission, reference)
    opened = open_flows(scope, reference)
    score = privilege_score(points, excess, opened) if earned else 0.0
    return LeastPrivilege(excess, opened, score, points, gated=not earned and points > 0)
