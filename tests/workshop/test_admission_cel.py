"""The admission policy's CEL, evaluated (cel-python) against old and new Namespace objects the
way the API server evaluates a ValidatingAdmissionPolicy: every ``matchConditions`` expression
must be true for the policy to apply; ``variables`` are reachable as ``variables.NAME``; a
validation that evaluates to false refuses the request with its message.

cel-python implements the CEL specification, not Kubernetes' extension libraries; the policy
uses only standard CEL (``has``, ``in``, ``startsWith``, map ``all``, ``?:``), so what is
evaluated here is the expression the API server runs. Its type checker is not the API
server's (that one knows the Namespace schema): a live cluster (tests/live) is the final word.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from labkit.cluster.topology import LAB_NAMESPACES, topology_manifests
from labkit.model.workshop import LEARNER_LABEL, POOL_ANNOTATION, Learner, Workshop
from labkit.model.workshop_objects import admission_objects, learner_objects

celpy = pytest.importorskip(
    "celpy", reason="cel-python (test extra) evaluates the admission policy's CEL"
)
celtypes = pytest.importorskip("celpy.celtypes")

WS = Workshop("ws1", (Learner("alice"), Learner("bob")), LAB_NAMESPACES)
POLICY = admission_objects(WS)[0]
ALICE = "system:serviceaccount:jhub:labkit-alice"
ENV = celpy.Environment()


def program(expression: str) -> Any:
    return ENV.program(ENV.compile(expression))


def admit(old: dict[str, Any], new: dict[str, Any], user: str = ALICE) -> list[str]:
    """The messages of the validations that refuse ``old`` -> ``new`` (empty: admitted)."""
    spec = POLICY["spec"]
    activation: dict[str, Any] = {
        "object": celpy.json_to_cel(new),
        "oldObject": celpy.json_to_cel(old),
        "request": celpy.json_to_cel(
            {"operation": "UPDATE", "userInfo": {"username": user, "groups": []}}
        ),
    }
    for condition in spec["matchConditions"]:
        if not bool(program(condition["expression"]).evaluate(activation)):
            return []  # the policy does not apply to this request
    variables = {}
    for variable in spec["variables"]:
        value = program(variable["expression"]).evaluate(activation)
        variables[celtypes.StringType(variable["name"])] = value
    activation["variables"] = celtypes.MapType(variables)
    refused = []
    for validation in spec["validations"]:
        result = program(validation["expression"]).evaluate(activation)
        assert isinstance(result, celtypes.BoolType), (validation["expression"], result)
        if not bool(result):
            refused.append(validation["message"])
    return refused


def namespace(logical: str = "branch-office") -> dict[str, Any]:
    """Alice's namespace as init creates it (it carries the pool annotation)."""
    topology = [o for o in topology_manifests() if o.kind == "Namespace"]
    objects = learner_objects(WS, "alice", topology)
    found = next(o for o in objects if o["metadata"]["name"] == f"ws1-alice-{logical}")
    return copy.deepcopy(found)


def changed(edit: Any, logical: str = "branch-office") -> tuple[dict[str, Any], dict[str, Any]]:
    old = namespace(logical)
    new = copy.deepcopy(old)
    edit(new["metadata"])
    return old, new


def test_every_expression_compiles() -> None:
    spec = POLICY["spec"]
    expressions = [c["expression"] for c in spec["matchConditions"]]
    expressions += [v["expression"] for v in spec["variables"]]
    expressions += [v["expression"] for v in spec["validations"]]
    for expression in expressions:
        ENV.compile(expression)


def test_an_unchanged_namespace_is_admitted() -> None:
    old = namespace()
    assert admit(old, copy.deepcopy(old)) == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["labels"].update({"zone": "dmz"}),  # a lesson's own label: added
        lambda m: m["labels"].update({"team": "red"}) or m["labels"].pop("team"),
        lambda m: m["annotations"].update({"note": "mine"}),
        lambda m: m["labels"].update({"example.com/labkit.dev": "x"}),
    ],
    ids=["label-added", "no-net-change", "other-annotation", "lookalike-key"],
)
def test_unrelated_changes_are_admitted(edit: Any) -> None:
    assert admit(*changed(edit)) == []


def test_an_unrelated_label_changed_or_removed_is_admitted() -> None:
    old = namespace()
    old["metadata"]["labels"]["zone"] = "inside"
    new = copy.deepcopy(old)
    new["metadata"]["labels"]["zone"] = "outside"
    assert admit(old, new) == []
    del new["metadata"]["labels"]["zone"]
    assert admit(old, new) == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["labels"].update({LEARNER_LABEL: "bob"}),
        lambda m: m["labels"].pop(LEARNER_LABEL),
        lambda m: m["labels"].update({"labkit.dev/workshop": "ws2"}),
        lambda m: m["labels"].update({"labkit.dev/wall": "false"}),
        lambda m: m["labels"].pop("labkit.dev/logical"),
        lambda m: m.pop("labels"),
    ],
    ids=["changed", "removed", "workshop-changed", "added", "logical-removed", "all-removed"],
)
def test_labkit_labels_are_protected(edit: Any) -> None:
    (message,) = admit(*changed(edit))
    assert "labkit.dev/" in message and "wall" in message


@pytest.mark.parametrize(
    ("logical", "edit"),
    [
        (
            "branch-office",
            lambda m: m["annotations"].update({POOL_ANNOTATION: '["labkit-default"]'}),
        ),
        ("branch-office", lambda m: m["annotations"].pop(POOL_ANNOTATION)),
        ("branch-office", lambda m: m.pop("annotations")),
        ("trusted", lambda m: m.setdefault("annotations", {}).update({POOL_ANNOTATION: "[]"})),
    ],
    ids=["changed", "removed", "all-removed", "added"],
)
def test_the_pool_annotation_is_protected(logical: str, edit: Any) -> None:
    (message,) = admit(*changed(edit, logical))
    assert POOL_ANNOTATION in message and "IP pool" in message


def test_both_refusals_at_once() -> None:
    def edit(meta: dict[str, Any]) -> None:
        meta["labels"][LEARNER_LABEL] = "bob"
        meta["annotations"][POOL_ANNOTATION] = "[]"

    assert len(admit(*changed(edit))) == 2


def test_a_namespace_without_labels_or_annotations_is_handled() -> None:
    old = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
    assert admit(old, copy.deepcopy(old)) == []
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {LEARNER_LABEL: "alice"}
    assert len(admit(old, new)) == 1


@pytest.mark.parametrize(
    ("user", "applies"),
    [
        (ALICE, True),
        ("system:serviceaccount:jhub:labkit-bob", True),
        ("system:serviceaccount:jhub:hub", False),  # JupyterHub's own account
        ("system:serviceaccount:other:labkit-alice", False),
        ("kubernetes-admin", False),  # the instructor
        ("system:serviceaccount:kube-system:namespace-controller", False),
    ],
)
def test_only_the_workshops_learners_are_checked(user: str, applies: bool) -> None:
    old, new = changed(lambda m: m["labels"].pop(LEARNER_LABEL))
    assert bool(admit(old, new, user)) is applies
