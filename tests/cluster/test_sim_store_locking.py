"""The simulated cluster's state file: concurrent writers, atomic replacement, speed."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from labkit.cluster.sim_store import FileStore, MemoryStore
from labkit.cluster.simulated import SimulatedCluster
from labkit.cluster.topology import LAB_PODS
from labkit.probe.jobs import ProbeSpec


def policy(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": "my-segment"},
        "spec": {"podSelector": {"matchLabels": {"role": name}}},
    }


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    SimulatedCluster.up(tmp_path)
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        cluster = SimulatedCluster(tmp_path)  # each thread its own instance, like two processes
        try:
            for i in range(8):
                cluster.apply(policy(f"{prefix}-{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    names = {p.name for p in SimulatedCluster(tmp_path).policies("my-segment")}
    assert names == {f"{p}-{i}" for p in "abc" for i in range(8)}


def test_readers_always_see_a_whole_file(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "state.json")
    store.replace([])
    stop = threading.Event()
    seen: list[int] = []
    failures: list[BaseException] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                seen.append(len(store.read()))
            except BaseException as exc:  # pragma: no cover - reported below
                failures.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    for n in range(1, 40):
        store.replace([{"source": "t", "object": {"kind": "X", "n": i}} for i in range(n)])
    stop.set()
    thread.join()
    assert not failures and seen


def test_memory_store_is_isolated_from_its_input() -> None:
    entries = [{"source": "t", "object": {"kind": "X"}}]
    store = MemoryStore(entries)
    entries[0]["object"]["kind"] = "Y"
    assert store.read()[0]["object"]["kind"] == "X"
    assert store.remove() and not store.exists()


def test_speed_of_up_and_of_a_topology_matrix(tmp_path: Path) -> None:
    """Targets: ``labkit up`` (simulated) <= 3 s, a probe matrix of the topology <= 0.5 s."""
    started = time.perf_counter()
    cluster = SimulatedCluster.up(tmp_path)
    cluster.status()
    up_seconds = time.perf_counter() - started
    started = time.perf_counter()
    tables = cluster.probe_matrix(
        [ProbeSpec(80), ProbeSpec(81, "UDP")],  # type: ignore[arg-type]
        peers=list(LAB_PODS),
    )
    matrix_seconds = time.perf_counter() - started
    assert len(tables[0].peers) == 9
    assert up_seconds <= 3.0, up_seconds
    assert matrix_seconds <= 0.5, matrix_seconds
