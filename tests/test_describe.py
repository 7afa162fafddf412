"""``kubectl describe networkpolicy`` output: wording, indentation and alignment.

The expected texts follow kubectl's ``describeNetworkPolicy`` (k8s.io/kubectl
pkg/describe/describe.go) line by line: two spaces per level, tabwriter-aligned header,
``metav1.FormatLabelSelector`` for selectors.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from labkit.engine.describe import _tabwrite, describe_policy, format_label_selector
from labkit.model.labels import LabelSelector, Operator, Requirement
from labkit.model.loader import load_paths, load_text
from labkit.model.parse_policy import parse_network_policy
from labkit.model.policy import NetworkPolicy

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def parse(text: str) -> NetworkPolicy:
    (raw,) = load_text(dedent(text))
    return parse_network_policy(raw)


FULL = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-access, namespace: shop}
spec:
  podSelector:
    matchLabels: {tier: db, app: shop}
    matchExpressions:
      - {key: zone, operator: NotIn, values: [b, a]}
      - {key: canary, operator: DoesNotExist}
  policyTypes: [Ingress, Egress]
  ingress:
    - ports: [{port: 5432}, {port: metrics, protocol: TCP}, {protocol: UDP}]
      from:
        - namespaceSelector: {matchLabels: {team: shop}}
          podSelector: {matchLabels: {role: api}}
        - podSelector: {matchExpressions: [{key: role, operator: In, values: [worker, api]}]}
        - namespaceSelector: {matchExpressions: [{key: audit, operator: Exists}]}
        - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.0.0/16]}
        - ipBlock: {cidr: 192.0.2.0/24}
    - {}
  egress:
    - ports: [{port: 32000, endPort: 32768}]
      to:
        - podSelector: {}
    - to:
        - namespaceSelector: {}
"""

FULL_TEXT = """\
Name:         db-access
Namespace:    shop
Labels:       <none>
Annotations:  <none>
Spec:
  PodSelector:     app=shop,!canary,tier=db,zone notin (a,b)
  Allowing ingress traffic:
    To Port: 5432/TCP
    To Port: metrics/TCP
    To Port: <nil>/UDP
    From:
      NamespaceSelector: team=shop
      PodSelector: role=api
    From:
      PodSelector: role in (api,worker)
    From:
      NamespaceSelector: audit
    From:
      IPBlock:
        CIDR: 10.0.0.0/8
        Except: 10.1.0.0/16, 10.2.0.0/16
    From:
      IPBlock:
        CIDR: 192.0.2.0/24
        Except: \n    ----------
    To Port: <any> (traffic allowed to all ports)
    From: <any> (traffic not restricted by source)
  Allowing egress traffic:
    To Port Range: 32000-32768/TCP
    To:
      PodSelector: <none>
    ----------
    To Port: <any> (traffic allowed to all ports)
    To:
      NamespaceSelector: <none>
  Policy Types: Ingress, Egress
"""

DENY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""

DENY_TEXT = """\
Name:         deny
Namespace:    app
Labels:       <none>
Annotations:  <none>
Spec:
  PodSelector:     <none> (Allowing the specific traffic to all pods in this namespace)
  Allowing ingress traffic:
    <none> (Selected pods are isolated for ingress connectivity)
  Not affecting egress traffic
  Policy Types: Ingress
"""

EGRESS_IGNORED = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typed, namespace: app}
spec:
  podSelector: {matchLabels: {role: web}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {}}]}]
  egress: [{to: [{podSelector: {}}]}]
"""

EGRESS_IGNORED_TEXT = """\
Name:         typed
Namespace:    app
Labels:       <none>
Annotations:  <none>
Spec:
  PodSelector:     role=web
  Allowing ingress traffic:
    To Port: <any> (traffic allowed to all ports)
    From:
      PodSelector: <none>
  Not affecting egress traffic
  Policy Types: Ingress
"""

DEFAULTED_EGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: out, namespace: app}
spec:
  podSelector: {matchLabels: {role: web}}
  egress: []
"""

DEFAULTED_EGRESS_RULES = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: out, namespace: app}
spec:
  podSelector: {matchLabels: {role: web}}
  egress: [{ports: [{port: 53, protocol: UDP}]}]
"""

DEFAULTED_EGRESS_RULES_TEXT = """\
Name:         out
Namespace:    app
Labels:       <none>
Annotations:  <none>
Spec:
  PodSelector:     role=web
  Allowing ingress traffic:
    <none> (Selected pods are isolated for ingress connectivity)
  Allowing egress traffic:
    To Port: 53/UDP
    To: <any> (traffic not restricted by destination)
  Policy Types: Ingress, Egress
"""


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        pytest.param(FULL, FULL_TEXT, id="every-kind-of-peer-and-port"),
        pytest.param(DENY, DENY_TEXT, id="default-deny"),
        pytest.param(EGRESS_IGNORED, EGRESS_IGNORED_TEXT, id="egress-section-not-in-types"),
        pytest.param(
            DEFAULTED_EGRESS_RULES,
            DEFAULTED_EGRESS_RULES_TEXT,
            id="defaulted-types-with-egress-rules",
        ),
    ],
)
def test_describe(manifest: str, expected: str) -> None:
    assert describe_policy(parse(manifest)) == expected


def test_defaulted_types_with_empty_egress_is_ingress_only() -> None:
    text = describe_policy(parse(DEFAULTED_EGRESS))
    assert "  Not affecting egress traffic\n" in text
    assert text.endswith("  Policy Types: Ingress\n")


def test_header_with_created_on_labels_and_annotations() -> None:
    long_value = "x" * 150
    text = describe_policy(
        parse(DENY),
        created_on="2026-07-01 10:00:00 +0000 UTC",
        labels={"team": "a", "app": "web"},
        annotations={
            "owner": "me",
            "note": "line one\nline two\n",
            "long": long_value,
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
    )
    head = text.split("Spec:\n")[0]
    assert head == (
        "Name:         deny\n"
        "Namespace:    app\n"
        "Created on:   2026-07-01 10:00:00 +0000 UTC\n"
        "Labels:       app=web\n"
        "              team=a\n"
        "Annotations:  long:\n"
        f"                {'x' * 138}...\n"
        "              note:\n"
        "                line one\n"
        "                line two\n"
        "              owner: me\n"
    )


def test_empty_annotations_after_skipping_last_applied() -> None:
    text = describe_policy(
        parse(DENY), annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}"}
    )
    assert "Annotations:  <none>\n" in text


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (LabelSelector(), "<none>"),
        (LabelSelector((("z", "1"), ("a", "2"))), "a=2,z=1"),
        (
            LabelSelector(
                (("z", "1"),),
                (
                    Requirement("a", Operator.IN, frozenset({"y", "x"})),
                    Requirement("m", Operator.EXISTS),
                ),
            ),
            "a in (x,y),m,z=1",
        ),
        (LabelSelector((), (Requirement("k", Operator.DOES_NOT_EXIST),)), "!k"),
    ],
)
def test_format_label_selector(selector: LabelSelector, expected: str) -> None:
    assert format_label_selector(selector) == expected


def test_tabwriter_aligns_each_block_of_lines_separately() -> None:
    text = "a:\t1\nlonger:\t2\nbreak\nx:\ty\tz\nxx:\tyy\t\n"
    assert _tabwrite(text) == "a:       1\nlonger:  2\nbreak\nx:   y   z\nxx:  yy  \n"


def test_tutorial_policy() -> None:
    policies = {
        p.name: p
        for p in (parse_network_policy(raw) for raw in load_paths([FIXTURES / "tutorial-policies"]))
    }
    assert describe_policy(policies["production-policy"]) == (
        "Name:         production-policy\n"
        "Namespace:    my-segment\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "Spec:\n"
        "  PodSelector:     role=critical-app\n"
        "  Allowing ingress traffic:\n"
        "    To Port: <any> (traffic allowed to all ports)\n"
        "    From:\n"
        "      NamespaceSelector: name=trusted\n"
        "  Allowing egress traffic:\n"
        "    To Port: <any> (traffic allowed to all ports)\n"
        "    To:\n"
        "      IPBlock:\n"
        "        CIDR: 192.168.2.0/24\n"
        "        Except: \n"
        "  Policy Types: Ingress, Egress\n"
    )
