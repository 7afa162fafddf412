"""The kind + Calico lab on a real Docker engine (marked ``live``; skipped without
LABKIT_LIVE=1, Docker, kind and kubectl; see tests/conftest.py).

The cluster is started BEFORE pytest runs (``make live`` and the live workflow run
``labkit up --backend kind`` first): a cold ``up`` takes minutes, longer than
pytest-timeout's 300 s, which counts fixture setup. The fixture here only attaches to the
cluster that exists, with the options of ``LABKIT_LIVE_NODES`` (default 3) and
``LABKIT_LIVE_CALICO`` (default operator), and fails at once with the command to run when
there is none.

The tests run in order on that cluster: readiness, the enforcement canary, the 9 x 9 probe
matrix against the engine's prediction with and without policies, pools, images by digest,
a fast second ``up``, the existing-cluster backend on the same context, and finally
``down``.
"""

from __future__ import annotations

import os
import time

import pytest

from labkit.cluster.address_plan import check_pod_addresses, load_address_plan
from labkit.cluster.deploy import canary_cache, ensure_enforced
from labkit.cluster.flows import cluster_flows
from labkit.cluster.kind.cluster import KindCluster, KindOptions, kind_clusters
from labkit.cluster.kind.pins import load_pins, with_recorded_digests
from labkit.cluster.progress import LogProgress
from labkit.errors import ClusterNotReady
from labkit.probe.jobs import Outcome, ProbeSpec

pytestmark = pytest.mark.live

PROBES = (ProbeSpec(80), ProbeSpec.parse("81/UDP"))
POLICIES = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: my-segment}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: frontend-to-backend, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: backend}}
  ingress:
    - from: [{podSelector: {matchLabels: {role: frontend}}}]
      ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: branch-to-database, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: database}}
  ingress:
    - from: [{ipBlock: {cidr: 192.168.1.0/24}}]
      ports: [{protocol: UDP, port: 81}]
"""


def live_options() -> KindOptions:
    """The options the cluster was started with (``labkit up --nodes N --calico MODE``)."""
    return KindOptions(
        nodes=int(os.environ.get("LABKIT_LIVE_NODES", "3")),
        calico_mode=os.environ.get("LABKIT_LIVE_CALICO", "manifest"),
    )


@pytest.fixture(scope="module")
def options() -> KindOptions:
    return live_options()


@pytest.fixture(scope="module")
def cluster(options: KindOptions) -> KindCluster:
    """Attach only: never creates the cluster inside the timed part of the run."""
    try:
        return KindCluster.attach(options)
    except ClusterNotReady as exc:
        pytest.fail(
            f"{exc}\nthe live tests need the lab cluster started first: "
            f"`labkit up --backend kind --nodes {options.nodes} --calico "
            f"{options.calico_mode}` (`make live` runs it)",
            pytrace=False,
        )


def lab_peers() -> list[str]:
    from labkit.cluster.topology import LAB_PODS

    return list(LAB_PODS)


def test_up_gives_a_ready_cluster_that_enforces_policy(cluster: KindCluster) -> None:
    status = cluster.status()
    assert status.ready, "\n".join(status.lines())
    assert len(status.nodes) == cluster.options.nodes
    assert status.canary.startswith("enforced")


def test_canary_proves_enforcement_when_run_again(cluster: KindCluster) -> None:
    result = ensure_enforced(
        cluster,
        load_pins().agnhost_image,
        LogProgress(),
        canary_cache(cluster.name, cluster.options.name),
        rerun=True,
    )
    assert result.enforced
    assert result.block_s < 20


def test_lab_pods_sit_in_their_pools(cluster: KindCluster) -> None:
    plan = load_address_plan()
    namespaces = {p.split("/")[0] for p in lab_peers()}
    assert check_pod_addresses(plan, cluster.inventory(), namespaces) == []
    assert sorted(cluster.peers()) == sorted(lab_peers())


def compare(cluster: KindCluster) -> None:
    peers = lab_peers()
    observed = cluster.probe_matrix(PROBES, peers=peers)
    predicted = cluster.predicted_matrix(PROBES, peers=peers)
    for seen, want in zip(observed, predicted, strict=True):
        assert len(seen.peers) == 9
        failed = [
            (s, d, seen.details[i][j])
            for i, s in enumerate(seen.peers)
            for j, d in enumerate(seen.peers)
            if seen.cells[i][j] is Outcome.FAILED
        ]
        assert failed == [], f"probe {seen.probe}: probes failed: {failed}"
        assert seen.disagreements(want) == [], seen.to_text()


def test_nine_by_nine_matrix_matches_the_prediction_without_policies(cluster: KindCluster) -> None:
    for policy in cluster.policies():
        if policy.namespace in {p.split("/")[0] for p in lab_peers()}:
            cluster.delete("NetworkPolicy", policy.name, policy.namespace)
    compare(cluster)


def test_nine_by_nine_matrix_matches_the_prediction_with_policies(cluster: KindCluster) -> None:
    cluster.apply(POLICIES)
    try:
        compare(cluster)
        table = cluster.probe_matrix((ProbeSpec(80),), peers=lab_peers())[0]
        assert table.outcome("my-segment/frontend", "my-segment/backend") is Outcome.ALLOWED
        assert table.outcome("trusted/client", "my-segment/backend") is Outcome.BLOCKED
    finally:
        for name in ("default-deny-ingress", "frontend-to-backend", "branch-to-database"):
            cluster.delete("NetworkPolicy", name, "my-segment")


def test_calico_flow_logs_show_the_lab_probes_in_operator_mode(cluster: KindCluster) -> None:
    """Lesson 10 on kind: Goldmane's flows, read through Whisker (service proxy, or the
    port-forward fallback), include the lab's own probes with the verdict Calico gave."""
    if cluster.options.calico_mode != "operator":
        pytest.skip("Goldmane and Whisker come with the operator install (--calico operator)")
    cluster.apply(POLICIES)
    try:
        cluster.probe_matrix((ProbeSpec(80),), peers=["trusted/client", "my-segment/backend"])
        deadline = time.monotonic() + 120  # Goldmane aggregates and flushes every ~15 s
        seen: list[str] = []
        while time.monotonic() < deadline:
            records = cluster_flows(cluster)
            seen = [f"{r.source} -> {r.destination} {r.verdict}" for r in records]
            if any(
                r.source.startswith("trusted/") and r.destination.startswith("my-segment/")
                for r in records
            ):
                break
            time.sleep(10)
        assert any("trusted/" in line and "my-segment/" in line for line in seen), seen[-20:]
    finally:
        for name in ("default-deny-ingress", "frontend-to-backend", "branch-to-database"):
            cluster.delete("NetworkPolicy", name, "my-segment")


def running_images(cluster: KindCluster, namespaces: set[str]) -> set[str]:
    found = set()
    for pod in cluster.kubectl.items(["get", "pods", "--all-namespaces"]):
        meta, spec = pod["metadata"], pod["spec"]
        if meta["namespace"] in namespaces or meta["name"].startswith("calico-"):
            for c in spec.get("initContainers", []) + spec["containers"]:
                found.add(c["image"])
    return found


def test_every_calico_and_lab_image_runs_by_its_pinned_digest(cluster: KindCluster) -> None:
    pins = load_pins()
    release = pins.calico_release(cluster.options.calico_version or None)
    # pinned in versions.yaml, or resolved on first use (`--resolve-digests`) and recorded
    release = with_recorded_digests(release)[0]
    pinned = {p.digest for p in release.require_digests(cluster.options.calico_mode)}
    calico = running_images(cluster, {"calico-system", "calico-apiserver", "tigera-operator"})
    assert calico, "no Calico pods found"
    by_tag = sorted(i for i in calico if "@sha256:" not in i)
    assert by_tag == [], f"Calico images running by tag: {by_tag}"
    assert {i.split("@", 1)[1] for i in calico} - pinned == set()
    lab = running_images(cluster, {p.split("/")[0] for p in lab_peers()} | {"labkit-canary"})
    agnhost = {i for i in lab if "agnhost" in i}
    assert agnhost <= {pins.agnhost_image}, agnhost
    if cluster.options.calico_mode == "operator":
        installation = cluster.kubectl.get_json(["get", "installation", "default"])
        assert installation["status"].get("imageSet") == f"calico-{release.version}"


def test_second_up_reuses_the_ready_cluster_in_seconds(
    options: KindOptions, cluster: KindCluster
) -> None:
    started = time.monotonic()
    again = KindCluster.up(options, LogProgress())
    took = time.monotonic() - started
    print(f"second labkit up took {took:.1f} s")
    assert took < 30
    assert again.status().ready


def test_existing_backend_on_the_kind_context_then_cleanup(cluster: KindCluster) -> None:
    from labkit.cluster.existing import ExistingCluster

    existing = ExistingCluster.up(
        cluster.options.context, LogProgress(), kubeconfig=cluster.options.kubeconfig
    )
    assert existing.uses_pools
    assert existing.status().ready
    existing.cleanup()
    cluster.kubectl.run(
        ["wait", "--for=delete", "namespace/my-segment", "--timeout=120s"], timeout=150, check=False
    )
    namespaces = {n["metadata"]["name"] for n in cluster.kubectl.items(["get", "namespaces"])}
    assert "my-segment" not in namespaces
    assert "kube-system" in namespaces and "calico-system" in namespaces


def test_down_removes_the_cluster_and_its_kubeconfig(
    options: KindOptions, cluster: KindCluster
) -> None:
    cluster.down()
    assert options.name not in kind_clusters()
    assert not options.kubeconfig.exists()
