"""`labkit explain` and `labkit audit` without -f read the lab cluster as it is now."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.cli.main import main

TUTORIAL_MISTAKE = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: production-policy, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: critical-app}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {name: trusted}}
"""


@pytest.fixture
def lab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "lab"))
    return tmp_path


def test_explain_without_files_uses_the_lab_cluster(
    lab_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up", "--backend", "simulated"]) == 0
    policy = lab_home / "policy.yaml"
    policy.write_text(TUTORIAL_MISTAKE)
    assert main(["apply", "-f", str(policy)]) == 0
    capsys.readouterr()
    code = main(
        ["explain", "--from", "trusted/client", "--to", "my-segment/critical-app", "--port", "80"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "DENIED" in out
    assert "kubernetes.io/metadata.name=trusted" in out

    assert main(["audit", "-o", "json"]) == 0
    assert '"namespace-label-unknown"' in capsys.readouterr().out


def test_explain_without_files_and_without_a_lab_says_how_to_start_one(
    lab_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["explain", "--from", "a/b", "--to", "c/d", "--port", "80"])
    assert code == 1
    assert "labkit up" in capsys.readouterr().err
