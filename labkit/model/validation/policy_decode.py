"""NetworkPolicy manifests decoded for validation, after the API server's defaulting.

Defaulting (``pkg/apis/networking/v1/defaults.go``) runs before validation, as in the API
server: ``policyTypes`` empty or absent becomes ``[Ingress]`` plus ``Egress`` when ``egress``
has a rule (:func:`labkit.model.parse_policy.default_policy_types`), and a port entry whose
``protocol`` is absent or null gets ``TCP``. ``protocol: ""`` is *not* defaulted (a non-nil
pointer) and fails validation.

Decoding follows the Go types of ``k8s.io/api/networking/v1`` (see :mod:`.decode`): a peer's
``podSelector: {}`` is set (an empty selector), ``podSelector: null`` is unset; a value the API
server could not decode is reported and its element is left out (``None``), keeping the indices
of the others, so that validation never reports follow-on errors for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labkit.model.parse_policy import default_policy_types
from labkit.model.validation.collector import Collector
from labkit.model.validation.decode import (
    as_int32,
    as_int_or_string,
    as_list,
    as_mapping,
    as_string,
    as_string_list,
    check_fields,
    child,
    index,
)
from labkit.model.validation.labels import Selector, decode_selector

PROTOCOLS = ("TCP", "UDP", "SCTP")
POLICY_TYPES = ("Ingress", "Egress")
SPEC_FIELDS = ("podSelector", "ingress", "egress", "policyTypes")
PEER_FIELDS = ("podSelector", "namespaceSelector", "ipBlock")
PORT_FIELDS = ("protocol", "port", "endPort")
IPBLOCK_FIELDS = ("cidr", "except")

_FIELD_HOMES = {
    "ports": "an ingress/egress rule, beside from/to (one level up from a peer)",
    "from": "an ingress rule (- from: ...)",
    "to": "an egress rule (- to: ...)",
    "podSelector": "spec or a from/to peer",
    "namespaceSelector": "a from/to peer",
    "ipBlock": "a from/to peer",
    "matchLabels": "a podSelector or namespaceSelector",
    "matchExpressions": "a podSelector or namespaceSelector",
    "cidr": "an ipBlock",
    "except": "an ipBlock",
    "protocol": "a ports entry",
    "port": "a ports entry",
    "endPort": "a ports entry",
    "ingress": "spec",
    "egress": "spec",
    "policyTypes": "spec",
}


def _home(key: str) -> str:
    return _FIELD_HOMES.get(key, "")


# defaulting -----------------------------------------------------------------------------------
def default_policy_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A defaulted copy of a raw ``spec`` (``SetDefaults_NetworkPolicy`` and ``..Port``).

    Only values the API server could decode are defaulted; anything malformed is left as it is
    for validation to report. The input is not modified: every container on the way to a
    defaulted value is copied (the rest is shared, which also keeps very deep input safe).
    """
    out: dict[str, Any] = dict(spec)
    for direction in ("ingress", "egress"):
        rules = out.get(direction)
        if isinstance(rules, list):
            out[direction] = [_default_rule(rule) for rule in rules]
    given = out.get("policyTypes")
    if given is None or (isinstance(given, list) and not given):
        egress = out.get("egress")
        view = {"egress": egress if isinstance(egress, list) else None}
        types, _ = default_policy_types(view)
        out["policyTypes"] = types
    return out


def _default_rule(rule: Any) -> Any:
    if not isinstance(rule, dict) or not isinstance(rule.get("ports"), list):
        return rule
    ports = []
    for port in rule["ports"]:
        if port is None:
            port = {"protocol": "TCP"}
        elif isinstance(port, dict) and port.get("protocol") is None:
            port = {**port, "protocol": "TCP"}
        ports.append(port)
    return {**rule, "ports": ports}


def default_network_policy(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A defaulted copy of a whole NetworkPolicy object (``spec`` defaulted)."""
    out: dict[str, Any] = dict(obj)
    spec = out.get("spec")
    if spec is None:
        spec = {}
    if isinstance(spec, dict):
        out["spec"] = default_policy_spec(spec)
    return out


# decoded model --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PolicyPort:
    protocol: str | None
    port: int | str | None
    end_port: int | None


@dataclass(frozen=True)
class IPBlockSpec:
    cidr: str
    excepts: tuple[str | None, ...] | None


@dataclass(frozen=True)
class PeerSpec:
    pod_selector: Selector | None
    namespace_selector: Selector | None
    ip_block: IPBlockSpec | None
    broken: bool = False
    """A member failed to decode; peer-level checks are skipped to avoid follow-on noise."""


@dataclass(frozen=True)
class RuleSpec:
    ports: tuple[PolicyPort | None, ...]
    peers: tuple[PeerSpec | None, ...]


@dataclass(frozen=True)
class PolicySpec:
    pod_selector: Selector
    ingress: tuple[RuleSpec | None, ...]
    egress: tuple[RuleSpec | None, ...]
    policy_types: tuple[str | None, ...] | None


def decode_spec(col: Collector, value: Any) -> PolicySpec:
    data = as_mapping(col, value, "spec", "spec") or {}
    check_fields(col, data, SPEC_FIELDS, "spec", "NetworkPolicySpec", _home)
    pod_selector = decode_selector(col, data.get("podSelector"), "spec.podSelector") or Selector()
    ingress = _decode_rules(col, data.get("ingress"), "spec.ingress", "from")
    egress = _decode_rules(col, data.get("egress"), "spec.egress", "to")
    types = as_string_list(col, data.get("policyTypes"), "spec.policyTypes", "policyTypes")
    return PolicySpec(pod_selector, ingress, egress, None if types is None else tuple(types))


def _decode_rules(
    col: Collector, value: Any, path: str, peer_key: str
) -> tuple[RuleSpec | None, ...]:
    rules = as_list(col, value, path, path.rsplit(".", 1)[-1]) or []
    out: list[RuleSpec | None] = []
    for i, raw in enumerate(rules):
        rule_path = index(path, i)
        data = as_mapping(col, raw, rule_path, "a rule")
        if data is None and raw is not None:
            out.append(None)
            continue
        data = data or {}
        kind = "NetworkPolicyIngressRule" if peer_key == "from" else "NetworkPolicyEgressRule"
        check_fields(col, data, ("ports", peer_key), rule_path, kind, _home)
        ports_path = child(rule_path, "ports")
        ports = [
            _decode_port(col, p, index(ports_path, j))
            for j, p in enumerate(as_list(col, data.get("ports"), ports_path, "ports") or [])
        ]
        peers_path = child(rule_path, peer_key)
        peers = [
            _decode_peer(col, p, index(peers_path, j))
            for j, p in enumerate(as_list(col, data.get(peer_key), peers_path, peer_key) or [])
        ]
        out.append(RuleSpec(tuple(ports), tuple(peers)))
    return tuple(out)


def _decode_port(col: Collector, value: Any, path: str) -> PolicyPort | None:
    data = as_mapping(col, value, path, "a ports entry (protocol/port/endPort)")
    if data is None:
        return None if value is not None else PolicyPort("TCP", None, None)
    known = PORT_FIELDS if col.version.at_least(21) else ("protocol", "port")
    check_fields(col, data, known, path, "NetworkPolicyPort", _home)
    protocol: str | None = None
    if data.get("protocol") is not None:
        protocol = as_string(
            col,
            data["protocol"],
            child(path, "protocol"),
            "write the protocol as text: TCP, UDP or SCTP",
        )
        if protocol is None:
            return None
    port = as_int_or_string(col, data.get("port"), child(path, "port"))
    end_port = None
    if col.version.at_least(21):
        end_port = as_int32(
            col,
            data.get("endPort"),
            child(path, "endPort"),
            "endPort is a number: the last port of the range",
        )
        if end_port is not None and not col.version.at_least(22):
            col.warn(
                child(path, "endPort"),
                "endPort is dropped by Kubernetes 1.21 (NetworkPolicyEndPort is off by "
                "default): only port itself is allowed",
                "list the ports one by one, or target Kubernetes 1.22 or later",
            )
            end_port = None
    if "port" in data and data["port"] is not None and port is None:
        return None
    return PolicyPort(protocol, port, end_port)


def _decode_peer(col: Collector, value: Any, path: str) -> PeerSpec | None:
    data = as_mapping(col, value, path, "a peer (podSelector/namespaceSelector/ipBlock)")
    if data is None:
        return None if value is not None else PeerSpec(None, None, None)
    check_fields(col, data, PEER_FIELDS, path, "NetworkPolicyPeer", _home)
    broken = False
    pod = data.get("podSelector")
    ns = data.get("namespaceSelector")
    pod_sel = decode_selector(col, pod, child(path, "podSelector"))
    ns_sel = decode_selector(col, ns, child(path, "namespaceSelector"))
    broken |= pod is not None and pod_sel is None
    broken |= ns is not None and ns_sel is None
    block_raw = data.get("ipBlock")
    block = None
    if isinstance(block_raw, str):
        col.wrong_type(
            child(path, "ipBlock"),
            block_raw,
            "a mapping",
            f"write ipBlock: {{cidr: {block_raw}}} (cidr inside ipBlock)",
        )
        broken = True
    elif block_raw is not None:
        block = _decode_ip_block(col, block_raw, child(path, "ipBlock"))
        broken |= block is None
    return PeerSpec(pod_sel, ns_sel, block, broken)


def _decode_ip_block(col: Collector, value: Any, path: str) -> IPBlockSpec | None:
    data = as_mapping(col, value, path, "ipBlock")
    if data is None:
        return None
    check_fields(col, data, IPBLOCK_FIELDS, path, "IPBlock", _home)
    cidr = as_string(
        col, data.get("cidr"), child(path, "cidr"), "write the CIDR as text, e.g. cidr: 10.0.0.0/24"
    )
    excepts = as_string_list(col, data.get("except"), child(path, "except"), "except")
    if cidr is None:
        return None
    return IPBlockSpec(cidr, None if excepts is None else tuple(excepts))
