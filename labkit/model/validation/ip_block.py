"""``ipBlock`` validation and the API server's CIDR warnings (``ValidateIPBlock``).

* ``cidr: ""`` is Required and nothing else of the block is checked;
* ``cidr`` and each ``except`` go through ``IsValidCIDRForLegacyField`` (:mod:`.cidr`): a value
  that does not parse is Invalid, and from 1.36 so is a non-strict one;
* an ``except`` that parses must be a strict subset of ``cidr``: contained (``IPNet.Contains``
  of its network address) and, from 1.18, with a longer prefix. Before 1.30 the first
  unparseable ``except`` stopped the checks of the block, and the message was "not a valid
  CIDR".
* warnings (``networkPolicyWarnings`` in the NetworkPolicy strategy) are returned only for an
  accepted policy, for ``cidr`` then each ``except``, ingress rules first.
"""

from __future__ import annotations

from labkit.model.validation import cidr as cidrs
from labkit.model.validation.collector import Collector
from labkit.model.validation.decode import child, index
from labkit.model.validation.messages import go_quote
from labkit.model.validation.policy_decode import IPBlockSpec, PolicySpec


def check_ip_block(col: Collector, block: IPBlockSpec, path: str) -> None:
    """``ValidateIPBlock``."""
    cidr_path = child(path, "cidr")
    if block.cidr == "":
        col.required(
            cidr_path, "", "set cidr, e.g. cidr: 10.0.0.0/24 (or 203.0.113.7/32 for one address)"
        )
        return
    modern = col.version.at_least(30)
    net = _legacy_cidr(col, cidr_path, block.cidr)
    if net is None:
        return
    for i, text in enumerate(block.excepts or ()):
        if text is None:
            continue
        ex_path = index(child(path, "except"), i)
        ex = _legacy_cidr(col, ex_path, text)
        if ex is None:
            if modern:
                continue
            return
        subset = net.contains(ex.network)
        if col.version.at_least(18):
            subset = subset and net.mask_size < ex.mask_size
        if not subset:
            col.invalid(
                ex_path,
                text,
                "must be a strict subset of `cidr`",
                f"each except must be a smaller block inside {net.network_string()} (same address "
                "family, longer prefix); remove it or widen cidr",
            )


def _legacy_cidr(col: Collector, path: str, value: str) -> cidrs.GoCIDR | None:
    """``IsValidCIDRForLegacyField`` then ``ParseCIDRSloppy``: the parsed value, or ``None``."""
    parsed = cidrs.parse_cidr_sloppy(value)
    if parsed is None:
        modern = col.version.at_least(30)
        col.invalid(
            path, value, cidrs.SLOPPY_ERROR if modern else cidrs.SLOPPY_ERROR_OLD, _cidr_hint(value)
        )
        return None
    if col.version.at_least(36):
        problem = cidrs.strict_error(parsed, value)
        if problem:
            col.invalid(path, value, problem, _strict_hint(parsed, value, problem))
    return parsed


def _cidr_hint(value: str) -> str:
    for bits in ("32", "128"):
        if "/" not in value and cidrs.parse_cidr_sloppy(f"{value}/{bits}") is not None:
            return (
                f"add a prefix length: {value}/{bits} for this one address, or write the "
                "network, e.g. 10.0.0.0/24"
            )
    if value != value.strip():
        return "remove the spaces around the CIDR"
    return "write an address and a prefix length, e.g. 10.0.0.0/24 or 2001:db8::/64"


def _strict_hint(parsed: cidrs.GoCIDR, value: str, problem: str) -> str:
    network = parsed.network_string()
    if problem == cidrs.HOST_BITS:
        single = f"{cidrs.ip_string(parsed.ip)}/{len(parsed.mask) * 8}"
        return (
            f"Kubernetes 1.36 rejects host bits after the prefix: write {network} for the "
            f"network or {single} for the single address"
        )
    if problem == cidrs.V4_MAPPED:
        return f"write the IPv4 CIDR {network} instead of the IPv4-mapped IPv6 form"
    return f"remove the leading zeros: write {network}"


def warn_cidrs(col: Collector, spec: PolicySpec) -> None:
    """``networkPolicyWarnings``: non-standard CIDR values of an accepted policy."""
    for direction, peer_key, rules in (
        ("ingress", "from", spec.ingress),
        ("egress", "to", spec.egress),
    ):
        for i, rule in enumerate(rules):
            if rule is None:
                continue
            for j, peer in enumerate(rule.peers):
                if peer is None or peer.ip_block is None:
                    continue
                path = child(index(child(index(f"spec.{direction}", i), peer_key), j), "ipBlock")
                values = [(child(path, "cidr"), peer.ip_block.cidr)]
                values += [
                    (index(child(path, "except"), k), text)
                    for k, text in enumerate(peer.ip_block.excepts or ())
                    if text is not None
                ]
                for field, text in values:
                    parsed = cidrs.parse_cidr_sloppy(text)
                    if parsed is None:
                        continue
                    for warning in cidrs.cidr_warnings(parsed, text):
                        col.warn(field, warning, _warning_hint(parsed, text))


def _warning_hint(parsed: cidrs.GoCIDR, value: str) -> str:
    network = parsed.network_string()
    canonical = cidrs.canonical_prefix(parsed, value)
    if cidrs.strict_error(parsed, value):
        return (
            f"write {network}: Kubernetes 1.36 and later reject {go_quote(value)}, and up "
            f"to 1.35 it already means {network}"
        )
    if canonical and canonical != value:
        return f"write it as {canonical}"
    return f"write {network}"
