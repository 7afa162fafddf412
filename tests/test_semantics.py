"""Kubernetes NetworkPolicy semantics, one parametrised row per behaviour.

Every row names the rule of ``../shared/conformance/README.md`` ("Semantics these cases pin
down", rules 1..13) that it pins down, in its id (``r4-...``) and its ``why`` text. Rows are
small YAML manifests evaluated on one fixed world; each check is written
``"SRC -> DST PORT/PROTO allow|deny"``. Every row is checked on both evaluation paths: the
per-pair :class:`Engine` and the class-based :func:`compute_matrix`.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address

import pytest

from labkit.engine.endpoints import External
from labkit.engine.evaluator import Engine
from labkit.engine.matrix import compute_matrix
from labkit.engine.portset import ALL, NOTHING, PortSet
from labkit.errors import EvaluationError, UnknownPeer, ValidationFailed
from labkit.model.inventory import Inventory, build_inventory, check_objects
from labkit.model.loader import load_text
from labkit.model.ports import Protocol

# The world every row runs in. Namespaces: prod (env=prod), dev (env=dev), ops and kube-system
# (only the automatic kubernetes.io/metadata.name label). prod/db names port 8080 `http` while
# prod/web names port 80 `http`: named ports resolve per destination pod. ops/v6 is IPv6.
WORLD = """
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: dev, labels: {env: dev}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: prod, labels: {app: web, tier: front, team: shop}}
spec:
  containers:
  - name: web
    image: agnhost
    ports:
    - {name: http, containerPort: 80}
    - {name: udp, containerPort: 81, protocol: UDP}
    - {name: metrics, containerPort: 9090, protocol: TCP}
status: {podIP: 10.0.1.10}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: prod, labels: {app: db, tier: back, team: shop}}
spec:
  containers:
  - name: db
    image: agnhost
    ports:
    - {name: sql, containerPort: 5432}
    - {name: http, containerPort: 8080}
status: {podIP: 10.0.1.20}
---
apiVersion: v1
kind: Pod
metadata: {name: job, namespace: prod, labels: {app: job, team: shop}}
spec: {containers: [{name: job, image: agnhost}]}
status: {podIP: 10.0.1.30}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: dev, labels: {app: web, tier: front}}
spec: {containers: [{name: web, image: agnhost, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 10.0.2.10}
---
apiVersion: v1
kind: Pod
metadata: {name: tool, namespace: dev, labels: {app: tool}}
spec:
  containers:
  - {name: tool, image: agnhost, ports: [{name: assoc, containerPort: 9999, protocol: SCTP}]}
status: {podIP: 10.0.2.20}
---
apiVersion: v1
kind: Pod
metadata: {name: v6, namespace: ops, labels: {app: mon}}
spec: {containers: [{name: mon, image: agnhost, ports: [{name: metrics, containerPort: 9090}]}]}
status: {podIP: "fd00::10"}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns-a, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  containers:
  - name: coredns
    image: coredns
    ports:
    - {name: dns, containerPort: 53, protocol: UDP}
    - {name: dns-tcp, containerPort: 53, protocol: TCP}
status: {podIP: 10.0.0.10}
"""
EXTERNALS = ("203.0.113.5", "198.51.100.7", "2001:db8::5")


def netpol(name: str, namespace: str, spec: str) -> str:
    body = "\n".join("  " + line for line in spec.strip("\n").splitlines())
    return (
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}\n"
    )


def world(*policies: str, extra: str = "") -> Inventory:
    return build_inventory(load_text(WORLD + "".join(policies) + extra, "world.yaml"))


@dataclass(frozen=True)
class Check:
    src: str
    dst: str
    port: int
    protocol: Protocol
    allowed: bool

    @staticmethod
    def parse(text: str) -> Check:
        src, arrow, dst, probe, verdict = text.split()
        assert arrow == "->" and verdict in ("allow", "deny"), text
        port, _, proto = probe.partition("/")
        return Check(src, dst, int(port), Protocol(proto or "TCP"), verdict == "allow")


def assert_checks(inventory: Inventory, checks: list[str], **engine_kw: object) -> None:
    engine = Engine(inventory, **engine_kw)  # type: ignore[arg-type]
    endpoints = engine.endpoints(EXTERNALS)
    matrix = compute_matrix(engine, endpoints)
    wrong = []
    for text in checks:
        c = Check.parse(text)
        single = engine.allowed_by_name(c.src, c.dst, c.port, c.protocol)
        cell = matrix.get(engine.endpoint(c.src).key, engine.endpoint(c.dst).key)
        full = None if cell is None else cell.contains(c.port, c.protocol)
        if single is not c.allowed or full is not c.allowed:
            wrong.append(f"{text}: evaluator says {single}, matrix says {full}")
    assert not wrong, "\n".join(wrong)


DB_FROM_WEB = """
podSelector: {matchLabels: {app: db}}
ingress:
- from: [{podSelector: {matchLabels: {app: web}}}]
"""

# (id, why, policies, checks)
ROWS: list[tuple[str, str, list[str], list[str]]] = [
    # -- rule 1: isolation is per direction; both ends must allow ---------------------------
    (
        "r1-no-policy-everything-allowed",
        "rule 1: a pod no policy selects is isolated in neither direction",
        [],
        [
            "prod/web -> prod/db 5432/TCP allow",
            "dev/tool -> ops/v6 7/UDP allow",
            "ip:203.0.113.5 -> prod/db 1/SCTP allow",
            "prod/db -> ip:198.51.100.7 443/TCP allow",
        ],
    ),
    (
        "r1-ingress-isolation-leaves-egress-open",
        "rule 1: an Ingress policy isolates ingress only",
        [netpol("deny-in", "prod", "podSelector: {matchLabels: {app: db}}\ningress: []")],
        [
            "prod/web -> prod/db 5432/TCP deny",
            "prod/db -> prod/web 80/TCP allow",
            "prod/db -> dev/web 80/TCP allow",
            "prod/db -> ip:203.0.113.5 443/TCP allow",
        ],
    ),
    (
        "r1-egress-isolation-leaves-ingress-open",
        "rule 1: an Egress-only policy isolates egress only",
        [
            netpol(
                "deny-out", "prod", "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Egress]"
            )
        ],
        [
            "prod/db -> prod/web 80/TCP deny",
            "prod/db -> ip:203.0.113.5 443/TCP deny",
            "prod/web -> prod/db 5432/TCP allow",
            "ip:203.0.113.5 -> prod/db 5432/TCP allow",
        ],
    ),
    (
        "r1-destination-ingress-blocks-allowed-egress",
        "rule 1: the source's egress allows, the destination's ingress does not: denied",
        [
            netpol(
                "web-out",
                "prod",
                "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\n"
                "egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]",
            ),
            netpol(
                "db-in",
                "prod",
                "podSelector: {matchLabels: {app: db}}\n"
                "ingress: [{from: [{podSelector: {matchLabels: {app: job}}}]}]",
            ),
        ],
        [
            "prod/web -> prod/db 5432/TCP deny",
            "prod/job -> prod/db 5432/TCP allow",
            "prod/web -> prod/job 80/TCP deny",
        ],
    ),
    (
        "r1-both-ends-allow",
        "rule 1: egress of the source and ingress of the destination both allow: allowed",
        [
            netpol(
                "web-out",
                "prod",
                "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\n"
                "egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]",
            ),
            netpol("db-in", "prod", DB_FROM_WEB),
        ],
        ["prod/web -> prod/db 5432/TCP allow", "prod/web -> dev/web 80/TCP deny"],
    ),
    (
        "r1-policy-selects-only-its-own-namespace",
        "rule 1: spec.podSelector selects pods of the policy's namespace only",
        [netpol("deny-all", "dev", "podSelector: {}\ningress: []")],
        [
            "prod/web -> prod/db 5432/TCP allow",
            "prod/web -> dev/web 80/TCP deny",
            "dev/web -> prod/web 80/TCP allow",
        ],
    ),
    # -- rule 2: policyTypes defaulting ---------------------------------------------------
    (
        "r2-default-is-ingress-only",
        "rule 2: no policyTypes and no egress: [Ingress]; egress stays open",
        [netpol("p", "prod", "podSelector: {matchLabels: {app: db}}")],
        ["prod/web -> prod/db 5432/TCP deny", "prod/db -> dev/web 80/TCP allow"],
    ),
    (
        "r2-egress-section-adds-egress",
        "rule 2: an egress rule makes the default [Ingress, Egress]; no ingress rule: deny in",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\n"
                "egress: [{to: [{podSelector: {matchLabels: {app: web}}}]}]",
            )
        ],
        [
            "prod/db -> prod/web 80/TCP allow",
            "prod/db -> dev/web 80/TCP deny",
            "prod/web -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r2-empty-egress-list-adds-nothing",
        "rule 2: `egress: []` does not add Egress (SetDefaults_NetworkPolicy checks len > 0)",
        [netpol("p", "prod", "podSelector: {matchLabels: {app: db}}\negress: []")],
        ["prod/db -> dev/web 80/TCP allow", "prod/web -> prod/db 5432/TCP deny"],
    ),
    (
        "r2-empty-policy-types-list-is-defaulted",
        "rule 2: `policyTypes: []` is defaulted like an absent field",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\npolicyTypes: []\n"
                "egress: [{to: [{podSelector: {matchLabels: {app: web}}}]}]",
            )
        ],
        [
            "prod/db -> prod/web 80/TCP allow",
            "prod/db -> dev/web 80/TCP deny",
            "prod/web -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r2-explicit-egress-only-leaves-ingress-open",
        "rule 2: explicit [Egress] is kept as written; ingress is not isolated",
        [netpol("p", "prod", "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Egress]")],
        ["prod/web -> prod/db 5432/TCP allow", "prod/db -> prod/web 80/TCP deny"],
    ),
    (
        "r2-egress-section-ignored-when-types-ingress",
        "rule 2: policyTypes [Ingress] with an egress section: the egress rules do not count",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Ingress]\n"
                "ingress: [{}]\negress: [{to: [{podSelector: {matchLabels: {app: web}}}]}]",
            )
        ],
        ["prod/db -> dev/web 80/TCP allow", "prod/db -> ip:203.0.113.5 443/TCP allow"],
    ),
    (
        "r2-ingress-section-ignored-when-types-egress",
        "rule 2: policyTypes [Egress] with an ingress section: the ingress rules do not count",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Egress]\n"
                "ingress: [{from: [{podSelector: {matchLabels: {app: job}}}]}]\negress: [{}]",
            )
        ],
        ["prod/web -> prod/db 5432/TCP allow", "dev/web -> prod/db 5432/TCP allow"],
    ),
    (
        "r2-both-types-explicit-empty-rules",
        "rule 2: [Ingress, Egress] with no rules isolates both directions",
        [netpol("p", "prod", "podSelector: {}\npolicyTypes: [Ingress, Egress]")],
        [
            "prod/web -> prod/db 5432/TCP deny",
            "prod/db -> dev/web 80/TCP deny",
            "dev/web -> prod/web 80/TCP deny",
            "dev/web -> dev/tool 9999/SCTP allow",
        ],
    ),
    # -- rule 3: [] vs [{}] vs omitted ----------------------------------------------------
    (
        "r3-ingress-empty-list-denies",
        "rule 3: `ingress: []` allows nothing",
        [netpol("p", "prod", "podSelector: {matchLabels: {app: db}}\ningress: []")],
        [
            "prod/web -> prod/db 5432/TCP deny",
            "dev/web -> prod/db 5432/TCP deny",
            "ip:203.0.113.5 -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r3-ingress-empty-rule-allows-all",
        "rule 3: `ingress: [{}]` allows every source, port and protocol, external ones too",
        [netpol("p", "prod", "podSelector: {matchLabels: {app: db}}\ningress: [{}]")],
        [
            "prod/web -> prod/db 5432/TCP allow",
            "dev/web -> prod/db 12345/UDP allow",
            "ip:203.0.113.5 -> prod/db 1/SCTP allow",
            "ip:2001:db8::5 -> prod/db 65535/TCP allow",
        ],
    ),
    (
        "r3-from-omitted-means-every-source",
        "rule 3: a rule without `from` matches every source (ports still apply)",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{ports: [{port: 5432}]}]",
            )
        ],
        [
            "dev/web -> prod/db 5432/TCP allow",
            "ip:198.51.100.7 -> prod/db 5432/TCP allow",
            "dev/web -> prod/db 80/TCP deny",
        ],
    ),
    (
        "r3-from-empty-list-means-every-source",
        "rule 3: `from: []` is the same as an omitted `from`",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{from: [], ports: [{port: 5432}]}]",
            )
        ],
        ["ip:198.51.100.7 -> prod/db 5432/TCP allow", "dev/web -> prod/db 5433/TCP deny"],
    ),
    (
        "r3-ports-omitted-means-every-port",
        "rule 3: a rule without `ports` opens every port of every protocol",
        [netpol("p", "prod", DB_FROM_WEB)],
        [
            "prod/web -> prod/db 5432/TCP allow",
            "prod/web -> prod/db 53/UDP allow",
            "prod/web -> prod/db 9/SCTP allow",
            "prod/job -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r3-egress-empty-rule-allows-all",
        "rule 3: `egress: [{}]` allows every destination, external addresses included",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Egress]\negress: [{}]",
            )
        ],
        ["prod/db -> ip:203.0.113.5 443/TCP allow", "prod/db -> ops/v6 9090/TCP allow"],
    ),
    (
        "r3-egress-empty-list-denies",
        "rule 3: `policyTypes: [Egress]` with `egress: []` allows no egress at all",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Egress]\negress: []",
            )
        ],
        ["prod/db -> ip:203.0.113.5 443/TCP deny", "prod/db -> prod/web 80/TCP deny"],
    ),
    # -- rule 4: podSelector / namespaceSelector, AND vs OR -------------------------------
    (
        "r4-pod-selector-alone-means-own-namespace",
        "rule 4: a podSelector peer alone selects pods of the policy's namespace",
        [netpol("p", "prod", DB_FROM_WEB)],
        ["prod/web -> prod/db 5432/TCP allow", "dev/web -> prod/db 5432/TCP deny"],
    ),
    (
        "r4-namespace-selector-alone-means-all-pods-there",
        "rule 4: a namespaceSelector alone selects every pod of matching namespaces; the "
        "policy's own namespace is not implied",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\n"
                "ingress: [{from: [{namespaceSelector: {matchLabels: {env: dev}}}]}]",
            )
        ],
        [
            "dev/web -> prod/db 5432/TCP allow",
            "dev/tool -> prod/db 5432/TCP allow",
            "prod/web -> prod/db 5432/TCP deny",
            "ops/v6 -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r4-empty-namespace-selector-means-every-pod",
        "rule 4: `namespaceSelector: {}` selects all pods of all namespaces, but no address",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{namespaceSelector: {}}]}]",
            )
        ],
        [
            "ops/v6 -> prod/db 5432/TCP allow",
            "prod/web -> prod/db 5432/TCP allow",
            "kube-system/coredns-a -> prod/db 5432/TCP allow",
            "ip:203.0.113.5 -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r4-metadata-name-label-selects-a-namespace",
        "rule 4: every namespace carries kubernetes.io/metadata.name=<name>",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{namespaceSelector: "
                "{matchLabels: {kubernetes.io/metadata.name: ops}}}]}]",
            )
        ],
        ["ops/v6 -> prod/db 5432/TCP allow", "dev/web -> prod/db 5432/TCP deny"],
    ),
    (
        "r4-both-selectors-in-one-peer-is-and",
        "rule 4: podSelector and namespaceSelector in one peer: matching pods in matching ns",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress:\n- from:\n"
                "  - namespaceSelector: {matchLabels: {env: dev}}\n"
                "    podSelector: {matchLabels: {app: web}}",
            )
        ],
        [
            "dev/web -> prod/db 5432/TCP allow",
            "dev/tool -> prod/db 5432/TCP deny",
            "prod/web -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r4-separate-peers-are-or",
        "rule 4: two peers in one rule: either may match",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress:\n- from:\n"
                "  - namespaceSelector: {matchLabels: {env: dev}}\n"
                "  - podSelector: {matchLabels: {app: web}}",
            )
        ],
        [
            "dev/web -> prod/db 5432/TCP allow",
            "dev/tool -> prod/db 5432/TCP allow",
            "prod/web -> prod/db 5432/TCP allow",
            "prod/job -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r4-egress-selectors-never-match-addresses",
        "rule 4: to: namespaceSelector {} matches every pod, never an external address",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Egress]\n"
                "egress: [{to: [{namespaceSelector: {}}]}]",
            )
        ],
        ["prod/db -> ops/v6 9090/TCP allow", "prod/db -> ip:203.0.113.5 443/TCP deny"],
    ),
    # -- rule 5: label selectors --------------------------------------------------------
    (
        "r5-in",
        "rule 5: In needs the key present with one of the values",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{podSelector: "
                "{matchExpressions: [{key: app, operator: In, values: [web, job]}]}}]}]",
            )
        ],
        ["prod/web -> prod/db 80/TCP allow", "prod/job -> prod/db 80/TCP allow"],
    ),
    (
        "r5-notin-matches-absent-key",
        "rule 5: NotIn matches a pod without the key (prod/job has no tier label)",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{podSelector: "
                "{matchExpressions: [{key: tier, operator: NotIn, values: [front]}]}}]}]",
            )
        ],
        ["prod/job -> prod/db 80/TCP allow", "prod/web -> prod/db 80/TCP deny"],
    ),
    (
        "r5-exists",
        "rule 5: Exists needs the key, any value",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {}\ningress: [{from: [{podSelector: "
                "{matchExpressions: [{key: tier, operator: Exists}]}}]}]",
            )
        ],
        [
            "prod/web -> prod/db 80/TCP allow",
            "prod/db -> prod/web 80/TCP allow",
            "prod/job -> prod/db 80/TCP deny",
        ],
    ),
    (
        "r5-doesnotexist",
        "rule 5: DoesNotExist matches only pods without the key",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {}\ningress: [{from: [{podSelector: "
                "{matchExpressions: [{key: tier, operator: DoesNotExist}]}}]}]",
            )
        ],
        ["prod/job -> prod/db 80/TCP allow", "prod/web -> prod/db 80/TCP deny"],
    ),
    (
        "r5-notin-on-namespace-labels",
        "rule 5: NotIn on namespaces matches namespaces without the key (ops, kube-system)",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{namespaceSelector: "
                "{matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}}]}]",
            )
        ],
        [
            "ops/v6 -> prod/db 80/TCP allow",
            "dev/web -> prod/db 80/TCP allow",
            "prod/web -> prod/db 80/TCP deny",
        ],
    ),
    (
        "r5-match-labels-and-expressions-are-anded",
        "rule 5: matchLabels and matchExpressions of one selector must all hold",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{podSelector: "
                "{matchLabels: {tier: front}, matchExpressions: "
                "[{key: app, operator: NotIn, values: [web]}]}}]}]",
            )
        ],
        ["prod/web -> prod/db 80/TCP deny", "prod/job -> prod/db 80/TCP deny"],
    ),
    (
        "r5-empty-pod-selector-selects-every-pod-of-namespace",
        "rule 5: `podSelector: {}` as the target selects every pod of the namespace",
        [netpol("p", "prod", "podSelector: {}\ningress: []")],
        [
            "dev/web -> prod/web 80/TCP deny",
            "dev/web -> prod/job 80/TCP deny",
            "prod/web -> dev/web 80/TCP allow",
        ],
    ),
    # -- rule 6: named ports --------------------------------------------------------------
    (
        "r6-named-port-ingress",
        "rule 6: a named port opens the destination's container port of that name",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{ports: [{port: sql}]}]",
            )
        ],
        ["prod/web -> prod/db 5432/TCP allow", "prod/web -> prod/db 5433/TCP deny"],
    ),
    (
        "r6-named-port-resolves-per-destination",
        "rule 6: `http` is 80 on prod/web and 8080 on prod/db",
        [netpol("p", "prod", "podSelector: {}\ningress: [{ports: [{port: http}]}]")],
        [
            "dev/web -> prod/web 80/TCP allow",
            "dev/web -> prod/db 8080/TCP allow",
            "dev/web -> prod/db 80/TCP deny",
            "dev/web -> prod/job 80/TCP deny",
        ],
    ),
    (
        "r6-named-port-egress-resolves-on-destination",
        "rule 6: egress named ports resolve on the destination pod, not the source",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\n"
                "egress: [{ports: [{port: http}]}]",
            )
        ],
        [
            "prod/web -> prod/db 8080/TCP allow",
            "prod/web -> prod/db 80/TCP deny",
            "prod/web -> dev/web 80/TCP allow",
            "prod/web -> ip:203.0.113.5 80/TCP deny",
        ],
    ),
    (
        "r6-name-and-protocol-must-match",
        "rule 6: `udp` is a UDP port; a TCP entry named udp does not resolve",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: web}}\n"
                "ingress: [{from: [{podSelector: {matchLabels: {app: job}}}], ports: [{port: udp}]}, "
                "{from: [{podSelector: {matchLabels: {app: db}}}], "
                "ports: [{port: udp, protocol: UDP}]}]",
            )
        ],
        [
            "prod/job -> prod/web 81/TCP deny",
            "prod/job -> prod/web 81/UDP deny",
            "prod/db -> prod/web 81/UDP allow",
            "prod/db -> prod/web 81/TCP deny",
        ],
    ),
    (
        "r6-unresolved-name-still-isolates",
        "rule 6: a name no container port has opens nothing; the pod stays isolated",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{ports: [{port: nope}]}]",
            )
        ],
        ["prod/web -> prod/db 5432/TCP deny", "prod/web -> prod/db 8080/TCP deny"],
    ),
    # -- rule 7: protocols ------------------------------------------------------------------
    (
        "r7-protocol-defaults-to-tcp",
        "rule 7: a port entry without protocol means TCP",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{ports: [{port: 5432}]}]",
            )
        ],
        ["prod/web -> prod/db 5432/TCP allow", "prod/web -> prod/db 5432/UDP deny"],
    ),
    (
        "r7-protocol-only-entry-covers-every-port",
        "rule 7: `{protocol: UDP}` opens every UDP port and nothing else",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{ports: [{protocol: UDP}]}]",
            )
        ],
        [
            "prod/web -> prod/db 1/UDP allow",
            "prod/web -> prod/db 65535/UDP allow",
            "prod/web -> prod/db 53/TCP deny",
            "prod/web -> prod/db 53/SCTP deny",
        ],
    ),
    (
        "r7-udp-only-policy-still-isolates-tcp",
        "rule 7: opening 53/UDP does not open TCP",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{ports: [{port: 53, protocol: UDP}]}]",
            )
        ],
        [
            "prod/web -> prod/db 53/UDP allow",
            "prod/web -> prod/db 53/TCP deny",
            "prod/web -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r7-sctp",
        "rule 7: SCTP is a protocol of its own",
        [
            netpol(
                "p",
                "dev",
                "podSelector: {matchLabels: {app: tool}}\n"
                "ingress: [{ports: [{port: 9999, protocol: SCTP}]}]",
            )
        ],
        [
            "dev/web -> dev/tool 9999/SCTP allow",
            "dev/web -> dev/tool 9999/TCP deny",
            "dev/web -> dev/tool 9998/SCTP deny",
        ],
    ),
    (
        "r7-named-sctp-port",
        "rule 6+7: a named SCTP port resolves with protocol SCTP",
        [
            netpol(
                "p",
                "dev",
                "podSelector: {matchLabels: {app: tool}}\n"
                "ingress: [{ports: [{port: assoc, protocol: SCTP}]}]",
            )
        ],
        ["dev/web -> dev/tool 9999/SCTP allow", "dev/web -> dev/tool 9999/TCP deny"],
    ),
    # -- rule 8: ipBlock --------------------------------------------------------------------
    (
        "r8-ipblock-matches-pod-ips",
        "rule 8: ipBlock applies to pod addresses too",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\n"
                "ingress: [{from: [{ipBlock: {cidr: 10.0.1.0/24}}]}]",
            )
        ],
        ["prod/web -> prod/db 5432/TCP allow", "dev/web -> prod/db 5432/TCP deny"],
    ),
    (
        "r8-ipblock-matches-external-addresses",
        "rule 8: ipBlock matches addresses outside the cluster",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\n"
                "ingress: [{from: [{ipBlock: {cidr: 203.0.113.0/24}}]}]",
            )
        ],
        [
            "ip:203.0.113.5 -> prod/db 5432/TCP allow",
            "ip:198.51.100.7 -> prod/db 5432/TCP deny",
            "prod/web -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r8-except-carves-out",
        "rule 8: addresses in `except` are not matched",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\n"
                "ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}}]}]",
            )
        ],
        [
            "dev/web -> prod/db 5432/TCP allow",
            "kube-system/coredns-a -> prod/db 5432/TCP allow",
            "prod/web -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r8-egress-to-internet-except-cluster",
        "rule 8: egress to 0.0.0.0/0 except the pod range reaches the internet only",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\n"
                "egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]}]",
            )
        ],
        [
            "prod/web -> ip:203.0.113.5 443/TCP allow",
            "prod/web -> prod/db 5432/TCP deny",
            "prod/web -> ip:2001:db8::5 443/TCP deny",
        ],
    ),
    (
        "r8-ipv6-blocks-match-ipv6-only",
        "rule 8: an IPv6 block matches IPv6 pods and addresses; an IPv4 block never does",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\n"
                "ingress: [{from: [{ipBlock: {cidr: 'fd00::/64'}}, {ipBlock: {cidr: 0.0.0.0/0}}]}]",
            )
        ],
        [
            "ops/v6 -> prod/db 5432/TCP allow",
            "ip:2001:db8::5 -> prod/db 5432/TCP deny",
            "ip:203.0.113.5 -> prod/db 5432/TCP allow",
        ],
    ),
    (
        "r8-ipv6-default-route",
        "rule 8: ::/0 matches every IPv6 address and no IPv4 address",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\n"
                "ingress: [{from: [{ipBlock: {cidr: '::/0', except: ['fd00::/8']}}]}]",
            )
        ],
        [
            "ip:2001:db8::5 -> prod/db 5432/TCP allow",
            "ops/v6 -> prod/db 5432/TCP deny",
            "ip:203.0.113.5 -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r8-host-bits-masked-when-accepted",
        "rule 8: a CIDR with host bits (accepted up to 1.35) means its network",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\n"
                "ingress: [{from: [{ipBlock: {cidr: 10.0.1.5/24}}]}]",
            )
        ],
        ["prod/web -> prod/db 5432/TCP allow", "dev/web -> prod/db 5432/TCP deny"],
    ),
    # -- rule 9: union ------------------------------------------------------------------------
    (
        "r9-union-of-rules-not-cross-product",
        "rule 9: each policy's rule pairs its own peers with its own ports",
        [
            netpol(
                "a",
                "prod",
                "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{podSelector: "
                "{matchLabels: {app: web}}}], ports: [{port: 5432}]}]",
            ),
            netpol(
                "b",
                "prod",
                "podSelector: {matchLabels: {tier: back}}\ningress: [{from: [{namespaceSelector: "
                "{matchLabels: {env: dev}}}], ports: [{port: 8080}]}]",
            ),
        ],
        [
            "prod/web -> prod/db 5432/TCP allow",
            "prod/web -> prod/db 8080/TCP deny",
            "dev/web -> prod/db 8080/TCP allow",
            "dev/web -> prod/db 5432/TCP deny",
        ],
    ),
    (
        "r9-deny-all-cannot-take-away",
        "rule 9: policies only add; a deny-all next to an allow-all allows",
        [
            netpol("deny", "prod", "podSelector: {}\ningress: []"),
            netpol("allow", "prod", "podSelector: {matchLabels: {app: db}}\ningress: [{}]"),
        ],
        ["dev/web -> prod/db 5432/TCP allow", "dev/web -> prod/web 80/TCP deny"],
    ),
    # -- rule 11: endPort ---------------------------------------------------------------------
    (
        "r11-endport-range-is-inclusive",
        "rule 11: port..endPort includes both ends",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: db}}\n"
                "ingress: [{ports: [{port: 8000, endPort: 8010}]}]",
            )
        ],
        [
            "prod/web -> prod/db 8000/TCP allow",
            "prod/web -> prod/db 8005/TCP allow",
            "prod/web -> prod/db 8010/TCP allow",
            "prod/web -> prod/db 7999/TCP deny",
            "prod/web -> prod/db 8011/TCP deny",
            "prod/web -> prod/db 8005/UDP deny",
        ],
    ),
    (
        "r11-endport-udp-egress",
        "rule 11: endPort ranges work for egress and other protocols",
        [
            netpol(
                "p",
                "prod",
                "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\n"
                "egress: [{ports: [{port: 30000, endPort: 30002, protocol: UDP}]}]",
            )
        ],
        [
            "prod/web -> ip:203.0.113.5 30002/UDP allow",
            "prod/web -> ip:203.0.113.5 30003/UDP deny",
            "prod/web -> ip:203.0.113.5 30000/TCP deny",
        ],
    ),
    # -- rule 13: DNS is ordinary egress --------------------------------------------------
    (
        "r13-default-deny-egress-blocks-dns",
        "rule 13: DNS to kube-dns is egress like any other",
        [netpol("deny-egress", "prod", "podSelector: {}\npolicyTypes: [Egress]")],
        [
            "prod/web -> kube-system/coredns-a 53/UDP deny",
            "prod/web -> kube-system/coredns-a 53/TCP deny",
        ],
    ),
    (
        "r13-allow-dns-egress",
        "rule 13: allowing DNS opens 53/UDP and 53/TCP to kube-dns and nothing else",
        [
            netpol("deny-egress", "prod", "podSelector: {}\npolicyTypes: [Egress]"),
            netpol(
                "allow-dns",
                "prod",
                "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n"
                "  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n"
                "    podSelector: {matchLabels: {k8s-app: kube-dns}}\n"
                "  ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]",
            ),
        ],
        [
            "prod/web -> kube-system/coredns-a 53/UDP allow",
            "prod/web -> kube-system/coredns-a 53/TCP allow",
            "prod/web -> kube-system/coredns-a 80/TCP deny",
            "prod/web -> prod/db 53/UDP deny",
            "prod/web -> ip:203.0.113.5 53/UDP deny",
        ],
    ),
    (
        "r13-dns-by-named-ports",
        "rule 6+13: DNS opened by the CoreDNS port names dns (UDP) and dns-tcp (TCP)",
        [
            netpol(
                "allow-dns",
                "prod",
                "podSelector: {}\npolicyTypes: [Egress]\negress:\n"
                "- ports: [{port: dns, protocol: UDP}, {port: dns-tcp}]",
            ),
        ],
        [
            "prod/web -> kube-system/coredns-a 53/UDP allow",
            "prod/web -> kube-system/coredns-a 53/TCP allow",
            "prod/web -> ip:203.0.113.5 53/UDP deny",
        ],
    ),
]


@pytest.mark.parametrize(
    ("why", "policies", "checks"),
    [pytest.param(why, pols, checks, id=rid) for rid, why, pols, checks in ROWS],
)
def test_semantics(why: str, policies: list[str], checks: list[str]) -> None:
    assert why.startswith("rule ")
    assert_checks(world(*policies), checks)


def test_every_rule_has_rows() -> None:
    """Rules 1-9, 11 and 13 have table rows; 10, 12 and 13's Services have tests below."""
    covered = {int(rid.split("-")[0][1:]) for rid, *_ in ROWS}
    assert covered >= {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13}


# -- rule 9: a policy updated under the same name replaces the old one -----------------------
ALLOW_WEB = netpol("db-policy", "prod", DB_FROM_WEB)
ALLOW_JOB = netpol(
    "db-policy",
    "prod",
    "podSelector: {matchLabels: {app: db}}\n"
    "ingress: [{from: [{podSelector: {matchLabels: {app: job}}}]}]",
)


@pytest.mark.parametrize(
    ("order", "checks"),
    [
        pytest.param(
            [ALLOW_WEB, ALLOW_JOB],
            ["prod/job -> prod/db 5432/TCP allow", "prod/web -> prod/db 5432/TCP deny"],
            id="r9-later-replaces-earlier",
        ),
        pytest.param(
            [ALLOW_JOB, ALLOW_WEB],
            ["prod/web -> prod/db 5432/TCP allow", "prod/job -> prod/db 5432/TCP deny"],
            id="r9-order-decides",
        ),
    ],
)
def test_same_name_replaces(order: list[str], checks: list[str]) -> None:
    """Rule 9: a second object with the same namespace/name is an update, not a union."""
    inventory = world(*order)
    assert [p.key for p in inventory.policies] == ["prod/db-policy"]
    assert any("replaces the earlier policy" in w for w in inventory.warnings)
    assert_checks(inventory, checks)


def test_same_name_in_other_namespace_is_another_policy() -> None:
    """Rule 9: names are per namespace; both policies count."""
    other = netpol("db-policy", "dev", "podSelector: {}\ningress: []")
    inventory = world(ALLOW_WEB, other)
    assert [p.key for p in inventory.policies] == ["dev/db-policy", "prod/db-policy"]
    assert_checks(
        inventory, ["prod/web -> prod/db 5432/TCP allow", "prod/web -> dev/web 80/TCP deny"]
    )


# -- rule 10: selection follows current labels --------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "checks_before", "checks_after"),
    [
        pytest.param(
            "metadata: {name: job, namespace: prod, labels: {app: job, team: shop}}",
            "metadata: {name: job, namespace: prod, labels: {app: web}}",
            ["prod/job -> prod/db 5432/TCP deny"],
            ["prod/job -> prod/db 5432/TCP allow"],
            id="r10-source-pod-gains-label",
        ),
        pytest.param(
            "metadata: {name: db, namespace: prod, labels: {app: db, tier: back, team: shop}}",
            "metadata: {name: db, namespace: prod, labels: {app: database, tier: back}}",
            ["prod/job -> prod/db 5432/TCP deny"],
            ["prod/job -> prod/db 5432/TCP allow"],
            id="r10-target-pod-loses-label",
        ),
        pytest.param(
            "metadata: {name: dev, labels: {env: dev}}",
            "metadata: {name: dev, labels: {env: prod}}",
            ["dev/web -> prod/db 5432/TCP allow"],
            ["dev/web -> prod/db 5432/TCP deny"],
            id="r10-namespace-label-changes",
        ),
    ],
)
def test_label_changes(
    old: str, new: str, checks_before: list[str], checks_after: list[str]
) -> None:
    """Rule 10: two inventories, before and after a relabel; selection follows the labels."""
    policy = netpol(
        "p",
        "prod",
        "podSelector: {matchLabels: {app: db}}\ningress:\n"
        "- from: [{podSelector: {matchLabels: {app: web}}}]\n"
        "- from: [{namespaceSelector: {matchLabels: {env: dev}}}]",
    )
    assert WORLD.count(old) == 1
    before = build_inventory(load_text(WORLD + policy))
    after = build_inventory(load_text(WORLD.replace(old, new) + policy))
    assert_checks(before, checks_before)
    assert_checks(after, checks_after)


# -- rule 12: traffic from a pod to itself ---------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "self_traffic", "expected"),
    [
        pytest.param(None, "allow", True, id="r12-no-policy-allow"),
        pytest.param(None, "evaluate", True, id="r12-no-policy-evaluate"),
        pytest.param("ingress: []", "allow", True, id="r12-deny-all-default-allows-self"),
        pytest.param("ingress: []", "evaluate", False, id="r12-deny-all-evaluated-denies-self"),
        pytest.param(
            "policyTypes: [Egress]", "evaluate", False, id="r12-egress-deny-evaluated-denies-self"
        ),
        pytest.param(
            "ingress: [{from: [{podSelector: {matchLabels: {app: db}}}]}]",
            "evaluate",
            True,
            id="r12-evaluated-self-matches-own-selector",
        ),
        pytest.param(
            "ingress: [{from: [{ipBlock: {cidr: 10.0.1.20/32}}]}]",
            "evaluate",
            True,
            id="r12-evaluated-self-matches-own-ip",
        ),
    ],
)
def test_self_traffic(policy: str | None, self_traffic: str, expected: bool) -> None:
    """Rule 12: the sources never assert pod-to-itself; CNIs let it through, so labkit allows
    it by default, and ``self_traffic='evaluate'`` treats it like any other pair."""
    policies = [] if policy is None else [netpol("p", "prod", "podSelector: {}\n" + policy)]
    verdict = "allow" if expected else "deny"
    assert_checks(
        world(*policies), [f"prod/db -> prod/db 5432/TCP {verdict}"], self_traffic=self_traffic
    )


def test_self_traffic_rejects_unknown_mode() -> None:
    with pytest.raises(EvaluationError, match="self_traffic"):
        Engine(world(), self_traffic="sometimes")  # type: ignore[arg-type]


def test_two_external_peers_have_no_verdict() -> None:
    """No policy can speak about traffic between two addresses that are not pods."""
    engine = Engine(world(netpol("p", "prod", "podSelector: {}\npolicyTypes: [Egress]")))
    a, b = engine.endpoint("ip:203.0.113.5"), engine.endpoint("ip:198.51.100.7")
    assert isinstance(a, External) and isinstance(b, External)
    assert engine.connectivity(a, b) is None
    assert engine.allowed(a, b, 80, Protocol.TCP) is None
    matrix = compute_matrix(engine, [a, b])
    assert matrix.cell(0, 1) is None and matrix.allowed(80, Protocol.TCP) == [
        [None, None],
        [None, None],
    ]


def test_pod_ip_resolves_to_the_pod() -> None:
    """An ``ip:`` peer that is a pod's address is that pod (its policies apply)."""
    engine = Engine(world())
    assert engine.endpoint("ip:10.0.1.20") == engine.endpoint("prod/db")
    assert engine.endpoint("10.0.1.20") == engine.endpoint("prod/db")
    assert engine.endpoint("ip:203.0.113.5") == External(ip_address("203.0.113.5"))
    with pytest.raises(UnknownPeer):
        engine.endpoint("ip:not-an-address")
    with pytest.raises(UnknownPeer):
        engine.endpoint("prod/nope")


@pytest.mark.parametrize("protocol", ["udp", "UDP", Protocol.UDP])
def test_protocol_names_are_accepted_in_any_case(protocol: str) -> None:
    engine = Engine(world())
    assert engine.allowed_by_name("prod/web", "prod/db", 53, protocol) is True


@pytest.mark.parametrize(
    ("port", "protocol", "match"),
    [(0, "TCP", "out of range"), (65536, "TCP", "out of range"), (80, "ICMP", "ICMP")],
)
def test_bad_probe_is_an_evaluation_error(port: int, protocol: str, match: str) -> None:
    engine = Engine(world())
    with pytest.raises(EvaluationError, match=match):
        engine.allowed_by_name("prod/web", "prod/db", port, protocol)


# -- rule 13: Services ----------------------------------------------------------------------
SERVICES = """
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: prod}
spec:
  selector: {app: db}
  ports:
  - {name: web, port: 80, targetPort: http}
  - {name: sql, port: 5432}
  - {name: alt, port: 15432, targetPort: 5432}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}, {port: 81, protocol: UDP, targetPort: udp}]
---
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: prod}
spec:
  selector: {team: shop}
  ports: [{port: 80, targetPort: http}, {port: 443, targetPort: 8443}]
---
apiVersion: v1
kind: Service
metadata: {name: wrong-proto, namespace: prod}
spec:
  selector: {app: db}
  ports: [{port: 80, protocol: UDP, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: no-selector, namespace: prod}
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: empty-selector, namespace: prod}
spec:
  selector: {}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: dev}
spec:
  selector: {app: web}
  ports: [{port: 8000, targetPort: http}]
"""


def _services_world() -> Inventory:
    return world(extra=SERVICES)


@pytest.mark.parametrize(
    ("service", "port", "protocol", "expected"),
    [
        pytest.param("prod/db", 80, "TCP", [("prod/db", 8080)], id="r13-named-target-port"),
        pytest.param("prod/db", 5432, "TCP", [("prod/db", 5432)], id="r13-target-defaults-to-port"),
        pytest.param("prod/db", 15432, "TCP", [("prod/db", 5432)], id="r13-numeric-target-port"),
        pytest.param("prod/web", 80, "TCP", [("prod/web", 80)], id="r13-selector-own-namespace"),
        pytest.param("prod/web", 81, "UDP", [("prod/web", 81)], id="r13-named-udp-target"),
        pytest.param(
            "prod/shop",
            80,
            "TCP",
            [("prod/db", 8080), ("prod/web", 80)],
            id="r13-named-target-resolves-per-backend",
        ),
        pytest.param(
            "prod/shop",
            443,
            "TCP",
            [("prod/db", 8443), ("prod/job", 8443), ("prod/web", 8443)],
            id="r13-numeric-target-on-every-backend",
        ),
        pytest.param("prod/wrong-proto", 80, "UDP", [], id="r13-name-needs-matching-protocol"),
        pytest.param("prod/no-selector", 80, "TCP", [], id="r13-no-selector-no-backends"),
        pytest.param("prod/empty-selector", 80, "TCP", [], id="r13-empty-selector-no-backends"),
        pytest.param("dev/web", 8000, "TCP", [("dev/web", 80)], id="r13-other-namespace"),
    ],
)
def test_resolve_service_target(
    service: str, port: int, protocol: str, expected: list[tuple[str, int]]
) -> None:
    """Rule 13: a Service is DNATed to a backend pod (its selector, in its namespace) and the
    target port; a named targetPort resolves on each pod by name and protocol, and a pod on
    which it does not resolve is no endpoint (prod/job has no ``http`` port)."""
    from labkit.engine.services import resolve_service_target

    got = resolve_service_target(_services_world(), service, port, Protocol(protocol))
    assert [(pod.key, number) for pod, number in got] == expected


@pytest.mark.parametrize(
    ("service", "port", "protocol", "error", "match"),
    [
        pytest.param("prod/nope", 80, "TCP", UnknownPeer, "prod/nope", id="unknown-service"),
        pytest.param("prod/db", 81, "TCP", EvaluationError, "81/TCP", id="undeclared-port"),
        pytest.param("prod/db", 80, "UDP", EvaluationError, "80/UDP", id="wrong-protocol"),
    ],
)
def test_resolve_service_target_errors(
    service: str, port: int, protocol: str, error: type[Exception], match: str
) -> None:
    from labkit.engine.services import resolve_service_target

    with pytest.raises(error, match=match):
        resolve_service_target(_services_world(), service, port, Protocol(protocol))


@pytest.mark.parametrize(
    ("policy_port", "expected"),
    [
        pytest.param("8080", True, id="r13-policy-sees-target-port"),
        pytest.param("http", True, id="r13-policy-named-port-on-backend"),
        pytest.param("80", False, id="r13-policy-never-sees-service-port"),
    ],
)
def test_policy_sees_backend_through_service(policy_port: str, expected: bool) -> None:
    """Rule 13: a probe to Service prod/db port 80 is evaluated as prod/db:8080."""
    from labkit.engine.services import resolve_service_target

    policy = netpol(
        "p",
        "prod",
        "podSelector: {matchLabels: {app: db}}\n"
        f"ingress: [{{from: [{{podSelector: {{}}}}], ports: [{{port: {policy_port}}}]}}]",
    )
    inventory = world(policy, extra=SERVICES)
    engine = Engine(inventory)
    targets = resolve_service_target(inventory, "prod/db", 80, Protocol.TCP)
    assert [(p.key, n) for p, n in targets] == [("prod/db", 8080)]
    src = engine.endpoint("prod/web")
    verdicts = {engine.allowed(src, pod, number, Protocol.TCP) for pod, number in targets}
    assert verdicts == {expected}


# -- rules 8 and 11 at validation (depends on labkit.model.validation) ------------------------
@pytest.mark.parametrize(
    ("spec", "version", "valid"),
    [
        pytest.param(
            "ingress: [{from: [{ipBlock: {cidr: 10.0.1.5/24}}]}]",
            "1.35",
            True,
            id="r8-host-bits-1.35",
        ),
        pytest.param(
            "ingress: [{from: [{ipBlock: {cidr: 10.0.1.5/24}}]}]",
            "1.36",
            False,
            id="r8-host-bits-1.36",
        ),
        pytest.param(
            "ingress: [{from: [{ipBlock: {cidr: 10.0.1.0/24}}]}]", "1.36", True, id="r8-masked-1.36"
        ),
        pytest.param(
            "ingress: [{ports: [{port: 8000, endPort: 8010}]}]", "1.36", True, id="r11-endport-ok"
        ),
        pytest.param(
            "ingress: [{ports: [{port: 8000, endPort: 8000}]}]",
            "1.36",
            True,
            id="r11-endport-equal",
        ),
        pytest.param(
            "ingress: [{ports: [{port: 8000, endPort: 7999}]}]",
            "1.36",
            False,
            id="r11-endport-below",
        ),
        pytest.param(
            "ingress: [{ports: [{port: http, endPort: 8080}]}]",
            "1.36",
            False,
            id="r11-endport-named",
        ),
    ],
)
def test_validation_rules(spec: str, version: str, valid: bool) -> None:
    """Rules 8 and 11: what the API server accepts, by version."""
    objects = load_text(netpol("p", "prod", "podSelector: {}\n" + spec))
    if valid:
        check_objects(objects, version)
    else:
        with pytest.raises(ValidationFailed):
            check_objects(objects, version)


# -- PortSet --------------------------------------------------------------------------------
def ps(text: str) -> PortSet:
    return PortSet.parse(text)


@pytest.mark.parametrize(
    ("a", "b", "union", "intersection"),
    [
        pytest.param("TCP 80", "TCP 81", "TCP 80-81", "", id="adjacent-ranges-merge"),
        pytest.param("TCP 80", "TCP 82", "TCP 80,82", "", id="gap-kept"),
        pytest.param("TCP 1-100", "TCP 50-150", "TCP 1-150", "TCP 50-100", id="overlap"),
        pytest.param("TCP 80", "UDP 80", "TCP 80; UDP 80", "", id="protocols-apart"),
        pytest.param("TCP 1-65535", "UDP 53", "TCP 1-65535; UDP 53", "", id="full-tcp"),
        pytest.param("All", "UDP 53", "All", "UDP 53", id="all-absorbs"),
        pytest.param("", "SCTP 9", "SCTP 9", "", id="empty-is-identity"),
        pytest.param("TCP 1-10,20-30", "TCP 5-25", "TCP 1-30", "TCP 5-10,20-25", id="multi-range"),
        pytest.param(
            "TCP 1-65535; UDP 1-65535",
            "SCTP 1-65535",
            "All",
            "",
            id="three-full-protocols-are-all",
        ),
    ],
)
def test_portset_algebra(a: str, b: str, union: str, intersection: str) -> None:
    assert str(ps(a) | ps(b)) == union
    assert str(ps(b) | ps(a)) == union
    assert str(ps(a) & ps(b)) == intersection
    assert str(ps(b) & ps(a)) == intersection


@pytest.mark.parametrize(
    "text",
    ["All", "", "TCP 80", "TCP 80,443,8000-8010; UDP 53; SCTP 1-65535", "UDP 1-65535"],
)
def test_portset_parse_round_trip(text: str) -> None:
    assert str(ps(text)) == text
    assert ps(str(ps(text))) == ps(text)


def test_portset_constants_and_contains() -> None:
    assert str(ALL) == "All" and ALL.is_all and not ALL.is_empty
    assert str(NOTHING) == "" and NOTHING.is_empty and not NOTHING.is_all
    assert PortSet.of(Protocol.TCP) == ps("TCP 1-65535")
    assert PortSet.of(Protocol.UDP, 10, 9).is_empty
    s = ps("TCP 80,90-99; UDP 53")
    assert s.contains(80, Protocol.TCP) and s.contains(99, Protocol.TCP)
    assert not s.contains(81, Protocol.TCP) and not s.contains(80, Protocol.UDP)
    assert s.contains(53, "UDP")  # type: ignore[arg-type]  # a notebook's plain string
    assert not s.contains(53, Protocol.SCTP)
    with pytest.raises(EvaluationError, match="ICMP"):
        s.contains(53, "ICMP")  # type: ignore[arg-type]
