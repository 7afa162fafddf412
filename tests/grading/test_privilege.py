"""Least privilege counted on a hand-computed small world (labkit.grading.privilege).

World: a/web, a/db, b/client (b/node-agent is hostNetwork: ``*`` leaves it out). Scope
``*`` -> ``a/db``: the pairs (a/web, a/db) and (b/client, a/db) (self traffic skipped), so
2 pairs x 3 protocols = 6 (source, destination, protocol) triples.
Reference: a/db accepts 5432/TCP from a/web only, so every triple is short of "everything":
``open_flows`` = 6.
"""

from __future__ import annotations

from typing import Any

import pytest
from grading_core_fixtures import from_pods, policy, ports, view

from labkit.grading.peers import parse_peer
from labkit.grading.privilege import (
    Scope,
    excess_flows,
    least_privilege,
    open_flows,
    privilege_score,
)

SCOPE = Scope(parse_peer("*"), parse_peer("a/db"))


def _db_in(*rules: dict[str, Any]) -> dict[str, Any]:
    return policy("a", "db-in", {"app": "db"}, ingress=list(rules))


def _from(ns: str, app: str, *items: tuple[int, str] | tuple[int, str, int]) -> dict[str, Any]:
    rule: dict[str, Any] = {"from": [from_pods(ns, app=app)]}
    if items:
        rule["ports"] = ports(*items)
    return rule


REFERENCE = view(_db_in(_from("a", "web", (5432, "TCP"))))


@pytest.mark.parametrize(
    ("submission", "excess"),
    [
        (view(_db_in(_from("a", "web", (5432, "TCP")))), 0),  # the reference itself
        (view(_db_in()), 0),  # tighter than the reference: never excess
        (view(_db_in(_from("a", "web", (5432, "TCP", 5433)))), 1),  # (web, db, TCP)
        (view(_db_in(_from("a", "web", (5432, "TCP")), _from("b", "client", (5432, "TCP")))), 1),
        # TCP any from web, 5432/TCP from client: (web, db, TCP) and (client, db, TCP)
        (
            view(_db_in(_from("a", "web", (1, "TCP", 65535)), _from("b", "client", (5432, "TCP")))),
            2,
        ),
        (view(_db_in(_from("a", "web"))), 3),  # every protocol from web
        (view(), 6),  # wide open: every triple
    ],
)
def test_excess_flows(submission: Any, excess: int) -> None:
    assert excess_flows(SCOPE, submission, REFERENCE) == excess


def test_open_flows_of_the_reference() -> None:
    assert open_flows(SCOPE, REFERENCE) == 6
    # a reference leaving every protocol from web open: 3 triples can no longer be excess
    assert open_flows(SCOPE, view(_db_in(_from("a", "web")))) == 3
    assert open_flows(SCOPE, view()) == 0


@pytest.mark.parametrize(
    ("points", "excess", "opened", "score"),
    [
        (3, 0, 6, 3.0),
        (3, 2, 6, 2.0),
        (3, 6, 6, 0.0),
        (2, 1, 3, 1.33),
        (2, 5, 0, 2.0),
        (2, 9, 6, 0.0),
    ],
)
def test_privilege_score(points: float, excess: int, opened: int, score: float) -> None:
    assert privilege_score(points, excess, opened) == score


def test_least_privilege_result_and_its_gate() -> None:
    looser = view(_db_in(_from("a", "web", (1, "TCP", 65535)), _from("b", "client", (5432, "TCP"))))
    result = least_privilege(SCOPE, 3, looser, REFERENCE, earned=True)
    assert (result.excess_flows, result.open_flows, result.score, result.max_score) == (
        2,
        6,
        2.0,
        3,
    )
    gated = least_privilege(SCOPE, 3, REFERENCE, REFERENCE, earned=False)
    assert (gated.excess_flows, gated.score, gated.max_score) == (0, 0.0, 3)


def test_scope_from_a_namespace_only_counts_its_pods() -> None:
    scope = Scope(parse_peer("b/*"), parse_peer("a/db"))
    assert excess_flows(scope, view(), REFERENCE) == 3  # (client, db) x 3 protocols
