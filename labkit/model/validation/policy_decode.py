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
from typing import Any, NamedTuple

from labkit.model.parse_policy import default_policy_types
from labkit.model.validation.collector import Collector
from labkit.model.validation.decode import (
    INT32_MAX,
    INT32_MIN,
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
from labkit.model.validation.selectors import Selector, decode_selector

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
# Immutable records private to validation: NamedTuples cost far less than frozen dataclasses to
# define at import time (~0.05 ms against ~0.35 ms each) and to build, once per decoded element.
class PolicyPort(NamedTuple):
    """A decoded ``NetworkPolicyPort``."""

    protocol: str | None
    port: int | str | None
    end_port: int | None


class IPBlockSpec(NamedTuple):
    """A decoded ``IPBlock``."""

    cidr: str
    excepts: tuple[str | None, ...] | None


class PeerSpec(NamedTuple):
    """A decoded ``NetworkPolicyPeer``.

    ``broken``: a member failed to decode; peer-level checks are skipped to avoid follow-on
    noise.
    """

    pod_selector: Selector | None
    namespace_selector: Selector | None
    ip_block: IPBlockSpec | None
    broken: bool = False


class RuleSpec(NamedTuple):
    """A decoded ingress or egress rule."""

    ports: tuple[PolicyPort | None, ...]
    peers: tuple[PeerSpec | None, ...]


class PolicySpec(NamedTuple):
    """A decoded, defaulted ``NetworkPolicySpec``."""

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
    # values of the expected JSON type are taken as they are; anything else goes through the
    # .decode helpers, which report it (field paths are only built for those)
    if type(value) is list:
        rules: list[Any] = value
    else:
        rules = as_list(col, value, path, path.rsplit(".", 1)[-1]) or []
    known = ("ports", peer_key)
    kind = "NetworkPolicyIngressRule" if peer_key == "from" else "NetworkPolicyEgressRule"
    out: list[RuleSpec | None] = []
    for i, raw in enumerate(rules):
        rule_path = index(path, i)
        if type(raw) is dict:
            data: dict[str, Any] = raw
        else:
            found = as_mapping(col, raw, rule_path, "a rule")
            if found is None and raw is not None:
                out.append(None)
                continue
            data = found or {}
        check_fields(col, data, known, rule_path, kind, _home)
        ports: tuple[PolicyPort | None, ...] = ()
        raw_ports = data.get("ports")
        if raw_ports is not None:
            ports_path = child(rule_path, "ports")
            if type(raw_ports) is not list:
                raw_ports = as_list(col, raw_ports, ports_path, "ports") or []
            ports = tuple([_decode_port(col, p, ports_path, j) for j, p in enumerate(raw_ports)])
        peers: tuple[PeerSpec | None, ...] = ()
        raw_peers = data.get(peer_key)
        if raw_peers is not None:
            peers_path = child(rule_path, peer_key)
            if type(raw_peers) is not list:
                raw_peers = as_list(col, raw_peers, peers_path, peer_key) or []
            peers = tuple(
                _decode_peer(col, p, index(peers_path, j)) for j, p in enumerate(raw_peers)
            )
        out.append(RuleSpec(ports, peers))
    return tuple(out)


def _decode_port(col: Collector, value: Any, ports_path: str, j: int) -> PolicyPort | None:
    if type(value) is dict:
        data: dict[str, Any] = value
    else:
        found = as_mapping(
            col, value, index(ports_path, j), "a ports entry (protocol/port/endPort)"
        )
        if found is None:
            return None if value is not None else PolicyPort("TCP", None, None)
        data = found
    with_end_port = col.version.at_least(21)
    known = PORT_FIELDS if with_end_port else ("protocol", "port")
    for key in data:
        if key not in known:
            check_fields(col, data, known, index(ports_path, j), "NetworkPolicyPort", _home)
            break
    protocol: str | None = None
    raw_protocol = data.get("protocol")
    if raw_protocol is not None:
        if type(raw_protocol) is str:
            protocol = raw_protocol
        else:
            protocol = as_string(
                col,
                raw_protocol,
                child(index(ports_path, j), "protocol"),
                "write the protocol as text: TCP, UDP or SCTP",
            )
            if protocol is None:
                return None
    raw_port = data.get("port")
    port = raw_port
    if raw_port is not None and type(raw_port) is not str:
        if type(raw_port) is not int or not INT32_MIN <= raw_port <= INT32_MAX:
            port = as_int_or_string(col, raw_port, child(index(ports_path, j), "port"))
    end_port = None
    if with_end_port:
        raw_end = data.get("endPort")
        end_port = raw_end
        if raw_end is not None and (
            type(raw_end) is not int or not INT32_MIN <= raw_end <= INT32_MAX
        ):
            end_port = as_int32(
                col,
                raw_end,
                child(index(ports_path, j), "endPort"),
                "endPort is a number: the last port of the range",
            )
        if end_port is not None and not col.version.at_least(22):
            col.warn(
                child(index(ports_path, j), "endPort"),
                "endPort is dropped by Kubernetes 1.21 (NetworkPolicyEndPort is off by "
                "default): only port itself is allowed",
                "list the ports one by one, or target Kubernetes 1.22 or later",
            )
            end_port = None
    if raw_port is not None and port is None:
        return None
    return PolicyPort(protocol, port, end_port)


def _decode_peer(col: Collector, value: Any, path: str) -> PeerSpec | None:
    if type(value) is dict:
        data: dict[str, Any] = value
    else:
        found = as_mapping(col, value, path, "a peer (podSelector/namespaceSelector/ipBlock)")
        if found is None:
            return None if value is not None else PeerSpec(None, None, None)
        data = found
    check_fields(col, data, PEER_FIELDS, path, "NetworkPolicyPeer", _home)
    broken = False
    pod = data.get("podSelector")
    ns = data.get("namespaceSelector")
    pod_sel = None if pod is None else decode_selector(col, pod, child(path, "podSelector"))
    ns_sel = None if ns is None else decode_selector(col, ns, child(path, "namespaceSelector"))
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
