"""Deterministic synthetic clusters for benchmarks and randomized tests.

``generate(Spec(pods=500, policies=100, seed=1))`` returns Kubernetes objects (plain dicts, as
``kubectl get -o yaml`` would show them): namespaces with team/env labels, bare Pods with
realistic labels (app, tier, env, team, version, pod-template-hash, a StatefulSet pod name on
database pods), named container ports and ``status.podIP``, a ``kube-system`` with two CoreDNS
pods, and NetworkPolicies that mix what real clusters write:

* default-deny (ingress, and ingress+egress) and allow-same-namespace policies;
* podSelector, namespaceSelector and AND peers (both in one entry), OR peers (separate entries);
* matchExpressions with In, NotIn, Exists and DoesNotExist;
* numeric ports, ``endPort`` ranges, named ports, UDP and SCTP, rules without ports;
* ipBlocks with ``except``, egress to the Internet, and DNS egress to kube-dns.

The same spec always gives the same objects (a private :class:`random.Random` seeded from the
spec). ``Spec.pod_ip_blocks=False`` keeps every ipBlock away from pod addresses, for comparing
with a tool that does not apply ipBlocks to pods (nca; Kubernetes does, e2e
``should allow egress access to server in CIDR block``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

POD_CIDR = "10.244.0.0/16"
"""Pods get addresses 10.244.<block>.<host>, 250 per /24 (like per-node ranges)."""

PRODUCTS = (
    "shop",
    "payments",
    "search",
    "auth",
    "media",
    "billing",
    "ledger",
    "catalog",
    "orders",
    "ml",
    "chat",
    "maps",
)
ENVS = ("prod", "staging", "dev")
TEAMS = ("red", "blue", "green", "gold", "iris", "onyx")


@dataclass(frozen=True)
class AppKind:
    """A kind of workload: its tier and its container ports ``(name, number, protocol)``."""

    name: str
    tier: str
    ports: tuple[tuple[str, int, str], ...]
    stateful: bool = False


APP_KINDS: tuple[AppKind, ...] = (
    AppKind("web", "frontend", (("http", 8080, "TCP"), ("metrics", 9090, "TCP"))),
    AppKind("ui", "frontend", (("http", 3000, "TCP"),)),
    AppKind(
        "api",
        "backend",
        (("http", 8080, "TCP"), ("grpc", 50051, "TCP"), ("metrics", 9090, "TCP")),
    ),
    AppKind("worker", "backend", (("metrics", 9100, "TCP"), ("statsd", 8125, "UDP"))),
    AppKind(
        "db",
        "data",
        (("postgres", 5432, "TCP"), ("metrics", 9187, "TCP")),
        stateful=True,
    ),
    AppKind("cache", "data", (("redis", 6379, "TCP"),), stateful=True),
    AppKind("queue", "data", (("amqp", 5672, "TCP"), ("http", 15672, "TCP"))),
    AppKind("sigtran", "backend", (("sctp-sig", 3868, "SCTP"), ("http", 8081, "TCP"))),
)


@dataclass(frozen=True)
class Spec:
    """What to generate. ``pods`` counts every pod, the two CoreDNS pods included."""

    pods: int
    policies: int
    seed: int = 1
    pod_ip_blocks: bool = True

    @property
    def label(self) -> str:
        return f"{self.pods}x{self.policies}"


@dataclass
class _Namespace:
    name: str
    team: str
    env: str
    monitoring: bool
    apps: list[AppKind] = field(default_factory=list)
    pods: int = 0


def _sel(match_labels: dict[str, str] | None = None, **exprs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if match_labels:
        out["matchLabels"] = dict(match_labels)
    if exprs.get("expressions"):
        out["matchExpressions"] = exprs["expressions"]
    return out


def _expr(key: str, operator: str, values: Sequence[str] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": operator}
    if operator in ("In", "NotIn"):
        out["values"] = list(values)
    return out


class _Builder:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.rng = random.Random(f"labkit-synth:{spec.seed}:{spec.pods}:{spec.policies}")
        self.namespaces: list[_Namespace] = []
        self.objects: list[dict[str, Any]] = []
        self.policy_names: dict[str, int] = {}

    # -- namespaces and pods ---------------------------------------------------------------
    def build_namespaces(self) -> None:
        count = max(3, min(60, self.spec.pods // 40))
        for i in range(count):
            product = PRODUCTS[(i // len(ENVS)) % len(PRODUCTS)]
            env = ENVS[i % len(ENVS)]
            suffix = i // (len(PRODUCTS) * len(ENVS))
            name = f"{product}-{env}" + (f"-{suffix}" if suffix else "")
            ns = _Namespace(
                name=name,
                team=self.rng.choice(TEAMS),
                env=env,
                monitoring=i % 5 == 0,
            )
            kinds = list(APP_KINDS)
            self.rng.shuffle(kinds)
            ns.apps = kinds[: self.rng.randint(3, len(kinds))]
            self.namespaces.append(ns)
        for ns in self.namespaces:
            labels = {"team": ns.team, "env": ns.env}
            if ns.monitoring:
                labels["monitoring"] = "enabled"
            if self.rng.random() < 0.3:
                labels["pod-security.kubernetes.io/enforce"] = "restricted"
            self.objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": ns.name, "labels": labels},
                }
            )
        self.objects.append(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}
        )

    def build_pods(self) -> None:
        serial = 0

        def address() -> str:
            nonlocal serial
            block, host = divmod(serial, 250)
            serial += 1
            return f"10.244.{block}.{host + 2}"

        for i in range(2):
            self.objects.append(
                self._pod(
                    "kube-system",
                    f"coredns-5d78c9869d-{'ab'[i]}x{i}q",
                    {"k8s-app": "kube-dns", "pod-template-hash": "5d78c9869d"},
                    (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")),
                    address(),
                )
            )
        remaining = self.spec.pods - 2
        slots = [(ns, app) for ns in self.namespaces for app in ns.apps]
        counts = [0] * len(slots)
        for k in range(remaining):
            counts[k % len(slots) if k < len(slots) else self.rng.randrange(len(slots))] += 1
        for (ns, app), count in zip(slots, counts, strict=True):
            versions = ("v1", "v2") if count > 3 and self.rng.random() < 0.4 else ("v1",)
            hashes = {v: f"{self.rng.getrandbits(40):010x}"[:10] for v in versions}
            for r in range(count):
                version = versions[r % len(versions)]
                labels = {
                    "app": app.name,
                    "tier": app.tier,
                    "env": ns.env,
                    "team": ns.team,
                    "version": version,
                }
                if app.stateful:
                    name = f"{app.name}-{r}"
                    labels["statefulset.kubernetes.io/pod-name"] = name
                    labels["controller-revision-hash"] = f"{app.name}-{hashes[version][:8]}"
                else:
                    name = f"{app.name}-{hashes[version]}-{self.rng.getrandbits(20):05x}"
                    labels["pod-template-hash"] = hashes[version]
                if self.rng.random() < 0.02:
                    labels["quarantine"] = "true"
                if self.rng.random() < 0.1:
                    labels["canary"] = "true"
                ports = app.ports
                if app.name == "api" and self.rng.random() < 0.25:
                    # some teams serve http elsewhere: named ports resolve per pod
                    ports = (("http", 8000, "TCP"), *ports[1:])
                self.objects.append(self._pod(ns.name, name, labels, ports, address()))
                ns.pods += 1

    @staticmethod
    def _pod(
        namespace: str,
        name: str,
        labels: dict[str, str],
        ports: Sequence[tuple[str, int, str]],
        ip: str,
    ) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "registry.k8s.io/e2e-test-images/agnhost:2.66.1",
                        "ports": [
                            {"name": n, "containerPort": p, "protocol": proto}
                            for n, p, proto in ports
                        ],
                    }
                ]
            },
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]},
        }

    # -- policies --------------------------------------------------------------------------
    def build_policies(self) -> None:
        makers: list[tuple[float, Callable[[_Namespace], dict[str, Any]]]] = [
            (1.0, self.p_default_deny_ingress),
            (0.6, self.p_default_deny_all),
            (1.0, self.p_allow_dns),
            (2.0, self.p_tier_to_app),
            (1.5, self.p_cross_namespace_and),
            (1.0, self.p_cross_namespace_or),
            (1.0, self.p_monitoring),
            (1.2, self.p_expressions),
            (0.8, self.p_port_ranges),
            (0.8, self.p_egress_internet),
            (0.8, self.p_db_lockdown),
            (0.8, self.p_app_egress),
            (0.6, self.p_same_namespace),
            (0.5, self.p_stateful_member),
            (0.8, self.p_ip_blocks),
            (0.6, self.p_public_entry),
            (0.5, self.p_egress_anywhere),
        ]
        weights = [w for w, _ in makers]
        # every namespace gets a first policy before any gets a second: realistic spread
        order = [self.namespaces[i % len(self.namespaces)] for i in range(self.spec.policies)]
        for i, ns in enumerate(order):
            if i < len(self.namespaces) and i % 3 == 0:
                maker = self.p_default_deny_ingress
            else:
                maker = self.rng.choices(makers, weights)[0][1]
            self.objects.append(maker(ns))

    def _policy(self, ns: _Namespace, stem: str, spec: dict[str, Any]) -> dict[str, Any]:
        key = f"{ns.name}/{stem}"
        n = self.policy_names.get(key, 0)
        self.policy_names[key] = n + 1
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": stem if n == 0 else f"{stem}-{n}", "namespace": ns.name},
            "spec": spec,
        }

    def _app(self, ns: _Namespace) -> AppKind:
        return self.rng.choice(ns.apps)

    def _other_ns(self, ns: _Namespace) -> _Namespace:
        return self.rng.choice(self.namespaces)

    def p_default_deny_ingress(self, ns: _Namespace) -> dict[str, Any]:
        return self._policy(
            ns, "default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}
        )

    def p_default_deny_all(self, ns: _Namespace) -> dict[str, Any]:
        return self._policy(
            ns, "default-deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        )

    def p_allow_dns(self, ns: _Namespace) -> dict[str, Any]:
        return self._policy(
            ns,
            "allow-dns",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": _sel(
                                    {"kubernetes.io/metadata.name": "kube-system"}
                                ),
                                "podSelector": _sel({"k8s-app": "kube-dns"}),
                            }
                        ],
                        "ports": [
                            {"protocol": "UDP", "port": 53},
                            {"protocol": "TCP", "port": 53},
                        ],
                    }
                ],
            },
        )

    def p_tier_to_app(self, ns: _Namespace) -> dict[str, Any]:
        app = self._app(ns)
        chosen = self.rng.sample(app.ports, k=min(2, len(app.ports)))
        ports = [{"port": name, "protocol": proto} for name, _, proto in chosen]
        source_tier = {"frontend": "frontend", "backend": "frontend", "data": "backend"}[app.tier]
        return self._policy(
            ns,
            f"allow-{source_tier}-to-{app.name}",
            {
                "podSelector": _sel({"app": app.name}),
                "ingress": [
                    {"from": [{"podSelector": _sel({"tier": source_tier})}], "ports": ports}
                ],
            },
        )

    def p_cross_namespace_and(self, ns: _Namespace) -> dict[str, Any]:
        app = self._app(ns)
        other = self._other_ns(ns)
        client = self.rng.choice(other.apps)
        peer: dict[str, Any] = {"podSelector": _sel({"app": client.name})}
        if self.rng.random() < 0.5:
            peer["namespaceSelector"] = _sel({"team": other.team})
        else:
            peer["namespaceSelector"] = _sel({"kubernetes.io/metadata.name": other.name})
        number = app.ports[0][1]
        return self._policy(
            ns,
            f"allow-{client.name}-from-{other.name}",
            {
                "podSelector": _sel({"app": app.name}),
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [peer], "ports": [{"protocol": app.ports[0][2], "port": number}]}
                ],
            },
        )

    def p_cross_namespace_or(self, ns: _Namespace) -> dict[str, Any]:
        app = self._app(ns)
        env = self.rng.choice(ENVS)
        return self._policy(
            ns,
            f"allow-{env}-or-frontends",
            {
                "podSelector": _sel({"app": app.name}),
                "ingress": [
                    {
                        "from": [
                            {"namespaceSelector": _sel({"env": env})},
                            {"podSelector": _sel({"tier": "frontend"})},
                        ]
                    }
                ],
            },
        )

    def p_monitoring(self, ns: _Namespace) -> dict[str, Any]:
        return self._policy(
            ns,
            "allow-monitoring",
            {
                "podSelector": _sel(expressions=[_expr("tier", "Exists")]),
                "ingress": [
                    {
                        "from": [{"namespaceSelector": _sel({"monitoring": "enabled"})}],
                        "ports": [{"port": "metrics"}],
                    }
                ],
            },
        )

    def p_expressions(self, ns: _Namespace) -> dict[str, Any]:
        tiers = self.rng.sample(["frontend", "backend", "data"], k=2)
        excluded = self.rng.choice(ENVS)
        peer_ns = _sel(
            expressions=[
                _expr("env", "NotIn", [excluded]),
                _expr("pod-security.kubernetes.io/enforce", "DoesNotExist"),
            ]
        )
        return self._policy(
            ns,
            "allow-by-expressions",
            {
                "podSelector": _sel(expressions=[_expr("tier", "In", tiers)]),
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": peer_ns,
                                "podSelector": _sel(
                                    expressions=[
                                        _expr("quarantine", "DoesNotExist"),
                                        _expr("version", "NotIn", ["v0"]),
                                    ]
                                ),
                            }
                        ],
                        "ports": [{"port": 8080}, {"port": "grpc"}],
                    }
                ],
            },
        )

    def p_port_ranges(self, ns: _Namespace) -> dict[str, Any]:
        lo = self.rng.choice((8000, 9000, 30000))
        return self._policy(
            ns,
            "allow-port-ranges",
            {
                "podSelector": _sel(
                    {"tier": self.rng.choice(["backend", "data"])},
                    expressions=[_expr("canary", "NotIn", ["true"])],
                ),
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"namespaceSelector": _sel({"team": ns.team})}],
                        "ports": [
                            {"protocol": "TCP", "port": lo, "endPort": lo + 99},
                            {"protocol": "UDP", "port": 8125},
                            {"protocol": "SCTP", "port": 3868},
                        ],
                    },
                    {"from": [{"podSelector": _sel({"app": "worker"})}], "ports": [{"port": 6379}]},
                ],
            },
        )

    def _internet_block(self) -> dict[str, Any]:
        return {
            "cidr": "0.0.0.0/0",
            "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.169.254/32"],
        }

    def p_egress_internet(self, ns: _Namespace) -> dict[str, Any]:
        app = self._app(ns)
        return self._policy(
            ns,
            f"allow-{app.name}-internet",
            {
                "podSelector": _sel({"app": app.name}),
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"ipBlock": self._internet_block()}], "ports": [{"port": 443}]},
                    {
                        "to": [
                            {
                                "namespaceSelector": {},
                                "podSelector": _sel({"k8s-app": "kube-dns"}),
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": "dns"}, {"port": "dns-tcp"}],
                    },
                ],
            },
        )

    def p_db_lockdown(self, ns: _Namespace) -> dict[str, Any]:
        return self._policy(
            ns,
            "db-lockdown",
            {
                "podSelector": _sel({"tier": "data"}),
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [{"podSelector": _sel({"tier": "backend"})}],
                        "ports": [{"port": "postgres"}, {"port": "redis"}, {"port": "amqp"}],
                    }
                ],
            },
        )

    def p_app_egress(self, ns: _Namespace) -> dict[str, Any]:
        app = self._app(ns)
        other = self._other_ns(ns)
        return self._policy(
            ns,
            f"{app.name}-egress",
            {
                "podSelector": _sel({"app": app.name}),
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"podSelector": _sel({"tier": "data"})}],
                        "ports": [{"port": 5432}, {"port": 6379}, {"port": 5672, "endPort": 5680}],
                    },
                    {
                        "to": [
                            {
                                "namespaceSelector": _sel({"env": other.env}),
                                "podSelector": _sel({"app": "api"}),
                            }
                        ],
                        "ports": [{"port": "http"}, {"port": "grpc"}],
                    },
                    {
                        "to": [
                            {
                                "namespaceSelector": _sel(
                                    {"kubernetes.io/metadata.name": "kube-system"}
                                ),
                                "podSelector": _sel({"k8s-app": "kube-dns"}),
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}],
                    },
                ],
            },
        )

    def p_same_namespace(self, ns: _Namespace) -> dict[str, Any]:
        return self._policy(
            ns,
            "allow-same-namespace",
            {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]},
        )

    def p_stateful_member(self, ns: _Namespace) -> dict[str, Any]:
        return self._policy(
            ns,
            "primary-db-replication",
            {
                "podSelector": _sel({"statefulset.kubernetes.io/pod-name": "db-0"}),
                "ingress": [
                    {
                        "from": [
                            {
                                "podSelector": _sel(
                                    {"app": "db"},
                                    expressions=[
                                        _expr(
                                            "statefulset.kubernetes.io/pod-name", "NotIn", ["db-0"]
                                        )
                                    ],
                                )
                            }
                        ],
                        "ports": [{"port": 5432}],
                    }
                ],
            },
        )

    def p_ip_blocks(self, ns: _Namespace) -> dict[str, Any]:
        app = self._app(ns)
        if self.spec.pod_ip_blocks:
            # blocks over pod addresses: Kubernetes applies them to pods too
            block = self.rng.randrange(0, max(1, self.spec.pods // 250))
            ingress_block = {
                "cidr": f"10.244.{block & ~3}.0/22",
                "except": [f"10.244.{block}.0/25"],
            }
            egress_block = {"cidr": POD_CIDR, "except": [f"10.244.{block}.0/24"]}
        else:
            ingress_block = {"cidr": "203.0.113.0/24", "except": ["203.0.113.128/25"]}
            egress_block = {"cidr": "198.51.100.0/24", "except": ["198.51.100.7/32"]}
        return self._policy(
            ns,
            f"{app.name}-ip-blocks",
            {
                "podSelector": _sel({"app": app.name}),
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {"from": [{"ipBlock": ingress_block}], "ports": [{"port": app.ports[0][1]}]},
                    {"from": [{"podSelector": _sel({"tier": app.tier})}]},
                ],
                "egress": [
                    {"to": [{"ipBlock": egress_block}], "ports": [{"port": 8080, "endPort": 8090}]},
                    {"to": [{"ipBlock": self._internet_block()}], "ports": [{"port": 443}]},
                ],
            },
        )

    def p_public_entry(self, ns: _Namespace) -> dict[str, Any]:
        """An ingress rule without ``from``: every source, on some ports only."""
        return self._policy(
            ns,
            "allow-public-entry",
            {
                "podSelector": _sel({"tier": "frontend"}),
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"port": "http"}, {"port": 443}]}],
            },
        )

    def p_egress_anywhere(self, ns: _Namespace) -> dict[str, Any]:
        """An egress rule without ``to`` next to one with peers."""
        app = self._app(ns)
        return self._policy(
            ns,
            f"{app.name}-egress-anywhere",
            {
                "podSelector": _sel({"app": app.name}),
                "policyTypes": ["Egress"],
                "egress": [
                    {"ports": [{"port": 443}, {"protocol": "UDP", "port": 123}]},
                    {"to": [{"podSelector": {}}]},
                ],
            },
        )


def generate(spec: Spec) -> list[dict[str, Any]]:
    """Namespaces, pods and policies for ``spec``, in that order."""
    if spec.pods < 10 or spec.policies < 1:
        raise ValueError("generate at least 10 pods and 1 policy")
    builder = _Builder(spec)
    builder.build_namespaces()
    builder.build_pods()
    builder.build_policies()
    return builder.objects


def write(objects: Sequence[dict[str, Any]], directory: Path) -> list[Path]:
    """Write ``namespaces.yaml``, ``pods.yaml`` and ``policies.yaml`` (multi-document YAML)."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    groups = {"Namespace": "namespaces.yaml", "Pod": "pods.yaml", "NetworkPolicy": "policies.yaml"}
    written: list[Path] = []
    for kind, filename in groups.items():
        docs = [o for o in objects if o["kind"] == kind]
        path = directory / filename
        with path.open("w", encoding="utf-8") as fh:
            yaml.dump_all(docs, fh, Dumper=dumper, sort_keys=False, explicit_start=True)
        written.append(path)
    return written


def lab_case() -> list[dict[str, Any]]:
    """The lab's nine pods (team brief topology) and five policies: a conformance-sized input."""
    pods = [
        ("my-segment", "frontend", {"role": "frontend"}, "192.168.128.10"),
        ("my-segment", "backend", {"role": "backend"}, "192.168.128.11"),
        ("my-segment", "database", {"role": "database"}, "192.168.128.12"),
        ("my-segment", "critical-app", {"role": "critical-app"}, "192.168.128.13"),
        ("trusted", "client", {"app": "client"}, "192.168.128.20"),
        ("untrusted", "client", {"app": "client"}, "192.168.128.30"),
        ("branch-office", "client", {"app": "client"}, "192.168.1.10"),
        ("backup-site", "server", {"app": "server"}, "192.168.2.10"),
        ("legacy-dc", "client", {"app": "client"}, "192.168.10.10"),
    ]
    ports = (("http", 80, "TCP"), ("udp", 81, "UDP"), ("metrics", 9090, "TCP"))
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        for ns in dict.fromkeys(p[0] for p in pods)
    ]
    objects += [_Builder._pod(ns, name, labels, ports, ip) for ns, name, labels, ip in pods]

    def policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
        meta = {"name": name, "namespace": "my-segment"}
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta} | {
            "spec": spec
        }

    trusted = {"kubernetes.io/metadata.name": "trusted"}
    objects += [
        policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        policy(
            "frontend-from-trusted",
            {
                "podSelector": _sel({"role": "frontend"}),
                "ingress": [
                    {"from": [{"namespaceSelector": _sel(trusted)}], "ports": [{"port": "http"}]}
                ],
            },
        ),
        policy(
            "backend-from-frontend",
            {
                "podSelector": _sel({"role": "backend"}),
                "ingress": [{"from": [{"podSelector": _sel({"role": "frontend"})}]}],
            },
        ),
        policy(
            "database-from-backend",
            {
                "podSelector": _sel({"role": "database"}),
                "ingress": [
                    {
                        "from": [{"podSelector": _sel({"role": "backend"})}],
                        "ports": [{"port": 80}, {"protocol": "UDP", "port": 81}],
                    }
                ],
            },
        ),
        policy(
            "critical-app-from-sites",
            {
                "podSelector": _sel({"role": "critical-app"}),
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [
                            {"ipBlock": {"cidr": "192.168.0.0/22", "except": ["192.168.2.0/24"]}}
                        ],
                        "ports": [{"port": 80, "endPort": 90}],
                    }
                ],
                "egress": [
                    {
                        "to": [{"namespaceSelector": {}, "podSelector": _sel({"app": "server"})}],
                        "ports": [{"port": "metrics"}],
                    }
                ],
            },
        ),
    ]
    return objects
