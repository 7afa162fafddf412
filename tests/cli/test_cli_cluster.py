"""``labkit up/status/apply/get/label/delete/describe/reset/down`` in a temporary lab folder,
with Docker reported unusable (as on this machine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.cli.main import main

PRODUCTION = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: production-policy
  namespace: my-segment
spec:
  podSelector:
    matchLabels:
      role: critical-app
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          name: trusted
  egress:
  - to:
    - ipBlock:
        cidr: 192.168.2.0/24
"""
INVALID = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: bad
  namespace: my-segment
spec:
  podSelector: {}
  ingress:
  - ports:
    - protocol: ICMP
"""


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    from labkit.cluster import doctor

    monkeypatch.setattr(doctor, "docker_usable", lambda *a, **k: (False, "no Docker engine"))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_up_auto_uses_the_simulated_cluster_and_says_why(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "up")
    assert code == 0, err
    assert "backend:  simulated" in out and "no Docker engine" in out
    assert "topology: 9/9 lab pods" in out and "canary:   enforced" in out
    assert "Creating the simulated cluster" in err
    code, out, _ = run(capsys, "status", "-o", "json")
    data = json.loads(out)
    assert code == 0 and data["backend"] == "simulated" and data["ready"] is True
    assert "no Docker engine" in data["details"]["why"]


def test_up_dry_run(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "up", "--backend", "simulated", "--dry-run")
    assert code == 0 and "would create a simulated cluster" in out
    assert not (lab / "home" / "simulated.json").exists()


def test_context_conflicts_with_simulated(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "up", "--backend", "simulated", "--context", "x")
    assert code == 1 and "means an existing cluster" in err


def test_apply_get_describe_probe_and_fix(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "up")
    policy = lab / "production.yaml"
    policy.write_text(PRODUCTION)
    code, out, _ = run(capsys, "apply", "-f", str(policy))
    assert code == 0 and out.strip() == "NetworkPolicy my-segment/production-policy applied"
    code, out, _ = run(capsys, "get", "networkpolicies", "-n", "my-segment")
    assert out.split() == ["NAME", "POD-SELECTOR", "production-policy", "role=critical-app"]
    code, out, _ = run(
        capsys, "probe", "--from", "trusted/client", "--to", "my-segment/critical-app", "-o", "json"
    )
    assert json.loads(out)["results"][0]["outcome"] == "blocked"
    code, out, _ = run(capsys, "label", "namespace", "trusted", "name=trusted")
    assert code == 0 and out.strip() == "namespace/trusted labeled"
    code, out, _ = run(
        capsys, "probe", "--from", "trusted/client", "--to", "my-segment/critical-app", "--compare"
    )
    assert code == 0 and ": allowed" in out and "predicted allowed" in out
    code, _, err = run(capsys, "label", "namespace", "trusted", "name=other")
    assert code == 1 and "--overwrite is false" in err
    code, out, _ = run(capsys, "label", "namespace", "trusted", "name-")
    assert code == 0
    code, out, _ = run(
        capsys, "get", "networkpolicy", "production-policy", "-n", "my-segment", "-o", "json"
    )
    assert json.loads(out)["spec"]["ingress"][0]["from"][0]["namespaceSelector"] == {
        "matchLabels": {"name": "trusted"}
    }
    code, out, _ = run(capsys, "describe", "networkpolicy", "production-policy", "-n", "my-segment")
    assert code == 0 and "production-policy" in out


def test_invalid_apply_applies_nothing(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "up")
    good, bad = lab / "a-good.yaml", lab / "b-bad.yaml"
    good.write_text(PRODUCTION)
    bad.write_text(INVALID)
    code, out, err = run(capsys, "apply", "-f", str(good), "-f", str(bad))
    assert code == 1 and "nothing was applied" in err and "protocol" in err
    code, out, err = run(capsys, "get", "netpol", "-n", "my-segment")
    assert out == "" and "No resources found in my-segment namespace." in err


def test_get_pods_shows_addresses(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "up")
    code, out, _ = run(capsys, "get", "pods", "-n", "branch-office", "-o", "wide")
    header, row = out.splitlines()
    assert header.split() == ["NAME", "IP", "NODE", "PORTS"]
    assert row.split()[0] == "client" and row.split()[1].startswith("192.168.1.")
    code, out, _ = run(capsys, "get", "pods", "-A", "-o", "json")
    items = json.loads(out)["items"]
    assert {f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items} >= {
        "my-segment/frontend",
        "kube-system/coredns-0",
    }
    assert all(i["status"]["podIP"] for i in items)
    code, out, _ = run(capsys, "get", "ns", "--show-labels")
    assert "trusted" in out and "kubernetes.io/metadata.name=trusted" in out
    code, _, err = run(capsys, "get", "pods", "ghost", "-n", "trusted")
    assert code == 1 and 'pods "ghost" not found' in err
    code, _, err = run(capsys, "get", "secrets")
    assert code == 1 and "doesn't have a resource type" in err


def test_delete_reset_down(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "up")
    policy = lab / "production.yaml"
    policy.write_text(PRODUCTION)
    run(capsys, "apply", "-f", str(policy))
    code, out, _ = run(capsys, "delete", "netpol", "production-policy", "-n", "my-segment")
    assert code == 0 and '"production-policy" deleted' in out
    code, _, err = run(capsys, "delete", "netpol/production-policy", "-n", "my-segment")
    assert code == 1 and "NotFound" in err
    run(capsys, "apply", "-f", str(policy))
    code, out, _ = run(capsys, "delete", "-f", str(policy))
    assert code == 0 and "deleted" in out
    run(capsys, "label", "pod", "frontend", "role-", "-n", "my-segment")
    code, out, _ = run(capsys, "reset")
    assert code == 0 and "simulated cluster reset" in out
    code, out, _ = run(capsys, "get", "pods", "frontend", "-n", "my-segment", "--show-labels")
    assert "role=frontend" in out
    code, out, _ = run(capsys, "down")
    assert code == 0 and "deleted the simulated cluster" in out
    code, out, _ = run(capsys, "status")
    assert code == 1 and "backend:  none" in out


def test_doctor_lists_checks(
    lab: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.cluster import doctor

    checks = [
        doctor.Check("Docker", False, "no engine", "start Docker"),
        doctor.Check("kind", True, "v0.32.0"),
    ]
    monkeypatch.setattr(doctor, "run_checks", lambda **k: checks)
    code, out, err = run(capsys, "doctor")
    assert code == 1
    assert "Docker: no engine" in out and "fix: start Docker" in out and "kind: v0.32.0" in out
    assert "1 required check failed" in err


def test_up_keeps_the_lab_unless_asked_to_recreate(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "up", "--backend", "simulated")
    policy = lab / "production.yaml"
    policy.write_text(PRODUCTION)
    run(capsys, "apply", "-f", str(policy))
    run(capsys, "up", "--backend", "simulated")
    code, out, _ = run(capsys, "get", "netpol", "-n", "my-segment")
    assert "production-policy" in out
    code, _, err = run(capsys, "up", "--backend", "simulated", "--recreate")
    assert code == 0 and "Creating the simulated cluster" in err
    code, out, err = run(capsys, "get", "netpol", "-n", "my-segment")
    assert out == "" and "No resources found" in err
    code, _, err = run(capsys, "up", "--context", "prod", "--recreate")
    assert code == 1 and "never deletes an existing cluster" in err
