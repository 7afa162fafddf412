"""Workshop names: learners files, real namespace names, and the logical <-> real mapping."""

from __future__ import annotations

import pytest

from labkit.errors import ValidationFailed
from labkit.model.loader import load_text
from labkit.model.workshop import (
    LEARNER_KINDS,
    LEARNER_LABEL,
    LOGICAL_LABEL,
    MAX_NAMESPACE,
    NAME_LABEL,
    WORKSHOP_LABEL,
    Learner,
    Workshop,
    WorkshopError,
    check_workshop_id,
    parse_learners,
)

LAB = ("my-segment", "trusted", "untrusted", "branch-office", "backup-site", "legacy-dc")


def space(learner: str = "alice"):
    return Workshop("ws1", (Learner(learner),), LAB).space(learner)


POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: my-segment, labels: {app: x}}
spec:
  podSelector: {}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: trusted}}
        - namespaceSelector: {matchLabels: {name: trusted}}
        - namespaceSelector:
            matchExpressions:
              - {key: kubernetes.io/metadata.name, operator: NotIn, values: [untrusted, kube-system]}
              - {key: kubernetes.io/metadata.name, operator: Exists}
  egress:
    - to:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: legacy-dc}}
          podSelector: {matchLabels: {kubernetes.io/metadata.name: trusted}}
"""


def test_learners_file_names_hub_users_and_comments() -> None:
    text = "# workshop ws1\nalice\nbob  bob@example.org\ncarol, carol-x  # comma works\n\n"
    learners = parse_learners(text, "people.txt", "ws1", LAB)
    assert learners == (
        Learner("alice"),
        Learner("bob", "bob@example.org"),
        Learner("carol", "carol-x"),
    )
    assert [learner.user for learner in learners] == ["alice", "bob@example.org", "carol-x"]


def test_learners_file_reports_every_bad_line_with_its_number() -> None:
    text = "alice\nAlice\nalice\ncanary\nx y z\n" + "a" * 50 + "\n"
    with pytest.raises(WorkshopError) as caught:
        parse_learners(text, "people.txt", "ws1", LAB)
    message = str(caught.value)
    assert "5 problems" in message
    for line in ("people.txt:2", "people.txt:3", "people.txt:4", "people.txt:5", "people.txt:6"):
        assert line in message
    assert "listed twice (first on line 1)" in message
    assert "reserved" in message
    assert "characters long" in message and "fix:" in message


def test_empty_learners_file_is_an_error() -> None:
    with pytest.raises(WorkshopError, match="names no learner"):
        parse_learners("# nobody\n", "people.txt", "ws1", LAB)


def test_longest_learner_name_allowed_gives_a_63_character_namespace() -> None:
    room = MAX_NAMESPACE - len("ws1") - 2 - len("branch-office")
    fits = "a" * room
    parse_learners(fits, "f", "ws1", LAB)
    assert len(Workshop("ws1", (Learner(fits),), LAB).space(fits).real("branch-office")) == 63
    with pytest.raises(WorkshopError, match="64 characters"):
        parse_learners(fits + "a", "f", "ws1", LAB)


@pytest.mark.parametrize("bad", ["", "WS1", "1ws", "ws1-", "a" * 13, "ws_1"])
def test_workshop_ids_that_cannot_name_namespaces_are_refused(bad: str) -> None:
    with pytest.raises(WorkshopError, match="fix:"):
        check_workshop_id(bad)


def test_real_names_and_labels() -> None:
    s = space()
    assert s.real("my-segment") == "ws1-alice-my-segment"
    assert s.home == "ws1-alice-my-segment"
    assert s.to_real("kube-system") == "kube-system"
    assert s.to_logical("ws1-bob-trusted") == "ws1-bob-trusted"
    assert s.namespace_labels("trusted")[LOGICAL_LABEL] == "trusted"
    assert s.selector() == "labkit.dev/workshop=ws1,labkit.dev/learner=alice"
    ws = Workshop("ws1", (Learner("alice"),), LAB)
    assert ws.canary_namespace == "ws1-canary"
    assert ws.service_account("alice") == "labkit-alice"


def test_policy_maps_namespace_and_metadata_name_selectors_only() -> None:
    raw = load_text(POLICY, "p.yaml")[0]
    real = space().to_real_object(raw, allowed_kinds=LEARNER_KINDS)
    assert real.namespace == "ws1-alice-my-segment"
    labels = real.metadata["labels"]
    assert (
        labels["app"] == "x"
        and labels[WORKSHOP_LABEL] == "ws1"
        and labels[LEARNER_LABEL] == "alice"
    )
    peers = real.data["spec"]["ingress"][0]["from"]
    assert peers[0]["namespaceSelector"]["matchLabels"][NAME_LABEL] == "ws1-alice-trusted"
    # a custom label is not a namespace name: the tutorial's mistake must stay a mistake
    assert peers[1]["namespaceSelector"]["matchLabels"] == {"name": "trusted"}
    expressions = peers[2]["namespaceSelector"]["matchExpressions"]
    assert expressions[0]["values"] == ["ws1-alice-untrusted", "kube-system"]
    assert "values" not in expressions[1]
    egress = real.data["spec"]["egress"][0]["to"][0]
    assert egress["namespaceSelector"]["matchLabels"][NAME_LABEL] == "ws1-alice-legacy-dc"
    # a podSelector's labels are pod labels, never mapped
    assert egress["podSelector"]["matchLabels"][NAME_LABEL] == "trusted"
    # the original object is untouched
    assert raw.namespace == "my-segment"


def test_round_trip_gives_back_the_logical_object_plus_the_learner_labels() -> None:
    raw = load_text(POLICY, "p.yaml")[0]
    s = space()
    back = s.to_logical_object(s.to_real_object(raw, allowed_kinds=LEARNER_KINDS).data)
    back["metadata"]["labels"] = {
        k: v for k, v in back["metadata"]["labels"].items() if not k.startswith("labkit.dev/")
    }
    assert back == raw.data


def test_namespace_object_gets_real_name_and_logical_label() -> None:
    raw = load_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: trusted, labels: {tier: a}}\n", "n"
    )[0]
    real = space().to_real_object(raw, allowed_kinds=LEARNER_KINDS)
    assert real.name == "ws1-alice-trusted"
    assert real.metadata["labels"][LOGICAL_LABEL] == "trusted"
    assert real.metadata["labels"]["tier"] == "a"
    item = {
        **real.data,
        "metadata": {
            **real.metadata,
            "labels": {**real.metadata["labels"], NAME_LABEL: "ws1-alice-trusted"},
        },
    }
    back = space().to_logical_object(item)
    assert back["metadata"]["name"] == "trusted"
    assert back["metadata"]["labels"][NAME_LABEL] == "trusted"


def test_refusals_name_every_bad_object_and_nothing_is_mapped() -> None:
    text = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: fine, namespace: trusted}
spec: {podSelector: {}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: elsewhere}
spec: {podSelector: {}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: admin-ish}
rules: []
---
apiVersion: v1
kind: Namespace
metadata: {name: extra}
"""
    objects = load_text(text, "batch.yaml")
    issues = space().refusals(objects, allowed_kinds=LEARNER_KINDS)
    assert [(i.object, i.field) for i in issues] == [
        ("NetworkPolicy default/elsewhere", "metadata.namespace"),
        ("ClusterRole admin-ish", "kind"),
        ("Namespace extra", "metadata.name"),
    ]
    assert all(i.file.startswith("batch.yaml") and i.hint for i in issues)
    assert "cluster-scoped" in issues[1].detail
    with pytest.raises(ValidationFailed):
        space().to_real_object(objects[1], allowed_kinds=LEARNER_KINDS)


def test_peers_and_messages_map_both_ways() -> None:
    s = space()
    assert s.peer_to_real("my-segment/frontend") == "ws1-alice-my-segment/frontend"
    assert s.peer_to_real("svc:backend.my-segment") == "svc:backend.ws1-alice-my-segment"
    assert (
        s.peer_to_real("db.trusted.svc.cluster.local") == "db.ws1-alice-trusted.svc.cluster.local"
    )
    assert s.peer_to_real("192.168.1.5") == "192.168.1.5"
    assert s.peer_to_real("kube-system/coredns") == "kube-system/coredns"
    assert s.peer_to_logical("ws1-alice-trusted/client") == "trusted/client"
    text = "ws1-alice-my-segment/frontend cannot reach ws1-alice-trusted; xws1-alice-trusted stays"
    assert (
        s.logical_text(text) == "my-segment/frontend cannot reach trusted; xws1-alice-trusted stays"
    )
    # another learner's names are not this learner's to rename
    assert s.logical_text("ws1-bob-trusted/client") == "ws1-bob-trusted/client"
