"""``labkit get networkpolicy -o json`` gives back an object that applies as the same policy."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from labkit.cli.render_objects import policy_json, table
from labkit.model.loader import RawObject
from labkit.model.parse_policy import parse_network_policy

SPECS: list[dict[str, Any]] = [
    {
        "podSelector": {"matchLabels": {"role": "critical-app"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"name": "trusted"}}}]}],
        "egress": [{"to": [{"ipBlock": {"cidr": "192.168.2.0/24"}}]}],
    },
    {"podSelector": {}},
    {
        "podSelector": {
            "matchExpressions": [
                {"key": "tier", "operator": "NotIn", "values": ["b", "a"]},
                {"key": "x", "operator": "Exists"},
            ]
        },
        "egress": [
            {
                "ports": [
                    {"port": 53, "protocol": "UDP"},
                    {"port": "http"},
                    {"port": 8000, "endPort": 8080},
                ]
            }
        ],
    },
    {
        "podSelector": {},
        "ingress": [
            {},
            {
                "from": [
                    {"podSelector": {}, "namespaceSelector": {"matchLabels": {"a": "b"}}},
                    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                ]
            },
        ],
    },
]


@pytest.mark.parametrize("spec", SPECS)
def test_policy_json_round_trips(spec: dict[str, Any]) -> None:
    raw = RawObject(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": spec,
        },
        "t",
    )
    policy = parse_network_policy(raw)
    again = parse_network_policy(RawObject(policy_json(policy), "t"))
    strip = {"source": "", "policy_types_defaulted": False}
    assert dataclasses.replace(again, **strip) == dataclasses.replace(policy, **strip)


def test_table_aligns_columns() -> None:
    assert table(["NAME", "IP"], [["a", "1.2.3.4"], ["long-name", "-"]]).splitlines() == [
        "NAME        IP",
        "a           1.2.3.4",
        "long-name   -",
    ]
