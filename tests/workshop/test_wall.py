"""The wall between workshop learners as data: renderings (goldens), recognising wall objects,
choosing the flavour a cluster serves, the three rules, and the inventory's ``walls``."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from goldens import check_golden

from labkit.model.inventory import build_inventory
from labkit.model.loader import RawObject, load_text
from labkit.model.objects import MANAGED_LABEL
from labkit.model.unevaluated import find_unevaluated
from labkit.model.wall import (
    WALL_ORDER,
    WALL_TIER,
    LearnerWall,
    WallFlavour,
    choose_flavour,
    render_tier,
    render_wall,
    render_walls,
    wall_from_object,
    wall_name,
)
from labkit.model.workshop import (
    LEARNER_LABEL,
    WALL_LABEL,
    WORKSHOP_LABEL,
    LearnerSpace,
    WorkshopError,
)

GOLDEN_NAMES = {
    WallFlavour.CALICO: "wall_calico.yaml",
    WallFlavour.CALICO_CRD: "wall_calico_crd.yaml",
    WallFlavour.CNP: "wall_cnp.yaml",
    WallFlavour.ANP: "wall_anp.yaml",
}

SERVED = {
    WallFlavour.CALICO: "projectcalico.org/v3/globalnetworkpolicies",
    WallFlavour.CALICO_CRD: "crd.projectcalico.org/v1/globalnetworkpolicies",
    WallFlavour.CNP: "policy.networking.k8s.io/v1alpha2/clusternetworkpolicies",
    WallFlavour.ANP: "policy.networking.k8s.io/v1alpha1/adminnetworkpolicies",
}


def raw(obj: dict[str, Any]) -> RawObject:
    return RawObject(obj, "walls.yaml")


# -- rendering ---------------------------------------------------------------------------------
@pytest.mark.parametrize("flavour", list(WallFlavour))
def test_rendering_matches_golden(flavour: WallFlavour, update_goldens: bool) -> None:
    text = yaml.safe_dump_all(render_walls("ws1", ["alice"], flavour), sort_keys=False)
    check_golden(f"workshop/{GOLDEN_NAMES[flavour]}", text, update_goldens)


@pytest.mark.parametrize("flavour", list(WallFlavour))
def test_every_wall_carries_the_labels_and_its_name(flavour: WallFlavour) -> None:
    obj = render_wall("ws1", "alice", flavour)
    assert obj["apiVersion"] == flavour.value
    assert obj["metadata"]["name"] == wall_name("ws1", "alice") == "labkit-ws1-alice"
    labels = obj["metadata"]["labels"]
    assert labels[WALL_LABEL] == "true"
    assert labels[WORKSHOP_LABEL] == "ws1" and labels[LEARNER_LABEL] == "alice"
    assert labels[MANAGED_LABEL] == "true"
    assert "namespace" not in obj["metadata"]  # cluster-scoped


@pytest.mark.parametrize("flavour", [WallFlavour.CALICO, WallFlavour.CALICO_CRD])
def test_calico_wall_rules_in_contract_order(flavour: WallFlavour) -> None:
    spec = render_wall("ws1", "alice", flavour)["spec"]
    own = "labkit.dev/workshop == 'ws1' && labkit.dev/learner == 'alice'"
    assert spec["tier"] == WALL_TIER and spec["order"] == WALL_ORDER
    assert spec["namespaceSelector"] == own
    assert spec["types"] == ["Ingress", "Egress"]
    for direction, side in (("ingress", "source"), ("egress", "destination")):
        rules = spec[direction]
        assert [r["action"] for r in rules] == ["Pass", "Deny", "Pass"]
        assert rules[0][side] == {"namespaceSelector": own}
        assert rules[1][side] == {"namespaceSelector": "has(labkit.dev/learner)"}
        assert set(rules[2]) == {"action"}  # everything else
    (tier,) = render_tier(flavour)
    assert tier["kind"] == "Tier" and tier["metadata"]["name"] == WALL_TIER
    assert tier["spec"] == {"order": WALL_ORDER, "defaultAction": "Pass"}
    # shared by every workshop: a workshop's teardown (by its label) must not select it
    assert WORKSHOP_LABEL not in tier["metadata"]["labels"]


@pytest.mark.parametrize("flavour", [WallFlavour.CNP, WallFlavour.ANP])
def test_policy_api_wall_rules(flavour: WallFlavour) -> None:
    spec = render_wall("ws1", "alice", flavour)["spec"]
    own = {"matchLabels": {WORKSHOP_LABEL: "ws1", LEARNER_LABEL: "alice"}}
    assert spec["subject"] == {"namespaces": own}
    assert 0 <= spec["priority"] <= 1000
    assert ("tier" in spec) is (flavour is WallFlavour.CNP)
    for direction, side in (("ingress", "from"), ("egress", "to")):
        first, second = spec[direction]
        assert first["action"] == "Pass" and first[side] == [{"namespaces": own}]
        assert second["action"] == "Deny"
        assert second[side] == [
            {"namespaces": {"matchExpressions": [{"key": LEARNER_LABEL, "operator": "Exists"}]}}
        ]
    assert render_tier(flavour) == []


def test_renderings_share_no_objects() -> None:
    """Each rendering is plain data of its own (YAML anchors would otherwise appear)."""
    text = yaml.safe_dump(render_wall("ws1", "alice", WallFlavour.ANP))
    assert "&id" not in text


# -- recognising -------------------------------------------------------------------------------
@pytest.mark.parametrize("flavour", list(WallFlavour))
def test_wall_from_object_reads_every_flavour(flavour: WallFlavour) -> None:
    wall = wall_from_object(raw(render_wall("ws1", "bob", flavour)))
    assert wall == LearnerWall("ws1", "bob", flavour.kind, "labkit-ws1-bob")
    assert wall.owns({WORKSHOP_LABEL: "ws1", LEARNER_LABEL: "bob"})


def test_wall_title_names_the_tier() -> None:
    calico = wall_from_object(raw(render_wall("ws1", "bob", WallFlavour.CALICO_CRD)))
    assert calico is not None
    assert calico.title == "GlobalNetworkPolicy labkit-ws1-bob (tier labkit-workshop)"
    cnp = wall_from_object(raw(render_wall("ws1", "bob", WallFlavour.CNP)))
    assert cnp is not None and cnp.title == "ClusterNetworkPolicy labkit-ws1-bob (tier Admin)"
    anp = wall_from_object(raw(render_wall("ws1", "bob", WallFlavour.ANP)))
    assert anp is not None and anp.title == "AdminNetworkPolicy labkit-ws1-bob"


def _without_label(obj: dict[str, Any], key: str) -> dict[str, Any]:
    obj["metadata"]["labels"].pop(key)
    return obj


@pytest.mark.parametrize(
    "obj",
    [
        _without_label(render_wall("ws1", "bob", WallFlavour.CALICO), WALL_LABEL),
        _without_label(render_wall("ws1", "bob", WallFlavour.CNP), LEARNER_LABEL),
        _without_label(render_wall("ws1", "bob", WallFlavour.ANP), WORKSHOP_LABEL),
        {**render_wall("ws1", "bob", WallFlavour.CALICO), "kind": "NetworkPolicy"},
        {**render_wall("ws1", "bob", WallFlavour.CALICO), "apiVersion": "example.com/v1"},
        render_tier(WallFlavour.CALICO)[0],
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {
                "name": "x",
                "namespace": "ws1-bob-trusted",
                "labels": {WALL_LABEL: "true", WORKSHOP_LABEL: "ws1", LEARNER_LABEL: "bob"},
            },
            "spec": {"podSelector": {}},
        },
    ],
    ids=[
        "no-wall-label",
        "no-learner",
        "no-workshop",
        "calico-namespaced-kind",
        "other-group",
        "tier",
        "kubernetes-networkpolicy",
    ],
)
def test_wall_from_object_ignores_everything_else(obj: dict[str, Any]) -> None:
    assert wall_from_object(raw(obj)) is None


def test_wall_label_false_is_no_wall() -> None:
    obj = render_wall("ws1", "bob", WallFlavour.CALICO)
    obj["metadata"]["labels"][WALL_LABEL] = "false"
    assert wall_from_object(raw(obj)) is None


# -- choosing ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("served", "expected"),
    [
        (set(SERVED.values()), WallFlavour.CALICO),
        ({SERVED[WallFlavour.CALICO_CRD], SERVED[WallFlavour.CNP]}, WallFlavour.CALICO_CRD),
        ({SERVED[WallFlavour.CNP], SERVED[WallFlavour.ANP]}, WallFlavour.CNP),
        ({SERVED[WallFlavour.ANP], "v1/pods"}, WallFlavour.ANP),
        (["crd.projectcalico.org/v1/globalnetworkpolicies"], WallFlavour.CALICO_CRD),
    ],
)
def test_choose_flavour_prefers_calico(served: Any, expected: WallFlavour) -> None:
    assert choose_flavour(served) is expected


def test_flavour_names_what_discovery_lists() -> None:
    assert {f: f.resource for f in WallFlavour} == SERVED


@pytest.mark.parametrize(
    "served",
    [
        set(),
        {"v1/pods", "networking.k8s.io/v1/networkpolicies"},
        {"projectcalico.org/v3/networkpolicies", "crd.projectcalico.org/v1/tiers"},
        {"policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies"},
    ],
)
def test_choose_flavour_without_any_says_how_to_fix(served: set[str]) -> None:
    with pytest.raises(WorkshopError) as caught:
        choose_flavour(served)
    text = str(caught.value)
    assert "Calico" in text and "network-policy-api" in text
    assert "\n    fix: " in text


# -- the three rules ---------------------------------------------------------------------------
ALICE = LearnerSpace("ws1", "alice", ("my-segment", "trusted"))
BOB = LearnerSpace("ws1", "bob", ("my-segment", "trusted"))
ALICE_WS2 = LearnerSpace("ws2", "alice", ("my-segment",))
WALL = LearnerWall("ws1", "alice", "GlobalNetworkPolicy", "labkit-ws1-alice")
SYSTEM = {"kubernetes.io/metadata.name": "kube-system"}


def test_decides_passes_own_namespaces() -> None:
    own = ALICE.namespace_labels("my-segment")
    assert WALL.decides(own, ALICE.namespace_labels("trusted")) == "pass"
    assert WALL.decides(own, own) == "pass"


def test_decides_denies_other_learners_of_any_workshop() -> None:
    own = ALICE.namespace_labels("trusted")
    assert WALL.decides(own, BOB.namespace_labels("trusted")) == "deny"
    # the same learner name in another workshop is another learner
    assert WALL.decides(own, ALICE_WS2.namespace_labels("my-segment")) == "deny"
    assert WALL.decides(own, {LEARNER_LABEL: "anyone"}) == "deny"


def test_decides_passes_everything_else() -> None:
    own = ALICE.namespace_labels("trusted")
    assert WALL.decides(own, SYSTEM) == "pass"
    assert WALL.decides(own, {WORKSHOP_LABEL: "ws1"}) == "pass"  # the canary namespace
    assert WALL.decides(own, None) == "pass"  # an address, a hostNetwork pod
    assert WALL.decides(own, {}) == "pass"


def test_a_wall_does_nothing_to_namespaces_it_does_not_own() -> None:
    assert not WALL.owns(BOB.namespace_labels("trusted"))
    assert WALL.decides(BOB.namespace_labels("trusted"), ALICE.namespace_labels("trusted")) == (
        "pass"
    )
    assert not WALL.owns(ALICE_WS2.namespace_labels("my-segment"))


# -- the inventory -----------------------------------------------------------------------------
POLICIES = """
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: learner-own-gnp}
spec: {selector: all(), types: [Ingress]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: someone-elses}
spec: {priority: 1, subject: {namespaces: {}}}
"""


@pytest.mark.parametrize("flavour", list(WallFlavour))
def test_inventory_holds_walls_and_not_as_unevaluated(flavour: WallFlavour) -> None:
    objects = [raw(o) for o in render_walls("ws1", ["alice", "bob"], flavour)]
    others = load_text(POLICIES)
    inventory = build_inventory([*objects, *others])
    assert inventory.walls == (
        LearnerWall("ws1", "alice", flavour.kind, "labkit-ws1-alice"),
        LearnerWall("ws1", "bob", flavour.kind, "labkit-ws1-bob"),
    )
    assert len(inventory.unevaluated) == 2
    assert not any("labkit-ws1" in text for text in inventory.unevaluated)
    assert inventory.warnings == ()  # the Calico Tier is read silently
    assert find_unevaluated([*objects, *others]) == inventory.unevaluated


def test_inventory_without_walls_is_unchanged() -> None:
    inventory = build_inventory(load_text(POLICIES))
    assert inventory.walls == ()
    assert len(inventory.unevaluated) == 2


def test_a_wall_declared_twice_is_replaced_with_a_warning() -> None:
    obj = raw(render_wall("ws1", "alice", WallFlavour.CALICO))
    inventory = build_inventory([obj, obj])
    assert len(inventory.walls) == 1
    (warning,) = inventory.warnings
    assert "GlobalNetworkPolicy labkit-ws1-alice" in warning and "declared again" in warning
