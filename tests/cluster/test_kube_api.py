"""The official client's paths (labkit.cluster.kube_api) against recorded API server
responses (tests/fixtures/api/), served through the client's own urllib3 pool: which URLs
and selectors labkit asks for, how lists, watches and errors are read, how the client is
configured (kubeconfig or in-cluster), and how exec's exit status is read."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from api_fakes import HOST, FakePool, fake_api, fixture

from labkit.cluster import kube_api
from labkit.cluster.kind import readiness
from labkit.cluster.kube import KubeCluster
from labkit.cluster.kubectl import Kubectl
from labkit.cluster.live_inventory import snapshot_from_items
from labkit.cluster.reads import INVENTORY, KubectlReads, default_reads
from labkit.errors import ClusterError

CANARY_PODS = "/api/v1/namespaces/labkit-canary/pods"


@pytest.fixture
def pool() -> FakePool:
    return FakePool()


def test_a_namespaced_label_selected_list_asks_for_exactly_that(pool: FakePool) -> None:
    pool.add(CANARY_PODS, fixture("canary-pods.json"))
    listing = fake_api(pool).list(
        "pods", namespace="labkit-canary", label_selector="labkit.dev/managed=true"
    )
    [request] = pool.requests
    assert (request.method, request.path) == ("GET", CANARY_PODS)
    assert request.query == {"labelSelector": "labkit.dev/managed=true"}
    assert listing.resource_version == "48213"
    assert [(o["kind"], o["apiVersion"], o["metadata"]["name"]) for o in listing.items] == [
        ("Pod", "v1", "client"),
        ("Pod", "v1", "control"),
        ("Pod", "v1", "server"),
    ]


@pytest.mark.parametrize(
    ("plural", "namespace", "path"),
    [
        ("pods", None, "/api/v1/pods"),
        ("namespaces", None, "/api/v1/namespaces"),
        ("nodes", None, "/api/v1/nodes"),
        ("services", "shop", "/api/v1/namespaces/shop/services"),
        ("networkpolicies", None, "/apis/networking.k8s.io/v1/networkpolicies"),
        ("networkpolicies", "shop", "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies"),
        ("daemonsets", "kube-system", "/apis/apps/v1/namespaces/kube-system/daemonsets"),
        ("deployments", "kube-system", "/apis/apps/v1/namespaces/kube-system/deployments"),
        ("tigerastatuses", None, "/apis/operator.tigera.io/v1/tigerastatuses"),
        ("ippools", None, "/apis/crd.projectcalico.org/v1/ippools"),
    ],
)
def test_each_resource_is_read_from_its_api_path(
    pool: FakePool, plural: str, namespace: str | None, path: str
) -> None:
    pool.add(path, b'{"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []}')
    assert fake_api(pool).list(plural, namespace=namespace).items == []
    assert [r.path for r in pool.requests] == [path]


def inventory_routes(pool: FakePool) -> None:
    pool.add("/api/v1/namespaces", fixture("namespaces.json"))
    pool.add("/api/v1/pods", fixture("pods.json"))
    pool.add("/api/v1/services", fixture("services.json"))
    pool.add("/apis/networking.k8s.io/v1/networkpolicies", fixture("networkpolicies.json"))


def test_the_inventory_from_the_client_follows_the_live_rules(pool: FakePool) -> None:
    inventory_routes(pool)
    snap = snapshot_from_items(fake_api(pool).list_all(INVENTORY), "labkit.dev/managed")
    inv = snap.inventory
    # hostNetwork pods (kube-proxy) stay, marked as the node's traffic; finished pods (the
    # Job's) are set aside: they own no address and are no peer
    assert [p.key for p in inv.pods] == [
        "kube-system/coredns-7db6d8ff4d-2xk9p",
        "kube-system/kube-proxy-8hz2q",
        "shop/web",
    ]
    assert [p.key for p in inv.pods if p.host_network] == ["kube-system/kube-proxy-8hz2q"]
    assert inv.finished and all(p.ip is None for p in inv.finished)
    assert str(inv.pod_map["shop/web"].ip) == "10.244.1.5"
    assert inv.pod_map["kube-system/coredns-7db6d8ff4d-2xk9p"].workload == "Deployment/coredns"
    assert [(p.namespace, p.name) for p in inv.policies] == [("shop", "default-deny")]
    assert [s.name for s in inv.services] == ["web"]
    assert snap.managed == {"shop/web"}


def test_the_client_and_kubectl_read_the_same_inventory(pool: FakePool, fake_tools: Any) -> None:
    """The kubectl path gets the same objects as one List (with kind on every item)."""
    inventory_routes(pool)
    through_client = snapshot_from_items(fake_api(pool).list_all(INVENTORY), "labkit.dev/managed")
    items = fake_api(pool).list_all(INVENTORY)
    fake_tools.add("kubectl", stdout={"apiVersion": "v1", "kind": "List", "items": items})
    kubectl = Kubectl(None, "kind-labkit")
    through_kubectl = snapshot_from_items(
        KubectlReads(kubectl).list_all(INVENTORY), "labkit.dev/managed"
    )
    assert through_client == through_kubectl
    [call] = fake_tools.calls("kubectl")
    assert call.argv == [
        "--context",
        "kind-labkit",
        "get",
        "namespaces,pods,services,networkpolicies.networking.k8s.io",
        "--all-namespaces",
        "-o",
        "json",
    ]


def test_an_api_refusal_says_what_the_server_said(pool: FakePool) -> None:
    pool.add("/api/v1/pods", fixture("status-forbidden.json"), status=403)
    with pytest.raises(ClusterError) as err:
        fake_api(pool).list("pods")
    text = str(err.value)
    assert text.startswith("list pods: the API server answered 403: pods is forbidden")
    assert "labkit status" in text


def test_an_unknown_path_is_an_error_not_an_empty_list(pool: FakePool) -> None:
    with pytest.raises(ClusterError, match="answered 404"):
        fake_api(pool).list("tigerastatuses")


def test_a_watch_starts_at_the_lists_version_and_returns_on_the_first_event(
    pool: FakePool,
) -> None:
    pool.add(CANARY_PODS, fixture("watch-canary-pods.jsonl"), query={"watch": "true"})
    changed = fake_api(pool).watch(
        "pods",
        namespace="labkit-canary",
        label_selector="app=canary-server",
        resource_version="48213",
        timeout_s=30,
    )
    assert changed is True
    assert pool.requests[-1].query == {
        "watch": "true",
        "resourceVersion": "48213",
        "timeoutSeconds": "30",
        "labelSelector": "app=canary-server",
    }


def test_a_watch_that_ends_without_events_reports_no_change(pool: FakePool) -> None:
    pool.add("/api/v1/nodes", b"", query={"watch": "true"})
    assert fake_api(pool).watch("nodes", resource_version="48220", timeout_s=5) is False


def test_an_expired_version_counts_as_a_change_so_the_wait_lists_again(pool: FakePool) -> None:
    pool.add("/api/v1/nodes", fixture("watch-expired.jsonl"), query={"watch": "true"})
    assert fake_api(pool).watch("nodes", resource_version="48213", timeout_s=5) is True


def test_a_wait_watches_between_lists_instead_of_sleeping(pool: FakePool) -> None:
    """Pods not Ready in the first list; the watch from its version sees the change; the
    second list says Ready. No sleep is involved."""
    ready = fixture("canary-pods.json").replace(b'"phase": "Pending"', b'"phase": "Running"')
    ready = ready.replace(
        b'"status": "False", "lastProbeTime": null, "lastTransitionTime": '
        b'"2026-12-01T20:11:02Z", "reason": "ContainersNotReady"',
        b'"status": "True", "lastProbeTime": null, "lastTransitionTime": '
        b'"2026-12-01T20:11:02Z", "reason": "ContainersNotReady"',
    )
    pool.add(CANARY_PODS, fixture("watch-canary-pods.jsonl"), query={"watch": "true"})
    pool.add(CANARY_PODS, fixture("canary-pods.json"), once=True)
    pool.add(CANARY_PODS, ready)
    wait = readiness.pods_wait(fake_api(pool), ["labkit-canary"], 3)
    messages: list[str] = []

    class Progress:
        def step(self, name: str, total: int | None = None) -> None: ...

        def advance(self, message: str = "") -> None:
            messages.append(message)

        def finish(self, message: str = "") -> None: ...

    def no_sleep(seconds: float) -> None:
        raise AssertionError("a watching wait must not sleep")

    readiness.wait_for(
        "canary pods",
        wait.check,
        timeout=60,
        pause=wait.pause,
        sleep=no_sleep,
        progress=Progress(),
    )
    assert messages == [
        "canary pods: pod labkit-canary/server: container server: ContainerCreating"
    ]
    lists = [r for r in pool.requests if "watch" not in r.query]
    watches = [r for r in pool.requests if "watch" in r.query]
    assert len(lists) == 2 and len(watches) == 1
    assert watches[0].query["resourceVersion"] == "48213"


def test_each_thread_gets_its_own_api_client() -> None:
    """``stream()`` swaps the ApiClient's call_api while it runs: never share one."""
    from kubernetes import client

    api = kube_api.KubeApi(None, None, configure=lambda: client.Configuration(host=HOST))
    mine = api.api_client()
    theirs: list[Any] = []
    thread = threading.Thread(target=lambda: theirs.append(api.api_client()))
    thread.start()
    thread.join()
    assert api.api_client() is mine
    assert theirs[0] is not mine
    assert theirs[0].configuration is mine.configuration


@pytest.mark.parametrize(
    ("kubeconfig", "context", "env", "in_cluster"),
    [
        (None, None, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, True),
        (None, "kind-labkit", {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, False),
        (Path("/lab/kubeconfig"), None, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, False),
        (None, None, {}, False),
        (None, "", {"KUBERNETES_SERVICE_HOST": ""}, False),
    ],
)
def test_in_cluster_configuration_only_in_a_pod_without_kubeconfig_or_context(
    kubeconfig: Path | None, context: str | None, env: dict[str, str], in_cluster: bool
) -> None:
    assert kube_api.uses_in_cluster_config(kubeconfig, context, env) is in_cluster


def test_in_a_pod_the_service_account_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubernetes.config import incluster_config

    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("eyJhbGciOi.sa-token")
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    cfg = kube_api.load_configuration(None, None)
    assert cfg.host == "https://10.96.0.1:443"
    assert cfg.api_key["BearerToken"] == "bearer eyJhbGciOi.sa-token"
    assert cfg.ssl_ca_cert == str(ca)


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: kind-labkit
  cluster: {server: "https://127.0.0.1:40111", insecure-skip-tls-verify: true}
- name: prod
  cluster: {server: "https://prod.example:6443", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: abc}
contexts:
- name: kind-labkit
  context: {cluster: kind-labkit, user: u}
- name: prod
  context: {cluster: prod, user: u}
current-context: prod
"""


def test_the_given_kubeconfig_and_context_are_used_and_the_file_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")  # ignored: a context is given
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    cfg = kube_api.load_configuration(path, "kind-labkit")
    assert cfg.host == "https://127.0.0.1:40111"
    assert path.read_text() == KUBECONFIG


def test_a_missing_context_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    with pytest.raises(
        ClusterError, match="cannot configure the Kubernetes client from kubeconfig"
    ):
        kube_api.load_configuration(path, "nope")


@pytest.mark.parametrize(
    ("channel", "code", "message"),
    [
        ("", 0, ""),
        ('{"metadata":{},"status":"Success"}', 0, ""),
        (
            '{"metadata":{},"status":"Failure","message":"command terminated with non-zero '
            "exit code: error executing command [/agnhost connect 10.244.2.4:8080], exit code "
            '1","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode",'
            '"message":"1"}]}}',
            1,
            "",
        ),
        (
            '{"metadata":{},"status":"Failure","message":"exec: \\"/agnhost\\": stat /agnhost:'
            ' no such file or directory: unknown","reason":"InternalError"}',
            126,
            'exec: "/agnhost": stat /agnhost: no such file or directory: unknown',
        ),
        ("not yaml: [", 126, "not yaml: ["),
    ],
)
def test_exec_exit_status_comes_from_the_error_channel(
    channel: str, code: int, message: str
) -> None:
    assert kube_api.exit_status(channel) == (code, message)


class Kube(KubeCluster):
    def status(self) -> Any:
        raise AssertionError("not used")


class Recorder:
    watches = True

    def __init__(self) -> None:
        self.execs: list[tuple[str, str, list[str]]] = []

    def exec(self, namespace: str, pod: str, argv: list[str], *, timeout: float) -> Any:
        self.execs.append((namespace, pod, list(argv)))
        return "ran through the client"


def test_probes_exec_through_kubectl_where_it_exists_else_through_the_client(
    fake_tools: Any,
) -> None:
    api = Recorder()
    kubectl = Kubectl(None, "ctx")
    cluster = Kube(kubectl, reads=api)  # type: ignore[arg-type]
    assert cluster.exec_fn()("shop", "web", ["/agnhost", "pause"], 5) == "ran through the client"
    assert api.execs == [("shop", "web", ["/agnhost", "pause"])]
    fake_tools.add("kubectl", match=["exec"], stdout="hi")
    assert cluster.exec_fn()("shop", "web", ["echo", "hi"], 5).stdout == "hi"
    [call] = fake_tools.calls("kubectl")
    assert call.argv == ["--context", "ctx", "exec", "-n", "shop", "web", "--", "echo", "hi"]
    assert len(api.execs) == 1


def test_reads_default_to_the_client_when_it_is_installed() -> None:
    reads = default_reads(Kubectl(Path("/lab/kubeconfig"), "kind-labkit"))
    assert isinstance(reads, kube_api.KubeApi)
    assert (reads.kubeconfig, reads.context) == (Path("/lab/kubeconfig"), "kind-labkit")


class FakeExecStream:
    """What ``stream.stream(..., _preload_content=False)`` returns (a WSClient), scripted."""

    def __init__(self, stdout: str, stderr: str, error: str, finishes: bool = True) -> None:
        self.out, self.err, self.error, self.finishes = stdout, stderr, error, finishes
        self.closed = False
        self.ran_for: float | None = None

    def run_forever(self, timeout: float | None = None) -> None:
        self.ran_for = timeout

    def is_open(self) -> bool:
        return not self.finishes and not self.closed

    def close(self) -> None:
        self.closed = True

    def read_stdout(self) -> str:
        return self.out

    def read_stderr(self) -> str:
        return self.err

    def read_channel(self, channel: int) -> str:
        assert channel == kube_api.ERROR_CHANNEL
        return self.error


def exec_through(
    monkeypatch: pytest.MonkeyPatch, answer: FakeExecStream
) -> tuple[kube_api.KubeApi, list[tuple[Any, tuple[Any, ...], dict[str, Any]]]]:
    from kubernetes import stream

    calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []

    def fake_stream(method: Any, *args: Any, **kwargs: Any) -> FakeExecStream:
        calls.append((method, args, kwargs))
        return answer

    monkeypatch.setattr(stream, "stream", fake_stream)
    return fake_api(FakePool()), calls


def test_exec_goes_through_the_exec_stream_with_a_preloaded_false_response(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failure = (
        '{"status":"Failure","reason":"NonZeroExitCode",'
        '"details":{"causes":[{"reason":"ExitCode","message":"1"}]}}'
    )
    answer = FakeExecStream("@@labkit 0 1 TIMEOUT\n", "", failure)
    api, calls = exec_through(monkeypatch, answer)
    done = api.exec("labkit-canary", "client", ["/bin/sh", "-c", "p 0"], timeout=12)
    [(method, args, kwargs)] = calls
    assert method.__name__ == "connect_get_namespaced_pod_exec"
    assert args == ("client", "labkit-canary")
    assert kwargs == {
        "command": ["/bin/sh", "-c", "p 0"],
        "stderr": True,
        "stdin": False,
        "stdout": True,
        "tty": False,
        "_preload_content": False,
    }
    assert answer.ran_for == 12
    assert (done.returncode, done.stdout) == (1, "@@labkit 0 1 TIMEOUT\n")


def test_an_exec_that_does_not_finish_in_time_is_a_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from labkit.errors import CommandFailed

    answer = FakeExecStream("", "", "", finishes=False)
    api, _ = exec_through(monkeypatch, answer)
    with pytest.raises(CommandFailed) as err:
        api.exec("shop", "web", ["sleep", "99"], timeout=1)
    assert err.value.timed_out and answer.closed


def test_without_the_client_reads_go_through_kubectl(monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.cluster import reads

    monkeypatch.setattr(reads.importlib.util, "find_spec", lambda name: None)
    kubectl = Kubectl(None, "kind-labkit")
    chosen = default_reads(kubectl)
    assert isinstance(chosen, KubectlReads) and chosen.kubectl is kubectl
    assert chosen.watches is False
