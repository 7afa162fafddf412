"""The CLI as a workshop learner: every lab command works in logical names, and shows no other
learner's names (simulated workshop selected by LABKIT_WORKSHOP and LABKIT_LEARNER)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from labkit.cli.main import main

POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-frontend
  namespace: my-segment
spec:
  podSelector:
    matchLabels:
      role: database
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector:
            matchLabels:
              role: frontend
"""


@pytest.fixture
def alice(
    workshop: Callable[..., object],
    learner_env: Callable[[str, str], None],
    tmp_path: Path,
) -> Path:
    workshop(["alice", "bob"])
    learner_env("ws1", "alice")
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lab_commands_speak_logical_names(
    alice: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "apply", "-f", str(alice))
    assert code == 0, err
    assert "NetworkPolicy my-segment/db-from-frontend" in out and "ws1-" not in out

    code, out, err = run(capsys, "get", "networkpolicies", "-n", "my-segment")
    assert code == 0, err
    assert "db-from-frontend" in out and "ws1-" not in out

    probe = ("probe", "--to", "my-segment/database", "-o", "json")
    code, out, err = run(capsys, *probe, "--from", "trusted/client")
    assert code == 0 and "ws1-" not in out, (code, out, err)
    assert json.dumps(json.loads(out)).count('"blocked"') >= 1, out
    code, out, err = run(capsys, *probe, "--from", "my-segment/frontend")
    assert code == 0 and "ws1-" not in out, (code, out, err)
    assert '"allowed"' in json.dumps(json.loads(out)), out

    code, out, err = run(
        capsys, "explain", "--from", "trusted/client", "--to", "my-segment/database", "--port", "80"
    )
    assert code == 0, err
    assert "db-from-frontend" in out and "ws1-" not in out, out

    code, out, err = run(capsys, "audit", "-o", "json")
    assert code == 0, err
    assert "ws1-" not in out and "my-segment" in out
    json.loads(out)

    code, out, err = run(capsys, "probe", "-o", "json")
    assert code == 0 and "ws1-" not in out and "bob" not in out, err


def test_cli_refuses_another_learners_namespace_and_applies_nothing(
    alice: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    batch = tmp_path / "batch.yaml"
    batch.write_text(
        POLICY + "---\n" + POLICY.replace("my-segment", "ws1-bob-my-segment"), encoding="utf-8"
    )
    code, out, err = run(capsys, "apply", "-f", str(batch))
    assert code != 0
    assert "ws1-bob-my-segment" in err + out and "Forbidden" in err + out
    code, out, _ = run(capsys, "get", "networkpolicies", "-n", "my-segment")
    assert "db-from-frontend" not in out, "half of a refused batch was applied"
