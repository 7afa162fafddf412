"""The notebook facade against the simulated cluster, in-process (no kernel)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")


import pytest
from lab_session import DENY_DATABASE

import labkit.lab as lab
from labkit.cluster import lifecycle
from labkit.errors import LabkitError
from labkit.probe.jobs import Outcome


@pytest.mark.parametrize(
    ("requested", "env", "backend", "why"),
    [
        ("auto", {"LABKIT_BACKEND": "simulated"}, "simulated", "LABKIT_BACKEND=simulated is set"),
        ("auto", {}, "auto", ""),
        ("kind", {"LABKIT_BACKEND": "simulated"}, "kind", "You asked for backend='kind'"),
    ],
)
def test_chosen_backend(requested: str, env: dict[str, str], backend: str, why: str) -> None:
    name, reason = lifecycle.chosen_backend(requested, env)
    assert name == backend
    assert reason.startswith(why)


def test_up_says_backend_and_why(session: lab.LabSession) -> None:
    assert session.backend == "simulated"
    assert "LABKIT_BACKEND=simulated" in session.why
    html = session._repr_html_()
    assert "Lab backend: simulated" in html and "kubectl get nodes -o wide" in html
    assert str(session).count("why:") == 1


def test_probe_matrix_covers_the_nine_lab_pods(session: lab.LabSession) -> None:
    matrices = lab.probe_matrix(["80/TCP", "81/UDP"])
    assert [str(t.probe) for t in matrices] == ["80/TCP", "81/UDP"]
    tcp = matrices.table("80/TCP")
    assert len(tcp.peers) == 9 and tcp.peers[0] == "my-segment/frontend"
    assert not any(p.startswith("kube-system/") for p in tcp.peers)
    assert all(c is Outcome.ALLOWED for row in tcp.cells for c in row)
    assert matrices.commands is not None
    frontend_ip = session.cluster.inventory().pod("my-segment/frontend").ip
    assert matrices.commands.lines == (
        f"kubectl exec -n legacy-dc client -c web -- /agnhost connect {frontend_ip}:80 "
        "--timeout=2s --protocol=tcp",
        f"kubectl exec -n legacy-dc client -c web -- /agnhost connect {frontend_ip}:81 "
        "--timeout=2s --protocol=udp",
    )


def test_apply_then_probe_and_explain(session: lab.LabSession) -> None:
    done = lab.apply(DENY_DATABASE)
    assert "database-from-backend" in str(done)
    matrices = lab.probe_matrix("80/TCP", namespaces=["my-segment", "untrusted"])
    table = matrices[0]
    assert table.outcome("my-segment/backend", "my-segment/database") is Outcome.ALLOWED
    assert table.outcome("untrusted/client", "my-segment/database") is Outcome.BLOCKED
    check = lab.check("untrusted/client", "my-segment/database", "80/TCP", expect="allowed")
    assert not check.matches and "but you expected allowed" in check.message
    assert check.command.startswith("kubectl exec -n untrusted client -c web -- /agnhost")
    explanation = lab.explain("untrusted/client", "my-segment/database", "80/TCP")
    assert explanation.allowed is False
    predicted = lab.predicted_matrix("80/TCP", namespaces=["my-segment", "untrusted"])
    assert predicted[0].disagreements(table) == []


def test_topology_and_connectivity_pictures(session: lab.LabSession) -> None:
    picture = lab.show_topology()
    texts = {t.get_text() for t in picture.figure.axes[0].texts}
    assert {"my-segment", "legacy-dc", "frontend", "server"} <= texts
    assert "labkit-branch 192.168.1.0/24" in texts
    branch_ip = str(session.cluster.inventory().pod("branch-office/client").ip)
    assert branch_ip.startswith("192.168.1.") and branch_ip in texts
    assert "<img" in picture._repr_html_()
    with_arrows = lab.show_topology("80/TCP", namespaces=["trusted", "untrusted"])
    assert len(with_arrows.figure.axes[0].patches) == 2 + 2 + 2  # 2 boxes, 2 cards, 2 arrows
    grid = lab.connectivity(namespaces=["trusted", "untrusted"])
    assert "trusted/client => untrusted/client : All" in str(grid)


def test_label_and_audit(session: lab.LabSession) -> None:
    done = lab.label("Pod", "frontend", {"tier": "web"}, "my-segment")
    assert "tier=web" in str(done)
    pod = session.cluster.inventory().pod("my-segment/frontend")
    assert pod.label_map["tier"] == "web"
    assert done.commands is not None
    assert done.commands.lines == ("kubectl label pod frontend -n my-segment tier=web --overwrite",)
    findings = lab.audit()
    assert "finding" in findings._repr_html_()


def test_errors_are_labkit_errors(session: lab.LabSession) -> None:
    with pytest.raises(LabkitError, match="not a port"):
        lab.probe_matrix("http")
    with pytest.raises(LabkitError, match="no kubectl equivalent"):
        lab.kubectl("teleport")


def test_start_here_quiz_answer_matches_the_lab(session: lab.LabSession) -> None:
    """Question 1 claims the untrusted client reaches the database with no policy: probe it."""
    from labkit.lab.quiz_bank import grade_choices
    from labkit.lab.quizzes import bank

    first = bank("start-here").questions[0]
    right = [i for i in range(len(first.options)) if grade_choices(first, [i]).correct]
    assert [first.options[i].text[:4] for i in right] == ["Yes:"]
    check = lab.check("untrusted/client", "my-segment/database", "80/TCP", expect="allowed")
    assert check.matches
    assert lab.quiz("start-here").children  # the widget box, built without a frontend


def test_up_failure_turns_the_bar_red(monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.cluster import lifecycle
    from labkit.errors import ClusterError

    def broken(*args: object, **kwargs: object) -> object:
        raise ClusterError("kind create cluster failed\n    fix: free some disk")

    monkeypatch.setattr(lifecycle, "up", broken)
    bar = lab.NotebookProgress(use_widgets=False)
    with pytest.raises(ClusterError, match="kind create cluster failed"):
        lab.up("kind", progress=bar)
    assert bar.state.failed and bar.state.message == "kind create cluster failed"


DATABASE_SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: db, namespace: my-segment}
spec:
  clusterIP: 10.96.0.50
  selector: {role: database}
  ports: [{port: 5432, targetPort: 80, protocol: TCP}]
"""


def test_probe_matrix_with_an_address_last(session: lab.LabSession) -> None:
    """An ``ip:`` peer is a destination only: the example command probes from a pod."""
    peers = ["trusted/client", "my-segment/frontend", "ip:8.8.8.8"]
    matrices = lab.probe_matrix(peers=peers)
    assert list(matrices[0].peers) == peers
    assert matrices.commands is not None
    client_ip = session.cluster.inventory().pod("trusted/client").ip
    assert matrices.commands.lines == (
        f"kubectl exec -n my-segment frontend -c web -- /agnhost connect {client_ip}:80 "
        "--timeout=2s --protocol=tcp",
    )
    assert lab.predicted_matrix(peers=["ip:8.8.8.8", "trusted/client"])[0].peers[0] == "ip:8.8.8.8"


def test_a_service_is_explained_and_checked_through_its_backends(
    session: lab.LabSession,
) -> None:
    """``svc:NS/NAME`` (or the ClusterIP) in the facade as in ``labkit explain``: policies see
    the backend pod on its target port (5432 -> 80), never the Service."""
    lab.apply(DATABASE_SERVICE)
    lab.apply(DENY_DATABASE)
    for dst in ("svc:my-segment/db", "10.96.0.50"):
        shown = lab.explain("my-segment/backend", dst, "5432/TCP")
        assert isinstance(shown, lab.ServiceExplanation)
        assert [(b.pod, b.port) for b in shown] == [("my-segment/database", 80)]
        assert shown[0].explanation.allowed is True
        assert "== backend my-segment/database, port 80/TCP" in str(shown)
        assert "backend my-segment/database" in shown._repr_html_()
    denied = lab.explain("trusted/client", "svc:my-segment/db", "5432/TCP")
    assert isinstance(denied, lab.ServiceExplanation) and denied[0].explanation.allowed is False
    allowed = lab.check("my-segment/backend", "svc:my-segment/db", "5432/TCP", expect="allowed")
    assert allowed.matches and allowed.observed is Outcome.ALLOWED
    assert "my-segment/database:80 allowed" in allowed.detail
    assert "/agnhost connect 10.96.0.50:5432" in allowed.command
    blocked = lab.check("trusted/client", "svc:my-segment/db", "5432/TCP", expect="allowed")
    assert not blocked.matches and blocked.observed is Outcome.BLOCKED


def test_a_service_without_backends_and_services_in_matrices(session: lab.LabSession) -> None:
    lab.apply(DATABASE_SERVICE.replace("role: database", "role: nobody"))
    shown = lab.explain("trusted/client", "svc:my-segment/db", "5432/TCP")
    assert isinstance(shown, lab.ServiceExplanation) and len(shown) == 0
    assert "has no backend" in str(shown)
    result = lab.check("trusted/client", "svc:my-segment/db", "5432/TCP", expect="blocked")
    assert result.observed is Outcome.BLOCKED and "no backend" in result.detail
    with pytest.raises(LabkitError, match="a Service cannot send"):
        lab.probe_matrix(peers=["trusted/client", "svc:my-segment/db"])
    with pytest.raises(LabkitError, match="no port 81/TCP"):
        lab.explain("trusted/client", "svc:my-segment/db", "81/TCP")
