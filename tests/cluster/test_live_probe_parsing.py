"""Reading agnhost outputs into outcomes, the in-pod probe script, and the live runner's
grouping and re-probe logic with a fake exec. No cluster is involved: these test parsing and
bookkeeping, not what a real CNI does."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from labkit.cluster.agnhost import Seen, classify, connect_argv, host_port
from labkit.cluster.commands import Completed
from labkit.cluster.live_inventory import snapshot_from_items
from labkit.cluster.live_probe import LiveRunner, Target, parse_output, probe_script
from labkit.errors import CommandFailed
from labkit.model.ports import Protocol
from labkit.probe.jobs import Job, Outcome, ProbeSpec, Result


@pytest.mark.parametrize(
    ("code", "output", "seen", "outcome", "detail"),
    [
        (0, "", Seen.CONNECTED, Outcome.ALLOWED, "connected"),
        (1, "TIMEOUT\n", Seen.TIMEOUT, Outcome.BLOCKED, "timeout"),
        (
            1,
            "TIMEOUT: read udp 192.168.1.5:4000->192.168.2.7:81: i/o timeout\n",
            Seen.TIMEOUT,
            Outcome.BLOCKED,
            "timeout",
        ),
        (1, "REFUSED\n", Seen.REFUSED, Outcome.ALLOWED, "refused: nothing listens"),
        (
            1,
            "REFUSED: read udp 1.2.3.4:5->6.7.8.9:81: read: connection refused\n",
            Seen.REFUSED,
            Outcome.ALLOWED,
            "refused: nothing listens",
        ),
        (
            1,
            "DNS: lookup server on 10.96.0.10:53: no such host\n",
            Seen.DNS,
            Outcome.FAILED,
            "probe failed: DNS: lookup server",
        ),
        (
            1,
            "OTHER: dial tcp 192.168.1.5:80: connect: no route to host\n",
            Seen.OTHER,
            Outcome.FAILED,
            "probe failed: OTHER",
        ),
        (
            1,
            "UNKNOWN: address 1.2.3.4: missing port in address\n",
            Seen.UNKNOWN,
            Outcome.FAILED,
            "probe failed: UNKNOWN",
        ),
        (127, "sh: /agnhost: not found\n", Seen.NO_AGNHOST, Outcome.FAILED, "has no /agnhost"),
        (1, "something else entirely\n", Seen.UNKNOWN, Outcome.FAILED, "probe failed: something"),
        (1, "warning: noise\nTIMEOUT\n", Seen.TIMEOUT, Outcome.BLOCKED, "timeout"),
    ],
)
def test_agnhost_output_is_read_into_an_outcome(
    code: int, output: str, seen: Seen, outcome: Outcome, detail: str
) -> None:
    obs = classify(code, output)
    assert obs.seen is seen
    assert obs.outcome is outcome
    assert detail in obs.detail()


def test_refused_is_never_reported_as_blocked() -> None:
    assert classify(1, "REFUSED").outcome is Outcome.ALLOWED
    assert "nothing listens" in classify(1, "REFUSED").detail()


def test_udp_timeout_detail_says_no_reply() -> None:
    assert classify(1, "TIMEOUT: x").detail(Protocol.UDP) == "timeout: no UDP reply"


@pytest.mark.parametrize(
    ("address", "expected"),
    [("192.168.1.5", "192.168.1.5:80"), ("fd00::5", "[fd00::5]:80"), ("server", "server:80")],
)
def test_host_port(address: str, expected: str) -> None:
    assert host_port(address, 80) == expected


@pytest.mark.parametrize(
    ("protocol", "flag"),
    [
        (Protocol.TCP, "--protocol=tcp"),
        (Protocol.UDP, "--protocol=udp"),
        (Protocol.SCTP, "--protocol=sctp"),
    ],
)
def test_connect_command_line_always_has_a_timeout(protocol: Protocol, flag: str) -> None:
    assert connect_argv("10.0.0.1", 81, protocol, 1.5) == [
        "/agnhost",
        "connect",
        "10.0.0.1:81",
        "--timeout=1.5s",
        flag,
    ]


FAKE_AGNHOST = """#!/bin/sh
# $1=connect $2=host:port : port 80 connects, 81 times out, 82 refused, others OTHER
case "$2" in
  *:80) exit 0;;
  *:81) sleep 0.3; echo TIMEOUT >&2; exit 1;;
  *:82) printf 'REFUSED: read: connection refused\\nsecond line\\n' >&2; exit 1;;
esac
echo "OTHER: $2 $3 $4" >&2; exit 1
"""


def test_probe_script_runs_in_a_posix_shell_and_reports_every_target(tmp_path: Path) -> None:
    agnhost = tmp_path / "agnhost"
    agnhost.write_text(FAKE_AGNHOST)
    agnhost.chmod(0o755)
    targets = [Target(i, f"10.0.0.{i}", 80 + i % 4, Protocol.TCP) for i in range(10)]
    script = probe_script(targets, 2, parallel=4, agnhost=str(agnhost))
    assert script.count("\nwait\n") == 3  # batches of 4, 4, 2
    done = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    seen = parse_output(done.stdout)
    assert sorted(seen) == list(range(10))
    assert [classify(*seen[i]).seen for i in range(4)] == [
        Seen.CONNECTED,
        Seen.TIMEOUT,
        Seen.REFUSED,
        Seen.OTHER,
    ]
    assert seen[2][1] == "REFUSED: read: connection refused second line"
    assert "--timeout=2s --protocol=tcp" in seen[3][1]


def test_parse_output_ignores_lines_that_are_not_results() -> None:
    out = "noise\n@@labkit 3 1 TIMEOUT\n@@labkit x 1 bad\n@@labkit 4 0 \n@@labkitty 5 0\n"
    assert parse_output(out) == {3: (1, "TIMEOUT"), 4: (0, "")}


# -- the runner, with a fake cluster ---------------------------------------------------------
def pod(
    ns: str,
    name: str,
    ip: str | None,
    *,
    ready: bool = True,
    host_network: bool = False,
    waiting: str = "",
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": "Running" if ready else "Pending",
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
    }
    if ip:
        status["podIP"] = ip
    if waiting:
        status["containerStatuses"] = [{"name": "web", "state": {"waiting": {"reason": waiting}}}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"labkit.dev/managed": "true"}},
        "spec": {
            "hostNetwork": host_network,
            "nodeName": "labkit-worker",
            "containers": [{"name": "web", "ports": [{"containerPort": 80}]}],
        },
        "status": status,
    }


ITEMS = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}},
    pod("a", "one", "192.168.128.10"),
    pod("a", "two", "192.168.128.11"),
    pod("b", "three", "192.168.1.5"),
    pod("b", "pending", None, ready=False, waiting="ImagePullBackOff"),
    pod("kube-system", "node-agent", "172.18.0.2", host_network=True),
]


class FakeExec:
    """Answers each probe from ``answers[(src, address:port)]`` (a list: one per attempt)."""

    def __init__(
        self,
        answers: dict[tuple[str, str], list[tuple[int, str]]],
        fail_for: set[str] | None = None,
    ) -> None:
        self.answers = answers
        self.fail_for = fail_for or set()
        self.calls: list[tuple[str, str, int]] = []
        self.turn: dict[tuple[str, str], int] = {}

    def __call__(self, ns: str, name: str, argv: Sequence[str], timeout: float) -> Completed:
        src = f"{ns}/{name}"
        assert list(argv[:2]) == ["/bin/sh", "-c"]
        script = argv[2]
        lines = [ln for ln in script.splitlines() if ln.startswith("p ")]
        self.calls.append((src, script, len(lines)))
        if src in self.fail_for:
            raise CommandFailed(["kubectl", "exec"], 1, "error: unable to upgrade connection")
        out = []
        for line in lines:
            parts = line.split()
            index, target = parts[1], parts[4]
            key = (src, target)
            n = self.turn.get(key, 0)
            self.turn[key] = n + 1
            seq = self.answers.get(key, [(0, "")])
            code, text = seq[min(n, len(seq) - 1)]
            out.append(f"@@labkit {index} {code} {text}")
        return Completed(("kubectl", "exec"), 0, "\n".join(out) + "\n", "", 0.1)


class FixedPredictor:
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome

    def run(self, jobs: Sequence[Job]) -> list[Result]:
        return [Result(j, self.outcome, "predicted") for j in jobs]


def runner(
    fake: FakeExec, predictor: FixedPredictor | None = None, sleeps: list[float] | None = None
) -> LiveRunner:
    snap = snapshot_from_items(ITEMS, "labkit.dev/managed")
    return LiveRunner(
        snap,
        fake,
        predictor=predictor,
        timeout_s=1,
        retries=3,
        retry_delay_s=2.5,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def jobs(pairs: list[tuple[str, str]], port: int = 80) -> list[Job]:
    return [Job(s, d, ProbeSpec(port)) for s, d in pairs]


def test_snapshot_keeps_pod_addresses_and_readiness_and_marks_host_network_pods() -> None:
    snap = snapshot_from_items(ITEMS, "labkit.dev/managed")
    keys = [p.key for p in snap.inventory.pods if not p.host_network]
    assert keys == ["a/one", "a/two", "b/pending", "b/three"]
    agent = snap.inventory.pod_map["kube-system/node-agent"]
    assert agent.host_network and str(agent.ip) == "172.18.0.2"
    assert snap.inventory.pod_map["b/pending"].ip is None
    assert str(snap.inventory.pod_map["b/three"].ip) == "192.168.1.5"
    assert snap.not_ready == {"b/pending": "container web: ImagePullBackOff"}
    assert snap.managed == {*keys, "kube-system/node-agent"}


def test_one_exec_per_source_pod_probes_all_its_targets() -> None:
    fake = FakeExec(
        {
            ("a/one", "192.168.1.5:80"): [(1, "TIMEOUT")],
            ("a/one", "192.168.128.11:80"): [(1, "REFUSED")],
        }
    )
    results = runner(fake).run(
        jobs([("a/one", "a/two"), ("a/one", "b/three"), ("a/two", "a/one"), ("a/one", "a/one")])
    )
    assert [r.outcome for r in results] == [
        Outcome.ALLOWED,
        Outcome.BLOCKED,
        Outcome.ALLOWED,
        Outcome.ALLOWED,
    ]
    assert results[0].detail.startswith("refused: nothing listens")
    assert sorted((src, n) for src, _, n in fake.calls) == [("a/one", 3), ("a/two", 1)]


def test_not_ready_or_missing_pods_fail_without_exec() -> None:
    fake = FakeExec({})
    results = runner(fake).run(
        jobs(
            [
                ("b/pending", "a/one"),
                ("a/one", "b/pending"),
                ("a/one", "x/ghost"),
                ("ip:10.1.1.1", "a/one"),
            ]
        )
    )
    assert [r.outcome for r in results] == [Outcome.FAILED] * 4
    assert "source pod not ready: container web: ImagePullBackOff" in results[0].detail
    assert "destination pod not ready" in results[1].detail
    assert "does not exist" in results[2].detail
    assert "outside the pod network" in results[3].detail
    assert fake.calls == []


def test_exec_error_fails_every_cell_of_that_source_only() -> None:
    fake = FakeExec({}, fail_for={"a/one"})
    results = runner(fake).run(jobs([("a/one", "a/two"), ("a/one", "b/three"), ("a/two", "a/one")]))
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.FAILED, Outcome.ALLOWED]
    assert "exec error" in results[0].detail and "unable to upgrade" in results[0].detail


def test_missing_result_lines_are_failures_not_blocks() -> None:
    def exec_fn(ns: str, name: str, argv: Sequence[str], timeout: float) -> Completed:
        return Completed(("kubectl",), 137, "", "command terminated with exit code 137", 1.0)

    snap = snapshot_from_items(ITEMS, "labkit.dev/managed")
    [result] = LiveRunner(snap, exec_fn).run(jobs([("a/one", "a/two")]))
    assert result.outcome is Outcome.FAILED
    assert "exit code 137" in result.detail


def test_ip_destination_is_probed_at_that_address() -> None:
    fake = FakeExec({("a/one", "10.9.9.9:80"): [(1, "TIMEOUT")]})
    [result] = runner(fake).run(jobs([("a/one", "ip:10.9.9.9")]))
    assert result.outcome is Outcome.BLOCKED


def test_disagreeing_cells_are_probed_again_until_they_agree() -> None:
    sleeps: list[float] = []
    fake = FakeExec({("a/one", "192.168.128.11:80"): [(0, ""), (1, "TIMEOUT")]})
    results = runner(fake, FixedPredictor(Outcome.BLOCKED), sleeps).run(jobs([("a/one", "a/two")]))
    assert results[0].outcome is Outcome.BLOCKED
    assert results[0].attempts == 2
    assert "predicts" not in results[0].detail
    assert sleeps == [2.5]


def test_persistent_disagreement_is_reported_after_all_attempts() -> None:
    sleeps: list[float] = []
    fake = FakeExec({})
    [result] = runner(fake, FixedPredictor(Outcome.BLOCKED), sleeps).run(jobs([("a/one", "a/two")]))
    assert result.outcome is Outcome.ALLOWED
    assert result.attempts == 3
    assert "the policy engine predicts blocked (still different after 3 attempts)" in result.detail
    assert sleeps == [2.5, 2.5]
    assert len(fake.calls) == 3


def test_agreeing_cells_are_not_probed_again() -> None:
    fake = FakeExec({})
    results = runner(fake, FixedPredictor(Outcome.ALLOWED)).run(
        jobs([("a/one", "a/two"), ("a/two", "a/one")])
    )
    assert all(r.attempts == 1 and r.outcome is Outcome.ALLOWED for r in results)
    assert len(fake.calls) == 2


def test_only_the_disagreeing_cells_are_reprobed() -> None:
    fake = FakeExec({("a/one", "192.168.1.5:80"): [(0, ""), (1, "TIMEOUT")]})
    predictor = FixedPredictor(Outcome.ALLOWED)

    class Mixed(FixedPredictor):
        def run(self, jobs: Sequence[Job]) -> list[Result]:
            return [
                Result(j, Outcome.BLOCKED if j.dst == "b/three" else Outcome.ALLOWED) for j in jobs
            ]

    del predictor
    results = runner(fake, Mixed(Outcome.ALLOWED)).run(
        jobs([("a/one", "a/two"), ("a/one", "b/three")])
    )
    assert [r.outcome for r in results] == [Outcome.ALLOWED, Outcome.BLOCKED]
    assert [n for _, _, n in fake.calls] == [2, 1]


def test_a_zero_timeout_is_refused() -> None:
    snap = snapshot_from_items(ITEMS, "labkit.dev/managed")
    with pytest.raises(Exception, match="more than 0"):
        LiveRunner(snap, FakeExec({}), timeout_s=0)
