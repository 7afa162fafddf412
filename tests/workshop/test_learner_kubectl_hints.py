"""The kubectl hints a workshop learner sees: the learner's real names (``ws1-alice-*``),
because plain kubectl on the shared cluster knows no logical names; a single-user lab (or a
learner's private simulated lab) shows the names as written."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

import labkit.lab as lab
from labkit.lab.kubectl import RealNames, use_real_names

POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: my-segment}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""
ALICE = re.compile(r"\bws1-alice-[a-z-]+")


@pytest.fixture(autouse=True)
def _names_off_afterwards() -> Iterator[None]:
    yield
    use_real_names(None)


def _lines(done: object) -> str:
    return "\n".join(done.commands.lines)  # type: ignore[attr-defined]


def test_a_learners_hints_show_the_real_names(workshop, learner_env) -> None:  # type: ignore[no-untyped-def]
    workshop(["alice", "bob"])
    learner_env("ws1", "alice")
    lab.up()

    applied = _lines(lab.apply(POLICY))
    assert "kubectl apply -n ws1-alice-my-segment -f" in applied

    matrix = lab.probe_matrix(namespaces=["trusted", "my-segment"])
    probes = "\n".join(matrix.commands.lines)
    assert re.search(r"kubectl exec -n ws1-alice-(trusted|my-segment) ", probes), probes

    labelled = _lines(lab.label("Namespace", "trusted", {"env": "prod"}))
    assert "kubectl label namespace ws1-alice-trusted env=prod" in labelled
    pod = _lines(lab.label("Pod", "client", {"env": "prod"}, namespace="trusted"))
    assert "-n ws1-alice-trusted" in pod

    for text in (applied, probes, labelled, pod):
        assert "bob" not in text  # never another learner's names
        assert ALICE.search(text), text


def test_the_hints_follow_the_connected_lab(workshop, learner_env) -> None:  # type: ignore[no-untyped-def]
    workshop(["alice", "bob"])
    learner_env("ws1", "alice")
    lab.up()
    assert ALICE.search(_lines(lab.label("Namespace", "trusted", {"env": "prod"})))
    lab.up("simulated")  # the learner's private simulated lab: names as written
    plain = _lines(lab.label("Namespace", "trusted", {"env": "prod"}))
    assert "kubectl label namespace trusted env=prod" in plain
    assert "ws1-" not in _lines(lab.apply(POLICY))
    lab.up("workshop")  # back to the workshop: real names again
    assert ALICE.search(_lines(lab.label("Namespace", "trusted", {"env": "dev"})))


def test_a_single_user_lab_shows_names_as_written(lab_home) -> None:  # type: ignore[no-untyped-def]
    use_real_names(
        RealNames(lambda n: f"ws1-alice-{n}", lambda p: p, ("ws1-alice-x",))
    )  # left over from a learner's session in the same process
    lab.up("simulated")
    text = _lines(lab.label("Namespace", "trusted", {"env": "prod"}))
    assert "kubectl label namespace trusted env=prod" in text
    assert "ws1-" not in _lines(lab.apply(POLICY))
