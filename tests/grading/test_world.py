"""Applying a submission to the exercise's world: what is allowed, replaced, rejected."""

from __future__ import annotations

import ipaddress

import pytest
from grading_inputs import ISOLATE, OPEN_TO_ALL, lab_world, objects

from labkit.errors import GradingError
from labkit.grading.submission import Rejected, Submission
from labkit.grading.world import AllowedChanges, World, build_world
from labkit.model.inventory import build_inventory

MY_SEGMENT = AllowedChanges(frozenset({"NetworkPolicy"}), frozenset({"my-segment"}))

DENY_ALL = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: isolate, namespace: my-segment}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
"""


def policy_in(namespace: str, name: str = "p", header: str = "") -> str:
    return (
        f"{header or 'apiVersion: networking.k8s.io/v1'}\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec: {{podSelector: {{}}}}\n"
    )


def world_of(text: str, allowed: AllowedChanges = MY_SEGMENT, exercise: str = "") -> World:
    submission = Submission(tuple(objects(text, "answer.yaml")))
    return build_world(lab_world(), objects(exercise) if exercise else [], submission, allowed)


def policy_keys(world: World) -> list[str]:
    return [f"{p.namespace}/{p.name}" for p in world.inventory.policies]


def only_reason(world: World) -> str:
    (rejected,) = world.rejected
    return rejected.reason


def test_an_allowed_policy_is_applied_to_the_lab_world() -> None:
    world = world_of(ISOLATE)
    assert world.rejected == ()
    assert policy_keys(world) == ["my-segment/isolate"]
    assert {"my-segment/database", "kube-system/coredns-1"} <= {p.key for p in world.inventory.pods}


def test_an_object_of_the_same_key_replaces_the_exercise_world_one() -> None:
    world = world_of(ISOLATE, exercise=DENY_ALL)
    (policy,) = world.inventory.policies
    assert policy.source.startswith("answer.yaml")
    assert len(policy.ingress) == 1 and not policy.egress
    assert [o.file for o in world.objects if o.kind == "NetworkPolicy"] == ["answer.yaml"]


def test_the_exercise_world_stays_when_the_submission_adds_beside_it() -> None:
    world = world_of(OPEN_TO_ALL, exercise=DENY_ALL)
    assert policy_keys(world) == ["my-segment/isolate", "my-segment/open"]


def test_an_empty_submission_gives_the_world_before_it() -> None:
    world = build_world(lab_world(), objects(DENY_ALL), Submission(), MY_SEGMENT)
    assert world.inventory == build_inventory([*lab_world(), *objects(DENY_ALL)])
    assert world.rejected == ()


def test_the_lab_address_plan_applies() -> None:
    """branch-office asks for the labkit-branch pool (192.168.1.0/24, the tutorial's range)
    with the cni.projectcalico.org/ipv4pools annotation."""
    world = world_of(ISOLATE)
    address = world.inventory.pod("branch-office/client").ip
    assert ipaddress.ip_address(str(address)) in ipaddress.ip_network("192.168.1.0/24")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (policy_in("trusted"), "namespace trusted is not one this exercise lets you change"),
        (
            policy_in("default").replace("namespace: default", "namespace: ''"),
            "namespace default is not one this exercise lets you change (metadata.namespace "
            "is not set, so it would land in default); allowed: my-segment",
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: my-segment}\n"
            "spec: {selector: {app: x}, ports: [{port: 80}]}\n",
            "kind Service is not allowed in this exercise (allowed: NetworkPolicy)",
        ),
        (
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: new-ns}\n",
            "a submission may not create or change a Namespace",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: spy, namespace: my-segment}\n"
            "spec: {containers: [{name: c, image: busybox}]}\n",
            "a submission may not create or change a Pod",
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: my-segment}\n"
            "spec:\n  selector: {matchLabels: {app: d}}\n  template:\n"
            "    metadata: {labels: {app: d}}\n    spec: {containers: [{name: c, image: x}]}\n",
            "a submission may not create or change a Deployment",
        ),
        (
            policy_in("my-segment", header="apiVersion: projectcalico.org/v3"),
            "a Calico NetworkPolicy is not graded: labkit evaluates Kubernetes NetworkPolicy",
        ),
    ],
)
def test_what_the_exercise_does_not_allow_is_rejected_with_no_effect(
    text: str, expected: str
) -> None:
    world = world_of(text)
    assert only_reason(world).startswith(expected)
    assert world.inventory == build_inventory(list(lab_world()))


def test_star_is_any_namespace_of_the_world_but_the_clusters_own() -> None:
    anywhere = AllowedChanges(frozenset({"NetworkPolicy"}), frozenset({"*"}))
    assert policy_keys(world_of(policy_in("trusted"), anywhere)) == ["trusted/p"]
    system = world_of(policy_in("kube-system"), anywhere)
    assert only_reason(system).startswith("namespace kube-system is not one this exercise")
    missing = world_of(policy_in("nowhere"), anywhere)
    assert only_reason(missing) == "namespace nowhere does not exist in this exercise's world"
    named = AllowedChanges(frozenset({"NetworkPolicy"}), frozenset({"*", "kube-system"}))
    assert policy_keys(world_of(policy_in("kube-system"), named)) == ["kube-system/p"]


def test_rejected_names_file_line_and_object() -> None:
    world = world_of(f"{ISOLATE}---\n{policy_in('trusted')}")
    assert world.rejected == (
        Rejected(
            "answer.yaml:9",  # the document starts at its --- line
            "NetworkPolicy trusted/p",
            "namespace trusted is not one this exercise lets you change; allowed: my-segment",
        ),
    )
    assert policy_keys(world) == ["my-segment/isolate"]


def test_allowed_changes_from_exercise_yaml() -> None:
    allowed = AllowedChanges.from_mapping({"kinds": ["NetworkPolicy"], "namespaces": "*"})
    assert allowed == AllowedChanges(frozenset({"NetworkPolicy"}), frozenset({"*"}))
    assert AllowedChanges.from_mapping({"namespaces": ["a"]}).kinds == {"NetworkPolicy"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["NetworkPolicy"], "ex/exercise.yaml: allowed: must be a mapping"),
        ({"kinds": [1]}, "ex/exercise.yaml: allowed.kinds: must be a list of names"),
        ({"namespace": ["a"]}, "ex/exercise.yaml: allowed: unknown field namespace"),
    ],
)
def test_a_bad_allowed_mapping_names_the_file_and_field(data: object, message: str) -> None:
    with pytest.raises(GradingError) as caught:
        AllowedChanges.from_mapping(data, "ex/exercise.yaml")
    assert str(caught.value).startswith(message)


def test_an_allowed_object_that_cannot_be_evaluated_is_rejected_and_the_rest_applied() -> None:
    huge = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: my-segment}\n"
        "spec:\n  replicas: 20000\n  selector: {matchLabels: {app: d}}\n  template:\n"
        "    metadata: {labels: {app: d}}\n    spec: {containers: [{name: c, image: x}]}\n"
    )
    allowed = AllowedChanges(frozenset({"Deployment", "NetworkPolicy"}), frozenset({"*"}))
    world = world_of(f"{huge}---\n{ISOLATE}", allowed)
    assert only_reason(world).startswith("cannot be evaluated: ")
    assert "20000 pods is more than labkit models for one workload" in only_reason(world)
    assert policy_keys(world) == ["my-segment/isolate"]
    assert len(world.inventory.pods) == len(build_inventory(list(lab_world())).pods)
