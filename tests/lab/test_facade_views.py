"""The facade's views for the lessons on the simulated cluster: rectangular matrices with
Service names, what_if, diff, get/describe/delete, reset and the narrowed audit."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")


import pytest
from lab_session import DENY_DATABASE

import labkit.lab as lab
from labkit.engine.peer_names import destination_key, service_from_dns_name
from labkit.engine.whatif import overlay
from labkit.errors import LabkitError, UnknownPeer, ValidationFailed
from labkit.model.inventory import inventory_from_text
from labkit.probe.jobs import Outcome

SELECTS_NOTHING = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: nobody, namespace: trusted}
spec:
  podSelector: {matchLabels: {role: nobody}}
  policyTypes: [Ingress]
"""
FROM_TRUSTED_BY_LABEL = """
apiVersion: v1
kind: Namespace
metadata: {name: trusted, labels: {name: trusted}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: critical-from-trusted, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: critical-app}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {name: trusted}}}]
"""
DB_SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: db, namespace: my-segment}
spec:
  selector: {role: database}
  ports: [{port: 8080, targetPort: 80}]
"""


@pytest.mark.parametrize(
    ("written", "service"),
    [
        ("db.my-segment.svc", "my-segment/db"),
        ("db.my-segment.svc.cluster.local", "my-segment/db"),
        ("db.my-segment.svc.cluster.local.", "my-segment/db"),
        ("DB.My-Segment.SVC", "my-segment/db"),  # DNS names are case-insensitive (RFC 4343)
        ("db.my-segment", None),  # only through a pod's search path
        ("db.svc", None),
        ("my-segment/db", None),
    ],
)
def test_service_dns_names(written: str, service: str | None) -> None:
    assert service_from_dns_name(written) == service
    expected = f"svc:{service}" if service else written
    assert destination_key(written) == expected


def test_rectangular_matrix_with_wildcards_and_a_service(session: lab.LabSession) -> None:
    lab.apply(DB_SERVICE)
    lab.apply(DENY_DATABASE)
    dns = "db.my-segment.svc.cluster.local"
    for matrices in (
        lab.predicted_matrix(sources=["trusted/*", "my-segment/backend"], destinations=[dns]),
        lab.probe_matrix(
            "8080/TCP", sources=["trusted/*", "my-segment/backend"], destinations=[dns]
        ),
    ):
        table = matrices[0]
        assert table.peers == ("trusted/client", "my-segment/backend")
        assert table.columns == ("svc:my-segment/db",)
    # the Service column is its backend on the target port (80), as policy sees it
    probed = lab.probe_matrix(
        "8080/TCP", sources=["trusted/*", "my-segment/backend"], destinations=["svc:my-segment/db"]
    )[0]
    assert probed.outcome("trusted/client", "svc:my-segment/db") is Outcome.BLOCKED
    assert probed.outcome("my-segment/backend", "svc:my-segment/db") is Outcome.ALLOWED
    wide = lab.predicted_matrix(sources=["trusted/client"], destinations=["my-segment/*"])[0]
    assert len(wide.cells) == 1 and len(wide.cells[0]) == len(wide.columns) == 4
    assert wide.outcome("trusted/client", "my-segment/database") is Outcome.BLOCKED
    assert "svc:my-segment/db" in lab.probe_matrix(destinations=[dns])[0].columns


def test_a_service_cannot_be_a_source(session: lab.LabSession) -> None:
    lab.apply(DB_SERVICE)
    with pytest.raises(UnknownPeer, match="never sends"):
        lab.predicted_matrix(sources=["db.my-segment.svc"], destinations=["trusted/*"])


def test_check_accepts_a_service_dns_name(session: lab.LabSession) -> None:
    lab.apply(DB_SERVICE)
    lab.apply(DENY_DATABASE)
    result = lab.check("trusted/client", "db.my-segment.svc", "8080/TCP", expect="blocked")
    assert result.matches


@pytest.mark.parametrize(
    "change",
    [DENY_DATABASE, SELECTS_NOTHING, DENY_DATABASE + "---" + DB_SERVICE, FROM_TRUSTED_BY_LABEL],
)
def test_what_if_predicts_the_apply_without_applying(session: lab.LabSession, change: str) -> None:
    before = lab.cluster().inventory()
    predicted = lab.what_if(change, ["80/TCP", "81/UDP"])
    assert lab.cluster().inventory() == before  # nothing applied
    assert "kubectl apply --dry-run=server -f FILE.yaml" in str(predicted.commands)
    lab.apply(change)
    after = lab.predicted_matrix(["80/TCP", "81/UDP"])
    for mine, real in zip(predicted, after, strict=True):
        assert mine.disagreements(real) == []


def test_what_if_rejects_invalid_manifests_like_apply(session: lab.LabSession) -> None:
    broken = DENY_DATABASE.replace("policyTypes: [Ingress]", "policyTypes: [Inbound]")
    with pytest.raises(ValidationFailed):
        lab.what_if(broken)


def _pod(label: str, status: str = "") -> str:
    return (
        "apiVersion: v1\nkind: Pod\n"
        f"metadata: {{name: a, namespace: default, labels: {{x: '{label}'}}}}\n"
        "spec: {containers: [{name: web, image: agnhost}]}\n" + status
    )


def test_overlay_keeps_the_address_of_a_changed_pod() -> None:
    base = inventory_from_text(_pod("1", "status: {podIP: 10.0.0.7}\n"))
    merged = overlay(base, inventory_from_text(_pod("2")))
    assert [p.label_map["x"] for p in merged.pods] == ["2"]
    assert str(merged.pods[0].ip) == "10.0.0.7"


def test_diff_marks_exactly_the_changed_pairs(session: lab.LabSession) -> None:
    before = lab.predicted_matrix()
    lab.apply(DENY_DATABASE)
    after = lab.predicted_matrix()
    changes = lab.diff(before, after)
    expected = before[0].disagreements(after[0])
    assert {(c.src, c.dst) for c in changes} == {(s, d) for s, d, _, _ in expected}
    assert all(c.before is Outcome.ALLOWED and c.after is Outcome.BLOCKED for c in changes)
    shown = changes._repr_html_()
    assert shown.count('data-changed="1"') == len(expected) > 0
    assert "trusted/client -&gt; my-segment/database 80/TCP: allowed -&gt; blocked" in shown
    assert str(lab.diff(after, after)) == "nothing changed"


def test_reset_removes_what_labkit_applied(session: lab.LabSession) -> None:
    lab.apply(DENY_DATABASE)
    done = lab.reset()
    assert lab.cluster().policies() == []
    assert "kubectl delete networkpolicies -A -l labkit.dev/managed=true" in str(done.commands)


def test_get_describe_delete(session: lab.LabSession) -> None:
    lab.apply(DENY_DATABASE)
    listed = lab.get("netpol", "my-segment")
    assert "database-from-backend" in str(listed)
    assert "kubectl get networkpolicies -n my-segment" in listed._repr_html_()
    pods = str(lab.get("pods"))
    assert "NAMESPACE" in pods and "legacy-dc" in pods
    described = lab.describe("networkpolicy", "database-from-backend", "my-segment")
    assert "PodSelector:     role=database" in str(described)
    assert "kubectl describe networkpolicy database-from-backend -n my-segment" in str(
        described.commands
    )
    assert "role=database" in str(lab.describe("pod", "database", "my-segment"))
    done = lab.delete("networkpolicy", "database-from-backend", "my-segment")
    assert lab.cluster().policies() == []
    assert "kubectl delete networkpolicy database-from-backend -n my-segment" in str(done.commands)
    with pytest.raises(LabkitError, match="does not exist"):
        lab.delete("networkpolicy", "database-from-backend", "my-segment")
    with pytest.raises(LabkitError):
        lab.get("deployments")


def test_audit_narrowed_to_a_namespace_and_a_severity(session: lab.LabSession) -> None:
    lab.apply(DENY_DATABASE + "---" + SELECTS_NOTHING)
    every = list(lab.audit())
    trusted = list(lab.audit(namespace="trusted"))
    assert trusted and all("trusted" in f.object for f in trusted)
    assert any("policy-selects-nothing" == f.code for f in trusted)
    assert len(trusted) < len(every)
    high = list(lab.audit(min_severity="high"))
    assert high == [f for f in every if f.severity == "high"]
    medium_in_segment = list(lab.audit(namespace="my-segment", min_severity="medium"))
    assert all(
        f.severity in ("high", "medium") and "my-segment" in f.object for f in medium_in_segment
    )
    with pytest.raises(LabkitError, match="severity 'urgent'"):
        lab.audit(min_severity="urgent")


def test_topology_draws_the_changed_pairs(session: lab.LabSession) -> None:
    from matplotlib.patches import FancyArrowPatch

    before = lab.probe_matrix()
    lab.apply(DENY_DATABASE)
    changes = lab.diff(before, lab.probe_matrix())
    picture = lab.show_topology(changed=changes)
    drawn = {
        str(p.get_gid()) for p in picture.figure.axes[0].patches if isinstance(p, FancyArrowPatch)
    }
    assert drawn == {f"blocked:{c.src}->{c.dst}" for c in changes} and drawn
    chosen = lab.show_topology("80/TCP", pairs=[("my-segment/backend", "my-segment/database")])
    arrows = [p for p in chosen.figure.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert [a.get_gid() for a in arrows] == ["allowed:my-segment/backend->my-segment/database"]


CALICO_DENY = """
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-all}
spec: {selector: all(), types: [Ingress]}
"""


def test_policies_the_engine_does_not_evaluate_are_warned_about_in_every_view(
    session: lab.LabSession,
) -> None:
    """A Calico GlobalNetworkPolicy IS enforced on kind + Calico, but the engine does not
    evaluate it: what_if, apply and every later prediction say so (one warning text)."""
    said = "labkit does not evaluate this policy: Calico GlobalNetworkPolicy deny-all"
    before = lab.predicted_matrix()
    assert not before.warning and said not in str(before)
    assert said in lab.what_if(CALICO_DENY).warning
    assert said in str(lab.apply(CALICO_DENY))
    after = lab.predicted_matrix()
    assert said in after.warning and str(after).startswith("warning: ")
    assert "labkit-warning" in after._repr_html_()
    assert said in lab.predicted_matrix(sources=["trusted/client"]).warning


def test_label_says_when_the_api_server_keeps_the_namespace_name_label(
    session: lab.LabSession,
) -> None:
    """``kubernetes.io/metadata.name`` always equals the namespace's name (the API server
    sets it, NamespaceDefaultLabelName): asking to change it is reported as not kept."""
    forged = str(lab.label("Namespace", "untrusted", {"kubernetes.io/metadata.name": "trusted"}))
    assert "not kept: kubernetes.io/metadata.name stays 'untrusted'" in forged
    plain = str(lab.label("Namespace", "untrusted", {"team": "red"}))
    assert "team=red" in plain and "not kept" not in plain
