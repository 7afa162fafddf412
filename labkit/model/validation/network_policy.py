"""NetworkPolicy: ``ValidateNetworkPolicy`` of Kubernetes (1.36 by default), after defaulting.

Defaulting and decoding are in :mod:`.policy_decode`, ipBlock rules in :mod:`.ip_block`.
Validation (``pkg/apis/networking/validation/validation.go``), in the API server's order:
metadata; ``spec.podSelector``; for each ingress rule its ports then its ``from`` peers; for each
egress rule its ports then its ``to`` peers; ``policyTypes``.

* port: protocol one of TCP/UDP/SCTP; a numeric port 1-65535 and ``endPort`` >= port and in
  range; a named port follows IANA syntax and forbids ``endPort``; ``endPort`` without ``port``
  is invalid;
* peer: at least one of podSelector, namespaceSelector, ipBlock ("must specify a peer"; an
  explicit ``podSelector: {}`` counts, ``podSelector: null`` does not); ipBlock with anything
  else is Forbidden, reported after the ipBlock's own errors;
* policyTypes: more than two is Invalid (and stops), each must be ``Ingress`` or ``Egress``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.model.validation.collector import Collector
from labkit.model.validation.decode import child, index
from labkit.model.validation.ip_block import check_ip_block, warn_cidrs
from labkit.model.validation.messages import string_list
from labkit.model.validation.names import is_valid_port_name, is_valid_port_num
from labkit.model.validation.policy_decode import (
    POLICY_TYPES,
    PROTOCOLS,
    PeerSpec,
    PolicyPort,
    PolicySpec,
    decode_spec,
    default_network_policy,
    default_policy_spec,
)
from labkit.model.validation.selectors import check_selector


# validation -----------------------------------------------------------------------------------
def check_spec(col: Collector, spec: PolicySpec) -> None:
    """``ValidateNetworkPolicySpec``."""
    check_selector(col, spec.pod_selector, "spec.podSelector")
    for direction, peer_key, rules in (
        ("ingress", "from", spec.ingress),
        ("egress", "to", spec.egress),
    ):
        for i, rule in enumerate(rules):
            if rule is None:
                continue
            rule_path = index(f"spec.{direction}", i)
            for j, port in enumerate(rule.ports):
                if port is not None:
                    _check_port(col, port, index(child(rule_path, "ports"), j))
            for j, peer in enumerate(rule.peers):
                if peer is not None:
                    _check_peer(col, peer, index(child(rule_path, peer_key), j), peer_key)
    _check_policy_types(col, spec.policy_types)


def _check_port(col: Collector, port: PolicyPort, path: str) -> None:
    """``ValidateNetworkPolicyPort``."""
    if port.protocol is not None and port.protocol not in PROTOCOLS:
        col.not_supported(
            child(path, "protocol"), port.protocol, PROTOCOLS, _protocol_hint(port.protocol)
        )
    if port.port is not None:
        if isinstance(port.port, int):
            for msg in is_valid_port_num(port.port):
                col.invalid(
                    child(path, "port"), port.port, msg, "use a port number from 1 to 65535"
                )
            if port.end_port is not None:
                if port.end_port < port.port:
                    col.invalid(
                        child(path, "endPort"),
                        port.end_port,
                        "must be greater than or equal to `port`",
                        f"endPort is the last port of the range that starts at "
                        f"port {port.port}: make it {port.port} or more, or swap them",
                    )
                for msg in is_valid_port_num(port.end_port):
                    col.invalid(
                        child(path, "endPort"),
                        port.end_port,
                        msg,
                        "use a port number from 1 to 65535",
                    )
        else:
            if port.end_port is not None:
                col.invalid(
                    child(path, "endPort"),
                    port.end_port,
                    "may not be specified when `port` is non-numeric",
                    "a range needs a numeric start: replace the port name with a "
                    "number, or remove endPort",
                )
            for msg in is_valid_port_name(port.port, col.version):
                col.invalid(child(path, "port"), port.port, msg, _port_name_hint(port.port))
    elif port.end_port is not None:
        col.invalid(
            child(path, "endPort"),
            port.end_port,
            "may not be specified when `port` is not specified",
            "set port to the first port of the range, or remove endPort",
        )


def _protocol_hint(protocol: str) -> str:
    if protocol == "":
        return "remove the empty protocol (an absent protocol defaults to TCP) or write TCP"
    if protocol.upper() in PROTOCOLS:
        return f"protocol names are upper case: write {protocol.upper()}"
    return (
        "NetworkPolicy selects TCP, UDP or SCTP only (not ICMP or ALL): use one of them, or "
        "omit ports to allow every protocol"
    )


def _port_name_hint(name: str) -> str:
    if name.strip().isdigit():
        return f"write port: {name.strip()} without quotes: a quoted number is read as a port name"
    if name.lower() != name and name.lower() == name.lower().strip():
        return (
            f"port names are lower case: write {name.lower()} (and name the container port "
            "the same way)"
        )
    return (
        "a named port is a container port's name: at most 15 lower-case letters, digits and "
        "single '-', with at least one letter (e.g. http, metrics)"
    )


def _check_peer(col: Collector, peer: PeerSpec, path: str, peer_key: str) -> None:
    """``ValidateNetworkPolicyPeer``."""
    count = 0
    if peer.pod_selector is not None:
        count += 1
        check_selector(col, peer.pod_selector, child(path, "podSelector"))
    if peer.namespace_selector is not None:
        count += 1
        check_selector(col, peer.namespace_selector, child(path, "namespaceSelector"))
    if peer.ip_block is not None:
        count += 1
        check_ip_block(col, peer.ip_block, child(path, "ipBlock"))
    if peer.broken:
        return
    if count == 0:
        col.required(
            path,
            "must specify a peer",
            f"give this {peer_key} entry a podSelector, a namespaceSelector or an ipBlock; to "
            f"allow everyone, leave {peer_key} out of the rule instead of listing an empty peer",
        )
    elif count > 1 and peer.ip_block is not None:
        col.forbidden(
            path,
            "may not specify both ipBlock and another peer",
            f"put the ipBlock in its own {peer_key} entry ('- ipBlock: ...'); separate entries "
            "are ORed",
        )


def _check_policy_types(col: Collector, types: tuple[str | None, ...] | None) -> None:
    if types is None:
        return
    if len(types) > len(POLICY_TYPES):
        shown = [t for t in types if t is not None]
        col.invalid_rendered(
            "spec.policyTypes",
            string_list(shown, "networking.PolicyType", col.json_values),
            "may not specify more than two policyTypes",
            "list Ingress and/or Egress, each at most once",
        )
        return
    for i, ptype in enumerate(types):
        if ptype is not None and ptype not in POLICY_TYPES:
            col.not_supported(
                index("spec.policyTypes", i), ptype, POLICY_TYPES, _policy_type_hint(ptype)
            )


def _policy_type_hint(ptype: str) -> str:
    for known in POLICY_TYPES:
        if known.lower() == ptype.strip().lower():
            return f"policy types are capitalised: write {known}"
    return "policyTypes lists Ingress and/or Egress"


def check_network_policy_kind(col: Collector, data: Mapping[Any, Any]) -> PolicySpec:
    """Decode and validate ``spec`` (metadata is checked by the caller, first)."""
    spec_raw = data.get("spec")
    if isinstance(spec_raw, dict):
        spec_raw = default_policy_spec(spec_raw)
    elif spec_raw is None:
        spec_raw = default_policy_spec({})
    spec = decode_spec(col, spec_raw)
    check_spec(col, spec)
    return spec


__all__ = [
    "PolicySpec",
    "check_network_policy_kind",
    "check_spec",
    "decode_spec",
    "default_network_policy",
    "default_policy_spec",
    "warn_cidrs",
]
