"""Calico's flow logs when the API server's service proxy cannot reach Whisker: the
port-forward fallback of :func:`labkit.cluster.flows.cluster_flows`, and
:meth:`labkit.cluster.kube_api.KubeApi.http_get_via_port_forward` against a fake
``kubernetes.stream.portforward`` whose socket is one end of a real socket pair (as the
client's own ``PortForward`` gives), with a hand-written HTTP answer on the other end.

The fakes check what labkit asks and how it reads the answer; they prove nothing about a
live cluster (whether the proxy is really blocked by ``calico-system.whisker``, whether the
kubelet's port-forward reaches nginx on 8081)."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import pytest
from api_fakes import FakePool, fake_api
from fake_tools import FakeTools

from labkit.cluster import flows, kube_api
from labkit.cluster.existing import ExistingCluster
from labkit.cluster.kubectl import Kubectl
from labkit.cluster.reads import KubectlReads
from labkit.errors import ClusterError

WHISKER_PODS = "/api/v1/namespaces/calico-system/pods"
ONE_FLOW = {
    "total": 1,
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
            "policies": {"enforced": [], "pending": []},
        }
    ],
}
# kubectl's stderr when the API server's service proxy cannot reach the pod (hand-written in
# kubectl's "Error from server (Reason): message" form, not recorded from a cluster).
PROXY_503 = (
    "Error from server (ServiceUnavailable): error trying to reach service: dial tcp "
    "10.244.0.7:8081: i/o timeout\n"
)


# -- the fallback in cluster_flows ----------------------------------------------------------
class FakeForwardReads:
    """The one method of KubeApi the fallback uses, recorded."""

    def __init__(self, answer: str | ClusterError) -> None:
        self.answer = answer
        self.calls: list[tuple[Any, ...]] = []

    def http_get_via_port_forward(
        self,
        namespace: str,
        label_selector: str,
        port: int,
        path: str,
        *,
        timeout: float,
        hint: str = "",
    ) -> str:
        self.calls.append((namespace, label_selector, port, path))
        if isinstance(self.answer, ClusterError):
            raise self.answer
        return self.answer


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flows, "_PORT_FORWARD_FIRST", set())


def kind_cluster(reads: object) -> ExistingCluster:
    cluster = ExistingCluster("kind-labkit")
    cluster.reads = reads  # type: ignore[assignment]
    return cluster


def raw_calls(fake_tools: FakeTools) -> list[list[str]]:
    return [c.argv for c in fake_tools.calls("kubectl") if "--raw" in c.argv]


def test_the_proxy_answers_so_no_port_forward(
    fake_tools: FakeTools, caplog: pytest.LogCaptureFixture
) -> None:
    fake_tools.add("kubectl", match=["get", "--raw"], stdout=ONE_FLOW)
    reads = FakeForwardReads(ClusterError("must not be called"))
    with caplog.at_level("INFO", logger="labkit.cluster.flows"):
        records = flows.cluster_flows(kind_cluster(reads))
    assert [r.source for r in records] == ["untrusted/client"]
    assert reads.calls == []
    assert raw_calls(fake_tools) == [
        [
            "--context",
            "kind-labkit",
            "get",
            "--raw",
            "/api/v1/namespaces/calico-system/services/whisker:8081/proxy/whisker-backend/flows",
        ]
    ]
    assert flows.VIA_PROXY in caplog.text


@pytest.mark.parametrize(
    "stderr",
    [
        PROXY_503,
        'Error from server (ServiceUnavailable): no endpoints available for service "whisker:8081"\n',
        "The connection to the server 127.0.0.1:6443 was refused\n",
    ],
)
def test_a_failed_proxy_falls_back_to_a_port_forward_and_says_so(
    fake_tools: FakeTools, caplog: pytest.LogCaptureFixture, stderr: str
) -> None:
    fake_tools.add("kubectl", match=["get", "--raw"], stderr=stderr, exit=1)
    reads = FakeForwardReads(json.dumps(ONE_FLOW))
    with caplog.at_level("INFO", logger="labkit.cluster.flows"):
        records = flows.cluster_flows(kind_cluster(reads))
    assert [r.verdict for r in records] == ["blocked"]
    assert reads.calls == [("calico-system", "k8s-app=whisker", 8081, "/whisker-backend/flows")]
    warned = [r for r in caplog.records if r.levelname == "WARNING"]
    assert flows.VIA_PROXY in warned[0].getMessage()
    assert stderr.strip() in warned[0].getMessage()
    assert f"read through {flows.VIA_PORT_FORWARD}" in caplog.text


def test_a_proxy_that_times_out_falls_back(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flows, "PROXY_TIMEOUT_S", 0.5)
    fake_tools.add("kubectl", match=["get", "--raw"], stdout=ONE_FLOW, sleep=5)
    reads = FakeForwardReads(json.dumps(ONE_FLOW))
    assert len(flows.cluster_flows(kind_cluster(reads))) == 1
    assert len(reads.calls) == 1


def test_after_a_port_forward_answered_it_is_tried_first(fake_tools: FakeTools) -> None:
    fake_tools.add("kubectl", match=["get", "--raw"], stderr=PROXY_503, exit=1)
    reads = FakeForwardReads(json.dumps(ONE_FLOW))
    cluster = kind_cluster(reads)
    flows.cluster_flows(cluster)
    flows.cluster_flows(cluster)
    assert len(raw_calls(fake_tools)) == 1  # the second read went straight to the pod
    assert len(reads.calls) == 2
    # and when the port-forward fails later, the proxy is still the fallback
    reads.answer = ClusterError("no Running pod labelled k8s-app=whisker")
    with pytest.raises(ClusterError, match="did not answer"):
        flows.cluster_flows(cluster)
    assert len(raw_calls(fake_tools)) == 2


def test_when_both_fail_the_error_gives_both_reasons_and_the_fixes(
    fake_tools: FakeTools,
) -> None:
    fake_tools.add("kubectl", match=["get", "--raw"], stderr=PROXY_503, exit=1)
    reads = FakeForwardReads(
        ClusterError("no Running pod labelled k8s-app=whisker\n    fix: look at the pods")
    )
    with pytest.raises(ClusterError) as err:
        flows.cluster_flows(kind_cluster(reads))
    text = str(err.value)
    assert f"through {flows.VIA_PROXY}: `kubectl" in text and "i/o timeout" in text
    assert f"through {flows.VIA_PORT_FORWARD}: no Running pod" in text
    fixes = [line.strip() for line in text.splitlines() if line.strip().startswith("fix:")]
    assert fixes == [f"fix: {flows.WHISKER_HINT}", "fix: look at the pods"]


def test_without_the_client_the_fallback_says_how_to_forward_by_hand(
    fake_tools: FakeTools,
) -> None:
    fake_tools.add("kubectl", match=["get", "--raw"], stderr=PROXY_503, exit=1)
    cluster = kind_cluster(KubectlReads(Kubectl(None, "kind-labkit")))
    with pytest.raises(ClusterError) as err:
        flows.cluster_flows(cluster)
    text = str(err.value)
    assert "needs the official Kubernetes client" in text
    assert "fix: pip install 'labkit[lab]'" in text
    assert "kubectl port-forward -n calico-system service/whisker 8081:8081" in text


def test_a_single_way_keeps_its_own_error() -> None:
    def get_raw(path: str) -> str:
        raise ClusterError("proxy down\n    fix: start it")

    with pytest.raises(ClusterError, match=r"^proxy down\n    fix: start it$"):
        flows.read_whisker_flows(get_raw)


# -- KubeApi.http_get_via_port_forward ------------------------------------------------------
def pod(name: str, phase: str, *, ready: bool = True, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "calico-system",
        "labels": {"k8s-app": "whisker"},
    }
    if deleting:
        meta["deletionTimestamp"] = "2026-12-01T10:00:00Z"
    return {
        "metadata": meta,
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def pod_list(*pods: dict[str, Any]) -> bytes:
    body = {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"}}
    return json.dumps({**body, "items": list(pods)}).encode()


class FakePortForward:
    """What ``stream.portforward`` returns (a ``PortForward``): ``socket(port)`` is one end
    of a socket pair; a thread on the other end reads the request up to its blank line,
    records it, writes ``answer`` and closes (or, with ``error``, sets the kubelet's error
    text first, as the client's proxy thread does before closing the socket)."""

    def __init__(self, port: int, answer: bytes, error: str | None = None) -> None:
        self.port = port
        self.answer = answer
        self.kubelet_error = error
        self.request = b""
        self.closed = False
        self.mine, theirs = socket.socketpair()
        self.thread = threading.Thread(target=self._serve, args=(theirs,), daemon=True)
        self.thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            while b"\r\n\r\n" not in self.request:
                data = sock.recv(4096)
                if not data:
                    return
                self.request += data
            if self.answer:
                sock.sendall(self.answer)
            elif self.kubelet_error is None:
                sock.recv(1)  # never answers: wait until the client gives up

    def socket(self, port: int) -> socket.socket:
        if port != self.port:  # the client keys its ports by int
            raise ValueError("Invalid port number")
        return self.mine

    def error(self, port: int) -> str | None:
        return self.kubelet_error

    def close(self) -> None:
        self.closed = True
        self.mine.close()


def forward_through(
    monkeypatch: pytest.MonkeyPatch, forward: FakePortForward | Exception, *pods: dict[str, Any]
) -> tuple[kube_api.KubeApi, FakePool, list[tuple[Any, tuple[Any, ...], dict[str, Any]]]]:
    from kubernetes import stream

    calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []

    def fake_portforward(method: Any, *args: Any, **kwargs: Any) -> FakePortForward:
        calls.append((method, args, kwargs))
        if isinstance(forward, Exception):
            raise forward
        return forward

    monkeypatch.setattr(stream, "portforward", fake_portforward)
    pool = FakePool()
    pool.add(WHISKER_PODS, pod_list(*pods), query={"labelSelector": "k8s-app=whisker"})
    return fake_api(pool), pool, calls


def get_flows(api: kube_api.KubeApi, timeout: float = 5.0) -> str:
    return api.http_get_via_port_forward(
        "calico-system", "k8s-app=whisker", 8081, "/whisker-backend/flows", timeout=timeout
    )


BODY = json.dumps(ONE_FLOW).encode()
PLAIN = (
    b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\nConnection: close\r\n\r\n" + BODY
)
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    + b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (BODY[:40], BODY[40:]))
    + b"0\r\n\r\n"
)


@pytest.mark.parametrize("answer", [PLAIN, CHUNKED], ids=["content-length", "chunked"])
def test_a_get_through_a_port_forward_to_the_labelled_pod(
    monkeypatch: pytest.MonkeyPatch, answer: bytes
) -> None:
    forward = FakePortForward(8081, answer)
    api, pool, calls = forward_through(
        monkeypatch,
        forward,
        pod("whisker-old", "Running", deleting=True),
        pod("whisker-a", "Running", ready=False),
        pod("whisker-b", "Running"),
        pod("whisker-c", "Pending"),
    )
    assert json.loads(get_flows(api)) == ONE_FLOW
    [listed] = [r for r in pool.requests if r.path == WHISKER_PODS]
    assert listed.query["labelSelector"] == "k8s-app=whisker"
    [(method, args, kwargs)] = calls
    assert method.__name__ == "connect_get_namespaced_pod_portforward"
    assert args == ("whisker-b", "calico-system")  # Running, Ready, not being deleted
    assert kwargs == {"ports": "8081"}
    assert forward.request == (
        b"GET /whisker-backend/flows HTTP/1.1\r\n"
        b"Host: localhost\r\n"
        b"Accept: application/json\r\n"
        b"Connection: close\r\n"
        b"\r\n"
    )
    assert forward.closed


def test_an_answer_without_length_is_read_to_eof(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + BODY
    api, _, _ = forward_through(monkeypatch, FakePortForward(8081, answer), pod("w", "Running"))
    assert json.loads(get_flows(api)) == ONE_FLOW


def test_a_non_2xx_answer_is_an_error_with_the_first_line_of_its_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n</html>\r\n"
    answer = (
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: "
        + str(len(page)).encode()
        + b"\r\n\r\n"
        + page
    )
    forward = FakePortForward(8081, answer)
    api, _, _ = forward_through(monkeypatch, forward, pod("whisker-b", "Running"))
    with pytest.raises(ClusterError) as err:
        get_flows(api)
    text = str(err.value)
    assert "pod calico-system/whisker-b" in text
    assert "answered 502 Bad Gateway: <html>" in text
    assert "\n    fix: " in text
    assert forward.closed


def test_no_running_pod_is_an_error_before_any_port_forward(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forward = FakePortForward(8081, PLAIN)
    api, _, calls = forward_through(monkeypatch, forward, pod("whisker-c", "Pending"))
    with pytest.raises(ClusterError) as err:
        get_flows(api)
    assert "no Running pod labelled k8s-app=whisker in calico-system" in str(err.value)
    assert "whisker-c (Pending)" in str(err.value)
    assert "\n    fix: `kubectl get pods -n calico-system -l k8s-app=whisker`" in str(err.value)
    assert calls == []


def test_a_refused_connection_in_the_pod_says_what_the_kubelet_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said = "an error occurred forwarding 8081 -> 8081: connection refused"
    forward = FakePortForward(8081, b"", error=said)
    api, _, _ = forward_through(monkeypatch, forward, pod("whisker-b", "Running"))
    with pytest.raises(ClusterError, match="connection refused"):
        get_flows(api)


def test_no_answer_in_time_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    forward = FakePortForward(8081, b"")
    api, _, _ = forward_through(monkeypatch, forward, pod("whisker-b", "Running"))
    with pytest.raises(ClusterError, match=r"no answer within 0.2 s"):
        get_flows(api, timeout=0.2)
    assert forward.closed


def test_a_refused_handshake_names_the_permission(monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes.client.exceptions import ApiException

    # what the client's portforward_call raises when the websocket handshake is refused
    refused = ApiException(status=0, reason="Handshake status 403 Forbidden -+-+- {}")
    api, _, _ = forward_through(monkeypatch, refused, pod("whisker-b", "Running"))
    with pytest.raises(ClusterError) as err:
        get_flows(api)
    assert "Handshake status 403 Forbidden" in str(err.value)
    assert "`kubectl auth can-i create pods/portforward -n calico-system`" in str(err.value)


def test_a_path_must_be_a_plain_request_path() -> None:
    api = fake_api(FakePool())
    with pytest.raises(ValueError):
        api.http_get_via_port_forward("ns", "a=b", 80, "/x HTTP/1.0\r\nHost: evil")
    with pytest.raises(ValueError):
        api.http_get_via_port_forward("ns", "a=b", 0, "/x")
