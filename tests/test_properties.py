"""Property tests (hypothesis).

1. Robustness: random and broken manifests (garbage nested under the shapes of NetworkPolicy,
   Pod, Namespace, Service and Deployment, random label strings, ports, protocols, CIDRs, and
   random YAML text) go through loading, validation, inventory building, evaluation and
   rendering. Nothing but a :class:`labkit.errors.LabkitError` may escape.
2. Equivalence: on random *valid* small clusters (built structurally from a small label
   vocabulary), the class-based :func:`compute_matrix` equals :meth:`Engine.connectivity` on
   every ordered pair, and the per-probe view equals :meth:`PortSet.contains`.

Derandomized (fixed examples on every run) and sized to finish in a few seconds each.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_network
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.engine.endpoints import External
from labkit.engine.evaluator import Engine
from labkit.engine.matrix import compute_matrix
from labkit.errors import LabkitError, ValidationFailed
from labkit.model.inventory import build_inventory, check_objects
from labkit.model.loader import RawObject, load_text
from labkit.model.ports import Protocol
from labkit.probe.jobs import ProbeSpec
from labkit.probe.table import ConnectivityTable, TruthTable

SETTINGS = settings.get_profile("labkit")  # registered and loaded by conftest.py


def examples(count: int) -> settings:
    return settings(SETTINGS, max_examples=count)


# -- garbage -----------------------------------------------------------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
garbage = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def maybe(strategy: st.SearchStrategy[Any], junk: st.SearchStrategy[Any] = garbage) -> Any:
    """Mostly the right shape, one time in six ``junk`` in its place."""
    return st.integers(0, 5).flatmap(lambda k: junk if k == 0 else strategy)


label_text = st.one_of(
    st.sampled_from(["app", "role", "k8s-app", "kubernetes.io/metadata.name", "a/b/c", "", "-x"]),
    st.text(alphabet="abcXYZ019-._/ :", max_size=70),
)
label_maps = st.dictionaries(maybe(label_text, scalars), maybe(label_text), max_size=3)
proto_text = st.one_of(
    st.sampled_from(["TCP", "UDP", "SCTP", "tcp", "ICMP", "", " TCP"]), st.text(max_size=5)
)
port_value = st.one_of(
    st.integers(min_value=-5, max_value=70000),
    st.sampled_from(["http", "dns", "80", "", "a" * 20, "Http", "web-1"]),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
)
cidr_text = st.one_of(
    st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=4), st.integers(-1, 40)),
    st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=6), st.integers(-1, 140)),
    st.ip_addresses().map(str),
    st.sampled_from(["10.0.0.0/8", "0.0.0.0/0", "::/0", "192.168.1.5/24", "10.0.0.0/33", ""]),
    st.text(max_size=20),
)
selector = st.fixed_dictionaries(
    {},
    optional={
        "matchLabels": maybe(label_maps),
        "matchExpressions": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "key": maybe(label_text),
                        "operator": maybe(
                            st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "in", "Eq"])
                        ),
                    },
                    optional={"values": maybe(st.lists(maybe(label_text), max_size=3))},
                ),
                max_size=2,
            )
        ),
    },
)
policy_port = st.fixed_dictionaries(
    {},
    optional={"port": port_value, "protocol": maybe(proto_text), "endPort": port_value},
)
ip_block = st.fixed_dictionaries(
    {"cidr": maybe(cidr_text)}, optional={"except": maybe(st.lists(maybe(cidr_text), max_size=2))}
)
peer = st.fixed_dictionaries(
    {},
    optional={
        "podSelector": maybe(selector),
        "namespaceSelector": maybe(selector),
        "ipBlock": maybe(ip_block),
    },
)


def rule(peer_key: str) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {},
        optional={
            peer_key: maybe(st.lists(maybe(peer), max_size=2)),
            "ports": maybe(st.lists(maybe(policy_port), max_size=2)),
        },
    )


def metadata(namespaced: bool = True) -> st.SearchStrategy[Any]:
    fields: dict[str, Any] = {
        "name": maybe(st.sampled_from(["a", "b", "web", "db", "x" * 300, ""])),
        "labels": maybe(label_maps),
        "annotations": maybe(
            st.dictionaries(
                st.just("cni.projectcalico.org/ipAddrs"),
                st.one_of(st.ip_addresses().map(lambda a: f'["{a}"]'), st.text(max_size=8)),
            )
        ),
    }
    if namespaced:
        fields["namespace"] = maybe(st.sampled_from(["default", "prod", "dev", "", "Bad_NS"]))
    return st.fixed_dictionaries({}, optional=fields)


network_policy = st.fixed_dictionaries(
    {"apiVersion": st.just("networking.k8s.io/v1"), "kind": st.just("NetworkPolicy")},
    optional={
        "metadata": maybe(metadata()),
        "spec": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "podSelector": maybe(selector),
                    "policyTypes": maybe(
                        st.lists(
                            maybe(st.sampled_from(["Ingress", "Egress", "ingress", "Both"])),
                            max_size=3,
                        )
                    ),
                    "ingress": maybe(st.lists(maybe(rule("from")), max_size=2)),
                    "egress": maybe(st.lists(maybe(rule("to")), max_size=2)),
                },
            )
        ),
    },
)
container = st.fixed_dictionaries(
    {"name": st.just("c")},
    optional={
        "ports": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "containerPort": port_value,
                        "protocol": maybe(proto_text),
                        "name": maybe(st.sampled_from(["http", "dns", "metrics", "", "80"])),
                    },
                ),
                max_size=3,
            )
        )
    },
)
pod_spec = st.fixed_dictionaries(
    {}, optional={"containers": maybe(st.lists(maybe(container), max_size=2))}
)
pod = st.fixed_dictionaries(
    {"apiVersion": st.just("v1"), "kind": st.just("Pod")},
    optional={
        "metadata": maybe(metadata()),
        "spec": maybe(pod_spec),
        "status": maybe(st.fixed_dictionaries({}, optional={"podIP": maybe(cidr_text)})),
    },
)
namespace = st.fixed_dictionaries(
    {"apiVersion": st.just("v1"), "kind": st.just("Namespace")},
    optional={"metadata": maybe(metadata(namespaced=False))},
)
service = st.fixed_dictionaries(
    {"apiVersion": st.just("v1"), "kind": st.just("Service")},
    optional={
        "metadata": maybe(metadata()),
        "spec": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "selector": maybe(label_maps),
                    "ports": maybe(
                        st.lists(
                            st.fixed_dictionaries(
                                {},
                                optional={
                                    "port": port_value,
                                    "targetPort": port_value,
                                    "protocol": maybe(proto_text),
                                },
                            ),
                            max_size=2,
                        )
                    ),
                },
            )
        ),
    },
)
workload = st.fixed_dictionaries(
    {
        "apiVersion": st.just("apps/v1"),
        "kind": st.sampled_from(["Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"]),
    },
    optional={
        "metadata": maybe(metadata()),
        "spec": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "replicas": maybe(st.integers(min_value=-2, max_value=5)),
                    "parallelism": maybe(st.integers(min_value=-2, max_value=5)),
                    "completions": maybe(st.integers(min_value=-2, max_value=5)),
                    "template": maybe(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "metadata": maybe(metadata(namespaced=False)),
                                "spec": maybe(pod_spec),
                            },
                        )
                    ),
                },
            )
        ),
    },
)
objects = st.lists(
    st.sampled_from(
        [network_policy, network_policy, pod, pod, namespace, service, workload, garbage]
    ).flatmap(lambda strategy: strategy),
    min_size=1,
    max_size=6,
)
externals = st.lists(
    st.one_of(st.ip_addresses().map(str), st.text(max_size=10), st.just("ip:1.2.3.4")),
    max_size=2,
)


def exercise(raws: list[RawObject], extra: list[str]) -> None:
    """Every stage after loading; each may refuse the input only with a LabkitError."""
    try:
        check_objects(raws)
    except LabkitError:
        pass
    try:
        inventory = build_inventory(raws)
    except LabkitError:
        return
    for self_traffic in ("allow", "evaluate"):
        engine = Engine(inventory, self_traffic=self_traffic)  # type: ignore[arg-type]
        try:
            endpoints = engine.endpoints(extra)
        except LabkitError:
            endpoints = engine.endpoints()
        matrix = compute_matrix(engine, endpoints)
        for probe in (ProbeSpec(80), ProbeSpec(53, Protocol.UDP)):
            table = TruthTable.from_matrix(matrix, probe)
            table.to_text()
            table.to_csv()
            table.to_dict()
        connectivity = ConnectivityTable(matrix)
        connectivity.to_text()
        connectivity.to_csv()
        list(connectivity.to_json_rows())
        for src in endpoints[:3]:
            for dst in endpoints[:3]:
                engine.connectivity(src, dst)


@examples(250)
@given(objects, externals)
def test_structured_garbage_raises_only_labkit_errors(docs: list[Any], extra: list[str]) -> None:
    raws = [RawObject(d, "prop.yaml") for d in docs if isinstance(d, dict)]
    exercise(raws, extra)


@examples(150)
@given(objects, externals)
def test_garbage_through_yaml_text_raises_only_labkit_errors(
    docs: list[Any], extra: list[str]
) -> None:
    text = yaml.safe_dump_all(docs, allow_unicode=True)
    try:
        raws = load_text(text, "prop.yaml")
    except LabkitError:
        return
    exercise(raws, extra)


yaml_noise = st.lists(
    st.sampled_from(
        [*"abk:-{}[],'\"&*!|>#%@`\t\n ./0123456789", "---\n", "\x00", "kind: Pod\n", "  - "]
    ),
    max_size=60,
).map("".join)


@examples(300)
@given(st.one_of(yaml_noise, st.text(max_size=60)), st.sampled_from(["x.yaml", "x.json"]))
def test_random_text_raises_only_labkit_errors(text: str, file: str) -> None:
    try:
        raws = load_text(text, file)
    except LabkitError:
        return
    exercise(raws, [])


# -- valid clusters: the matrix equals pairwise evaluation ----------------------------------
NAMESPACES = ("alpha", "beta", "gamma")
VOCAB = {"app": ("web", "db", "api"), "tier": ("front", "back")}
NS_VOCAB = {"env": ("prod", "dev")}
PORT_NAMES = (("http", 80, "TCP"), ("alt", 8080, "TCP"), ("dns", 53, "UDP"), ("sig", 9999, "SCTP"))
POD_CIDR = "10.8.0.0/24"


def selectors(vocab: dict[str, tuple[str, ...]]) -> st.SearchStrategy[dict[str, Any]]:
    keys = sorted(vocab)
    match_labels = st.dictionaries(
        st.sampled_from(keys), st.sampled_from([v for vs in vocab.values() for v in vs]), max_size=1
    )
    expression = st.sampled_from(keys).flatmap(
        lambda key: st.one_of(
            st.builds(
                lambda op, values: {"key": key, "operator": op, "values": sorted(values)},
                st.sampled_from(["In", "NotIn"]),
                st.sets(st.sampled_from(vocab[key]), min_size=1),
            ),
            st.sampled_from(["Exists", "DoesNotExist"]).map(
                lambda op: {"key": key, "operator": op}
            ),
        )
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "matchLabels": match_labels,
            "matchExpressions": st.lists(expression, max_size=1),
        },
    )


def cidrs() -> st.SearchStrategy[dict[str, Any]]:
    pod_net = ip_network(POD_CIDR)

    def block(prefix: int, offset: int) -> dict[str, Any]:
        net = ip_network(f"{pod_net.network_address + offset * 4}/{prefix}", strict=False)
        out: dict[str, Any] = {"cidr": str(net)}
        if net.prefixlen < 30:
            sub = list(net.subnets(new_prefix=net.prefixlen + 2))
            out["except"] = [str(sub[offset % len(sub)])]
        return out

    return st.one_of(
        st.builds(block, st.integers(24, 32), st.integers(0, 63)),
        st.sampled_from(
            [
                {"cidr": "0.0.0.0/0", "except": [POD_CIDR]},
                {"cidr": "0.0.0.0/0"},
                {"cidr": "203.0.113.0/24"},
                {"cidr": "::/0"},
            ]
        ),
    )


valid_port = st.one_of(
    st.fixed_dictionaries(
        {"port": st.sampled_from([53, 80, 443, 8080, 9999])},
        optional={"protocol": st.sampled_from(["TCP", "UDP", "SCTP"])},
    ),
    st.sampled_from(PORT_NAMES).map(lambda t: {"port": t[0], "protocol": t[2]}),
    st.sampled_from(["TCP", "UDP", "SCTP"]).map(lambda p: {"protocol": p}),
    st.builds(
        lambda lo, width: {"port": lo, "endPort": lo + width},
        st.sampled_from([50, 79, 8000]),
        st.integers(0, 100),
    ),
)
valid_peer = st.one_of(
    st.builds(lambda s: {"podSelector": s}, selectors(VOCAB)),
    st.builds(lambda s: {"namespaceSelector": s}, selectors(NS_VOCAB)),
    st.builds(
        lambda n, p: {"namespaceSelector": n, "podSelector": p},
        selectors(NS_VOCAB),
        selectors(VOCAB),
    ),
    st.builds(lambda b: {"ipBlock": b}, cidrs()),
)


def rule_of(peer: st.SearchStrategy[dict[str, Any]], key: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"ports": st.lists(valid_port, max_size=2)},
        optional={key: st.lists(peer, max_size=2)},
    )


def valid_rule(key: str) -> st.SearchStrategy[dict[str, Any]]:
    return rule_of(valid_peer, key)


def policy_of(
    index: int,
    namespaces: Sequence[str],
    pod_selectors: st.SearchStrategy[dict[str, Any]],
    peer: st.SearchStrategy[dict[str, Any]],
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid NetworkPolicies named ``p<index>`` in one of ``namespaces``, selecting pods with
    ``pod_selectors``, their rules' peers drawn from ``peer``."""
    return st.builds(
        lambda ns, sel, types, ingress, egress: {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"p{index}", "namespace": ns},
            "spec": {
                "podSelector": sel,
                **({"policyTypes": types} if types else {}),
                **({"ingress": ingress} if ingress is not None else {}),
                **({"egress": egress} if egress is not None else {}),
            },
        },
        st.sampled_from(list(namespaces)),
        pod_selectors,
        st.sampled_from([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]]),
        st.none() | st.lists(rule_of(peer, "from"), max_size=2),
        st.none() | st.lists(rule_of(peer, "to"), max_size=2),
    )


def valid_policy(index: int) -> st.SearchStrategy[dict[str, Any]]:
    return policy_of(index, NAMESPACES, selectors(VOCAB), valid_peer)


valid_pod = st.builds(
    lambda ns, labels, ports: (ns, labels, ports),
    st.sampled_from(NAMESPACES),
    st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in VOCAB.items()}),
    st.lists(st.sampled_from(PORT_NAMES), max_size=3, unique=True),
)


@st.composite
def clusters(draw: st.DrawFn) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for ns in NAMESPACES:
        labels = draw(st.fixed_dictionaries({}, optional={"env": st.sampled_from(NS_VOCAB["env"])}))
        docs.append(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}
        )
    for i, (ns, labels, ports) in enumerate(draw(st.lists(valid_pod, min_size=1, max_size=7))):
        # a named port sometimes carries another number, so names resolve per pod
        shift = draw(st.sampled_from([0, 0, 1]))
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"pod{i}", "namespace": ns, "labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "agnhost",
                            "ports": [
                                {"name": n, "containerPort": p + shift, "protocol": proto}
                                for n, p, proto in ports
                            ],
                        }
                    ]
                },
            }
        )
    count = draw(st.sampled_from([0, 1, 2, 2, 3, 3, 4]))
    docs += [draw(valid_policy(i)) for i in range(count)]
    return docs


PROBES = [
    (80, Protocol.TCP),
    (81, Protocol.TCP),
    (53, Protocol.UDP),
    (8080, Protocol.TCP),
    (8081, Protocol.TCP),
    (9999, Protocol.SCTP),
    (10000, Protocol.SCTP),
    (100, Protocol.TCP),
]
EXTERNAL_PEERS = ["203.0.113.7", "198.51.100.1", "2001:db8::1"]


@examples(300)
@given(clusters(), st.sampled_from(["allow", "evaluate"]))
def test_matrix_equals_pairwise_engine(docs: list[dict[str, Any]], self_traffic: str) -> None:
    raws = [RawObject(d, "cluster.yaml") for d in docs]
    from labkit.model.ipam import IPPlan

    inventory = build_inventory(raws, ip_plan=IPPlan(POD_CIDR))
    engine = Engine(inventory, self_traffic=self_traffic)  # type: ignore[arg-type]
    endpoints = engine.endpoints(EXTERNAL_PEERS)
    matrix = compute_matrix(engine, endpoints)
    n = len(endpoints)
    for i in range(n):
        for j in range(n):
            assert matrix.cell(i, j) == engine.connectivity(endpoints[i], endpoints[j]), (
                endpoints[i].key,
                endpoints[j].key,
            )
    for port, protocol in PROBES:
        grid = matrix.allowed(port, protocol)
        for i in range(n):
            for j in range(n):
                cell = matrix.cell(i, j)
                expected = None if cell is None else cell.contains(port, protocol)
                assert grid[i][j] is expected
                if isinstance(endpoints[i], External) and isinstance(endpoints[j], External):
                    assert expected is None
                else:
                    assert engine.allowed(endpoints[i], endpoints[j], port, protocol) is expected


@examples(100)
@given(clusters())
def test_generated_clusters_are_valid(docs: list[dict[str, Any]]) -> None:
    """The generator above only builds objects the API server accepts (a cross-check of the
    generator and of labkit.model.validation)."""
    try:
        check_objects([RawObject(d, "cluster.yaml") for d in docs], "1.36")
    except ValidationFailed as exc:  # pragma: no cover - the message is the diagnosis
        pytest.fail(str(exc))


def test_hypothesis_is_derandomized_for_every_test() -> None:
    """conftest.py loads the ``labkit`` profile: every run tries the same examples."""
    assert settings().derandomize is True
    assert settings(max_examples=3).derandomize is True  # per-test settings inherit it
