"""One rule, one peer, one port list held against a connection, with the reason in words.

Matching is the engine's own (:func:`labkit.engine.compiled.peer_matches`,
:func:`labkit.engine.compiled.port_entry_set`), so the evidence cannot disagree with the
verdict; this module adds why a peer or a port list does not match: selector requirements the
pod or namespace fails (rule 5), a ``podSelector`` alone meaning the policy's namespace
(rule 4), ``ipBlock`` ranges and ``except`` carve-outs (rule 8), ports, protocols and named
ports resolved on the destination pod (rules 6, 7, 11).
"""

from __future__ import annotations

from labkit.engine.compiled import CompiledRule, peer_matches, port_entry_set
from labkit.engine.endpoints import Endpoint, External, host_network_text, on_pod_network
from labkit.engine.evaluator import Engine
from labkit.engine.explain.model import PeerCheck, PortCheck, RuleCheck
from labkit.engine.selector_words import missing_keys, required_value, selector_misses
from labkit.model.objects import NAMESPACE_NAME_LABEL, Pod
from labkit.model.policy import Direction, NetworkPolicy, Peer
from labkit.model.ports import PolicyPort, Protocol


def peer_text(peer: Peer, policy_namespace: str) -> str:
    """What one ``from``/``to`` entry selects, in words (rule 4)."""
    if peer.ip_block is not None:
        return f"addresses in {peer.ip_block}"
    if peer.pod_selector is None or peer.pod_selector.is_empty:
        pods = "every pod"
    else:
        pods = f"pods with {peer.pod_selector}"
    if peer.namespace_selector is None:
        return f"{pods} in namespace {policy_namespace} (the policy's own)"
    if peer.namespace_selector.is_empty:
        return f"{pods} in every namespace"
    return f"{pods} in namespaces with {peer.namespace_selector}"


def port_entry_text(entry: PolicyPort, destination: Endpoint) -> str:
    """``TCP 443``, ``TCP 8000-8999``, ``every UDP port`` or a named port and what it is."""
    proto = entry.protocol.value
    if entry.port is None:
        return f"every {proto} port"
    if isinstance(entry.port, int):
        if entry.end_port is not None:
            return f"{proto} {entry.port}-{entry.end_port}"
        return f"{proto} {entry.port}"
    if on_pod_network(destination):
        numbers = destination.named_port_numbers(entry.port, entry.protocol)
        if numbers:
            written = ", ".join(str(n) for n in numbers)
            return f"{proto} port named '{entry.port}' ({written} on {destination.key})"
        return f"{proto} port named '{entry.port}' (not declared on {destination.key})"
    return f"{proto} port named '{entry.port}'"


def _named_port_miss(entry: PolicyPort, destination: Endpoint) -> str | None:
    """Rule 6: a name resolves on the destination pod's container ports, name and protocol."""
    if not isinstance(entry.port, str):
        return None
    name = entry.port
    if isinstance(destination, External):
        return (
            f"port name '{name}' cannot match {destination.key}: names resolve on the "
            "destination pod's container ports, and an address is not a pod"
        )
    if destination.host_network:
        return (
            f"port name '{name}' cannot match {destination.key}: it uses the host network, "
            "and Calico resolves names on pod-network pods only"
        )
    if destination.named_port_numbers(name, entry.protocol):
        return None
    text = (
        f"port name '{name}' is not a container port of {destination.key} "
        f"with protocol {entry.protocol.value}"
    )
    others = sorted(
        {p.protocol.value for p in destination.ports if p.name == name} - {entry.protocol.value}
    )
    if others:
        text += f" (it is declared there with protocol {', '.join(others)})"
    return text


def check_ports(
    entries: tuple[PolicyPort, ...], destination: Endpoint, port: int, protocol: Protocol
) -> PortCheck:
    """Rule 7/11/6: no entries open everything; otherwise some entry must contain the probe."""
    if not entries:
        return PortCheck(True, "every port and protocol")
    text = ", ".join(port_entry_text(e, destination) for e in entries)
    if any(port_entry_set(e, destination).contains(port, protocol) for e in entries):
        return PortCheck(True, text)
    reasons = [f"rule allows {text} only; you probed {port}/{protocol.value}"]
    for entry in entries:
        miss = _named_port_miss(entry, destination)
        if miss is not None and miss not in reasons:
            reasons.append(miss)
    for entry in entries:
        if entry.protocol is protocol:
            continue
        if port_entry_set(entry, destination).contains(port, entry.protocol):
            reasons.append(
                f"protocol differs: the rule opens {port}/{entry.protocol.value}, you probed "
                f"{port}/{protocol.value} (a port entry without protocol means TCP)"
            )
            break
    return PortCheck(False, text, tuple(reasons))


def _namespace_hints(engine: Engine, peer: Peer) -> list[str]:
    selector = peer.namespace_selector
    if selector is None:
        return []
    carried = {k for labels in engine.namespace_labels.values() for k in labels}
    hints = []
    for key in missing_keys(selector, carried):
        value = required_value(selector, key)
        hint = (
            f"no namespace carries label {key}; every namespace carries "
            f"{NAMESPACE_NAME_LABEL}=<its name>"
        )
        if value is not None:
            hint += f", so select {NAMESPACE_NAME_LABEL}={value}"
        hints.append(hint)
    return hints


def _check_block(index: int, text: str, peer: Peer, other: Endpoint, matched: bool) -> PeerCheck:
    """Rule 8: an ``ipBlock`` against every address of ``other`` (a dual-stack pod has one
    per family; a ``hostNetwork`` pod has its node's)."""
    block = peer.ip_block
    assert block is not None
    addresses = other.addresses
    owner = ""
    if isinstance(other, Pod):
        owner = f" (node of pod {other.key})" if other.host_network else f" (pod {other.key})"
    if matched:
        address = next(a for a in addresses if block.contains(a))
        note = ""
        if isinstance(other, Pod):
            note = (
                f"{address} is the address of the node of {other.key}: it uses the host network"
                if other.host_network
                else f"ipBlock matches pod addresses too: {address} is the address of pod "
                f"{other.key}"
            )
        return PeerCheck(index, text, True, (), note)
    if not addresses:
        reason = f"{other.key} has no known address, so no ipBlock can match it"
        return PeerCheck(index, text, False, (reason,))
    reasons = []
    for address in addresses:
        who = f"{address}{owner}"
        if address.version != block.cidr.version:
            reasons.append(f"{who} is IPv{address.version}; the block is IPv{block.cidr.version}")
        elif address not in block.cidr:
            reasons.append(f"{who} is outside {block.cidr}")
        else:
            carve = next(ex for ex in block.excepts if address in ex)
            reasons.append(f"{who} is inside {block.cidr} but carved out by except {carve}")
    return PeerCheck(index, text, False, tuple(reasons))


def _check_peer(
    engine: Engine, index: int, peer: Peer, other: Endpoint, policy_namespace: str
) -> PeerCheck:
    """Rule 4 and 8, with the reason when ``peer`` does not match ``other``."""
    text = peer_text(peer, policy_namespace)
    matched = peer_matches(peer, other, policy_namespace, engine.namespace_labels)
    if peer.ip_block is not None:
        return _check_block(index, text, peer, other, matched)
    if matched:
        return PeerCheck(index, text, True)
    if isinstance(other, External):
        reason = (
            f"{other.key} is not a pod: podSelector and namespaceSelector match pods only "
            "(an address needs an ipBlock)"
        )
        return PeerCheck(index, text, False, (reason,))
    if other.host_network:
        reason = (
            f"{host_network_text(other)}: podSelector and namespaceSelector never match it, "
            "only an ipBlock holding the node's address can"
        )
        return PeerCheck(index, text, False, (reason,))
    reasons: list[str] = []
    hints: list[str] = []
    if peer.namespace_selector is None:
        if other.namespace != policy_namespace:
            reasons.append(
                "a podSelector without namespaceSelector means pods in the policy's own "
                f"namespace {policy_namespace}; {other.key} is in namespace {other.namespace}"
            )
    else:
        ns_labels = engine.namespace_labels.get(other.namespace, {})
        misses = selector_misses(
            peer.namespace_selector, ns_labels, "namespace", f"namespace {other.namespace}"
        )
        reasons += misses
        if misses:
            hints += _namespace_hints(engine, peer)
    if peer.pod_selector is not None:
        reasons += selector_misses(peer.pod_selector, other.label_map, "pod", f"pod {other.key}")
    return PeerCheck(index, text, False, tuple(reasons), hints=tuple(hints))


def _rule_summary(
    policy: NetworkPolicy, owner: Pod, peers: tuple[PeerCheck, ...], ports: PortCheck, rule: str
) -> str:
    head = f"policy {policy.name} selects {owner.key}"
    if peers and not any(p.matched for p in peers):
        if len(peers) == 1:
            words = _only_peer(peers[0])
        else:
            words = f"none of the {len(peers)} peers of {rule} matches: " + "; ".join(
                f"[{p.index}] " + "; ".join(p.reasons) for p in peers
            )
        parts = [words]
    else:
        parts = []
    if not ports.matched:
        parts.append(ports.reasons[0])
    if not parts:
        matched = next((p for p in peers if p.matched), None)
        who = f"peer [{matched.index}] ({matched.text})" if matched else "any peer"
        return f"{head} and {rule} allows it: {who}, ports {ports.text}"
    return f"{head} but " + "; and ".join(parts)


def _only_peer(peer: PeerCheck) -> str:
    """``its only peer needs ...`` when every reason is a selector requirement."""
    if peer.reasons and all(r.startswith("needs ") for r in peer.reasons):
        return "its only peer " + "; it also ".join(peer.reasons)
    return f"its only peer ({peer.text}) does not match: " + "; ".join(peer.reasons)


def check_rule(
    engine: Engine,
    rule: CompiledRule,
    owner: Pod,
    other: Endpoint,
    dst: Endpoint,
    port: int,
    protocol: Protocol,
) -> RuleCheck:
    ns = rule.policy.namespace
    peers = tuple(_check_peer(engine, i, peer, other, ns) for i, peer in enumerate(rule.rule.peers))
    ports = check_ports(rule.rule.ports, dst, port, protocol)
    field = "ingress" if rule.direction is Direction.INGRESS else "egress"
    summary = _rule_summary(rule.policy, owner, peers, ports, f"{field}[{rule.index}]")
    return RuleCheck(rule.policy.key, rule.direction, rule.index, peers, ports, summary)


def would_allow(
    engine: Engine,
    policy: NetworkPolicy,
    direction: Direction,
    other: Endpoint,
    dst: Endpoint,
    port: int,
    protocol: Protocol,
) -> int | None:
    """Index of a rule of ``policy`` that would allow the traffic if it applied to the pod."""
    for index, rule in enumerate(policy.rules(direction)):
        peer_ok = not rule.peers or any(
            peer_matches(p, other, policy.namespace, engine.namespace_labels) for p in rule.peers
        )
        port_ok = not rule.ports or any(
            port_entry_set(e, dst).contains(port, protocol) for e in rule.ports
        )
        if peer_ok and port_ok:
            return index
    return None
