"""The audit: one row per check, its severities, its silence where the policy is fine."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest
from goldens import check_golden

from labkit.engine.audit import CODES, Finding, at_or_above, audit
from labkit.engine.audit.model import AuditContext
from labkit.engine.audit.render import summary_line, to_dict, to_text
from labkit.engine.audit.shadow import representative_addresses
from labkit.model.inventory import Inventory, build_inventory
from labkit.model.loader import load_paths, load_text

FIXTURES = Path(__file__).resolve().parent / "fixtures"

WORLD = """
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Namespace
metadata: {name: trusted}
---
apiVersion: v1
kind: Namespace
metadata: {name: empty}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app, labels: {role: web}}
spec:
  containers: [{name: c, image: agnhost, ports: [{name: http, containerPort: 80}]}]
status: {podIP: 10.1.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: app, labels: {role: db}}
spec:
  containers: [{name: c, image: agnhost, ports: [{name: postgres, containerPort: 5432}]}]
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
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  containers:
    - name: c
      image: coredns
      ports: [{name: dns, containerPort: 53, protocol: UDP}]
status: {podIP: 10.0.0.2}
"""

DENY_APP = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns, namespace: app}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
          podSelector: {matchLabels: {k8s-app: kube-dns}}
      ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
"""


def policy(name: str, spec: str, namespace: str = "app") -> str:
    body = "\n".join("  " + line for line in dedent(spec).strip().splitlines())
    return (
        f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}\n"
    )


def inventory(*docs: str, base: str = WORLD) -> Inventory:
    text = "\n---\n".join([base, *(dedent(d) for d in docs)])
    return build_inventory(load_text(text))


def findings_of(code: str, *docs: str, base: str = WORLD) -> list[Finding]:
    return [f for f in audit(inventory(*docs, base=base)) if f.code == code]


# -- rows: (code, policies, expected severity / None for "no finding", object, phrase) --------

ROWS = [
    pytest.param(
        "namespace-label-unknown",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: db}}
        ingress: [{from: [{namespaceSelector: {matchLabels: {name: trusted}}}]}]
        """,
            )
        ],
        "high",
        "NetworkPolicy app/p",
        "select kubernetes.io/metadata.name: trusted instead; the API server sets that label on "
        "every namespace (namespace trusted exists)",
        id="namespace-label-name-the-tutorial-mistake",
    ),
    pytest.param(
        "namespace-label-unknown",
        [
            policy(
                "p",
                """
        podSelector: {}
        ingress:
          - from: [{namespaceSelector: {matchExpressions: [{key: env, operator: NotIn,
                                                            values: [prod]}]}}]
        """,
            )
        ],
        None,
        "",
        "",
        id="notin-on-an-absent-key-matches-so-no-finding",
    ),
    pytest.param(
        "peer-matches-nothing",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: db}}
        ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]
        """,
            )
        ],
        "medium",
        "NetworkPolicy app/p",
        "namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: trusted}}",
        id="podselector-alone-meant-another-namespace",
    ),
    pytest.param(
        "peer-matches-nothing",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: db}}
        ingress:
          - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: nowhere}}}]
        """,
            )
        ],
        "medium",
        "NetworkPolicy app/p",
        "namespaceSelector kubernetes.io/metadata.name=nowhere matches no namespace",
        id="namespace-selector-matches-no-namespace",
    ),
    pytest.param(
        "peer-matches-nothing",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: db}}
        ingress: [{from: [{podSelector: {matchLabels: {tier: cache}}}]}]
        """,
            )
        ],
        "medium",
        "NetworkPolicy app/p",
        "no pod carries label tier",
        id="pod-label-nobody-carries",
    ),
    pytest.param(
        "peer-matches-nothing",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: db}}
        ingress:
          - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: empty}}}]
        """,
            )
        ],
        "low",
        "NetworkPolicy app/p",
        "namespace empty holds no pods yet",
        id="namespace-without-pods",
    ),
    pytest.param(
        "peer-matches-nothing",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: db}}
        ingress: [{from: [{ipBlock: {cidr: 203.0.113.0/24}}]}]
        """,
            )
        ],
        None,
        "",
        "",
        id="ipblock-for-outside-traffic-is-not-flagged",
    ),
    pytest.param(
        "policy-selects-nothing",
        [policy("p", "podSelector: {matchLabels: {role: cache}}\ningress: [{}]")],
        "medium",
        "NetworkPolicy app/p",
        "pods there carry role=db, web",
        id="selects-nothing",
    ),
    pytest.param(
        "policy-selects-nothing",
        [policy("p", "podSelector: {matchLabels: {app: client}}\ningress: [{}]")],
        "medium",
        "NetworkPolicy app/p",
        "matching pods live in trusted, but a policy only selects pods of its own namespace",
        id="selects-pods-of-another-namespace",
    ),
    pytest.param(
        "policy-selects-nothing",
        [policy("p", "podSelector: {}\npolicyTypes: [Ingress]", namespace="empty")],
        "low",
        "NetworkPolicy empty/p",
        "it has no pods yet",
        id="namespace-without-pods",
    ),
    pytest.param(
        "rule-allows-all",
        [policy("p", "podSelector: {matchLabels: {role: db}}\ningress: [{}]")],
        "medium",
        "NetworkPolicy app/p",
        "every source (any pod of any namespace and any address",
        id="ingress-allow-all",
    ),
    pytest.param(
        "rule-allows-all",
        [policy("p", "podSelector: {}\npolicyTypes: [Egress]\negress: [{}]")],
        "low",
        "NetworkPolicy app/p",
        "every destination",
        id="egress-allow-all",
    ),
    pytest.param(
        "rule-any-peer",
        [policy("p", "podSelector: {matchLabels: {role: web}}\ningress: [{ports: [{port: 80}]}]")],
        "low",
        "NetworkPolicy app/p",
        "on 80/TCP",
        id="any-peer-on-a-port",
    ),
    pytest.param(
        "peer-all-namespaces",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: web}}
        ingress: [{from: [{namespaceSelector: {}}]}]
        """,
            )
        ],
        "low",
        "NetworkPolicy app/p",
        "every pod of the cluster matches",
        id="all-namespaces",
    ),
    pytest.param(
        "broad-ipblock",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: db}}
        ingress:
          - from: [{podSelector: {matchLabels: {role: web}}}]
          - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
        """,
            )
        ],
        "medium",
        "NetworkPolicy app/p",
        "the pod/namespace selectors of this policy's ingress rules add nothing",
        id="broad-next-to-selectors",
    ),
    pytest.param(
        "broad-ipblock",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: db}}
        ingress: [{from: [{ipBlock: {cidr: 8.0.0.0/5}}]}]
        """,
            )
        ],
        "low",
        "NetworkPolicy app/p",
        "matches 4 of the 4 known pods",
        id="broad-alone",
    ),
    pytest.param(
        "broad-ipblock",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: db}}
        ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]}]
        """,
            )
        ],
        "info",
        "NetworkPolicy app/p",
        "with the known pods carved out",
        id="broad-outside-only",
    ),
    pytest.param(
        "ipblock-matches-pods",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: db}}
        ingress: [{from: [{ipBlock: {cidr: 10.2.0.0/24}}]}]
        """,
            )
        ],
        "medium",
        "NetworkPolicy app/p",
        "ipBlock 10.2.0.0/24 contains the address of trusted/client",
        id="block-holds-a-pod",
    ),
    pytest.param(
        "named-port-unresolved",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: db}}
        ingress: [{ports: [{port: postgresql}]}]
        """,
            )
        ],
        "medium",
        "NetworkPolicy app/p",
        "use a name from the pods' containers[].ports[].name (postgres)",
        id="ingress-typo",
    ),
    pytest.param(
        "named-port-unresolved",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: web}}
        policyTypes: [Egress]
        egress: [{to: [{podSelector: {matchLabels: {role: db}}}], ports: [{port: http}]}]
        """,
            )
        ],
        "medium",
        "NetworkPolicy app/p",
        "port name 'http' (TCP) is not a container port of any destination pod of this rule "
        "(app/db)",
        id="egress-name-on-the-wrong-destination",
    ),
    pytest.param(
        "named-port-unresolved",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: web}}
        ingress: [{ports: [{port: http}]}]
        """,
            )
        ],
        None,
        "",
        "",
        id="declared-name-is-fine",
    ),
    pytest.param(
        "egress-rules-ignored",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: web}}
        policyTypes: [Ingress]
        ingress: [{from: [{podSelector: {}}]}]
        egress: [{to: [{podSelector: {}}]}]
        """,
            )
        ],
        "medium",
        "NetworkPolicy app/p",
        "policyTypes is [Ingress]: the rules are stored and never applied",
        id="egress-ignored",
    ),
    pytest.param(
        "ingress-rules-ignored",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: web}}
        policyTypes: [Egress]
        ingress: [{from: [{podSelector: {}}]}]
        """,
            )
        ],
        "medium",
        "NetworkPolicy app/p",
        "spec.ingress has 1 rule",
        id="ingress-ignored",
    ),
    pytest.param(
        "policy-types-defaulted",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: web}}
        egress: [{to: [{podSelector: {}}]}]
        """,
            )
        ],
        "medium",
        "NetworkPolicy app/p",
        "also isolates app/web for ingress",
        id="egress-only-without-types-denies-ingress",
    ),
    pytest.param(
        "policy-types-defaulted",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: web}}
        ingress: [{from: [{podSelector: {}}]}]
        egress: [{to: [{podSelector: {}}]}]
        """,
            )
        ],
        "low",
        "NetworkPolicy app/p",
        "sets [Ingress, Egress]",
        id="both-without-types",
    ),
    pytest.param(
        "policy-types-defaulted",
        [policy("p", "podSelector: {matchLabels: {role: web}}\ningress: [{}]")],
        "info",
        "NetworkPolicy app/p",
        "the API server sets [Ingress]",
        id="ingress-default",
    ),
    pytest.param(
        "policy-types-defaulted",
        [policy("p", "podSelector: {}\npolicyTypes: [Ingress]")],
        None,
        "",
        "",
        id="explicit-types",
    ),
    pytest.param(
        "egress-without-dns",
        [policy("p", "podSelector: {matchLabels: {role: web}}\npolicyTypes: [Egress]")],
        "high",
        "Namespace app",
        "app/web is egress-isolated (by app/p) and no egress rule "
        "allows UDP 53 to the cluster DNS pods (kube-system/coredns)",
        id="dns-cut",
    ),
    pytest.param(
        "egress-without-dns",
        [DENY_APP],
        None,
        "",
        "",
        id="dns-allowed",
    ),
    pytest.param(
        "egress-without-dns",
        [
            policy(
                "p",
                """
        podSelector: {matchLabels: {role: web}}
        policyTypes: [Egress]
        egress: [{to: [{podSelector: {matchLabels: {k8s-app: kube-dns}}}],
                  ports: [{port: 53, protocol: UDP}]}]
        """,
            )
        ],
        "high",
        "Namespace app",
        "app/web",
        id="dns-rule-without-namespace-selector-misses",
    ),
    pytest.param(
        "policy-shadowed",
        [
            policy(
                "wide",
                "podSelector: {matchLabels: {role: db}}\n"
                "ingress: [{from: [{podSelector: {matchLabels: {role: web}}}]}]",
            ),
            policy(
                "narrow",
                "podSelector: {matchLabels: {role: db}}\n"
                "ingress: [{from: [{podSelector: {matchLabels: {role: web}}}], "
                "ports: [{port: 5432}]}]",
            ),
        ],
        "low",
        "NetworkPolicy app/narrow",
        "already allowed by the other policies that select the same pods (app/wide)",
        id="narrow-inside-wide",
    ),
    pytest.param(
        "policy-shadowed",
        [
            policy("deny", "podSelector: {}\npolicyTypes: [Ingress]"),
            policy("allow", "podSelector: {}\ningress: [{}]"),
        ],
        None,
        "",
        "",
        id="default-deny-is-never-shadowed",
    ),
    pytest.param(
        "policy-shadowed",
        [
            policy(
                "small",
                "podSelector: {matchLabels: {role: db}}\n"
                "ingress: [{from: [{ipBlock: {cidr: 198.51.100.0/25}}]}]",
            ),
            policy(
                "big",
                "podSelector: {matchLabels: {role: db}}\n"
                "ingress: [{from: [{ipBlock: {cidr: 198.51.100.0/24, "
                "except: [198.51.100.64/26]}}]}]",
            ),
        ],
        None,
        "",
        "",
        id="except-carves-a-hole-in-the-wider-block",
    ),
]


@pytest.mark.parametrize(("code", "docs", "severity", "obj", "phrase"), ROWS)
def test_check(code: str, docs: list[str], severity: str | None, obj: str, phrase: str) -> None:
    found = findings_of(code, *docs)
    if severity is None:
        assert found == []
        return
    assert [f.severity for f in found] == [severity], found
    (finding,) = found
    assert finding.object == obj
    assert phrase in f"{finding.message} fix: {finding.fix}"
    assert finding.code in CODES


def test_shadowing_is_computed_over_address_intervals() -> None:
    small = policy(
        "small",
        "podSelector: {matchLabels: {role: db}}\n"
        "ingress: [{from: [{ipBlock: {cidr: 198.51.100.0/26}}]}]",
    )
    big = policy(
        "big",
        "podSelector: {matchLabels: {role: db}}\n"
        "ingress: [{from: [{ipBlock: {cidr: 198.51.100.0/24, "
        "except: [198.51.100.64/26]}}]}]",
    )
    found = findings_of("policy-shadowed", small, big)
    assert [f.object for f in found] == ["NetworkPolicy app/small"]
    reps = {str(e.ip) for e in representative_addresses(AuditContext(inventory(small, big)))}
    # interval starts: the blocks' first addresses and the addresses just past their ends
    assert {"198.51.100.0", "198.51.100.64", "198.51.100.128", "198.51.101.0"} <= reps


def test_policy_that_allows_nothing_is_reported_as_such_when_shadowed() -> None:
    typo = policy(
        "typo",
        "podSelector: {matchLabels: {role: db}}\npolicyTypes: [Ingress]\n"
        "ingress: [{ports: [{port: postgresql}]}]",
    )
    (finding,) = findings_of("policy-shadowed", DENY_APP, typo)
    assert finding.message.startswith("this policy allows nothing today")


def test_default_deny_findings_by_namespace_kind() -> None:
    found = {(f.code, f.object): f.severity for f in audit(inventory())}
    assert found[("missing-default-deny-ingress", "Namespace app")] == "medium"
    assert found[("missing-default-deny-egress", "Namespace app")] == "low"
    assert found[("missing-default-deny-ingress", "Namespace empty")] == "low"
    assert found[("missing-default-deny-egress", "Namespace empty")] == "info"
    assert found[("missing-default-deny-ingress", "Namespace kube-system")] == "info"
    with_deny = {(f.code, f.object) for f in audit(inventory(DENY_APP))}
    assert ("missing-default-deny-ingress", "Namespace app") not in with_deny
    assert ("missing-default-deny-egress", "Namespace app") not in with_deny


def test_unmarked_namespaces_are_unmanaged_once_the_lab_marks_its_own() -> None:
    marked = WORLD.replace(
        "metadata: {name: app}", "metadata: {name: app, labels: {labkit.dev/managed: 'true'}}"
    )
    found = {(f.code, f.object): f.severity for f in audit(inventory(base=marked))}
    assert found[("missing-default-deny-ingress", "Namespace app")] == "medium"
    assert found[("missing-default-deny-ingress", "Namespace trusted")] == "info"


def test_findings_are_sorted_and_deterministic() -> None:
    docs = [
        policy("p", "podSelector: {matchLabels: {role: cache}}\ningress: [{}]"),
        policy("q", "podSelector: {matchLabels: {role: web}}\npolicyTypes: [Egress]"),
    ]
    first = audit(inventory(*docs))
    assert first == audit(inventory(*reversed(docs)))
    assert first == sorted(first, key=Finding.sort_key)
    ranks = [("high", "medium", "low", "info").index(f.severity) for f in first]
    assert ranks == sorted(ranks)


def test_at_or_above() -> None:
    findings = [Finding(s, "c", "o", "m", "f") for s in ("info", "low", "medium", "high")]
    assert [f.severity for f in at_or_above(findings, "medium")] == ["medium", "high"]
    assert [f.severity for f in at_or_above(findings, "high")] == ["high"]
    with pytest.raises(ValueError, match="severity 'urgent'"):
        at_or_above(findings, "urgent")


def test_renderers() -> None:
    findings = audit(inventory())
    data = to_dict(findings)
    assert json.loads(json.dumps(data)) == data
    assert sum(data["counts"].values()) == len(findings)
    text = to_text(findings)
    assert text.endswith(summary_line(findings) + "\n")
    assert summary_line([]) == "no findings"
    assert to_text([]) == "no findings\n"


# -- goldens from the fixtures -----------------------------------------------------------------


@pytest.mark.parametrize("policies", ["tutorial-policies", "lab-policies"])
def test_golden_audit(policies: str, update_goldens: bool) -> None:
    inv = build_inventory(load_paths([FIXTURES / "topology", FIXTURES / policies]))
    name = policies.removesuffix("-policies")
    check_golden(f"audit/{name}.txt", to_text(audit(inv)), update_goldens)


# -- the command --------------------------------------------------------------------------------

TUTORIAL_ARGS = ["-f", str(FIXTURES / "topology"), "-f", str(FIXTURES / "tutorial-policies")]


def _run(argv: list[str]) -> int:
    """``labkit audit`` as a user runs it: the real loading and validation path."""
    from labkit.cli.main import main

    return main(argv)


def _loaded(files: list[str]) -> Inventory:
    """What the CLI builds from ``-f files`` (:func:`labkit.cli.common.load`)."""
    import argparse

    from labkit.cli.common import DEFAULT_KUBERNETES_VERSION, load

    return load(
        argparse.Namespace(
            files=files, pod_cidr=None, kubernetes_version=DEFAULT_KUBERNETES_VERSION
        )
    )


@pytest.mark.parametrize(("fail_on", "status"), [(None, 0), ("high", 2), ("medium", 2), ("low", 2)])
def test_cli_audit_exit_status(
    fail_on: str | None, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["audit", *TUTORIAL_ARGS] + (["--fail-on", fail_on] if fail_on else [])
    assert _run(argv) == status
    inv = _loaded([TUTORIAL_ARGS[1], TUTORIAL_ARGS[3]])
    assert capsys.readouterr().out == to_text(audit(inv))


def test_cli_audit_fail_on_not_met(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    manifest = tmp_path / "ns.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n", encoding="utf-8"
    )
    assert _run(["audit", "-f", str(manifest), "--fail-on", "low"]) == 0
    capsys.readouterr()
    assert _run(["audit", "-f", str(manifest), "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {f["severity"] for f in data["findings"]} == {"info"}


def test_cli_audit_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    from labkit.cli.main import main

    assert main(["audit", *TUTORIAL_ARGS, "-o", "json", "--fail-on", "high"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["counts"]["high"] == 2


# -- shadowing: the class-based check equals the plain definition ------------------------------


def shadowed_by_definition(inv: Inventory) -> set[str]:
    """Policies whose removal changes no side of any selected pod towards any peer."""
    from dataclasses import replace

    from labkit.engine.evaluator import Engine
    from labkit.model.policy import Direction

    ctx = AuditContext(inv)
    peers = [*inv.pods, *representative_addresses(ctx)]
    found = set()
    for pol in inv.policies:
        selected = ctx.selected(pol)
        if not selected or not any(pol.rules(d) for d in pol.policy_types):
            continue
        without = Engine(replace(inv, policies=tuple(p for p in inv.policies if p is not pol)))
        same = all(
            ctx.engine.side(*pair, d) == without.side(*pair, d)
            for d in pol.policy_types
            for pod in selected
            for peer in peers
            for pair in [((peer, pod) if d is Direction.INGRESS else (pod, peer))]
        )
        if same:
            found.add(f"NetworkPolicy {pol.key}")
    return found


def _shadow_inventories() -> list[tuple[str, Inventory]]:
    from conformance_data import case_manifests, netpol_cases

    from labkit.model.loader import RawObject

    out = [
        (name, build_inventory(load_paths([FIXTURES / "topology", FIXTURES / name])))
        for name in ("tutorial-policies", "lab-policies")
    ]
    for case in netpol_cases():
        raws = [RawObject(obj, case["id"]) for obj in case_manifests(case)]
        out.append((case["id"], build_inventory(raws)))
    for param in ROWS:
        code, docs = param.values[0], param.values[1]
        if code == "policy-shadowed":
            out.append((str(param.id), inventory(*docs)))  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize(
    ("name", "inv"), _shadow_inventories(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_shadowing_equals_the_definition(name: str, inv: Inventory) -> None:
    fast = {f.object for f in audit(inv) if f.code == "policy-shadowed"}
    assert fast == shadowed_by_definition(inv)


@pytest.mark.parametrize(
    ("name", "inv"), _shadow_inventories(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_pod_lookup_equals_peer_matches(name: str, inv: Inventory) -> None:
    from labkit.engine.compiled import peer_matches
    from labkit.engine.pod_lookup import PodLookup

    ctx = AuditContext(inv)
    lookup = PodLookup(inv.pods, ctx.engine.namespace_labels)
    for pol in inv.policies:
        assert lookup.selected(pol) == [
            p
            for p in inv.pods
            if p.namespace == pol.namespace and pol.pod_selector.matches(p.label_map)
        ]
        for rule in (*pol.ingress, *pol.egress):
            for peer in rule.peers:
                want = [
                    p.key
                    for p in inv.pods
                    if peer_matches(peer, p, pol.namespace, ctx.engine.namespace_labels)
                ]
                assert sorted(p.key for p in lookup.matching(peer, pol.namespace)) == sorted(want)


def test_a_port_name_on_an_init_container_resolves_as_calico_maps_it() -> None:
    """Calico maps init container ports into the workload endpoint (``appendEndpointPorts``
    over ``pod.Spec.InitContainers``), so a policy's named port resolves there: no finding."""
    text = dedent(
        """
        apiVersion: v1
        kind: Namespace
        metadata: {name: app}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: db, namespace: app, labels: {role: db}}
        spec:
          initContainers:
          - {name: warm, image: x, ports: [{name: warmup, containerPort: 7000}]}
          containers:
          - {name: db, image: x}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: p, namespace: app}
        spec:
          podSelector: {matchLabels: {role: db}}
          ingress: [{ports: [{port: warmup}]}]
        """
    )
    findings = audit(build_inventory(load_text(text)))
    assert "named-port-unresolved" not in {f.code for f in findings}
