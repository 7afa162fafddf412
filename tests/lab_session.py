"""What the in-process facade tests share: a lab on the simulated backend in a temporary lab
folder, and the policy most of them apply (only the backend reaches the database on 80/TCP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit.lab as lab

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


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[lab.LabSession]:
    """``lab.up()`` on the simulated backend, in a lab folder of its own."""
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "lab"))
    monkeypatch.setenv("LABKIT_BACKEND", "simulated")
    yield lab.up()
