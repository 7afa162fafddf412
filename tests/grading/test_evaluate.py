"""Each requirement kind checked on full connectivity (labkit.grading.evaluate): every row
would pass if the check were missing or sampled a few probe ports."""

from __future__ import annotations

from typing import Any

import pytest
from grading_core_fixtures import from_pods, only, policy, ports, requirement, view

from labkit.engine.explain import explain
from labkit.errors import RequirementsError
from labkit.grading.evaluate import View, check_requirement, miss_text
from labkit.model.ports import Protocol

WEB_TO_DB = {"from": [from_pods("a", app="web")], "ports": ports((5432, "TCP"))}
DB_IN = policy("a", "db-in", {"app": "db"}, ingress=[WEB_TO_DB])
EMPTY = view()

DB_ONLY_FROM_WEB = {
    "id": "db-only",
    "description": "db accepts only 5432/TCP from web",
    "points": 3,
    "exactly": {"to": "a/db", "allow": [{"from": "a/web", "ports": "5432/TCP"}]},
}


def _check(
    item: dict[str, Any],
    *policies: dict[str, Any],
    externals: list[str] | None = None,
    before: View = EMPTY,
) -> tuple[bool, tuple[str, str, int, Protocol, str] | None]:
    reqs = requirement(item, externals)
    after = view(*policies, externals=reqs)
    outcome = check_requirement(only(reqs), after, before)
    miss = outcome.miss
    found = None
    if miss is not None:
        found = (miss.source.key, miss.destination.key, miss.port, miss.protocol, miss.reason)
    return outcome.passed, found


def _rule(ns: str, app: str, *items: tuple[int, str] | tuple[int, str, int]) -> dict[str, Any]:
    return {"from": [from_pods(ns, app=app)], "ports": ports(*items)}


TCP, UDP, SCTP = Protocol.TCP, Protocol.UDP, Protocol.SCTP
MUST_BLOCK = "is allowed but must be blocked"
MUST_ALLOW = "is blocked but must be allowed"


@pytest.mark.parametrize(
    ("rules", "miss"),
    [
        ([WEB_TO_DB], None),
        # one extra port on one extra source
        ([WEB_TO_DB, _rule("b", "client", (6000, "TCP"))], ("b/client", 6000, TCP, MUST_BLOCK)),
        # the right port on another protocol
        ([WEB_TO_DB, _rule("a", "web", (5432, "UDP"))], ("a/web", 5432, UDP, MUST_BLOCK)),
        # a range that holds the port and one more
        ([_rule("a", "web", (5432, "TCP", 5433))], ("a/web", 5433, TCP, MUST_BLOCK)),
        # the wrong port: what it opens is reported first
        ([_rule("a", "web", (5433, "TCP"))], ("a/web", 5433, TCP, MUST_BLOCK)),
        # the required port closed to the source that needs it
        ([_rule("b", "client", (5432, "TCP"))], ("a/web", 5432, TCP, MUST_ALLOW)),
        # not isolated at all: every other source gets in
        ([], ("a/web", 80, TCP, MUST_BLOCK)),
    ],
)
def test_exactly_into_a_target(
    rules: list[dict[str, Any]], miss: tuple[str, int, Protocol, str] | None
) -> None:
    policies = [policy("a", "db-in", {"app": "db"}, ingress=rules)] if rules else []
    passed, found = _check(DB_ONLY_FROM_WEB, *policies)
    assert passed is (miss is None)
    if miss is not None:
        source, port, protocol, reason = miss
        assert found == (source, "a/db", port, protocol, reason)


def test_exactly_counts_external_peers_listed_in_externals() -> None:
    from_google = {"from": [{"ipBlock": {"cidr": "8.8.8.0/24"}}], "ports": ports((5432, "TCP"))}
    open_to_internet = policy("a", "db-in", {"app": "db"}, ingress=[WEB_TO_DB, from_google])
    assert _check(DB_ONLY_FROM_WEB, open_to_internet)[0] is True  # no externals: not seen
    passed, found = _check(DB_ONLY_FROM_WEB, open_to_internet, externals=["ip:8.8.8.8"])
    assert not passed
    assert found == ("ip:8.8.8.8", "a/db", 5432, TCP, MUST_BLOCK)


def test_exactly_out_of_a_target() -> None:
    item = {
        "id": "db-out",
        "description": "db opens only 53/UDP to client",
        "points": 1,
        "exactly": {"from": "a/db", "allow": [{"to": "b/client", "ports": "53/UDP"}]},
    }
    to_client = {"to": [from_pods("b", app="client")], "ports": ports((53, "UDP"))}
    assert _check(item, policy("a", "db-out", {"app": "db"}, egress=[to_client]))[0]
    wider = {"to": [from_pods("b", app="client")], "ports": ports((53, "UDP"), (53, "TCP"))}
    passed, found = _check(item, policy("a", "db-out", {"app": "db"}, egress=[wider]))
    assert not passed
    assert found == ("a/db", "b/client", 53, TCP, MUST_BLOCK)


BLOCK_B_ANY = {
    "id": "b-out",
    "description": "b cannot reach db",
    "points": 1,
    "blocked": [{"from": "b/*", "to": "a/db", "ports": "any"}],
}


@pytest.mark.parametrize(
    ("rules", "miss"),
    [
        ([WEB_TO_DB], None),
        # one port of one protocol, far from any probe port, is enough to fail
        ([WEB_TO_DB, _rule("b", "client", (31337, "SCTP"))], (31337, SCTP)),
        ([WEB_TO_DB, _rule("b", "client", (40000, "UDP", 40010))], (40000, UDP)),
    ],
)
def test_blocked_any_sees_a_single_open_port(
    rules: list[dict[str, Any]], miss: tuple[int, Protocol] | None
) -> None:
    passed, found = _check(BLOCK_B_ANY, policy("a", "db-in", {"app": "db"}, ingress=rules))
    assert passed is (miss is None)
    if miss is not None:
        assert found == ("b/client", "a/db", miss[0], miss[1], MUST_BLOCK)


def test_blocked_skips_self_traffic() -> None:
    """A pod always reaches itself (no policy can stop it): ``a/*`` to ``a/*`` blocked means
    between different pods."""
    item = {**BLOCK_B_ANY, "blocked": [{"from": "a/*", "to": "a/*", "ports": "any"}]}
    deny_all = policy("a", "deny", {}, ingress=[])
    assert _check(item, deny_all)[0]
    assert _check(item)[1] == ("a/db", "a/web", 80, TCP, MUST_BLOCK)


def test_allowed_any_needs_every_port() -> None:
    item = {
        "id": "web-db",
        "description": "web reaches db on everything",
        "points": 1,
        "allowed": [{"from": "a/web", "to": "a/db", "ports": "any"}],
    }
    all_but_one = _rule(
        "a", "web", (1, "TCP", 5431), (5433, "TCP", 65535), (1, "UDP", 65535), (1, "SCTP", 65535)
    )
    assert _check(item)[0]  # nothing isolated: everything allowed
    passed, found = _check(item, policy("a", "db-in", {"app": "db"}, ingress=[all_but_one]))
    assert not passed
    assert found == ("a/web", "a/db", 5432, TCP, MUST_ALLOW)


def test_allowed_and_blocked_together() -> None:
    item = {**BLOCK_B_ANY, "allowed": [{"from": "a/web", "to": "a/db", "ports": "5432/TCP"}]}
    assert _check(item, DB_IN)[0]
    # the port the requirement names is the one the feedback shows
    assert _check(item)[1] == ("b/client", "a/db", 5432, TCP, MUST_BLOCK)
    deny = policy("a", "db-in", {"app": "db"}, ingress=[])
    assert _check(item, deny)[1] == ("a/web", "a/db", 5432, TCP, MUST_ALLOW)


UNCHANGED = {
    "id": "rest",
    "description": "the rest is unchanged",
    "points": 1,
    "unchanged": [{"from": "*", "to": "*", "except_to": "a/db"}],
}


def test_unchanged_compares_with_the_starting_world() -> None:
    assert _check(UNCHANGED, DB_IN)[0]  # only traffic into db changed: excepted
    whole = {**UNCHANGED, "unchanged": [{"from": "*", "to": "*"}]}
    passed, found = _check(whole, DB_IN)
    assert not passed
    assert found is not None and found[1] == "a/db" and "was allowed at the start" in found[4]
    # something opened that the start kept closed is a change too
    start = view(policy("b", "deny", {}, ingress=[]))
    assert _check(UNCHANGED, before=start)[1] == (
        "a/db",
        "b/client",
        80,
        TCP,
        "is allowed but was blocked at the start (it must stay unchanged)",
    )


def test_unchanged_star_covers_externals() -> None:
    no_internet = policy(
        "a", "web-out", {"app": "web"}, egress=[{"to": [{"namespaceSelector": {}}]}]
    )
    item = {**UNCHANGED, "unchanged": [{"from": "a/web", "to": "*"}]}
    assert _check(item, no_internet)[0]  # pods are still reached
    passed, found = _check(item, no_internet, externals=["ip:1.1.1.1"])
    assert not passed
    assert found is not None and found[:2] == ("a/web", "ip:1.1.1.1")


def test_state_needs_a_policy_in_the_namespace() -> None:
    item = {"id": "s", "description": "a policy in a", "points": 0, "state": {"policy_in": "a"}}
    reqs = requirement(item)
    assert check_requirement(only(reqs), view(DB_IN), EMPTY).passed
    outcome = check_requirement(only(reqs), EMPTY, EMPTY)
    assert not outcome.passed
    assert outcome.note == "no NetworkPolicy exists in namespace a"


def test_feedback_is_explain_on_the_failing_pair() -> None:
    extra = policy(
        "a", "db-in", {"app": "db"}, ingress=[WEB_TO_DB, _rule("b", "client", (6000, "TCP"))]
    )
    reqs = requirement(DB_ONLY_FROM_WEB)
    after = view(extra)
    outcome = check_requirement(only(reqs), after, EMPTY)
    assert outcome.miss is not None
    text = miss_text(outcome.miss, after.engine)
    client, db = after.engine.endpoint("b/client"), after.engine.endpoint("a/db")
    why = explain(after.engine, client, db, 6000, "TCP")
    assert text == f"b/client -> a/db on 6000/TCP is allowed but must be blocked: {why.summary}"
    assert "a/db-in" in text  # the summary names the rule that lets it in


def test_unknown_peer_is_an_error_of_the_requirement_file() -> None:
    item = {**BLOCK_B_ANY, "blocked": [{"from": "c/*", "to": "a/db", "ports": "any"}]}
    with pytest.raises(RequirementsError) as caught:
        _check(item)
    assert caught.value.file == "reqs.yaml"
    assert caught.value.requirement == "b-out"
    assert caught.value.field == "requirements[0].blocked[0].from"


def test_observations_decide_the_ports_probed_and_only_those() -> None:
    """``labkit grade --live``: where a probe disagrees with the engine, the probe wins for
    that port; an agreeing probe changes nothing; other ports stay the engine's."""
    from labkit.grading.evaluate import Observation

    engine_view = view(DB_IN)
    web, db = engine_view.engine.endpoint("a/web"), engine_view.engine.endpoint("a/db")
    agreeing = engine_view.observed([Observation("a/web", "a/db", 5432, TCP, True)])
    assert agreeing.corrections == {}
    blocked = engine_view.observed([Observation("a/web", "a/db", 5432, TCP, False)])
    ports_now = blocked.ports(web, db)
    assert ports_now is not None and not ports_now.contains(5432, TCP)
    leaked = engine_view.observed([Observation("a/web", "a/db", 80, TCP, True)])
    ports_now = leaked.ports(web, db)
    assert ports_now is not None
    assert ports_now.contains(80, TCP) and ports_now.contains(5432, TCP)
    assert not ports_now.contains(81, TCP)
    assert engine_view.corrections == {}  # the engine's own view is untouched
