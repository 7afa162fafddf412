"""Exec through the official client from several threads (KubeApi.exec with a fake
``kubernetes.stream.stream``): each thread uses its own ApiClient (``stream()`` swaps the
client's ``call_api`` while it runs, so a shared one would cross streams), and an
ExecLimiter(2) around it keeps at most two exec streams open at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from cluster.api_fakes import HOST
from kubernetes import client, stream

from labkit.cluster.kube_api import ERROR_CHANNEL, KubeApi
from labkit.cluster.workshop.throttle import ExecLimiter

THREADS = 6


class Stream:
    """What ``stream.stream(..., _preload_content=False)`` returns, finishing at once."""

    def __init__(self, pod: str) -> None:
        self.pod = pod

    def run_forever(self, timeout: float | None = None) -> None:
        pass

    def is_open(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def read_stdout(self) -> str:
        return f"@@labkit 0 0 connected from {self.pod}\n"

    def read_stderr(self) -> str:
        return ""

    def read_channel(self, channel: int) -> str:
        assert channel == ERROR_CHANNEL
        return '{"metadata":{},"status":"Success"}'


class FakeStream:
    """Stands in for ``kubernetes.stream.stream``: records, per call, the thread and the
    ApiClient behind the exec method, and how many streams are open at once; each stream
    stays open until ``overlap`` streams were open together (or 2 s passed)."""

    def __init__(self, overlap: int) -> None:
        self.lock = threading.Lock()
        self.open = 0
        self.peak = 0
        self.calls: list[tuple[int, Any, str, str, dict[str, Any]]] = []
        self.barrier = threading.Barrier(overlap, timeout=2.0)

    def __call__(self, method: Any, pod: str, namespace: str, **kwargs: Any) -> Stream:
        assert method.__name__ == "connect_get_namespaced_pod_exec"
        with self.lock:
            self.open += 1
            self.peak = max(self.peak, self.open)
            self.calls.append(
                (threading.get_ident(), method.__self__.api_client, namespace, pod, kwargs)
            )
        try:
            self.barrier.wait()
            time.sleep(0.01)
        finally:
            with self.lock:
                self.open -= 1
        return Stream(pod)


def api() -> KubeApi:
    return KubeApi(None, None, configure=lambda: client.Configuration(host=HOST))


def run(target: Any, count: int) -> list[Any]:
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            results[i] = target(i)
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_each_thread_execs_with_its_own_api_client(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeStream(overlap=1)
    monkeypatch.setattr(stream, "stream", fake)
    kube = api()

    def one(i: int) -> tuple[Any, Any, Any]:
        mine = kube.api_client()
        done = kube.exec("ws1-alice-trusted", f"p{i}", ["/agnhost", "connect"], timeout=5)
        assert (done.returncode, done.stdout) == (0, f"@@labkit 0 0 connected from p{i}\n")
        return mine, kube.api_client(), done

    results = run(one, THREADS)
    # this thread's client is its own, and the same on every call in the thread
    assert all(before is after for before, after, _ in results)
    clients = {id(c) for c, _, _ in results}
    assert len(clients) == THREADS
    # the exec method each stream got was bound to the calling thread's client
    by_pod = {f"p{i}": c for i, (c, _, _) in enumerate(results)}
    assert len(fake.calls) == THREADS
    for _, used, namespace, pod, kwargs in fake.calls:
        assert used is by_pod[pod]
        assert namespace == "ws1-alice-trusted"
        assert kwargs["_preload_content"] is False and kwargs["command"][0] == "/agnhost"
    # all built from one configuration (configured once)
    assert len({id(c.configuration) for c, _, _ in results}) == 1
    assert all(kube.api_client() is not c for c, _, _ in results)


def test_at_most_two_exec_streams_at_once_through_the_limiter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeStream(overlap=2)
    monkeypatch.setattr(stream, "stream", fake)
    kube = api()
    limited = ExecLimiter(2).wrap(kube.exec)
    results = run(lambda i: limited("ws1-alice-trusted", f"p{i}", ["true"], timeout=5), 8)
    assert fake.peak == 2
    assert len(fake.calls) == 8
    assert [r.stdout for r in results] == [f"@@labkit 0 0 connected from p{i}\n" for i in range(8)]


def test_without_the_limiter_the_streams_pile_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the same threads open more than two streams when nothing limits them."""
    fake = FakeStream(overlap=4)
    monkeypatch.setattr(stream, "stream", fake)
    kube = api()
    run(lambda i: kube.exec("ws1-alice-trusted", f"p{i}", ["true"], timeout=5), 8)
    assert fake.peak >= 4
