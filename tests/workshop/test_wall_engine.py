"""The wall in the engine: traffic between two learners' namespaces is denied whatever their
NetworkPolicies say; everything else is decided by the NetworkPolicies exactly as before.

The world: workshop ``ws1`` with learners alice and bob (walls), carol and dave (no wall
objects), ``ws2``'s erin (wall), a kube-system pod, a ``hostNetwork`` pod in bob's namespace,
an address outside the cluster; in every learner namespace a NetworkPolicy that allows all
ingress and egress from and to anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from labkit.engine.evaluator import Engine, SelfTraffic
from labkit.engine.explain import explain_by_name
from labkit.engine.explain.render import to_dict, to_html, to_text
from labkit.engine.matrix import compute_matrix
from labkit.engine.portset import ALL
from labkit.model.inventory import Inventory, build_inventory
from labkit.model.loader import RawObject
from labkit.model.policy import Direction
from labkit.model.ports import Protocol
from labkit.model.wall import WallFlavour, render_walls, wall_from_object
from labkit.model.workshop import LearnerSpace
from labkit.probe.jobs import Job, Outcome, ProbeSpec
from labkit.probe.runner import EngineRunner

LOGICAL = ("my-segment", "trusted")
SPACES = {
    "alice": LearnerSpace("ws1", "alice", LOGICAL),
    "bob": LearnerSpace("ws1", "bob", LOGICAL),
    "carol": LearnerSpace("ws1", "carol", LOGICAL),
    "dave": LearnerSpace("ws1", "dave", LOGICAL),
    "erin": LearnerSpace("ws2", "erin", LOGICAL),
}
WALLED = {"ws1": ["alice", "bob"], "ws2": ["erin"]}
EXTERNAL = "ip:198.51.100.7"
SYSTEM_POD = "kube-system/coredns"
HOST_POD = "ws1-bob-trusted/node-agent"


def pod(name: str, namespace: str, ip: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"containers": [{"name": "c", "image": "agnhost"}], **spec},
        "status": {"podIP": ip},
    }


def allow_everything(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-everything", "namespace": namespace},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{}],
            "egress": [{}],
        },
    }


def world_objects(flavour: WallFlavour = WallFlavour.CALICO) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "kube-system"},
        },
        pod("coredns", "kube-system", "10.96.0.10"),
    ]
    for n, (learner, space) in enumerate(SPACES.items()):
        for m, logical in enumerate(LOGICAL):
            real = space.real(logical)
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": real, "labels": space.namespace_labels(logical)},
                }
            )
            docs.append(pod("web", real, f"10.{n + 1}.{m}.10"))
            docs.append(allow_everything(real))
            if learner == "bob" and logical == "trusted":
                docs.append(pod("node-agent", real, "172.18.0.3", hostNetwork=True))
    for workshop, learners in WALLED.items():
        docs += render_walls(workshop, learners, flavour)
    return docs


def inventory(docs: Iterable[dict[str, Any]]) -> Inventory:
    return build_inventory([RawObject(d, "world.yaml") for d in docs])


def engine(flavour: WallFlavour = WallFlavour.CALICO, **options: Any) -> Engine:
    return Engine(inventory(world_objects(flavour)), **options)


def web(learner: str, logical: str = "trusted") -> str:
    return f"{SPACES[learner].real(logical)}/web"


def verdict(e: Engine, src: str, dst: str, port: int = 80) -> bool | None:
    return e.allowed_by_name(src, dst, port, "TCP")


# -- verdicts ----------------------------------------------------------------------------------
@pytest.mark.parametrize("flavour", list(WallFlavour))
def test_cross_learner_traffic_is_blocked_both_ways(flavour: WallFlavour) -> None:
    e = engine(flavour)
    assert e.wall is not None
    for a, b in (("alice", "bob"), ("bob", "alice")):
        for la in LOGICAL:
            for lb in LOGICAL:
                src, dst = e.endpoint(web(a, la)), e.endpoint(web(b, lb))
                conn = e.connectivity(src, dst)
                assert conn is not None and conn.is_empty, (src, dst)
                assert verdict(e, web(a, la), web(b, lb)) is False


def test_own_traffic_is_decided_by_the_learners_policies() -> None:
    e = engine()
    for learner in SPACES:
        src, dst = web(learner, "my-segment"), web(learner, "trusted")
        assert e.connectivity(e.endpoint(src), e.endpoint(dst)) == ALL
        assert verdict(e, dst, src) is True


def test_learners_reach_kube_system_and_back() -> None:
    e = engine()
    for learner in SPACES:
        assert verdict(e, web(learner), SYSTEM_POD, 53) is True
        assert verdict(e, SYSTEM_POD, web(learner)) is True


def test_addresses_and_host_network_pods_pass_the_wall() -> None:
    e = engine()
    assert verdict(e, web("alice"), EXTERNAL, 443) is True
    assert verdict(e, EXTERNAL, web("alice")) is True
    # a hostNetwork pod's traffic is its node's: no namespace to the wall (rule 3)
    assert verdict(e, HOST_POD, web("alice")) is True
    assert verdict(e, web("alice"), HOST_POD) is True
    assert verdict(e, EXTERNAL, HOST_POD) is None


def test_a_learner_without_a_wall_is_still_walled_off_by_its_peers_wall() -> None:
    e = engine()
    assert verdict(e, web("carol"), web("alice")) is False  # alice's ingress wall
    assert verdict(e, web("alice"), web("carol")) is False  # alice's egress wall
    assert verdict(e, web("bob"), web("dave")) is False
    # neither carol nor dave has a wall object: only their NetworkPolicies decide
    assert verdict(e, web("carol"), web("dave")) is True


def test_the_same_name_in_another_workshop_is_another_learner() -> None:
    e = engine()
    assert verdict(e, web("alice"), web("erin")) is False
    assert verdict(e, web("erin"), web("carol")) is False


def test_self_traffic_is_never_walled_off() -> None:
    e = engine(self_traffic="evaluate")
    assert verdict(e, web("alice"), web("alice")) is True
    assert engine().wall_block(e.endpoint(web("alice")), e.endpoint(web("alice"))) is None


def test_deleting_the_wall_objects_restores_plain_networkpolicy_behaviour() -> None:
    docs = world_objects()
    kept = [d for d in docs if wall_from_object(RawObject(d, "world.yaml")) is None]
    assert len(kept) < len(docs)
    plain = Engine(inventory(kept))
    assert plain.wall is None
    walled = engine()
    assert verdict(plain, web("alice"), web("bob")) is True
    assert verdict(plain, web("bob"), web("alice")) is True
    endpoints = plain.endpoints([EXTERNAL])
    for src in endpoints:
        for dst in endpoints:
            a, b = walled.endpoint(src.key), walled.endpoint(dst.key)
            if walled.wall_block(a, b) is None:
                assert walled.connectivity(a, b) == plain.connectivity(src, dst)


def test_without_walls_the_engine_builds_no_wall_index() -> None:
    docs = [d for d in world_objects() if "GlobalNetworkPolicy" != d["kind"]]
    assert Engine(inventory(docs)).wall is None


# -- the matrix and the prediction runner ------------------------------------------------------
@pytest.mark.parametrize("self_traffic", ["allow", "evaluate"])
@pytest.mark.parametrize("flavour", [WallFlavour.CALICO, WallFlavour.ANP])
def test_matrix_equals_the_engine_pair_by_pair(
    flavour: WallFlavour, self_traffic: SelfTraffic
) -> None:
    e = engine(flavour, self_traffic=self_traffic)
    endpoints = e.endpoints([EXTERNAL])
    matrix = compute_matrix(e, endpoints)
    grid = matrix.allowed(80, Protocol.TCP)
    blocked = 0
    for i, src in enumerate(endpoints):
        for j, dst in enumerate(endpoints):
            assert matrix.cell(i, j) == e.connectivity(src, dst), (src.key, dst.key)
            assert grid[i][j] == e.allowed(src, dst, 80, Protocol.TCP)
            blocked += grid[i][j] is False
    assert blocked > 0
    rows = list(matrix.text_rows())
    i, j = matrix.index(web("alice")), matrix.index(web("bob"))
    assert rows[i][j] == "" and rows[i][matrix.index(web("alice", "my-segment"))] == "All"


def test_engine_runner_predicts_blocked() -> None:
    jobs = [
        Job(web("alice"), web("bob"), ProbeSpec(80)),
        Job(web("alice"), web("alice", "my-segment"), ProbeSpec(80)),
        Job(web("bob"), SYSTEM_POD, ProbeSpec(53, Protocol.UDP)),
    ]
    outcomes = [r.outcome for r in EngineRunner(engine()).run(jobs)]
    assert outcomes == [Outcome.BLOCKED, Outcome.ALLOWED, Outcome.ALLOWED]


# -- explain -----------------------------------------------------------------------------------
ALICE_WALL = (
    "denied by the workshop wall: GlobalNetworkPolicy labkit-ws1-alice (tier labkit-workshop) "
    "denies traffic between learner alice's namespaces and learner bob's"
)


def test_explain_names_the_wall_and_the_learners() -> None:
    expl = explain_by_name(engine(), web("alice"), web("bob"), 80)
    assert expl.allowed is False and expl.verdict == "DENIED"
    assert expl.summary == ALICE_WALL
    assert expl.wall is not None
    assert (expl.wall.kind, expl.wall.name, expl.wall.tier) == (
        "GlobalNetworkPolicy",
        "labkit-ws1-alice",
        "labkit-workshop",
    )
    assert expl.wall.direction is Direction.EGRESS and expl.wall.owner == web("alice")
    assert expl.wall.also == "GlobalNetworkPolicy labkit-ws1-bob (tier labkit-workshop)"
    # the NetworkPolicies would allow it: the explanation says so
    assert any("without it the NetworkPolicies would allow 80/TCP" in n for n in expl.notes)
    assert expl.egress.allowed and expl.ingress.allowed


def test_explain_names_the_destinations_wall_when_the_source_has_none() -> None:
    expl = explain_by_name(engine(), web("carol"), web("alice"), 80)
    assert expl.wall is not None and expl.wall.direction is Direction.INGRESS
    assert expl.summary == (
        "denied by the workshop wall: GlobalNetworkPolicy labkit-ws1-alice (tier "
        "labkit-workshop) denies traffic between learner alice's namespaces and learner carol's"
    )
    assert expl.wall.also == ""


def test_explain_across_workshops_names_them() -> None:
    expl = explain_by_name(engine(WallFlavour.CNP), web("erin"), web("dave"), 80)
    assert expl.summary == (
        "denied by the workshop wall: ClusterNetworkPolicy labkit-ws2-erin (tier Admin) denies "
        "traffic between learner erin of workshop ws2's namespaces and learner dave of "
        "workshop ws1's"
    )


def test_every_renderer_carries_the_wall() -> None:
    expl = explain_by_name(engine(), web("alice"), web("bob"), 80)
    text = to_text(expl)
    assert ALICE_WALL in text
    assert "workshop wall: GlobalNetworkPolicy labkit-ws1-alice (tier labkit-workshop)" in text
    html = to_html(expl)
    assert "workshop wall" in html and "labkit-ws1-alice" in html
    assert "learner alice&#x27;s namespaces and learner bob&#x27;s" in html
    data = to_dict(expl)
    assert json.loads(json.dumps(data)) == data
    assert data["summary"] == ALICE_WALL
    assert data["wall"] == {
        "kind": "GlobalNetworkPolicy",
        "name": "labkit-ws1-alice",
        "tier": "labkit-workshop",
        "direction": "Egress",
        "owner": web("alice"),
        "learner": "alice",
        "peer_learner": "bob",
        "text": ALICE_WALL,
        "also": "GlobalNetworkPolicy labkit-ws1-bob (tier labkit-workshop)",
    }


def test_explain_without_a_wall_in_the_way_says_nothing_of_walls() -> None:
    for src, dst in ((web("alice"), SYSTEM_POD), (web("carol"), web("dave"))):
        expl = explain_by_name(engine(), src, dst, 80)
        assert expl.allowed is True and expl.wall is None
        assert "wall" not in to_text(expl) and to_dict(expl)["wall"] is None


# -- the simulated cluster reads the walls it stores ---------------------------------------------
def test_the_simulated_clusters_inventory_holds_the_walls() -> None:
    from labkit.cluster.sim_apply import build
    from labkit.model.ipam import IPPlan

    entries: Sequence[Any] = [{"source": "init", "object": d} for d in world_objects()]
    found = build(entries, IPPlan())
    assert {w.learner for w in found.walls} == {"alice", "bob", "erin"}
    assert found.unevaluated == ()
    e = Engine(found)
    assert verdict(e, web("alice"), web("bob")) is False
