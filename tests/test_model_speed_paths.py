"""The model's fast paths answer exactly as the general code does.

Validation and inventory building take shortcuts for the common case: values of the expected
type are used without the decoding helpers, label keys, label values and port names already
found valid are remembered, addresses, CIDRs and ports are parsed once and shared. These rows
hold the shortcuts to the general answer: the same findings whether a value is seen for the
first time or again, under every version, and at the edges where a shortcut stops applying.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from ipaddress import ip_address
from typing import Any

import pytest

from labkit.model import policy, workloads
from labkit.model.inventory import build_inventory
from labkit.model.loader import RawObject
from labkit.model.policy import parse_address
from labkit.model.validation import labels, names, validate_objects
from labkit.model.validation.version import KubeVersion

VERSIONS = ("1.20", "1.25", "1.35", "1.36")


@pytest.fixture
def cold() -> Iterator[None]:
    """Forget every value remembered as valid, before and after the test."""

    def forget() -> None:
        labels._VALID_KEYS.clear()
        labels._VALID_VALUES.clear()
        names._VALID_PORT_NAMES.clear()
        policy._ADDRESSES.clear()
        workloads._PORTS.clear()

    forget()
    yield
    forget()


def _pod(labels_: Any = None, ports: Any = None, **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "i"}
    if ports is not None:
        container["ports"] = ports
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns", "labels": labels_ or {}},
        "spec": {"containers": [container], **spec},
    }


def _messages(data: dict[str, Any], version: str) -> list[str]:
    errors, warnings = validate_objects([RawObject(data, "f.yaml")], kubernetes_version=version)
    return [f"{issue.severity} {issue.message} | {issue.hint}" for issue in errors + warnings]


LABEL_ROWS = [
    {"app": "web"},
    {"app": "a" * 63},
    {"app": "a" * 64},
    {"app": "é" * 32},  # 32 characters, 64 bytes
    {"app": "-web"},
    {"app": ""},
    {"a" * 63: "x"},
    {"a" * 64: "x"},
    {"example.com/app": "x"},
    {"Example.com/app": "x"},
    {"/app": "x"},
    {"a/b/c": "x"},
    {"x" * 250 + ".io/app": "x"},
    {"app": "web", "tier": "web "},
]


@pytest.mark.usefixtures("cold")
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("pod_labels", LABEL_ROWS)
def test_labels_report_the_same_whether_seen_before_or_not(
    pod_labels: dict[str, str], version: str
) -> None:
    first = _messages(_pod(pod_labels), version)
    again = _messages(_pod(pod_labels), version)
    for other in VERSIONS:  # remembered under another version: still this version's messages
        _messages(_pod(pod_labels), other)
    assert _messages(_pod(pod_labels), version) == again == first


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("web", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("é", False),
        ("", True),
        ("a_b.c-d", True),
        ("a b", False),
    ],
)
@pytest.mark.usefixtures("cold")
def test_label_values_answer_the_same_the_second_time(value: str, valid: bool) -> None:
    """Only valid values are remembered: an invalid one is refused again, every time."""
    version = KubeVersion(1, 36)
    first = labels.is_label_value(value, version)
    assert (not first) is valid
    assert labels.is_label_value(value, version) == first


PORT_ROWS: list[tuple[list[Any], list[str]]] = [
    ([{"name": "http", "containerPort": 80}], []),
    ([{"name": "http", "containerPort": 0}], ["[0].containerPort Required value"]),
    ([{"name": "http", "containerPort": -1}], ["[0].containerPort Invalid value"]),
    ([{"name": "http", "containerPort": 65536}], ["[0].containerPort Invalid value"]),
    ([{"containerPort": 80, "hostPort": 0}], []),
    ([{"containerPort": 80, "hostPort": 70000}], ["[0].hostPort Invalid value"]),
    ([{"containerPort": 80, "hostPort": -3}], ["[0].hostPort Invalid value"]),
    ([{"containerPort": 80, "protocol": "tcp"}], ["[0].protocol Unsupported value"]),
    ([{"containerPort": 80, "protocol": ""}], []),  # defaulted to TCP
    (
        [{"name": "web", "containerPort": 80}, {"name": "web", "containerPort": 81}],
        ["[1].name Duplicate value"],
    ),
    (
        [{"name": "Web", "containerPort": 80}, {"name": "Web", "containerPort": 81}],
        ["[0].name Invalid value", "[1].name Invalid value"],
    ),
    ([{"name": "80", "containerPort": 80}], ["[0].name Invalid value"]),
    ([{"name": "a--b", "containerPort": 80}], ["[0].name Invalid value"]),
    ([{"name": "a" * 16, "containerPort": 80}], ["[0].name Invalid value"]),
    ([{"name": "", "containerPort": 80}, {"name": "", "containerPort": 81}], []),
    ([{"containerPort": True}], ["[0].containerPort Invalid value"]),
    ([{"containerPort": 80.0}], []),
    ([{"containerPort": 2**31}], ["[0].containerPort Invalid value"]),
    ([{"containerPort": "80"}], ["[0].containerPort Invalid value"]),
    ([{"name": 7, "containerPort": 80}], ["[0].name Invalid value"]),
    ([{True: 1, "containerPort": 80}], ["[0].true Unknown field"]),
    (
        [{"containerport": 80}],
        ["[0].containerport Unknown field", "[0].containerPort Required value"],
    ),
    ([None], ["[0].containerPort Required value"]),
    (["80"], ["[0] Invalid value"]),
]


@pytest.mark.usefixtures("cold")
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("ports", "expected"), PORT_ROWS)
def test_container_ports_report_the_same_whether_seen_before_or_not(
    ports: list[Any], expected: list[str], version: str
) -> None:
    data = _pod(ports=ports)
    first = _messages(data, version)
    assert _messages(data, version) == first
    errors, _ = validate_objects([RawObject(data, "f.yaml")], kubernetes_version=version)
    prefix = "spec.containers[0].ports"
    assert [f"{i.field.removeprefix(prefix)} {i.type}" for i in errors] == expected


@pytest.mark.usefixtures("cold")
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "expression",
    [
        {"key": "app", "operator": "In", "values": ["a"]},
        {"key": "app", "operator": "In", "values": []},
        {"key": "app", "operator": "In"},
        {"key": "app", "operator": "Exists"},
        {"key": "app", "operator": "Exists", "values": ["a"]},
        {"key": "app", "operator": "exists"},
        {"key": "app", "operator": "NotIn", "values": ["a b"]},
        {"key": "a/b/c", "operator": "Exists"},
        {"key": "app", "operator": 1},
        {"key": None, "operator": "Exists"},
        {"key": "app", "operator": "In", "values": [1, "a"]},
        {"key": "app", "operator": "In", "values": "a"},
        {"Key": "app", "operator": "Exists"},
    ],
)
def test_selectors_report_the_same_whether_seen_before_or_not(
    expression: dict[str, Any], version: str
) -> None:
    policy_obj = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "a"}, "matchExpressions": [expression]},
            "ingress": [{"from": [{"namespaceSelector": {"matchExpressions": [expression]}}]}],
        },
    }
    first = _messages(policy_obj, version)
    assert _messages(policy_obj, version) == first


@pytest.mark.parametrize(
    "text",
    ["10.0.0.1", " 10.0.0.1 ", "255.255.255.255", "0.0.0.0", "2001:db8::1", "::ffff:10.0.0.1"],
)
def test_parse_address_reads_addresses_as_ipaddress_does(text: str) -> None:
    assert parse_address(text) == ip_address(text.strip())
    assert parse_address(text) == ip_address(text.strip())  # and again, remembered


@pytest.mark.parametrize("text", ["010.0.0.1", "256.0.0.1", "10.0.0", "10.0.0.1/32", "", "x"])
def test_parse_address_refuses_what_ipaddress_refuses(text: str) -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="is not an IP address"):
            parse_address(text)


@pytest.mark.usefixtures("cold")
def test_pods_with_the_same_ports_share_equal_ports_and_bad_ones_still_fail() -> None:
    good = [RawObject(_pod(ports=[{"name": "http", "containerPort": 80}]), "f.yaml")]
    first = build_inventory(good).pods[0].ports
    assert build_inventory(good).pods[0].ports == first
    nameless = [RawObject(_pod(ports=[{"name": None, "containerPort": 80}]), "f.yaml")]
    assert build_inventory(nameless).pods[0].ports[0].name == ""
    bad = [RawObject(_pod(ports=[{"name": "http", "containerPort": 80, "protocol": "tcp"}]), "f")]
    with pytest.raises(Exception, match="unsupported value 'tcp'"):
        build_inventory(bad)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (KubeVersion(1, 20), KubeVersion(1, 36), (True, True, False, False)),
        (KubeVersion(1, 36), KubeVersion(1, 36), (False, True, False, True)),
        (KubeVersion(1, 36), KubeVersion(1, 9), (False, False, True, True)),
        (KubeVersion(2, 0), KubeVersion(1, 99), (False, False, True, True)),
    ],
)
def test_versions_order_by_major_then_minor(
    a: KubeVersion, b: KubeVersion, expected: tuple[bool, bool, bool, bool]
) -> None:
    assert (a < b, a <= b, a > b, a >= b) == expected


def test_versions_do_not_order_against_other_types() -> None:
    with pytest.raises(TypeError):
        assert KubeVersion(1, 36) < (1, 37)  # type: ignore[operator]


def test_a_yaml_date_is_still_read_as_text() -> None:
    """Dates are checked after the common JSON types, with :mod:`datetime` imported then."""
    import datetime

    data = _pod({"app": "x"})
    data["metadata"]["labels"]["since"] = datetime.date(2024, 1, 31)
    assert _messages(data, "1.36") == []
    data["metadata"]["name"] = datetime.date(2024, 1, 31)
    assert _messages(data, "1.36") == []


def test_validation_imports_no_module_it_only_needs_for_rare_input() -> None:
    """difflib (unknown-field suggestions) and datetime (YAML dates) load only when needed."""
    code = (
        "import sys, labkit.model.loader\n"
        "before = set(sys.modules)\n"
        "import labkit.model.inventory, labkit.model.validation\n"
        "print(sorted({'difflib', 'datetime', 'hashlib'} & (set(sys.modules) - before)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_pods_sharing_an_address_are_named_pairwise_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def pod(name: str) -> RawObject:
        data = _pod()
        data["metadata"]["name"] = name
        data["status"] = {"podIP": "10.0.0.7"}
        return RawObject(data, "f.yaml")

    with caplog.at_level("WARNING", logger="labkit.model.inventory"):
        build_inventory([pod("a"), pod("b"), pod("c")])
    assert [r.getMessage() for r in caplog.records] == [
        "pods ns/a and ns/b share address 10.0.0.7",
        "pods ns/b and ns/c share address 10.0.0.7",
    ]
