"""One parametrised row per validation rule, with the API server's exact message.

The texts are upstream's (``k8s.io/apimachinery`` and ``kubernetes/pkg/apis/*/validation``);
rows that depend on the Kubernetes version are given on both sides of the split.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.errors import Issue, LabkitError
from labkit.model.loader import RawObject, load_text
from labkit.model.validation import parse_version, validate_labels, validate_objects
from labkit.model.validation.cidr import network_of
from labkit.model.validation.version import KubeVersion

LABEL_RE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN_RE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
DNS1035_RE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
KEY_RE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_RE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
CIDR_RE = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
PROTOCOLS = 'supported values: "TCP", "UDP", "SCTP"'
PEER = "spec.ingress[0].from[0]"


def obj(kind: str, name: str = "x", spec: Any = None, **meta: Any) -> dict[str, Any]:
    api = {
        "NetworkPolicy": "networking.k8s.io/v1",
        "Deployment": "apps/v1",
        "ReplicaSet": "apps/v1",
        "StatefulSet": "apps/v1",
        "DaemonSet": "apps/v1",
        "Job": "batch/v1",
    }.get(kind, "v1")
    out: dict[str, Any] = {"apiVersion": api, "kind": kind, "metadata": {"name": name, **meta}}
    if spec is not None:
        out["spec"] = spec
    return out


def policy(spec: Any = None, **meta: Any) -> dict[str, Any]:
    return obj(
        "NetworkPolicy",
        meta.pop("name", "x"),
        {"podSelector": {}} if spec is None else spec,
        **meta,
    )


def ingress_from(*peers: Any) -> dict[str, Any]:
    return policy({"podSelector": {}, "ingress": [{"from": list(peers)}]})


def ingress_ports(*ports: Any) -> dict[str, Any]:
    return policy({"podSelector": {}, "ingress": [{"ports": list(ports)}]})


def check(data: Any, version: str = "1.36") -> tuple[list[Issue], list[Issue]]:
    return validate_objects([RawObject(data, "rules.yaml")], kubernetes_version=version)


def messages(data: Any, version: str = "1.36") -> list[str]:
    return [e.message for e in check(data, version)[0]]


def warnings(data: Any, version: str = "1.36") -> list[str]:
    return [w.message for w in check(data, version)[1]]


# names ----------------------------------------------------------------------------------------
NAME_ROWS = [
    ("Namespace", "team-a", "1.36", []),
    (
        "Namespace",
        "team.a",
        "1.36",
        ['metadata.name: Invalid value: "team.a": must not contain dots'],
    ),
    ("Namespace", "team.a", "1.26", [f'metadata.name: Invalid value: "team.a": {LABEL_RE}']),
    ("Namespace", "Team", "1.36", [f'metadata.name: Invalid value: "Team": {LABEL_RE}']),
    ("Namespace", "a" * 63, "1.36", []),
    (
        "Namespace",
        "a" * 64,
        "1.36",
        [f'metadata.name: Invalid value: "{"a" * 64}": must be no more than 63 characters'],
    ),
    (
        "Namespace",
        "-a",
        "1.19",
        [
            'metadata.name: Invalid value: "-a": a DNS-1123 label must consist of lower case '
            "alphanumeric characters or '-', and must start and end with an alphanumeric character "
            "(e.g. 'my-name',  or '123-abc', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        ],
    ),
    ("Pod", "web.v1", "1.36", []),
    ("Pod", "web_1", "1.36", [f'metadata.name: Invalid value: "web_1": {SUBDOMAIN_RE}']),
    ("Pod", "a" * 253, "1.36", []),
    (
        "Pod",
        "a" * 254,
        "1.36",
        [f'metadata.name: Invalid value: "{"a" * 254}": must be no more than 253 characters'],
    ),
    ("Service", "web", "1.36", []),
    ("Service", "1web", "1.36", [f'metadata.name: Invalid value: "1web": {DNS1035_RE}']),
    ("Service", "web.x", "1.36", [f'metadata.name: Invalid value: "web.x": {DNS1035_RE}']),
    ("StatefulSet", "db.x", "1.26", []),
    (
        "StatefulSet",
        "db.x",
        "1.27",
        ['metadata.name: Invalid value: "db.x": must not contain dots'],
    ),
    ("Deployment", "web.v2", "1.36", []),
    (
        "NetworkPolicy",
        "allow_web",
        "1.36",
        [f'metadata.name: Invalid value: "allow_web": {SUBDOMAIN_RE}'],
    ),
]


def _named(kind: str, name: str) -> dict[str, Any]:
    if kind == "Pod":
        return obj(kind, name, {"containers": [{"name": "c"}]})
    if kind == "Service":
        return obj(kind, name, {"ports": [{"port": 80}]})
    if kind in ("StatefulSet", "Deployment"):
        labels = {"app": "db"}
        return obj(
            kind,
            name,
            {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "c"}]},
                },
            },
        )
    if kind == "NetworkPolicy":
        return policy(name=name)
    return obj(kind, name)


@pytest.mark.parametrize(
    ("kind", "name", "version", "expected"),
    NAME_ROWS,
    ids=[f"{r[0]}-{r[1][:12]}-{r[2]}" for r in NAME_ROWS],
)
def test_object_names(kind: str, name: str, version: str, expected: list[str]) -> None:
    assert messages(_named(kind, name), version) == expected


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"namespace": "team-a"}, []),
        ({}, []),
        (
            {"namespace": "team.a"},
            ['metadata.namespace: Invalid value: "team.a": must not contain dots'],
        ),
        ({"namespace": "Team_A"}, [f'metadata.namespace: Invalid value: "Team_A": {LABEL_RE}']),
        ({"name": "", "generateName": "allow-web-"}, []),
        (
            {"name": "", "generateName": "Allow-"},
            [f'metadata.generateName: Invalid value: "Allow-": {SUBDOMAIN_RE}'],
        ),
        ({"name": ""}, ["metadata.name: Required value: name or generateName is required"]),
    ],
)
def test_policy_metadata(meta: dict[str, Any], expected: list[str]) -> None:
    data = policy()
    data["metadata"].update(meta)
    if data["metadata"].get("name") == "":
        del data["metadata"]["name"]
    assert messages(data) == expected


def test_a_namespace_object_ignores_metadata_namespace() -> None:
    assert messages(obj("Namespace", "team-a", namespace="Not.Valid")) == []


# metadata limits (apimachinery pkg/api/validation/objectmeta.go) ------------------------------
ANNOTATION_LIMIT = 256 * 1024  # TotalAnnotationSizeLimitB: len(key) + len(value), in bytes
REPLICA_SET = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "u1"}
EVENT = {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"}
TWO_CONTROLLERS = [
    {**REPLICA_SET, "controller": True},
    {**REPLICA_SET, "name": "b", "controller": True},
]
META_LIMIT_ROWS: list[tuple[str, dict[str, Any], str, list[str]]] = [
    ("annotations-at-limit", {"annotations": {"a": "x" * (ANNOTATION_LIMIT - 1)}}, "1.36", []),
    (
        "annotations-over-limit",
        {"annotations": {"a": "x" * ANNOTATION_LIMIT}},
        "1.36",
        [f"metadata.annotations: Too long: may not be more than {ANNOTATION_LIMIT} bytes"],
    ),
    (
        "annotations-over-limit-1.31",
        {"annotations": {"a": "x" * ANNOTATION_LIMIT}},
        "1.31",
        [f"metadata.annotations: Too long: must have at most {ANNOTATION_LIMIT} bytes"],
    ),
    (
        "annotations-count-bytes-not-characters",
        {"annotations": {"a": "\u00e9" * (ANNOTATION_LIMIT // 2)}},
        "1.36",
        [f"metadata.annotations: Too long: may not be more than {ANNOTATION_LIMIT} bytes"],
    ),
    (
        "annotations-keys-count-too",
        {"annotations": {"k" * 60: "x" * (ANNOTATION_LIMIT - 60), "b": ""}},
        "1.36",
        [f"metadata.annotations: Too long: may not be more than {ANNOTATION_LIMIT} bytes"],
    ),
    ("owner-controller", {"ownerReferences": [{**REPLICA_SET, "controller": True}]}, "1.36", []),
    (
        "owner-empty",
        {"ownerReferences": [{}]},
        "1.36",
        [
            'metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty',
            'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
            'metadata.ownerReferences.name: Invalid value: "": must not be empty',
            'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
        ],
    ),
    (
        "owner-empty-1.33",
        {"ownerReferences": [{**REPLICA_SET, "kind": "", "uid": None}]},
        "1.33",
        [
            'metadata.ownerReferences.kind: Invalid value: "": kind must not be empty',
            'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty',
        ],
    ),
    (
        "owner-api-version-without-version",
        {"ownerReferences": [{**REPLICA_SET, "apiVersion": "a/b/c"}]},
        "1.36",
        ['metadata.ownerReferences.apiVersion: Invalid value: "a/b/c": version must not be empty'],
    ),
    (
        "owner-event-json",
        {"ownerReferences": [EVENT]},
        "1.36",
        [
            'metadata.ownerReferences: Invalid value: {"apiVersion":"v1","kind":"Event",'
            '"name":"e","uid":"u"}: /v1, Kind=Event is disallowed from being an owner'
        ],
    ),
    (
        "owner-event-go",
        {"ownerReferences": [EVENT]},
        "1.33",
        [
            'metadata.ownerReferences: Invalid value: v1.OwnerReference{APIVersion:"v1", '
            'Kind:"Event", Name:"e", UID:"u", Controller:(*bool)(nil), '
            "BlockOwnerDeletion:(*bool)(nil)}: /v1, Kind=Event is disallowed from being an owner"
        ],
    ),
    (
        "owner-two-controllers",
        {"ownerReferences": TWO_CONTROLLERS},
        "1.36",
        [
            'metadata.ownerReferences: Invalid value: [{"apiVersion":"apps/v1",'
            '"kind":"ReplicaSet","name":"a","uid":"u1","controller":true},'
            '{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"b","uid":"u1",'
            '"controller":true}]: Only one reference can have Controller set to true. Found '
            '"true" in references for ReplicaSet/a and ReplicaSet/b'
        ],
    ),
    ("finalizers-qualified", {"finalizers": ["example.com/cleanup", "orphan"]}, "1.36", []),
    (
        "finalizer-not-qualified",
        {"finalizers": ["bad name"]},
        "1.36",
        [f'metadata.finalizers: Invalid value: "bad name": name part {KEY_RE}'],
    ),
    (
        "finalizers-orphan-and-foreground",
        {"finalizers": ["orphan", "foregroundDeletion"]},
        "1.36",
        [
            'metadata.finalizers: Invalid value: ["orphan","foregroundDeletion"]: finalizer '
            "orphan and foregroundDeletion cannot be both set"
        ],
    ),
    (
        "finalizers-orphan-and-foreground-1.30",
        {"finalizers": ["orphan", "foregroundDeletion"]},
        "1.30",
        [
            'metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: '
            "finalizer orphan and foregroundDeletion cannot be both set"
        ],
    ),
    (
        "owner-and-finalizer-shapes",
        {"ownerReferences": "x", "finalizers": [1]},
        "1.36",
        [
            'metadata.ownerReferences: Invalid value: "x": must be a list, not a string',
            "metadata.finalizers[0]: Invalid value: 1: must be a string, not an integer",
        ],
    ),
    (
        "owner-fields-decode-strictly",
        {"ownerReferences": [{**REPLICA_SET, "controller": "yes", "owner": 1}]},
        "1.36",
        [
            'metadata.ownerReferences[0].owner: Unknown field: OwnerReference has no field "owner"',
            'metadata.ownerReferences[0].controller: Invalid value: "yes": must be a boolean, '
            "not a string",
        ],
    ),
]


@pytest.mark.parametrize(
    ("meta", "version", "expected"),
    [r[1:] for r in META_LIMIT_ROWS],
    ids=[r[0] for r in META_LIMIT_ROWS],
)
def test_metadata_limits(meta: dict[str, Any], version: str, expected: list[str]) -> None:
    for data in (obj("Namespace", "team-a"), policy()):
        data["metadata"].update(meta)
        if data["metadata"].get("name") == "":
            del data["metadata"]["name"]
        assert messages(data, version) == expected


def test_generate_name_is_checked_as_a_name_prefix_with_its_length() -> None:
    """``nameFn(generateName, prefix=true)``: ``maskTrailingDash`` turns the last two
    characters ("x-") into "a", then the name's rules apply (253 for a subdomain)."""
    data = policy()
    data["metadata"] = {"generateName": "a" * 254 + "-", "namespace": "x"}
    assert messages(data) == [
        f'metadata.generateName: Invalid value: "{"a" * 254}-": must be no more than 253 characters'
    ]
    data["metadata"]["generateName"] = "a" * 253 + "-"
    assert messages(data) == []


def test_two_controllers_before_1_26_name_only_the_names() -> None:
    (message,) = messages(obj("Namespace", "p", ownerReferences=TWO_CONTROLLERS), "1.25")
    assert message.endswith('Found "true" in references for a and b')
    assert "Controller:(*bool)(0x" in message  # Go prints a set pointer as its address


# labels ---------------------------------------------------------------------------------------
LONG_NAME = "n" * 63
LABEL_ROWS = [
    ({"app": "web"}, "1.36", []),
    ({"app.kubernetes.io/name": "web"}, "1.36", []),
    ({"example.com/app": ""}, "1.36", []),
    ({LONG_NAME: "v"}, "1.36", []),
    (
        {LONG_NAME + "n": "v"},
        "1.36",
        [
            f'metadata.labels: Invalid value: "{LONG_NAME}n": name part must be no more than 63 bytes'
        ],
    ),
    (
        {LONG_NAME + "n": "v"},
        "1.34",
        [
            f'metadata.labels: Invalid value: "{LONG_NAME}n": name part must be no more than 63 characters'
        ],
    ),
    ({"v": "x" * 63}, "1.36", []),
    (
        {"v": "x" * 64},
        "1.36",
        [f'metadata.labels: Invalid value: "{"x" * 64}": must be no more than 63 bytes'],
    ),
    (
        {"v": "x" * 64},
        "1.34",
        [f'metadata.labels: Invalid value: "{"x" * 64}": must be no more than 63 characters'],
    ),
    (
        {"Example.com/app": "web"},
        "1.36",
        [f'metadata.labels: Invalid value: "Example.com/app": prefix part {SUBDOMAIN_RE}'],
    ),
    (
        {"p" * 254 + "/app": "web"},
        "1.36",
        [
            f'metadata.labels: Invalid value: "{"p" * 254}/app": prefix part must be no more than 253 bytes'
        ],
    ),
    (
        {"/app": "web"},
        "1.36",
        ['metadata.labels: Invalid value: "/app": prefix part must be non-empty'],
    ),
    (
        {"app/": "web"},
        "1.36",
        [
            'metadata.labels: Invalid value: "app/": name part must be non-empty',
            f'metadata.labels: Invalid value: "app/": name part {KEY_RE}',
        ],
    ),
    (
        {"a/b/c": "x"},
        "1.36",
        [
            f'metadata.labels: Invalid value: "a/b/c": a valid label key {KEY_RE} with an optional '
            "DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ],
    ),
    (
        {"a/b/c": "x"},
        "1.34",
        [
            f'metadata.labels: Invalid value: "a/b/c": a qualified name {KEY_RE} with an optional '
            "DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ],
    ),
    (
        {"-app": "-web"},
        "1.36",
        [
            f'metadata.labels: Invalid value: "-app": name part {KEY_RE}',
            f'metadata.labels: Invalid value: "-web": {VALUE_RE}',
        ],
    ),
    ({"tier": "front end"}, "1.36", [f'metadata.labels: Invalid value: "front end": {VALUE_RE}']),
]


@pytest.mark.parametrize(
    ("labels", "version", "expected"),
    LABEL_ROWS,
    ids=[f"{i}-{r[1]}" for i, r in enumerate(LABEL_ROWS)],
)
def test_metadata_labels(labels: dict[str, str], version: str, expected: list[str]) -> None:
    assert messages(obj("Namespace", "team-a", labels=labels), version) == expected


@pytest.mark.parametrize(
    ("labels", "version", "expected"),
    LABEL_ROWS,
    ids=[f"{i}-{r[1]}" for i, r in enumerate(LABEL_ROWS)],
)
def test_match_labels_use_the_same_rules(
    labels: dict[str, str], version: str, expected: list[str]
) -> None:
    data = policy({"podSelector": {"matchLabels": labels}})
    want = [m.replace("metadata.labels", "spec.podSelector.matchLabels") for m in expected]
    assert messages(data, version) == want


def test_validate_labels_for_label_changes() -> None:
    assert validate_labels({"team": "a"}, "metadata.labels", file="<label>", object="Pod x") == []
    (issue,) = validate_labels(
        {"team": "a b"}, "metadata.labels", file="<label>", object="Namespace demo"
    )
    assert issue.message == f'metadata.labels: Invalid value: "a b": {VALUE_RE}'
    assert (issue.file, issue.object, issue.type) == ("<label>", "Namespace demo", "Invalid value")
    assert issue.hint
    bad = validate_labels({"n": 1}, "metadata.labels", file="f", object="o")  # type: ignore[dict-item]
    assert [i.field for i in bad] == ["metadata.labels[n]"]


# selectors ------------------------------------------------------------------------------------
def expr(**req: Any) -> dict[str, Any]:
    return policy({"podSelector": {"matchExpressions": [req]}})


SEL = "spec.podSelector.matchExpressions[0]"
SELECTOR_ROWS = [
    (expr(key="tier", operator="In", values=["web"]), "1.36", []),
    (expr(key="tier", operator="Exists"), "1.36", []),
    (
        expr(key="tier", operator="NotIn", values=[]),
        "1.36",
        [f"{SEL}.values: Required value: must be specified when `operator` is 'In' or 'NotIn'"],
    ),
    (
        expr(key="tier", operator="Exists", values=["a"]),
        "1.36",
        [
            f"{SEL}.values: Forbidden: may not be specified when `operator` is 'Exists' or "
            "'DoesNotExist'"
        ],
    ),
    (
        expr(key="tier", values=["a"]),
        "1.36",
        [f'{SEL}.operator: Invalid value: "": not a valid selector operator'],
    ),
    (
        expr(key="tier", operator="<b>", values=["a"]),
        "1.36",
        [f'{SEL}.operator: Invalid value: "\\u003cb\\u003e": not a valid selector operator'],
    ),
    (
        expr(key="tier", operator="<b>", values=["a"]),
        "1.33",
        [f'{SEL}.operator: Invalid value: "<b>": not a valid selector operator'],
    ),
    (
        expr(key="tier", operator="In", values=["a b"]),
        "1.26",
        [f'{SEL}.values[0]: Invalid value: "a b": {VALUE_RE}'],
    ),
    (expr(key="tier", operator="In", values=["a b"]), "1.25", []),
    (
        expr(key="Tier/x", operator="Exists"),
        "1.36",
        [f'{SEL}.key: Invalid value: "Tier/x": prefix part {SUBDOMAIN_RE}'],
    ),
]


@pytest.mark.parametrize(
    ("data", "version", "expected"),
    SELECTOR_ROWS,
    ids=[f"{i}-{r[1]}" for i, r in enumerate(SELECTOR_ROWS)],
)
def test_selector_requirements(data: dict[str, Any], version: str, expected: list[str]) -> None:
    assert messages(data, version) == expected


# peers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        ({"podSelector": {}}, []),
        ({"namespaceSelector": {}, "podSelector": {"matchLabels": {"a": "b"}}}, []),
        ({"podSelector": None}, [f"{PEER}: Required value: must specify a peer"]),
        ({}, [f"{PEER}: Required value: must specify a peer"]),
        (
            {"namespaceSelector": {}, "ipBlock": {"cidr": "10.0.0.0/8"}},
            [f"{PEER}: Forbidden: may not specify both ipBlock and another peer"],
        ),
        ({"ipBlock": {"cidr": "", "except": ["x"]}}, [f"{PEER}.ipBlock.cidr: Required value"]),
    ],
)
def test_peers(peer: dict[str, Any], expected: list[str]) -> None:
    assert messages(ingress_from(peer)) == expected


# ports ----------------------------------------------------------------------------------------
P = "spec.ingress[0].ports[0]"
PORT_ROWS = [
    ({"port": 80}, "1.36", []),
    ({"protocol": "UDP"}, "1.36", []),
    ({"port": "http"}, "1.36", []),
    ({"port": "web-8080"}, "1.36", []),
    ({"port": "abcdefghijklmno"}, "1.36", []),
    ({"port": 0}, "1.36", [f"{P}.port: Invalid value: 0: must be between 1 and 65535, inclusive"]),
    (
        {"port": 65536},
        "1.36",
        [f"{P}.port: Invalid value: 65536: must be between 1 and 65535, inclusive"],
    ),
    (
        {"port": "abcdefghijklmnop"},
        "1.36",
        [f'{P}.port: Invalid value: "abcdefghijklmnop": must be no more than 15 characters'],
    ),
    (
        {"port": "a--b"},
        "1.36",
        [f'{P}.port: Invalid value: "a--b": must not contain consecutive hyphens'],
    ),
    (
        {"port": "-a"},
        "1.36",
        [f'{P}.port: Invalid value: "-a": must not begin or end with a hyphen'],
    ),
    (
        {"port": "80"},
        "1.36",
        [f'{P}.port: Invalid value: "80": must contain at least one letter (a-z)'],
    ),
    (
        {"port": "80"},
        "1.24",
        [f'{P}.port: Invalid value: "80": must contain at least one letter or number (a-z, 0-9)'],
    ),
    (
        {"protocol": "tcp", "port": 80},
        "1.36",
        [f'{P}.protocol: Unsupported value: "tcp": {PROTOCOLS}'],
    ),
    ({"protocol": "", "port": 80}, "1.36", [f'{P}.protocol: Unsupported value: "": {PROTOCOLS}']),
    ({"protocol": None, "port": 80}, "1.36", []),
    ({"port": 8000, "endPort": 8000}, "1.36", []),
    (
        {"port": 9000, "endPort": 8000},
        "1.36",
        [f"{P}.endPort: Invalid value: 8000: must be greater than or equal to `port`"],
    ),
    (
        {"port": 9000, "endPort": 70000},
        "1.36",
        [f"{P}.endPort: Invalid value: 70000: must be between 1 and 65535, inclusive"],
    ),
    (
        {"endPort": 90},
        "1.36",
        [f"{P}.endPort: Invalid value: 90: may not be specified when `port` is not specified"],
    ),
    (
        {"port": "dns", "endPort": 90},
        "1.36",
        [f"{P}.endPort: Invalid value: 90: may not be specified when `port` is non-numeric"],
    ),
    (
        {"port": 9000, "endPort": 8000},
        "1.22",
        [f"{P}.endPort: Invalid value: 8000: must be greater than or equal to `port`"],
    ),
    ({"port": 9000, "endPort": 8000}, "1.21", []),
    (
        {"port": 9000, "endPort": 8000},
        "1.20",
        [f'{P}.endPort: Unknown field: NetworkPolicyPort has no field "endPort"'],
    ),
]


@pytest.mark.parametrize(
    ("port", "version", "expected"), PORT_ROWS, ids=[f"{i}-{r[1]}" for i, r in enumerate(PORT_ROWS)]
)
def test_policy_ports(port: dict[str, Any], version: str, expected: list[str]) -> None:
    assert messages(ingress_ports(port), version) == expected


def test_end_port_is_dropped_with_a_warning_by_1_21() -> None:
    (warning,) = check(ingress_ports({"port": 9000, "endPort": 8000}), "1.21")[1]
    assert warning.field == f"{P}.endPort" and warning.severity == "warning"


# CIDRs ----------------------------------------------------------------------------------------
B = f"{PEER}.ipBlock"
CIDR_ROWS: list[tuple[dict[str, Any], str, list[str], list[str]]] = [
    ({"cidr": "10.0.0.0/24"}, "1.36", [], []),
    (
        {"cidr": "10.0.0.5/24"},
        "1.36",
        [
            f'{B}.cidr: Invalid value: "10.0.0.5/24": must not have bits set beyond the prefix length'
        ],
        [],
    ),
    (
        {"cidr": "10.0.0.5/24"},
        "1.35",
        [],
        [
            f'{B}.cidr: Warning: CIDR value "10.0.0.5/24" is ambiguous in this context (should be '
            '"10.0.0.0/24" or "10.0.0.5/32"?)'
        ],
    ),
    (
        {"cidr": "010.0.0.0/8"},
        "1.36",
        [
            f'{B}.cidr: Invalid value: "010.0.0.0/8": must not have leading 0s in IP or prefix length'
        ],
        [],
    ),
    (
        {"cidr": "10.0.0.0/08"},
        "1.36",
        [
            f'{B}.cidr: Invalid value: "10.0.0.0/08": must not have leading 0s in IP or prefix length'
        ],
        [],
    ),
    (
        {"cidr": "010.0.0.0/8"},
        "1.35",
        [],
        [f'{B}.cidr: Warning: non-standard CIDR value "010.0.0.0/8" is invalid: use "10.0.0.0/8"'],
    ),
    (
        {"cidr": "::ffff:10.0.0.0/104"},
        "1.36",
        [
            f'{B}.cidr: Invalid value: "::ffff:10.0.0.0/104": must not have an IPv4-mapped IPv6 address'
        ],
        [],
    ),
    (
        {"cidr": "2001:DB8::/32"},
        "1.36",
        [],
        [
            f'{B}.cidr: Warning: IPv6 CIDR value "2001:DB8::/32" should be in RFC 5952 canonical format '
            '("2001:db8::/32")'
        ],
    ),
    ({"cidr": "192.168.5.6"}, "1.36", [f'{B}.cidr: Invalid value: "192.168.5.6": {CIDR_RE}'], []),
    (
        {"cidr": "192.168.5.6"},
        "1.29",
        [f'{B}.cidr: Invalid value: "192.168.5.6": not a valid CIDR'],
        [],
    ),
    (
        {"cidr": "10.0.0.0/8", "except": ["bad", "11.0.0.0/16"]},
        "1.30",
        [
            f'{B}.except[0]: Invalid value: "bad": {CIDR_RE}',
            f'{B}.except[1]: Invalid value: "11.0.0.0/16": must be a strict subset of `cidr`',
        ],
        [],
    ),
    (
        {"cidr": "10.0.0.0/8", "except": ["bad", "11.0.0.0/16"]},
        "1.29",
        [f'{B}.except[0]: Invalid value: "bad": not a valid CIDR'],
        [],
    ),
    (
        {"cidr": "10.0.0.0/8", "except": ["fd00::/64"]},
        "1.36",
        [f'{B}.except[0]: Invalid value: "fd00::/64": must be a strict subset of `cidr`'],
        [],
    ),
    ({"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8"]}, "1.17", [], []),
    (
        {"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8"]},
        "1.18",
        [f'{B}.except[0]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`'],
        [],
    ),
    ({"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]}, "1.36", [], []),
]


@pytest.mark.parametrize(
    ("block", "version", "errors", "warned"),
    CIDR_ROWS,
    ids=[f"{i}-{r[1]}" for i, r in enumerate(CIDR_ROWS)],
)
def test_ip_blocks(
    block: dict[str, Any], version: str, errors: list[str], warned: list[str]
) -> None:
    data = ingress_from({"ipBlock": block})
    assert messages(data, version) == errors
    assert warnings(data, version) == warned


@pytest.mark.parametrize(
    ("value", "network"),
    [
        ("10.0.0.5/24", "10.0.0.0/24"),
        ("010.0.0.0/8", "10.0.0.0/8"),
        ("2001:DB8::1/32", "2001:db8::/32"),
        ("::ffff:10.1.0.0/112", "10.1.0.0/16"),
        ("10.0.0.0", None),
        ("300.0.0.0/8", None),
    ],
)
def test_the_network_kubernetes_reads(value: str, network: str | None) -> None:
    assert network_of(value) == network


def test_warnings_come_only_with_an_accepted_policy() -> None:
    data = ingress_from({"ipBlock": {"cidr": "10.0.0.5/24"}}, {})
    assert warnings(data, "1.35") == []
    assert messages(data, "1.35") == [
        "spec.ingress[0].from[1]: Required value: must specify a peer"
    ]


# policyTypes ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("types", "version", "expected"),
    [
        (["Ingress", "Egress"], "1.36", []),
        ([], "1.36", []),
        (
            ["Ingress", "Egress", "Ingress"],
            "1.36",
            [
                'spec.policyTypes: Invalid value: ["Ingress","Egress","Ingress"]: may not specify more '
                "than two policyTypes"
            ],
        ),
        (
            ["Ingress", "Egress", "Ingress"],
            "1.33",
            [
                'spec.policyTypes: Invalid value: []networking.PolicyType{"Ingress", "Egress", '
                '"Ingress"}: may not specify more than two policyTypes'
            ],
        ),
        (
            ["egress"],
            "1.36",
            [
                'spec.policyTypes[0]: Unsupported value: "egress": supported values: "Ingress", "Egress"'
            ],
        ),
    ],
)
def test_policy_types(types: list[str], version: str, expected: list[str]) -> None:
    assert messages(policy({"podSelector": {}, "policyTypes": types}), version) == expected


# shapes ---------------------------------------------------------------------------------------
SHAPE_ROWS = [
    (policy([]), "spec", "must be a mapping, not a list"),
    ({**policy(), "metadata": "x"}, "metadata", "must be a mapping, not a string"),
    (policy({"ingress": {}}), "spec.ingress", "must be a list, not a mapping"),
    (
        policy({"ingress": [{"from": {"podSelector": {}}}]}),
        "spec.ingress[0].from",
        "must be a list, not a mapping",
    ),
    (
        ingress_ports({"port": 80.5}),
        f"{P}.port",
        "must be a number or a name, not a number with a fraction",
    ),
    (ingress_ports({"port": True}), f"{P}.port", "must be a number or a name, not a boolean"),
    (ingress_ports({"port": [80]}), f"{P}.port", "must be a number or a name, not a list"),
    (
        ingress_ports({"port": 80, "endPort": "90"}),
        f"{P}.endPort",
        "must be an integer, not a string",
    ),
    (ingress_ports({"port": 2**40}), f"{P}.port", "does not fit in a 32-bit integer"),
    (ingress_ports({"protocol": 6}), f"{P}.protocol", "must be a string, not an integer"),
    (ingress_ports("80"), P, "must be a mapping, not a string"),
    (
        policy({"podSelector": {"matchLabels": ["a", "b"]}}),
        "spec.podSelector.matchLabels",
        "must be a mapping, not a list",
    ),
    (ingress_from({"ipBlock": "10.0.0.0/8"}), f"{PEER}.ipBlock", "must be a mapping, not a string"),
    (
        ingress_from({"ipBlock": {"cidr": "10.0.0.0/8", "except": "10.1.0.0/16"}}),
        f"{PEER}.ipBlock.except",
        "must be a list, not a string",
    ),
    (
        obj("Namespace", "a", labels={"version": 1.0}),
        "metadata.labels[version]",
        "must be a string, not a number with a fraction",
    ),
    (
        obj("Namespace", "a", labels={"enabled": True}),
        "metadata.labels[enabled]",
        "must be a string, not a boolean",
    ),
    (
        obj("Pod", "p", {"containers": [{"name": "c", "ports": [{"containerPort": "80"}]}]}),
        "spec.containers[0].ports[0].containerPort",
        "must be an integer, not a string",
    ),
    (
        {"apiVersion": "v1", "kind": 5, "metadata": {"name": "x"}},
        "kind",
        "must be a string, not an integer",
    ),
]


@pytest.mark.parametrize(("data", "field", "detail"), SHAPE_ROWS, ids=[r[1] for r in SHAPE_ROWS])
def test_malformed_shapes_are_issues(data: Any, field: str, detail: str) -> None:
    errors, _ = check(data)
    found = [e for e in errors if e.field == field]
    assert found, [e.message for e in errors]
    assert found[0].type == "Invalid value" and found[0].detail == detail and found[0].hint


@pytest.mark.parametrize(
    ("data", "field", "hint_has"),
    [
        (policy({"podSelector": {}, "ingress": [{"form": []}]}), "spec.ingress[0].form", "from"),
        (policy({"podselector": {}}), "spec.podselector", "case-sensitive: write podSelector"),
        (
            ingress_from({"podSelector": {}, "ports": [{"port": 80}]}),
            f"{PEER}.ports",
            "beside from/to",
        ),
        (policy({"podSelector": {}, "status": {}}), "spec.status", ""),
        ({**policy(), "status": {}}, "status", "no status"),
        (
            obj("Pod", "p", {"containers": [{"name": "c", "ports": [{"port": 80}]}]}),
            "spec.containers[0].ports[0].port",
            "containerPort",
        ),
        ({**obj("Pod", "p"), "containers": []}, "containers", "spec"),
    ],
)
def test_unknown_fields(data: dict[str, Any], field: str, hint_has: str) -> None:
    errors, _ = check(data)
    found = [e for e in errors if e.field == field]
    assert found and found[0].type == "Unknown field", [e.message for e in errors]
    assert hint_has in found[0].hint


def test_status_is_a_field_of_networkpolicy_only_while_it_existed() -> None:
    data = {**policy(), "status": {}}
    assert messages(data, "1.27") == []
    assert messages(data, "1.28") == ['status: Unknown field: NetworkPolicy has no field "status"']


def test_strings_are_quoted_as_go_does() -> None:
    data = policy({"podSelector": {"matchLabels": {"a": "x\x00y"}}})
    (message,) = messages(data)
    assert message == f'spec.podSelector.matchLabels: Invalid value: "x\\x00y": {VALUE_RE}'


# kinds, apiVersion, required fields -----------------------------------------------------------
def test_kind_and_name_are_required() -> None:
    errors, _ = check({"metadata": {"labels": {}}})
    assert [(e.field, e.type) for e in errors] == [
        ("kind", "Required value"),
        ("metadata.name", "Required value"),
    ]
    assert errors[1].message == "metadata.name: Required value: name or generateName is required"
    assert all(e.hint for e in errors)


def test_unknown_kinds_are_not_validated() -> None:
    assert (
        messages({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}) == []
    )


@pytest.mark.parametrize(
    ("api_version", "ok"),
    [("networking.k8s.io/v1", True), (None, True), ("extensions/v1beta1", False), ("v1", False)],
)
def test_api_version_of_a_known_kind(api_version: str | None, ok: bool) -> None:
    data = policy()
    if api_version is None:
        del data["apiVersion"]
    else:
        data["apiVersion"] = api_version
    errors, _ = check(data)
    assert (errors == []) is ok
    if not ok:
        assert errors[0].field == "apiVersion" and "networking.k8s.io/v1" in errors[0].hint


# pods and workloads ---------------------------------------------------------------------------
C = "spec.containers[0].ports"
POD_PORT_ROWS = [
    ([{"containerPort": 80, "name": "http"}, {"containerPort": 53, "protocol": "UDP"}], []),
    ([{"containerPort": 80, "protocol": ""}], []),
    ([{"name": "http"}], [f"{C}[0].containerPort: Required value"]),
    (
        [{"containerPort": 70000}],
        [f"{C}[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"],
    ),
    (
        [{"containerPort": 80, "hostPort": 70000}],
        [f"{C}[0].hostPort: Invalid value: 70000: must be between 1 and 65535, inclusive"],
    ),
    (
        [{"containerPort": 80, "protocol": "tcp"}],
        [f'{C}[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"'],
    ),
    (
        [{"containerPort": 80, "name": "web"}, {"containerPort": 81, "name": "web"}],
        [f'{C}[1].name: Duplicate value: "web"'],
    ),
    (
        [{"containerPort": 80, "name": "HTTP"}],
        [
            f'{C}[0].name: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, '
            "0-9), and hyphens (-)",
            f'{C}[0].name: Invalid value: "HTTP": must contain at least one letter (a-z)',
        ],
    ),
]


@pytest.mark.parametrize(
    ("ports", "expected"), POD_PORT_ROWS, ids=[str(i) for i in range(len(POD_PORT_ROWS))]
)
def test_container_ports(ports: list[dict[str, Any]], expected: list[str]) -> None:
    assert messages(obj("Pod", "p", {"containers": [{"name": "c", "ports": ports}]})) == expected


def test_a_pod_needs_containers() -> None:
    assert messages(obj("Pod", "p", {})) == ["spec.containers: Required value"]
    assert messages(obj("Pod", "p", {"containers": []})) == ["spec.containers: Required value"]


def workload(kind: str, selector: Any, labels: Any, ports: Any = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "ports": list(ports)}]},
        }
    }
    if selector is not ...:
        spec["selector"] = selector
    return obj(kind, "web", spec)


MISMATCH = (
    "spec.template.metadata.labels: Invalid value: {}: `selector` does not match template `labels`"
)
WORKLOAD_ROWS = [
    ("Deployment", {"matchLabels": {"app": "web"}}, {"app": "web", "v": "1"}, "1.36", []),
    (
        "Deployment",
        {"matchLabels": {"app": "web"}},
        {"app": "api"},
        "1.36",
        [MISMATCH.format('{"app":"api"}')],
    ),
    (
        "Deployment",
        {"matchLabels": {"app": "web"}},
        {"app": "api"},
        "1.33",
        [MISMATCH.format('map[string]string{"app":"api"}')],
    ),
    (
        "Deployment",
        ...,
        {"app": "web"},
        "1.36",
        ["spec.selector: Required value", MISMATCH.format('{"app":"web"}')],
    ),
    (
        "Deployment",
        {},
        {"app": "web"},
        "1.36",
        ["spec.selector: Invalid value: {}: empty selector is invalid for deployment"],
    ),
    (
        "ReplicaSet",
        {},
        {"app": "web"},
        "1.33",
        [
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for "
            "deployment"
        ],
    ),
    (
        "Deployment",
        {"matchLabels": {"app": "-x"}},
        {"app": "-x"},
        "1.36",
        [
            f'spec.selector.matchLabels: Invalid value: "-x": {VALUE_RE}',
            'spec.selector: Invalid value: {"matchLabels":{"app":"-x"}}: invalid label selector',
        ],
    ),
    ("DaemonSet", ..., {"app": "web"}, "1.36", [MISMATCH.format('{"app":"web"}')]),
    (
        "DaemonSet",
        {},
        {"app": "web"},
        "1.36",
        ["spec.selector: Invalid value: {}: empty selector is invalid for daemonset"],
    ),
    ("StatefulSet", {"matchLabels": {"app": "web"}}, None, "1.36", [MISMATCH.format("null")]),
    (
        "Deployment",
        {"matchLabels": {"app": "web"}},
        {"app": "web", "x": "a b"},
        "1.36",
        [f'spec.template.labels: Invalid value: "a b": {VALUE_RE}'],
    ),
    (
        "Job",
        ...,
        {"app": "a b"},
        "1.36",
        [f'spec.template.labels: Invalid value: "a b": {VALUE_RE}'],
    ),
]


@pytest.mark.parametrize(
    ("kind", "selector", "labels", "version", "expected"),
    WORKLOAD_ROWS,
    ids=[f"{i}-{r[0]}-{r[3]}" for i, r in enumerate(WORKLOAD_ROWS)],
)
def test_workload_selectors_and_templates(
    kind: str, selector: Any, labels: Any, version: str, expected: list[str]
) -> None:
    assert messages(workload(kind, selector, labels), version) == expected


def test_workload_container_ports_are_validated() -> None:
    data = workload("Deployment", {"matchLabels": {"a": "b"}}, {"a": "b"}, [{"containerPort": 0}])
    assert messages(data) == [
        "spec.template.spec.containers[0].ports[0].containerPort: Required value"
    ]


def test_statefulset_pod_problems_are_warnings() -> None:
    data = workload("StatefulSet", {"matchLabels": {"a": "b"}}, {"a": "b"}, [{"containerPort": 0}])
    errors, warned = check(data)
    assert errors == []
    assert [w.message for w in warned] == [
        "spec.template.spec.containers[0].ports[0].containerPort: Required value"
    ]
    assert warned[0].severity == "warning" and "StatefulSet" in warned[0].hint


def test_negative_replicas() -> None:
    data = workload("Deployment", {"matchLabels": {"a": "b"}}, {"a": "b"})
    data["spec"]["replicas"] = -1
    assert messages(data) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    ]


# services -------------------------------------------------------------------------------------
SERVICE_ROWS = [
    ({"ports": [{"port": 80}]}, []),
    ({"ports": [{"port": 80, "targetPort": "http"}], "selector": {"app": "web"}}, []),
    ({}, ["spec.ports: Required value"]),
    ({"clusterIP": "None"}, []),
    ({"type": "ExternalName"}, []),
    (
        {"ports": [{"port": 80}, {"port": 443}]},
        ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"],
    ),
    (
        {"ports": [{"port": 80, "name": "Web"}]},
        [f'spec.ports[0].name: Invalid value: "Web": {LABEL_RE}'],
    ),
    (
        {"ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]},
        ['spec.ports[1].name: Duplicate value: "a"'],
    ),
    (
        {"ports": [{"port": 0}]},
        [
            "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
        ],
    ),
    (
        {"ports": [{"port": 80, "targetPort": "80"}]},
        ['spec.ports[0].targetPort: Invalid value: "80": must contain at least one letter (a-z)'],
    ),
    (
        {"ports": [{"port": 80, "protocol": "icmp"}]},
        [
            'spec.ports[0].protocol: Unsupported value: "icmp": supported values: "SCTP", "TCP", "UDP"'
        ],
    ),
    (
        {"ports": [{"port": 80}], "selector": {"app": "a b"}},
        [f'spec.selector: Invalid value: "a b": {VALUE_RE}'],
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected"), SERVICE_ROWS, ids=[str(i) for i in range(len(SERVICE_ROWS))]
)
def test_services(spec: dict[str, Any], expected: list[str]) -> None:
    assert messages(obj("Service", "web", spec)) == expected


# versions -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.36", KubeVersion(1, 36)),
        ("v1.35.2", KubeVersion(1, 35)),
        ("1.36.0-rc.1", KubeVersion(1, 36)),
        (None, KubeVersion(1, 36)),
        (" 1.16 ", KubeVersion(1, 16)),
    ],
)
def test_parse_version(text: str | None, expected: KubeVersion) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["abc", "1", "2.0", "1.15", "1.x", ""])
def test_bad_versions_are_labkit_errors(text: str) -> None:
    with pytest.raises(LabkitError, match=r"version|modelled"):
        parse_version(text)


def test_versions_compare() -> None:
    assert parse_version("1.9".replace("9", "35")) < parse_version("v1.36")
    assert parse_version("1.36").at_least(36) and not parse_version("1.35").at_least(36)


# order and objects ----------------------------------------------------------------------------
def test_objects_keep_their_order_and_titles() -> None:
    text = """apiVersion: v1
kind: Namespace
metadata: {name: Bad}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: demo}
spec:
  podSelector: {}
  ingress: [{ports: [{protocol: tcp}]}]
"""
    errors, _ = validate_objects(load_text(text, "m.yaml"))
    assert [(e.file, e.object, e.field) for e in errors] == [
        ("m.yaml:1", "Namespace Bad", "metadata.name"),
        ("m.yaml:4", "NetworkPolicy demo/deny", "spec.ingress[0].ports[0].protocol"),
    ]
    assert errors[1].hint == "protocol names are upper case: write TCP"


# property: no input raises --------------------------------------------------------------------
_keys = st.sampled_from(
    [
        "apiVersion",
        "kind",
        "metadata",
        "spec",
        "name",
        "namespace",
        "labels",
        "podSelector",
        "ingress",
        "egress",
        "policyTypes",
        "from",
        "to",
        "ports",
        "port",
        "endPort",
        "protocol",
        "ipBlock",
        "cidr",
        "except",
        "namespaceSelector",
        "matchLabels",
        "matchExpressions",
        "key",
        "operator",
        "values",
        "containers",
        "containerPort",
        "selector",
        "template",
        "x",
    ]
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(["TCP", "In", "10.0.0.0/8", "::/0"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=25,
)
_kinds = st.sampled_from(
    [
        "NetworkPolicy",
        "Pod",
        "Namespace",
        "Service",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "Other",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.dictionaries(_keys, _values, max_size=5),
    _kinds,
    st.sampled_from(["1.16", "1.21", "1.25", "1.29", "1.33", "1.35", "1.36"]),
)
def test_no_input_raises(data: dict[str, Any], kind: str, version: str) -> None:
    data["kind"] = kind
    errors, warned = validate_objects([RawObject(data, "f.yaml")], kubernetes_version=version)
    for issue in errors + warned:
        assert isinstance(issue.message, str) and issue.as_dict()["message"] == issue.message
        assert issue.hint, f"no hint for {issue.message}"
