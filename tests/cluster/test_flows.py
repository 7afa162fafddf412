"""Flow records: the simulated backend's probes with the policy that decided each, and
Calico's flow logs read from a recorded Whisker/Goldmane response."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.cluster import flows, lifecycle
from labkit.errors import ClusterError

ALLOW_BACKEND = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "database-from-backend", "namespace": "my-segment"},
    "spec": {
        "podSelector": {"matchLabels": {"role": "database"}},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "backend"}}}]}],
    },
}

# A response shaped as Calico 3.30's whisker-backend GET /flows answers (FlowLog fields of
# the whisker UI): recorded by hand from the documented fields, not from a live cluster.
WHISKER_RESPONSE = {
    "items": [
        {
            "start_time": "2026-12-01T10:00:00Z",
            "end_time": "2026-12-01T10:00:15Z",
            "action": "Deny",
            "source_name": "client",
            "source_namespace": "untrusted",
            "dest_name": "database",
            "dest_namespace": "my-segment",
            "protocol": "tcp",
            "dest_port": 80,
            "reporter": "Dst",
            "policies": {
                "enforced": [
                    {
                        "kind": "EndOfTier",
                        "name": "database-from-backend",
                        "namespace": "my-segment",
                        "tier": "default",
                        "action": "Deny",
                    }
                ],
                "pending": [],
            },
        },
        {
            "start_time": "2026-12-01T09:59:00Z",
            "end_time": "2026-12-01T09:59:15Z",
            "action": "Allow",
            "source_name": "backend",
            "source_namespace": "my-segment",
            "dest_name": "database",
            "dest_namespace": "my-segment",
            "protocol": "tcp",
            "dest_port": 80,
            "policies": {
                "enforced": [
                    {
                        "kind": "NetworkPolicy",
                        "name": "database-from-backend",
                        "namespace": "my-segment",
                        "action": "Allow",
                    }
                ]
            },
        },
    ]
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    monkeypatch.delenv("LABKIT_BACKEND", raising=False)
    return tmp_path


@pytest.mark.parametrize(
    ("src", "verdict", "policy"),
    [
        ("my-segment/backend", "allowed", "allowed by my-segment/database-from-backend ingress[0]"),
        ("untrusted/client", "blocked", "isolated by ingress: my-segment/database-from-backend"),
    ],
)
def test_simulated_probes_are_recorded_with_their_policy(
    home: Path, src: str, verdict: str, policy: str
) -> None:
    lifecycle.up("simulated")
    lab = lifecycle.connect()
    lab.apply(ALLOW_BACKEND)
    lab.probe(src, "my-segment/database")
    [record] = flows.read(home)
    assert (record.source, record.destination, record.port, record.protocol) == (
        src,
        "my-segment/database",
        80,
        "TCP",
    )
    assert record.verdict == verdict
    assert policy in record.policy


def test_not_enforced_flows_say_so(home: Path) -> None:
    lifecycle.up("simulated", cni="none")
    lab = lifecycle.connect()
    lab.apply(ALLOW_BACKEND)
    lab.probe("untrusted/client", "my-segment/database")
    [record] = flows.read(home)
    assert record.verdict == "allowed"
    assert record.policy.startswith("NOT ENFORCED") and "database-from-backend" in record.policy


def test_limit_keeps_the_newest(home: Path) -> None:
    lifecycle.up("simulated")
    lab = lifecycle.connect()
    for dst in ("my-segment/frontend", "my-segment/backend", "my-segment/database"):
        lab.probe("trusted/client", dst)
    assert [r.destination for r in flows.read(home, 2)] == [
        "my-segment/backend",
        "my-segment/database",
    ]


def test_whisker_response_is_parsed_oldest_first() -> None:
    records = flows.parse_whisker_flows(WHISKER_RESPONSE)
    assert [(r.source, r.verdict) for r in records] == [
        ("my-segment/backend", "allowed"),
        ("untrusted/client", "blocked"),
    ]
    assert records[1].protocol == "TCP" and records[1].port == 80
    assert "my-segment/database-from-backend: Deny" in records[1].policy


def test_whisker_read_goes_through_the_service_proxy() -> None:
    asked: list[str] = []

    def get_raw(path: str) -> str:
        asked.append(path)
        return json.dumps(WHISKER_RESPONSE)

    records = flows.read_whisker_flows(get_raw, limit=1)
    assert asked == [
        "/api/v1/namespaces/calico-system/services/whisker:8081/proxy/whisker-backend/flows"
    ]
    assert [r.source for r in records] == ["untrusted/client"]


@pytest.mark.parametrize("answer", ["not json", json.dumps({"flows": []})])
def test_whisker_bad_answer_is_a_clear_error(answer: str) -> None:
    with pytest.raises(ClusterError, match="Whisker flow API"):
        flows.read_whisker_flows(lambda _path: answer)


def test_facade_flows_snapshot_and_changes(home: Path) -> None:
    import labkit.lab as lab

    lifecycle.up("simulated")
    before = lab.snapshot()
    lifecycle.connect().apply(ALLOW_BACKEND)
    after = lab.snapshot()
    diff = lab.changes(before, after)
    changed = {(c.src, c.dst) for c in diff}
    assert ("untrusted/client", "my-segment/database") in changed
    assert ("my-segment/backend", "my-segment/database") not in changed
    seen = lab.flows()
    assert len(seen) == 2 * 81
    assert list(seen.frame.columns)[:3] == ["time", "source", "destination"]


def test_the_flow_file_is_trimmed_to_the_newest(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flows, "MAX_KEPT", 3)
    monkeypatch.setattr(flows, "LINE_BYTES", 10)
    records = [
        flows.FlowRecord(float(i), "a/x", f"b/{i}", 80, "TCP", "allowed", "") for i in range(9)
    ]
    for record in records:
        flows.append(home, [record])
    kept = flows.read(home)
    assert len(kept) <= 6
    assert kept[-1] == records[-1]
