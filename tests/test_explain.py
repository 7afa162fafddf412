"""Explanations: the verdict is always the engine's, and the evidence says why in words."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from conformance_data import case_manifests, netpol_cases, require_shared
from goldens import check_golden

from labkit.engine.evaluator import Engine
from labkit.engine.explain import Explanation, explain, explain_by_name
from labkit.engine.explain.render import to_dict, to_html, to_text
from labkit.model.inventory import Inventory, build_inventory
from labkit.model.loader import RawObject, load_paths, load_text
from labkit.model.ports import Protocol

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CASES = netpol_cases()

WORLD = """
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: trusted}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app, labels: {role: web}}
spec:
  containers:
    - name: c
      image: agnhost
      ports: [{name: http, containerPort: 80}, {name: metrics, containerPort: 9090, protocol: UDP}]
status: {podIP: 10.1.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: app, labels: {role: db}}
spec:
  containers:
    - {name: c, image: agnhost, ports: [{name: postgres, containerPort: 5432}]}
status: {podIP: 10.1.0.11}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: trusted, labels: {app: client}}
spec: {containers: [{name: c, image: agnhost}]}
status: {podIP: 10.2.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: bare, namespace: other}
spec: {containers: [{name: c, image: agnhost}]}
status: {podIP: 10.3.0.10}
"""


def world(policies: str = "", **engine_args: Any) -> Engine:
    text = WORLD + ("---\n" + dedent(policies) if policies.strip() else "")
    return Engine(build_inventory(load_text(text)), **engine_args)


def policy(name: str, spec: str, namespace: str = "app") -> str:
    body = "\n".join("  " + line for line in dedent(spec).strip().splitlines())
    return (
        f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}\n"
    )


def all_text(expl: Explanation) -> str:
    return to_text(expl)


# -- the verdict is the engine's, on every conformance tuple ---------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
@pytest.mark.parametrize("self_traffic", ["allow", "evaluate"])
def test_verdict_equals_engine_on_conformance_case(case: dict[str, Any], self_traffic: str) -> None:
    require_shared()
    raws = [RawObject(obj, case["id"]) for obj in case_manifests(case)]
    engine = Engine(build_inventory(raws), self_traffic=self_traffic)  # type: ignore[arg-type]
    checked = 0
    for bucket in ("allowed", "denied", "ignored"):
        for src_name, dst_name, port, proto in case["expected"].get(bucket, []):
            src, dst = engine.endpoint(src_name), engine.endpoint(dst_name)
            expl = explain(engine, src, dst, port, Protocol(proto))
            verdict = engine.allowed(src, dst, port, Protocol(proto))
            assert expl.allowed is verdict
            if bucket != "ignored":
                assert verdict is (bucket == "allowed")
            checked += 1
            if verdict is None:
                assert not expl.egress.exists and not expl.ingress.exists
                continue
            if not expl.self_traffic:
                assert (expl.egress.allowed and expl.ingress.allowed) is verdict
            for side in expl.sides:
                if side.isolated and side.allowed:
                    assert side.allowed_by, side
                if side.isolated and not side.allowed:
                    assert not side.allowed_by
                    assert side.misses or side.empty_policies
                if not side.isolated:
                    assert side.allowed and not side.rules
    assert checked > 0


# -- evidence, one row per kind of miss -------------------------------------------------------

INGRESS_FROM_NAME_TRUSTED = policy(
    "from-trusted",
    """
podSelector: {matchLabels: {role: db}}
ingress:
  - from: [{namespaceSelector: {matchLabels: {name: trusted}}}]
""",
)
DB_443_ONLY = policy(
    "db-443",
    """
podSelector: {matchLabels: {role: db}}
policyTypes: [Ingress]
ingress:
  - ports: [{port: 443}]
""",
)
DB_NAMED_HTTP = policy(
    "db-http",
    """
podSelector: {matchLabels: {role: db}}
ingress:
  - ports: [{port: http}]
""",
)
WEB_METRICS_TCP = policy(
    "web-metrics",
    """
podSelector: {matchLabels: {role: web}}
ingress:
  - ports: [{port: metrics, protocol: TCP}]
""",
)
DB_DNS_UDP = policy(
    "db-udp",
    """
podSelector: {matchLabels: {role: db}}
ingress:
  - ports: [{port: 53, protocol: UDP}]
""",
)
DB_FROM_BLOCK = policy(
    "db-block",
    """
podSelector: {matchLabels: {role: db}}
ingress:
  - from: [{ipBlock: {cidr: 10.2.0.0/16, except: [10.2.0.0/24]}}]
""",
)
DB_FROM_WEBROLE = policy(
    "db-from-web",
    """
podSelector: {matchLabels: {role: db}}
ingress:
  - from: [{podSelector: {matchLabels: {role: frontend}}}]
""",
)
DB_FROM_APP_CLIENT = policy(
    "db-from-client",
    """
podSelector: {matchLabels: {role: db}}
ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
""",
)
DB_FROM_TEAM_IN = policy(
    "db-from-team",
    """
podSelector: {matchLabels: {role: db}}
ingress:
  - from:
      - namespaceSelector:
          matchExpressions: [{key: team, operator: In, values: [a, b]}]
        podSelector:
          matchExpressions: [{key: app, operator: DoesNotExist}]
""",
)
DENY_ALL_INGRESS = policy(
    "deny-all",
    """
podSelector: {}
policyTypes: [Ingress]
""",
)
WEB_EGRESS_NOWHERE = policy(
    "web-egress",
    """
podSelector: {matchLabels: {role: web}}
policyTypes: [Egress]
egress:
  - to: [{podSelector: {matchLabels: {role: db}}}]
    ports: [{port: 5432}]
""",
)
INGRESS_ONLY_WITH_EGRESS = policy(
    "typed-ingress",
    """
podSelector: {matchLabels: {role: web}}
policyTypes: [Ingress]
ingress: [{}]
egress:
  - to: [{ipBlock: {cidr: 192.0.2.0/24}}]
""",
)
EGRESS_NAMED_TO_ADDRESS = policy(
    "web-out",
    """
podSelector: {matchLabels: {role: web}}
policyTypes: [Egress]
egress:
  - ports: [{port: http}]
""",
)

DB_FROM_TWO = policy(
    "db-two",
    """
podSelector: {matchLabels: {role: db}}
ingress:
  - from:
      - podSelector: {matchLabels: {role: frontend}}
      - ipBlock: {cidr: 192.0.2.0/24}
""",
)

MISS_ROWS = [
    pytest.param(
        INGRESS_FROM_NAME_TRUSTED,
        "trusted/client",
        "app/db",
        5432,
        "TCP",
        "ingress",
        [
            "policy from-trusted selects app/db but its only peer needs namespace label "
            "name=trusted, and namespace trusted has only kubernetes.io/metadata.name=trusted",
            "hint: no namespace carries label name; every namespace carries "
            "kubernetes.io/metadata.name=<its name>, so select kubernetes.io/metadata.name=trusted",
        ],
        id="namespace-label-the-tutorial-mistake",
    ),
    pytest.param(
        DB_443_ONLY,
        "app/web",
        "app/db",
        80,
        "TCP",
        "ingress",
        ["rule allows TCP 443 only; you probed 80/TCP"],
        id="port-miss",
    ),
    pytest.param(
        DB_NAMED_HTTP,
        "app/web",
        "app/db",
        80,
        "TCP",
        "ingress",
        [
            "port name 'http' is not a container port of app/db with protocol TCP",
            "TCP port named 'http' (not declared on app/db)",
        ],
        id="named-port-not-declared",
    ),
    pytest.param(
        WEB_METRICS_TCP,
        "app/db",
        "app/web",
        9090,
        "TCP",
        "ingress",
        [
            "port name 'metrics' is not a container port of app/web with protocol TCP "
            "(it is declared there with protocol UDP)"
        ],
        id="named-port-other-protocol",
    ),
    pytest.param(
        DB_DNS_UDP,
        "app/web",
        "app/db",
        53,
        "TCP",
        "ingress",
        [
            "rule allows UDP 53 only; you probed 53/TCP",
            "protocol differs: the rule opens 53/UDP, you probed 53/TCP",
        ],
        id="protocol-miss",
    ),
    pytest.param(
        DB_FROM_BLOCK,
        "trusted/client",
        "app/db",
        5432,
        "TCP",
        "ingress",
        [
            "10.2.0.10 (pod trusted/client) is inside 10.2.0.0/16 but carved out by except "
            "10.2.0.0/24"
        ],
        id="ipblock-except",
    ),
    pytest.param(
        DB_FROM_BLOCK,
        "ip:192.0.2.1",
        "app/db",
        5432,
        "TCP",
        "ingress",
        ["192.0.2.1 is outside 10.2.0.0/16"],
        id="ipblock-outside",
    ),
    pytest.param(
        DB_FROM_BLOCK,
        "ip:2001:db8::1",
        "app/db",
        5432,
        "TCP",
        "ingress",
        ["2001:db8::1 is IPv6; the block is IPv4"],
        id="ipblock-family",
    ),
    pytest.param(
        DB_FROM_WEBROLE,
        "app/web",
        "app/db",
        5432,
        "TCP",
        "ingress",
        ["its only peer needs pod label role=frontend, but pod app/web has role=web"],
        id="pod-label-value",
    ),
    pytest.param(
        DB_FROM_TWO,
        "app/web",
        "app/db",
        5432,
        "TCP",
        "ingress",
        [
            "none of the 2 peers of ingress[0] matches: [0] needs pod label role=frontend, but "
            "pod app/web has role=web; [1] 10.1.0.10 (pod app/web) is outside 192.0.2.0/24"
        ],
        id="several-peers",
    ),
    pytest.param(
        DB_FROM_WEBROLE,
        "ip:192.0.2.1",
        "app/db",
        5432,
        "TCP",
        "ingress",
        ["ip:192.0.2.1 is not a pod: podSelector and namespaceSelector match pods only"],
        id="selector-against-address",
    ),
    pytest.param(
        DB_FROM_APP_CLIENT,
        "trusted/client",
        "app/db",
        5432,
        "TCP",
        "ingress",
        [
            "a podSelector without namespaceSelector means pods in the policy's own namespace "
            "app; trusted/client is in namespace trusted"
        ],
        id="podselector-alone-is-own-namespace",
    ),
    pytest.param(
        DB_FROM_APP_CLIENT,
        "other/bare",
        "app/db",
        5432,
        "TCP",
        "ingress",
        ["needs pod label app=client, and pod other/bare has no labels"],
        id="pod-without-labels",
    ),
    pytest.param(
        DB_FROM_TEAM_IN,
        "trusted/client",
        "app/db",
        5432,
        "TCP",
        "ingress",
        [
            "its only peer needs namespace label team in (a,b), and namespace trusted has only "
            "kubernetes.io/metadata.name=trusted; it also needs pod without label app, but pod "
            "trusted/client has app=client"
        ],
        id="expressions",
    ),
    pytest.param(
        WEB_EGRESS_NOWHERE,
        "app/web",
        "trusted/client",
        80,
        "TCP",
        "egress",
        [
            "a podSelector without namespaceSelector means pods in the policy's own namespace app",
            "needs pod label role=db, and pod trusted/client has only app=client",
            "rule allows TCP 5432 only; you probed 80/TCP",
        ],
        id="egress-both-miss",
    ),
    pytest.param(
        EGRESS_NAMED_TO_ADDRESS,
        "app/web",
        "ip:192.0.2.7",
        80,
        "TCP",
        "egress",
        [
            "port name 'http' cannot match ip:192.0.2.7: names resolve on the destination pod's "
            "container ports"
        ],
        id="named-port-to-address",
    ),
]


@pytest.mark.parametrize(("policies", "src", "dst", "port", "proto", "side", "phrases"), MISS_ROWS)
def test_denied_traffic_names_the_miss(
    policies: str, src: str, dst: str, port: int, proto: str, side: str, phrases: list[str]
) -> None:
    engine = world(policies)
    expl = explain_by_name(engine, src, dst, port, proto)
    assert expl.allowed is False
    assert engine.allowed_by_name(src, dst, port, proto) is False
    chosen = expl.ingress if side == "ingress" else expl.egress
    assert chosen.isolated and not chosen.allowed
    text = to_text(expl)
    for phrase in phrases:
        assert phrase in text


def test_misses_are_ordered_closest_first() -> None:
    two_rules = policy(
        "two",
        """
    podSelector: {matchLabels: {role: db}}
    ingress:
      - from: [{podSelector: {matchLabels: {role: nobody}}}]
        ports: [{port: 1}]
      - from: [{podSelector: {matchLabels: {role: web}}}]
        ports: [{port: 443}]
    """,
    )
    expl = explain_by_name(world(two_rules), "app/web", "app/db", 80)
    assert [(r.index, r.distance) for r in expl.ingress.misses] == [(1, 1), (0, 2)]


def test_allowed_evidence_names_policy_rule_and_peer() -> None:
    rules = policy(
        "db-in",
        """
    podSelector: {matchLabels: {role: db}}
    ingress:
      - from: [{podSelector: {matchLabels: {role: nobody}}}]
      - from:
          - podSelector: {matchLabels: {role: nobody}}
          - podSelector: {matchLabels: {role: web}}
        ports: [{port: postgres}]
    """,
    )
    expl = explain_by_name(world(rules), "app/web", "app/db", 5432)
    assert expl.allowed is True
    (rule,) = expl.ingress.allowed_by
    assert (rule.policy, rule.index, rule.matched_peer) == ("app/db-in", 1, 1)
    assert rule.ref == "app/db-in ingress[1] from[1]"
    assert "TCP port named 'postgres' (5432 on app/db)" in rule.ports.text
    assert expl.ingress.isolating == ("app/db-in",)
    assert not expl.egress.isolated


def test_ipblock_match_on_a_pod_says_it_is_a_pod() -> None:
    expl = explain_by_name(world(DB_FROM_BLOCK), "ip:10.2.1.5", "app/db", 5432)
    assert expl.allowed is True
    expl = explain_by_name(
        world(policy("b", "podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 10.2.0.0/16}}]}]")),
        "trusted/client",
        "app/db",
        5432,
    )
    assert expl.allowed is True
    assert "ipBlock matches pod addresses too: 10.2.0.10 is the address of pod trusted/client" in (
        to_text(expl)
    )


def test_side_without_policy_is_not_isolated() -> None:
    expl = explain_by_name(world(DB_FROM_WEBROLE), "app/web", "app/db", 5432)
    assert not expl.egress.isolated and expl.egress.allowed
    assert "not isolated: no policy in namespace app selects app/web with Egress" in (
        expl.egress.summary
    )
    notes = [n.text for n in expl.ingress.not_isolating]
    assert notes == []  # the only policy of app selects the destination


def test_policies_that_do_not_select_are_listed_with_the_label_they_need() -> None:
    expl = explain_by_name(world(DB_FROM_WEBROLE), "app/db", "app/web", 80)
    (note,) = expl.ingress.not_isolating
    assert note.text == (
        "app/db-from-web does not select app/web: its podSelector needs pod label role=db, "
        "but pod app/web has role=web"
    )


def test_policy_types_without_the_direction_is_noted() -> None:
    expl = explain_by_name(world(INGRESS_ONLY_WITH_EGRESS), "app/web", "ip:198.51.100.1", 80)
    assert expl.allowed is True
    (note,) = expl.egress.not_isolating
    assert "policyTypes [Ingress] do not include Egress" in note.text
    assert "its spec.egress rules are ignored" in note.text


def test_policy_without_rules_isolates_and_allows_nothing() -> None:
    expl = explain_by_name(world(DENY_ALL_INGRESS), "app/web", "app/db", 5432)
    assert expl.allowed is False
    assert expl.ingress.empty_policies == ("app/deny-all",)
    assert "app/deny-all has no ingress rules: it isolates the pod and allows nothing" in (
        to_text(expl)
    )


def test_self_traffic_is_allowed_by_default_and_evaluated_on_request() -> None:
    expl = explain_by_name(world(DENY_ALL_INGRESS), "app/db", "app/db", 5432)
    assert expl.allowed is True and expl.self_traffic
    assert "allowed by default" in expl.summary
    assert expl.notes == ("evaluated like traffic between two pods, the policies would deny it",)
    strict = explain_by_name(
        world(DENY_ALL_INGRESS, self_traffic="evaluate"), "app/db", "app/db", 5432
    )
    assert strict.allowed is False and not strict.self_traffic


def test_address_endpoints_have_no_side() -> None:
    engine = world(DB_FROM_BLOCK)
    expl = explain_by_name(engine, "ip:10.2.1.5", "app/db", 5432)
    assert not expl.egress.exists
    assert expl.egress.summary == (
        "ip:10.2.1.5 is not a pod, so it has no egress side; only the ingress side of the "
        "destination decides"
    )
    both = explain_by_name(engine, "ip:10.2.1.5", "ip:192.0.2.1", 80)
    assert (
        both.allowed is None
        and engine.allowed_by_name("ip:10.2.1.5", "ip:192.0.2.1", 80, "TCP") is None
    )
    assert both.verdict == "NOT GOVERNED BY POLICY"
    assert "NetworkPolicy only governs traffic to or from pods" in both.summary


def test_dns_denied_by_egress_gets_a_note() -> None:
    expl = explain_by_name(world(WEB_EGRESS_NOWHERE), "app/web", "ip:192.0.2.53", 53, "udp")
    assert expl.allowed is False and expl.protocol is Protocol.UDP
    assert any("port 53 is DNS" in n for n in expl.notes)


def test_renderers() -> None:
    expl = explain_by_name(world(INGRESS_FROM_NAME_TRUSTED), "trusted/client", "app/db", 5432)
    assert str(expl) == to_text(expl)
    assert expl._repr_html_() == to_html(expl)
    data = to_dict(expl)
    assert json.loads(json.dumps(data)) == data
    assert data["allowed"] is False and data["verdict"] == "DENIED"
    assert data["ingress"]["isolating_policies"] == ["app/from-trusted"]
    (miss,) = data["ingress"]["misses"]
    assert miss["peers"][0]["hints"]
    html = to_html(expl)
    assert "&lt;its name&gt;" in html and "<its name>" not in html
    assert html.startswith('<div class="labkit-explanation">')


# -- goldens from the tutorial fixtures -------------------------------------------------------


def fixture_inventory(policies: str) -> Inventory:
    return build_inventory(load_paths([FIXTURES / "topology", FIXTURES / policies]))


GOLDEN_CASES = [
    (
        "tutorial-policies",
        "untrusted/client",
        "my-segment/frontend",
        "80/TCP",
        "tutorial-ipblock-holds-a-pod",
    ),
    (
        "tutorial-policies",
        "trusted/client",
        "my-segment/critical-app",
        "443/TCP",
        "tutorial-namespace-label-name",
    ),
    (
        "tutorial-policies",
        "my-segment/frontend",
        "my-segment/database",
        "5432/TCP",
        "tutorial-frontend-to-database",
    ),
    (
        "tutorial-policies",
        "my-segment/backend",
        "my-segment/database",
        "5432/TCP",
        "tutorial-backend-to-database",
    ),
    (
        "tutorial-policies",
        "my-segment/database",
        "kube-system/coredns-0",
        "53/UDP",
        "tutorial-dns-cut",
    ),
    (
        "tutorial-policies",
        "ip:10.0.0.5",
        "my-segment/backend",
        "8080/TCP",
        "tutorial-external-to-backend",
    ),
    (
        "tutorial-policies",
        "my-segment/critical-app",
        "trusted/client",
        "80/TCP",
        "tutorial-egress-ipblock-holds-a-pod",
    ),
    ("tutorial-policies", "my-segment/frontend", "my-segment/frontend", "80/TCP", "tutorial-self"),
    ("tutorial-policies", "ip:10.0.0.5", "ip:203.0.113.5", "80/TCP", "tutorial-two-addresses"),
    (
        "lab-policies",
        "my-segment/frontend",
        "my-segment/backend",
        "8080/TCP",
        "lab-named-port-allowed",
    ),
    (
        "lab-policies",
        "my-segment/backend",
        "my-segment/database",
        "5432/TCP",
        "lab-named-port-typo",
    ),
    (
        "lab-policies",
        "my-segment/frontend",
        "my-segment/database",
        "5432/TCP",
        "lab-both-sides-deny",
    ),
    ("lab-policies", "trusted/client", "my-segment/critical-app", "443/TCP", "lab-trusted-allowed"),
    (
        "lab-policies",
        "trusted/client",
        "my-segment/critical-app",
        "8443/TCP",
        "lab-port-and-scope-miss",
    ),
    (
        "lab-policies",
        "untrusted/client",
        "my-segment/critical-app",
        "443/TCP",
        "lab-untrusted-denied",
    ),
    ("lab-policies", "trusted/client", "my-segment/critical-app", "443/UDP", "lab-protocol-miss"),
    ("lab-policies", "ip:203.0.113.200", "my-segment/frontend", "80/TCP", "lab-except"),
    ("lab-policies", "ip:203.0.113.5", "my-segment/frontend", "80/TCP", "lab-external-allowed"),
    ("lab-policies", "my-segment/backend", "kube-system/coredns-0", "53/UDP", "lab-dns-allowed"),
    (
        "lab-policies",
        "my-segment/database",
        "ip:203.0.113.5",
        "443/TCP",
        "lab-egress-to-address-denied",
    ),
]


@pytest.mark.parametrize(
    ("policies", "src", "dst", "probe", "name"), GOLDEN_CASES, ids=[c[-1] for c in GOLDEN_CASES]
)
def test_golden_explanation(
    policies: str, src: str, dst: str, probe: str, name: str, update_goldens: bool
) -> None:
    port_text, _, proto = probe.partition("/")
    engine = Engine(fixture_inventory(policies))
    expl = explain_by_name(engine, src, dst, int(port_text), proto)
    assert expl.allowed is engine.allowed_by_name(src, dst, int(port_text), proto)
    check_golden(f"explain/{name}.txt", to_text(expl), update_goldens)


# -- the command --------------------------------------------------------------------------------


def _run_cli(argv: list[str]) -> int:
    """``labkit explain`` as a user runs it: the real loading and validation path."""
    from labkit.cli.main import main

    return main(argv)


TUTORIAL_ARGS = ["-f", str(FIXTURES / "topology"), "-f", str(FIXTURES / "tutorial-policies")]


def test_cli_explain_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "explain",
        *TUTORIAL_ARGS,
        "--from",
        "trusted/client",
        "--to",
        "my-segment/critical-app",
        "--port",
        "443",
    ]
    assert _run_cli(args) == 0
    out = capsys.readouterr().out
    engine = Engine(fixture_inventory("tutorial-policies"))
    assert out == to_text(explain_by_name(engine, "trusted/client", "my-segment/critical-app", 443))
    assert _run_cli([*args, "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["allowed"] is False and data["protocol"] == "TCP"
    allowed = [
        "explain",
        *TUTORIAL_ARGS,
        "--from",
        "my-segment/frontend",
        "--to",
        "my-segment/database",
        "--port",
        "5432/tcp",
    ]
    assert _run_cli(allowed) == 0
    assert "ALLOWED" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--from", "nope/pod", "--to", "my-segment/database", "--port", "80"], "nope/pod"),
        (
            ["--from", "my-segment/frontend", "--to", "my-segment/database", "--port", "http"],
            "--port",
        ),
        (
            ["--from", "my-segment/frontend", "--to", "my-segment/database", "--port", "80/ICMP"],
            "--port",
        ),
    ],
)
def test_cli_explain_errors_exit_1(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run_cli(["explain", *TUTORIAL_ARGS, *extra]) == 1
    assert message in capsys.readouterr().err


def test_isolated_side_lists_a_policy_that_would_allow_if_it_selected_the_pod() -> None:
    typo = policy(
        "web-to-db",
        """
    podSelector: {matchLabels: {role: database}}
    ingress:
      - from: [{podSelector: {matchLabels: {role: web}}}]
    """,
    )
    expl = explain_by_name(world(DENY_ALL_INGRESS + "---\n" + typo), "app/web", "app/db", 5432)
    assert expl.allowed is False
    assert [n.text for n in expl.ingress.not_isolating] == [
        "app/web-to-db does not select app/db: its podSelector needs pod label role=database, "
        "but pod app/db has role=db; its ingress[0] would allow this traffic"
    ]
    unrelated = explain_by_name(
        world(DENY_ALL_INGRESS + "---\n" + typo), "trusted/client", "app/db", 5432
    )
    assert unrelated.ingress.not_isolating == ()


@pytest.mark.parametrize("output", ["text", "json"])
def test_cli_explain_invalid_manifest_exits_1(
    output: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from labkit.cli.main import main

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        policy("bad", "podSelector: {}\ningress: [{ports: [{port: 80, protocol: ICMP}]}]"),
        encoding="utf-8",
    )
    argv = [
        "explain",
        *TUTORIAL_ARGS,
        "-f",
        str(bad),
        "--from",
        "trusted/client",
        "--to",
        "my-segment/frontend",
        "--port",
        "80",
        "-o",
        output,
    ]
    assert main(argv) == 1
    captured = capsys.readouterr()
    if output == "json":
        assert json.loads(captured.out)["valid"] is False
    else:
        assert "protocol" in captured.err
