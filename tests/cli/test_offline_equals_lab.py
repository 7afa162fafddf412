"""Offline answers equal the lab's: ``labkit matrix|explain|audit -f clusters/topology/topology.yaml
-f POLICY`` give the same addresses, verdicts and findings as ``labkit apply -f POLICY`` on the
simulated lab followed by ``labkit probe``, ``labkit explain`` and ``labkit audit``.

Both sides run through the CLI's ``main()`` in a temporary ``LABKIT_HOME``; nothing here is
written down by hand: each assertion compares the two paths' own outputs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from labkit.cli.common import load
from labkit.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = str(ROOT / "clusters/topology/topology.yaml")
TUTORIAL = str(ROOT / "tests/fixtures/tutorial-policies/policies.yaml")
LAB_POLICIES = str(ROOT / "tests/fixtures/lab-policies/policies.yaml")
PROBES = ["80/TCP", "81/UDP", "9090/TCP"]

EXPLAIN_PAIRS = [
    # the tutorial's ipBlock examples: 192.168.1.0/24 (branch office), 10.0.0.0/24 (the lab
    # places legacy-dc in 192.168.10.0/24 instead), 192.168.2.0/24 (backup site)
    ("branch-office/client", "my-segment/frontend", "80"),
    ("trusted/client", "my-segment/frontend", "80"),
    ("legacy-dc/client", "my-segment/backend", "80"),
    ("my-segment/database", "legacy-dc/client", "80"),
    ("my-segment/critical-app", "backup-site/server", "80"),
    ("my-segment/critical-app", "branch-office/client", "80"),
    ("untrusted/client", "my-segment/critical-app", "9090/TCP"),
    ("my-segment/frontend", "kube-system/coredns-0", "53/UDP"),
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == 0, (argv, captured.err)
    return json.loads(captured.out)


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "lab"))
    assert main(["up", "--backend", "simulated"]) == 0
    return tmp_path


def apply(policy: str) -> None:
    assert main(["apply", "-f", policy]) == 0


def offline_addresses(*files: str) -> dict[str, str]:
    """Pod addresses on the CLI's offline loading path (what matrix/explain/audit evaluate)."""
    args = argparse.Namespace(files=list(files), pod_cidr=None, kubernetes_version="1.36")
    return {pod.key: str(pod.ip) for pod in load(args).pods}


def lab_addresses(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    listing = run(capsys, "get", "pods", "-A", "-o", "json")
    return {
        f"{i['metadata']['namespace']}/{i['metadata']['name']}": i["status"]["podIP"]
        for i in listing["items"]
    }


def offline_cells(capsys: pytest.CaptureFixture[str], policy: str) -> dict[tuple[str, ...], bool]:
    probes = [a for p in PROBES for a in ("--probe", p)]
    data = run(capsys, "matrix", "-f", TOPOLOGY, "-f", policy, "-o", "json", *probes)
    peers = data["peers"]
    return {
        (f"{t['port']}/{t['protocol']}", src, dst): bool(t["allowed"][i][j])
        for t in data["probes"]
        for i, src in enumerate(peers)
        for j, dst in enumerate(peers)
    }


def lab_cells(capsys: pytest.CaptureFixture[str]) -> dict[tuple[str, ...], bool]:
    probes = [a for p in PROBES for a in ("--probe", p)]
    data = run(capsys, "probe", "-o", "json", *probes)
    peers = data["peers"]
    return {
        (f"{t['port']}/{t['protocol']}", src, dst): t["observed"][i][j] == "allowed"
        for t in data["probes"]
        for i, src in enumerate(peers)
        for j, dst in enumerate(peers)
    }


@pytest.mark.parametrize("policy", [TUTORIAL, LAB_POLICIES], ids=["tutorial", "lab-policies"])
def test_matrix_explain_and_audit_equal_the_lab(
    lab: Path, capsys: pytest.CaptureFixture[str], policy: str
) -> None:
    offline_ips = offline_addresses(TOPOLOGY, policy)
    offline_matrix = offline_cells(capsys, policy)
    offline_explain = [
        run(
            capsys,
            "explain",
            "-f",
            TOPOLOGY,
            "-f",
            policy,
            "-o",
            "json",
            "--from",
            s,
            "--to",
            d,
            "--port",
            p,
        )
        for s, d, p in EXPLAIN_PAIRS
    ]
    offline_audit = run(capsys, "audit", "-f", TOPOLOGY, "-f", policy, "-o", "json")

    apply(policy)
    assert offline_ips == lab_addresses(capsys)
    observed = lab_cells(capsys)
    assert observed, "the lab probed nothing"
    assert {k: offline_matrix[k] for k in observed} == observed
    lab_explain = [
        run(capsys, "explain", "-o", "json", "--from", s, "--to", d, "--port", p)
        for s, d, p in EXPLAIN_PAIRS
    ]
    assert offline_explain == lab_explain
    assert offline_audit == run(capsys, "audit", "-o", "json")


def test_tutorial_ipblock_example_branch_office_reaches_frontend_as_in_the_lab(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """trusted? no: the tutorial's ``ipBlock 192.168.1.0/24`` lets branch-office/client reach
    the protected frontend, offline exactly as in the lab (it was DENIED offline when the
    branch office got a 10.244.x address)."""
    pair = ["--from", "branch-office/client", "--to", "my-segment/frontend", "--port", "80"]
    offline = run(capsys, "explain", "-f", TOPOLOGY, "-f", TUTORIAL, "-o", "json", *pair)
    assert offline_addresses(TOPOLOGY)["branch-office/client"].startswith("192.168.1.")
    apply(TUTORIAL)
    in_lab = run(capsys, "explain", "-o", "json", *pair)
    assert offline["verdict"] == in_lab["verdict"] == "ALLOWED"
    assert offline == in_lab
    trusted = ["--from", "trusted/client", "--to", "my-segment/frontend", "--port", "80"]
    offline_trusted = run(capsys, "explain", "-f", TOPOLOGY, "-f", TUTORIAL, "-o", "json", *trusted)
    assert offline_trusted["verdict"] == "DENIED"
    assert offline_trusted == run(capsys, "explain", "-o", "json", *trusted)


PARTNER = """\
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: partner}
spec: {cidr: 192.168.60.0/24, assignmentMode: Manual}
---
apiVersion: v1
kind: Namespace
metadata:
  name: partner
  annotations: {cni.projectcalico.org/ipv4pools: '["partner"]'}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: partner}
spec: {containers: [{name: c, image: registry.k8s.io/e2e-test-images/agnhost:2.66.1}]}
"""


def test_an_ippool_and_namespace_annotation_place_the_pod_alike(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = lab / "partner.yaml"
    manifest.write_text(PARTNER)
    offline = offline_addresses(TOPOLOGY, str(manifest))["partner/client"]
    apply(str(manifest))
    assert lab_addresses(capsys)["partner/client"] == offline
    assert offline.startswith("192.168.60.")


def test_an_overlapping_ippool_is_refused_offline_and_in_the_lab(
    lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = lab / "wide.yaml"
    manifest.write_text(
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: wide}\n"
        "spec: {cidr: 192.168.0.0/16}\n"
    )
    capsys.readouterr()
    assert main(["matrix", "-f", TOPOLOGY, "-f", str(manifest)]) == 1
    assert "IPPool(wide) CIDR overlaps" in capsys.readouterr().err
    assert main(["apply", "-f", str(manifest)]) == 1
    assert "IPPool(wide) CIDR overlaps" in capsys.readouterr().err
