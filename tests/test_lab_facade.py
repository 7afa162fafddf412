"""The notebook facade against the simulated cluster, in-process (no kernel)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit.lab as lab
from labkit.errors import LabkitError
from labkit.probe.jobs import Outcome

DENY_DATABASE = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: database-from-backend, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: database}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: backend}}}]
    ports: [{port: 80}]
"""


@pytest.mark.parametrize(
    ("requested", "env", "backend", "why"),
    [
        ("auto", {"LABKIT_BACKEND": "simulated"}, "simulated", "LABKIT_BACKEND=simulated is set"),
        ("auto", {}, "auto", ""),
        ("kind", {"LABKIT_BACKEND": "simulated"}, "kind", "You asked for backend='kind'"),
    ],
)
def test_chosen_backend(requested: str, env: dict[str, str], backend: str, why: str) -> None:
    name, reason = lab.chosen_backend(requested, env)
    assert name == backend
    assert reason.startswith(why)


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[lab.LabSession]:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "lab"))
    monkeypatch.setenv("LABKIT_BACKEND", "simulated")
    yield lab.up()


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
    from labkit.lab.quizzes import START_HERE

    first = START_HERE[0]
    assert first.choices[first.answer].startswith("Yes")
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
