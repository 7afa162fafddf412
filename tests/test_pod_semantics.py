"""Pods as a real cluster has them (issue 7): one parametrised row per behaviour, each naming
the upstream source it follows (Kubernetes or Calico, the lab's CNI).

Verdict rows are written ``"SRC -> DST PORT[/PROTO] allow|deny|none"`` and checked on both
evaluation paths: the per-pair :class:`Engine` and the class-based :func:`compute_matrix`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.cli.main import main
from labkit.engine.evaluator import Engine
from labkit.engine.explain import explain_by_name
from labkit.engine.matrix import compute_matrix
from labkit.engine.pod_lookup import PodLookup
from labkit.engine.services import resolve_service_target, service_destination
from labkit.errors import EvaluationError, UnknownPeer
from labkit.model.inventory import Inventory, build_inventory
from labkit.model.loader import load_text
from labkit.model.policy import Direction
from labkit.model.ports import Protocol
from labkit.model.validation import validate_objects

# prod/agent uses the host network on node address 172.18.0.2; prod/old finished and its
# address 10.0.1.40 now belongs to prod/new; ops/dual is dual-stack; prod/side names `http`
# on two containers, `metrics` on a sidecar and `setup` on a plain init container.
WORLD = """
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {env: prod}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: prod, labels: {app: web}}
spec: {containers: [{name: web, image: agnhost, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 10.0.1.10}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: prod, labels: {app: db}}
spec: {containers: [{name: db, image: agnhost}]}
status: {podIP: 10.0.1.20}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: prod, labels: {app: client}}
spec: {containers: [{name: c, image: agnhost}]}
status: {podIP: 10.0.1.30}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: dev, labels: {app: client}}
spec: {containers: [{name: c, image: agnhost}]}
status: {podIP: 10.0.2.10}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: prod, labels: {app: agent}}
spec:
  hostNetwork: true
  containers: [{name: a, image: agnhost, ports: [{name: http, containerPort: 80}]}]
status: {phase: Running, hostIP: 172.18.0.2, podIP: 172.18.0.2, podIPs: [{ip: 172.18.0.2}]}
---
apiVersion: v1
kind: Pod
metadata: {name: old, namespace: prod, labels: {app: db}}
spec: {containers: [{name: o, image: agnhost}]}
status: {phase: Succeeded, podIP: 10.0.1.40}
---
apiVersion: v1
kind: Pod
metadata: {name: new, namespace: prod, labels: {app: new}}
spec: {containers: [{name: n, image: agnhost}]}
status: {phase: Running, podIP: 10.0.1.40}
---
apiVersion: v1
kind: Pod
metadata: {name: dual, namespace: ops, labels: {app: dual}}
spec: {containers: [{name: d, image: agnhost}]}
status: {podIP: 10.0.3.10, podIPs: [{ip: 10.0.3.10}, {ip: "fd00::3:10"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: side, namespace: prod, labels: {app: side}}
spec:
  initContainers:
  - {name: setup, image: agnhost, ports: [{name: setup, containerPort: 7000}]}
  - name: proxy
    image: agnhost
    restartPolicy: Always
    ports: [{name: metrics, containerPort: 9090}]
  containers:
  - {name: app, image: agnhost, ports: [{name: http, containerPort: 8080}]}
  - {name: admin, image: agnhost, ports: [{name: http, containerPort: 8081}]}
status: {podIP: 10.0.1.50}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec:
  clusterIP: 10.96.0.10
  selector: {app: web}
  ports: [{port: 8080, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: prod}
spec:
  clusterIPs: [10.96.0.20]
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: side, namespace: prod}
spec:
  selector: {app: side}
  ports: [{name: a, port: 1, targetPort: http}, {name: b, port: 2, targetPort: metrics}]
"""


def netpol(name: str, spec: str, namespace: str = "prod") -> str:
    body = "\n".join("  " + line for line in spec.strip("\n").splitlines())
    return (
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}\n"
    )


def world(*docs: str) -> Inventory:
    return build_inventory(load_text(WORLD + "".join(docs), "world.yaml"))


def verdicts(inv: Inventory, checks: list[str]) -> None:
    """Each check on the pair-by-pair engine and on the matrix."""
    engine = Engine(inv)
    externals = sorted(
        {part[3:] for c in checks for part in c.split()[::2][:2] if part.startswith("ip:")}
    )
    endpoints = engine.endpoints(externals)
    matrix = compute_matrix(engine, endpoints)
    for check in checks:
        src, _, dst, probe, expected = check.split()
        number, _, proto = probe.partition("/")
        protocol = Protocol(proto or "TCP")
        want = {"allow": True, "deny": False, "none": None}[expected]
        got = engine.allowed_by_name(src, dst, int(number), protocol)
        assert got is want, f"engine: {check}"
        cell = matrix.get(engine.endpoint(src).key, engine.endpoint(dst).key)
        in_matrix = None if cell is None else cell.contains(int(number), protocol)
        assert in_matrix is want, f"matrix: {check}"


DENY_ALL_PROD = netpol("deny-all", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
WEB_FROM_PROD_PODS = netpol(
    "web-from-prod", "podSelector: {matchLabels: {app: web}}\ningress:\n- from: [podSelector: {}]"
)
WEB_FROM_ALL_NAMESPACES = netpol(
    "web-from-all",
    "podSelector: {matchLabels: {app: web}}\ningress:\n- from: [namespaceSelector: {}]",
)
WEB_FROM_NODES = netpol(
    "web-from-nodes",
    "podSelector: {matchLabels: {app: web}}\ningress:\n- from: [ipBlock: {cidr: 172.18.0.0/16}]",
)


@pytest.mark.parametrize(
    ("policies", "checks"),
    [
        pytest.param(
            [DENY_ALL_PROD],
            [
                "dev/client -> prod/agent 80 allow",
                "prod/agent -> dev/client 80 allow",
                "dev/client -> prod/web 80 deny",
                "prod/agent -> ip:203.0.113.5 80 none",
            ],
            id="hostnetwork-not-selected-by-spec-podSelector",
        ),
        pytest.param(
            [WEB_FROM_PROD_PODS],
            ["prod/db -> prod/web 80 allow", "prod/agent -> prod/web 80 deny"],
            id="hostnetwork-not-matched-by-podSelector-peer",
        ),
        pytest.param(
            [WEB_FROM_ALL_NAMESPACES],
            ["dev/client -> prod/web 80 allow", "prod/agent -> prod/web 80 deny"],
            id="hostnetwork-not-matched-by-namespaceSelector-peer",
        ),
        pytest.param(
            [WEB_FROM_NODES],
            ["prod/agent -> prod/web 80 allow", "prod/db -> prod/web 80 deny"],
            id="hostnetwork-traffic-is-the-nodes-ipBlock-matches",
        ),
        pytest.param(
            [
                netpol(
                    "db-from-40",
                    "podSelector: {matchLabels: {app: web}}\n"
                    "ingress:\n- from: [ipBlock: {cidr: 10.0.1.40/32}]",
                )
            ],
            ["prod/new -> prod/web 80 allow", "10.0.1.40 -> prod/web 80 allow"],
            id="finished-pod-address-belongs-to-the-running-pod",
        ),
        pytest.param(
            [
                netpol(
                    "dual",
                    "podSelector: {matchLabels: {app: web}}\n"
                    "ingress:\n- from: [ipBlock: {cidr: 'fd00::/64'}]",
                )
            ],
            ["ops/dual -> prod/web 80 allow", "fd00::3:10 -> prod/web 80 allow"],
            id="dual-stack-pod-owns-every-podIP",
        ),
        pytest.param(
            [
                netpol(
                    "side",
                    "podSelector: {matchLabels: {app: side}}\n"
                    "ingress:\n- ports: [{port: http}, {port: metrics}, {port: setup}]",
                )
            ],
            [
                "dev/client -> prod/side 8080 allow",
                "dev/client -> prod/side 8081 allow",
                "dev/client -> prod/side 9090 allow",
                "dev/client -> prod/side 7000 allow",
                "dev/client -> prod/side 8082 deny",
            ],
            id="named-port-on-two-containers-and-init-containers-calico",
        ),
        pytest.param(
            [
                netpol(
                    "egress-http",
                    "podSelector: {matchLabels: {app: client}}\n"
                    "policyTypes: [Egress]\negress:\n- ports: [{port: http}]",
                    namespace="dev",
                )
            ],
            [
                "dev/client -> prod/agent 80 deny",
                "dev/client -> prod/web 80 allow",
            ],
            id="hostnetwork-pod-has-no-named-ports",
        ),
    ],
)
def test_pod_semantics(policies: list[str], checks: list[str]) -> None:
    verdicts(world(*policies), checks)


def test_finished_pod_is_no_peer_no_address_no_backend() -> None:
    """Calico ``conversion.IsFinished``: a finished pod no longer owns its IP(s); the
    EndpointSlice controller keeps no terminal pod (``ShouldPodBeInEndpoints``)."""
    inv = world()
    assert "prod/old" not in inv.pod_map and [p.key for p in inv.finished] == ["prod/old"]
    engine = Engine(inv)
    assert engine.endpoint("10.0.1.40").key == "prod/new"
    with pytest.raises(UnknownPeer, match=r"has finished \(phase Succeeded\)"):
        engine.endpoint("prod/old")
    backends = resolve_service_target(inv, "prod/db", 5432, Protocol.TCP)
    assert [pod.key for pod, _ in backends] == ["prod/db"]
    lookup = PodLookup(inv.pods, engine.namespace_labels)
    peer = world(WEB_FROM_PROD_PODS).policies[0].ingress[0].peers[0]
    assert "prod/old" not in {p.key for p in lookup.matching(peer, "prod")}


def test_hostnetwork_pods_get_no_pod_network_address() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: h, namespace: x}\n"
        "spec: {hostNetwork: true, containers: [{name: c, image: i}]}\n---\n"
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ds, namespace: x}\n"
        "spec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n"
        "    spec: {hostNetwork: true, containers: [{name: c, image: i}]}\n"
    )
    inv = build_inventory(load_text(text))
    assert {p.key: (p.ip, p.host_network) for p in inv.pods} == {
        "x/h": (None, True),
        "x/ds-0": (None, True),
    }


def test_explain_says_a_hostnetwork_pod_is_the_nodes_traffic() -> None:
    engine = Engine(world(WEB_FROM_PROD_PODS))
    expl = explain_by_name(engine, "prod/agent", "prod/web", 80)
    assert expl.allowed is False
    text = str(expl)
    assert "prod/agent uses the host network: no NetworkPolicy selects it" in text
    assert "its traffic is the node's (172.18.0.2)" in text
    peer = expl.ingress.rules[0].peers[0]
    assert "podSelector and namespaceSelector never match it" in peer.reasons[0]
    assert "has no egress side" in expl.egress.summary
    assert expl.egress.host_network and not expl.ingress.host_network
    assert "Egress of prod/agent: no such side (host network: the node's traffic)" in text
    assert "only an ipBlock holding the node's address can" in peer.reasons[0]


def test_ambiguous_bare_pod_name_lists_the_candidates() -> None:
    engine = Engine(world())
    with pytest.raises(UnknownPeer, match="ambiguous") as info:
        engine.endpoint("client")
    assert "dev/client" in str(info.value) and "prod/client" in str(info.value)
    assert engine.endpoint("agent").key == "prod/agent"


# -- Services: the ClusterIP is rewritten before policy --------------------------------------
EGRESS_TO_SERVICE_RANGE = netpol(
    "to-service-range",
    "podSelector: {matchLabels: {app: client}}\npolicyTypes: [Egress]\n"
    "egress:\n- to: [ipBlock: {cidr: 10.96.0.0/12}]",
    namespace="dev",
)


def test_service_address_is_judged_on_backends() -> None:
    """Conformance rule 13: kube-proxy DNATs before policy, so an ipBlock on the ClusterIP
    range matches nothing and the verdict is the backend pod's."""
    inv = world(EGRESS_TO_SERVICE_RANGE)
    engine = Engine(inv)
    assert service_destination(inv, "10.96.0.10") == "prod/web"
    assert service_destination(inv, "ip:10.96.0.20") == "prod/db"
    assert service_destination(inv, "svc:prod/web") == "prod/web"
    assert service_destination(inv, "10.0.1.10") is None
    backends = resolve_service_target(inv, "prod/web", 8080, Protocol.TCP)
    assert [(pod.key, number) for pod, number in backends] == [("prod/web", 80)]
    assert engine.allowed(engine.endpoint("dev/client"), backends[0][0], 80, Protocol.TCP) is False
    with pytest.raises(UnknownPeer, match=r"ClusterIP of service prod/web.*svc:prod/web"):
        engine.endpoint("10.96.0.10")
    with pytest.raises(EvaluationError, match="ClusterIP of service prod/db"):
        engine.endpoints(["10.96.0.20"])


@pytest.mark.parametrize(
    ("service_port", "expected"),
    [
        pytest.param(1, 8080, id="containers-first-FindPort"),
        pytest.param(2, 9090, id="sidecar-init-container-FindPort"),
    ],
)
def test_service_named_target_port_resolution(service_port: int, expected: int) -> None:
    """``FindPort`` (pkg/api/v1/pod/util.go): containers, then sidecar init containers; the
    first match wins."""
    backends = resolve_service_target(world(), "prod/side", service_port, Protocol.TCP)
    assert [(pod.key, number) for pod, number in backends] == [("prod/side", expected)]


# -- labels controllers add ------------------------------------------------------------------
def _workload(kind: str, spec: str, api: str = "apps/v1", meta: str = "") -> str:
    return (
        f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: w, namespace: x{meta}}}\nspec:\n"
        f"{spec}"
        "  template:\n    metadata: {labels: {app: w}}\n"
        "    spec: {containers: [{name: c, image: i}]}\n"
    )


@pytest.mark.parametrize(
    ("text", "names", "labels"),
    [
        pytest.param(
            _workload("Deployment", "  replicas: 2\n"),
            ["w-0", "w-1"],
            {"pod-template-hash"},
            id="deployment-pod-template-hash",
        ),
        pytest.param(
            _workload("ReplicaSet", "  replicas: 1\n"), ["w-0"], set(), id="replicaset-none"
        ),
        pytest.param(
            _workload("StatefulSet", "  replicas: 2\n  ordinals: {start: 3}\n"),
            ["w-3", "w-4"],
            {
                "controller-revision-hash",
                "statefulset.kubernetes.io/pod-name",
                "apps.kubernetes.io/pod-index",
            },
            id="statefulset-identity",
        ),
        pytest.param(
            _workload("DaemonSet", "", meta=", generation: 4"),
            ["w-0"],
            {"controller-revision-hash", "pod-template-generation"},
            id="daemonset",
        ),
        pytest.param(
            _workload("Job", "  parallelism: 2\n", api="batch/v1", meta=", uid: u-1"),
            ["w-0", "w-1"],
            {
                "batch.kubernetes.io/controller-uid",
                "controller-uid",
                "batch.kubernetes.io/job-name",
                "job-name",
            },
            id="job-generateSelector",
        ),
        pytest.param(
            _workload("Job", "  completionMode: Indexed\n  parallelism: 2\n", api="batch/v1"),
            ["w-0", "w-1"],
            {
                "batch.kubernetes.io/controller-uid",
                "controller-uid",
                "batch.kubernetes.io/job-name",
                "job-name",
                "batch.kubernetes.io/job-completion-index",
            },
            id="indexed-job",
        ),
        pytest.param(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: w, namespace: x}\nspec:\n"
            "  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n"
            "        metadata: {labels: {app: w}}\n"
            "        spec: {containers: [{name: c, image: i}], restartPolicy: Never}\n",
            ["w-0-0"],
            {
                "batch.kubernetes.io/controller-uid",
                "controller-uid",
                "batch.kubernetes.io/job-name",
                "job-name",
            },
            id="cronjob-becomes-a-job-and-pods",
        ),
    ],
)
def test_controllers_add_their_labels(text: str, names: list[str], labels: set[str]) -> None:
    inv = build_inventory(load_text(text))
    assert [p.name for p in inv.pods] == names
    for index, pod in enumerate(inv.pods):
        assert set(pod.label_map) == {"app"} | labels
        got = pod.label_map
        if "statefulset.kubernetes.io/pod-name" in labels:
            assert got["statefulset.kubernetes.io/pod-name"] == pod.name
            assert got["apps.kubernetes.io/pod-index"] == pod.name.rsplit("-", 1)[1]
            assert got["controller-revision-hash"].startswith("w-")
        for key in ("pod-template-hash", "controller-revision-hash"):
            if key in labels:  # rand.SafeEncodeString of a decimal FNV-32a hash
                assert set(got[key].removeprefix("w-")) <= set("456789bcdf"), got[key]
        if "job-name" in labels:
            assert got["job-name"] == got["batch.kubernetes.io/job-name"]
            assert got["controller-uid"] == got["batch.kubernetes.io/controller-uid"]
        if "pod-template-generation" in labels:
            assert got["pod-template-generation"] == "4"
        if "batch.kubernetes.io/job-completion-index" in labels:
            assert got["batch.kubernetes.io/job-completion-index"] == str(index)
    if "controller-uid" in labels and "uid: u-1" in text:
        assert inv.pods[0].label_map["controller-uid"] == "u-1"
    if "cronjob" in text.lower():
        assert inv.pods[0].label_map["job-name"] == "w-0"
        assert inv.pods[0].workload == "CronJob/w"


def test_controller_labels_are_selectable() -> None:
    job = _workload("Job", "", api="batch/v1")
    policy = netpol(
        "job", "podSelector: {matchLabels: {job-name: w}}\npolicyTypes: [Ingress]", namespace="x"
    )
    inv = build_inventory(load_text(job + policy))
    assert Engine(inv).is_isolated(inv.pods[0], Direction.INGRESS)


def test_suspended_cronjob_runs_no_pods() -> None:
    text = (
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: w, namespace: x}\nspec:\n"
        "  suspend: true\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n"
        "        spec: {containers: [{name: c, image: i}], restartPolicy: Never}\n"
    )
    assert build_inventory(load_text(text)).pods == ()


# -- cluster dumps: real pods only -----------------------------------------------------------
def _owned(kind: str, name: str, uid: str, owner: str, extra: str) -> str:
    """One ``kubectl get all -o yaml`` item, owned by the object of uid ``owner`` if set."""
    refs = f"    ownerReferences: [{{kind: X, name: o, uid: {owner}}}]\n" if owner else ""
    head = f"- kind: {kind}\n  metadata:\n    name: {name}\n    namespace: x\n    uid: {uid}\n"
    return head + refs + extra


DEPLOYMENT = (
    "  apiVersion: apps/v1\n  spec:\n    replicas: 2\n    selector: {matchLabels: {app: web}}\n"
    "    template:\n      metadata: {labels: {app: web}}\n"
    "      spec: {containers: [{name: c, image: i}]}\n"
)
REPLICASET = DEPLOYMENT.replace(
    "labels: {app: web}}\n", "labels: {app: web, pod-template-hash: abc}}\n"
)
POD = (
    "  apiVersion: v1\n  spec: {containers: [{name: c, image: i}]}\n"
    "  status: {phase: Running, podIP: %s}\n"
)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        pytest.param(
            [
                _owned("Deployment", "web", "d1", "", DEPLOYMENT),
                _owned("ReplicaSet", "web-abc", "r1", "d1", REPLICASET),
                _owned("Pod", "web-abc-x1", "p1", "r1", POD % "10.0.0.1"),
                _owned("Pod", "web-abc-x2", "p2", "r1", POD % "10.0.0.2"),
            ],
            ["x/web-abc-x1", "x/web-abc-x2"],
            id="deployment-replicaset-pods",
        ),
        pytest.param(
            [
                _owned("Deployment", "web", "d1", "", DEPLOYMENT),
                _owned("ReplicaSet", "web-abc", "r1", "d1", REPLICASET),
            ],
            ["x/web-abc-0", "x/web-abc-1"],
            id="replicaset-stands-for-its-pods-deployment-for-none",
        ),
        pytest.param(
            [_owned("Deployment", "web", "d1", "", DEPLOYMENT)],
            ["x/web-0", "x/web-1"],
            id="deployment-alone",
        ),
        pytest.param(
            [
                _owned("Deployment", "web", "d1", "", DEPLOYMENT),
                _owned("Pod", "stray", "p9", "other-uid", POD % "10.0.0.9"),
            ],
            ["x/stray", "x/web-0", "x/web-1"],
            id="links-are-by-uid-only",
        ),
    ],
)
def test_cluster_dump_yields_real_pods_only(items: list[str], expected: list[str]) -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n" + "".join(items)
    assert [p.key for p in build_inventory(load_text(text)).pods] == expected


def test_a_dumped_pod_belongs_to_its_deployment() -> None:
    pod = _owned("Pod", "web-abc-x1", "p1", "r1", POD % "10.0.0.1").replace(
        "kind: X, name: o", "kind: ReplicaSet, name: web-abc"
    )
    pod = pod.replace("    uid: p1\n", "    uid: p1\n    labels: {pod-template-hash: abc}\n")
    inv = build_inventory(load_text("apiVersion: v1\nkind: List\nitems:\n" + pod))
    assert inv.pods[0].workload == "Deployment/web"
    assert inv.pod("x/web").key == "x/web-abc-x1"


def test_generate_name_pods_stay_distinct() -> None:
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {generateName: client-, namespace: x}\n"
        "spec: {containers: [{name: c, image: i}]}\n"
    )
    inv = build_inventory(load_text(pod + "---\n" + pod))
    assert [p.key for p in inv.pods] == ["x/client-1", "x/client-2"]
    assert inv.pods[0].ip != inv.pods[1].ip


# -- named ports: the API server's warning ---------------------------------------------------
def test_duplicate_port_name_across_containers_is_a_warning() -> None:
    """``warningsForPodSpecAndMeta`` (pkg/api/pod/warnings.go, kubernetes PR #122170)."""
    errors, warnings = validate_objects(load_text(WORLD, "world.yaml"))
    assert errors == []
    side = [w for w in warnings if "prod/side" in w.object]
    assert [w.message for w in side] == [
        'spec.containers[1].ports[0]: Warning: duplicate port name "http" with '
        "spec.containers[0].ports[0], services and probes that select ports by name will use "
        "spec.containers[0].ports[0]"
    ]


# -- kinds labkit reads but does not evaluate ------------------------------------------------
UNEVALUATED = """
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-all}
spec: {selector: all()}
---
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: calico-np, namespace: prod}
spec: {selector: all()}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: anp}
spec: {priority: 10, subject: {namespaces: {}}}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec: {subject: {namespaces: {}}}
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: cnp}
spec: {tier: Admin, priority: 1}
"""


def test_unevaluated_kinds_are_recorded_not_skipped() -> None:
    inv = build_inventory(load_text(WORLD + "---" + UNEVALUATED, "w.yaml"))
    kinds = [text.split(" (")[0] for text in inv.unevaluated]
    assert kinds == [
        "Calico GlobalNetworkPolicy deny-all",
        "Calico NetworkPolicy prod/calico-np",
        "AdminNetworkPolicy anp",
        "BaselineAdminNetworkPolicy default",
        "ClusterNetworkPolicy cnp",
    ]
    assert not any("does not model" in w for w in inv.warnings)


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    manifests = tmp_path / "world.yaml"
    manifests.write_text(WORLD)
    calico = tmp_path / "calico.yaml"
    calico.write_text(UNEVALUATED)
    return str(manifests), str(calico)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["validate"], id="validate"),
        pytest.param(["matrix"], id="matrix"),
        pytest.param(["explain", "--from", "dev/client", "--to", "prod/web", "--port", "80"]),
    ],
)
def test_every_offline_command_gives_the_same_warning(
    argv: list[str], files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    world_file, calico_file = files
    assert main([argv[0], "-f", world_file, "-f", calico_file, *argv[1:]]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "does not evaluate" in line]
    assert len(lines) == 1
    assert lines[0].startswith("warning: labkit does not evaluate these 5 policies")
    assert "Calico GlobalNetworkPolicy deny-all" in lines[0]
    assert "they ARE enforced, so labkit's predictions may differ" in lines[0]
    assert main([argv[0], "-f", world_file, *argv[1:]]) == 0
    assert "does not evaluate" not in capsys.readouterr().err


def test_validate_json_lists_unevaluated_objects(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "-f", files[1], "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["unevaluated"]["objects"]) == 5
    assert "ARE enforced" in data["unevaluated"]["warning"]


def test_apply_gives_the_same_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    assert main(["up", "--backend", "simulated"]) == 0
    policy = tmp_path / "gnp.yaml"
    policy.write_text(UNEVALUATED.split("---")[0])
    capsys.readouterr()
    assert main(["apply", "-f", str(policy)]) == 0
    err = capsys.readouterr().err
    assert (
        "warning: labkit does not evaluate this policy: Calico GlobalNetworkPolicy deny-all" in err
    )
    assert "it IS enforced" in err


def test_matrix_json_has_no_verdict_between_node_traffic_and_addresses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifests = tmp_path / "world.yaml"
    manifests.write_text(WORLD + DENY_ALL_PROD)
    args = ["matrix", "-f", str(manifests), "--external", "203.0.113.5", "-o", "json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    peers = data["peers"]
    row = data["connectivity"][peers.index("prod/agent")]
    assert row[peers.index("ip:203.0.113.5")] is None
    assert row[peers.index("dev/client")] == "All"
    assert data["connectivity"][peers.index("prod/web")][peers.index("prod/agent")] == ""
