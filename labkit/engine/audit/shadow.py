"""Shadowed policies: policies whose removal would change no connection.

Policies only add (rule 9): a pod's side allows the union of the rules of every policy that
isolates it. A policy is *shadowed* when, for every pod it selects and every direction it
isolates, the side computed without it equals the side computed with it, for every peer:
the other policies isolate the same pods and already allow everything it allows.

Peers are every pod plus one address per interval that the inventory's ipBlock boundaries
(``cidr`` and ``except``) cut the address space into: membership in every block is the same
throughout an interval, so one address stands for all of it (an interval made only of pod
addresses is covered by the pods). Policies without any rule (default-deny) are skipped: their
job is to isolate pods that come later, which no comparison of today's pods can show.

The comparison runs on classes: peers that match the same rules and resolve the same port
names get the same answer from every policy, and so do selected pods with the same labels and
port names, so one of each is enough (the tests hold this to the plain definition: an engine
without the policy, side by side, for every pod and peer).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from ipaddress import IPv4Address, IPv6Address

from labkit.engine.audit.model import AuditContext, Finding, policy_title
from labkit.engine.compiled import CompiledPolicy, CompiledRule, rule_ports
from labkit.engine.endpoints import Endpoint, External
from labkit.engine.portset import ALL, NOTHING, PortSet
from labkit.model.objects import Pod
from labkit.model.policy import Direction
from labkit.model.ports import Protocol

_MAX_ADDRESS = {4: 2**32 - 1, 6: 2**128 - 1}
_PROBES_PER_INTERVAL = 4


def representative_addresses(ctx: AuditContext) -> list[External]:
    """One address that is not a pod per interval cut by every ipBlock boundary."""
    starts: dict[int, set[int]] = {4: {0}}
    for policy in ctx.inventory.policies:
        for rule in (*policy.ingress, *policy.egress):
            for peer in rule.peers:
                if peer.ip_block is None:
                    continue
                for net in (peer.ip_block.cidr, *peer.ip_block.excepts):
                    points = starts.setdefault(net.version, {0})
                    points.add(int(net.network_address))
                    points.add(int(net.broadcast_address) + 1)
    pod_ips = {address for p in ctx.inventory.pods for address in p.addresses}
    out: list[External] = []
    for version in sorted(starts):
        top = _MAX_ADDRESS[version]
        ordered = sorted(x for x in starts[version] if x <= top)
        for i, start in enumerate(ordered):
            end = ordered[i + 1] - 1 if i + 1 < len(ordered) else top
            for candidate in range(start, min(end, start + _PROBES_PER_INTERVAL - 1) + 1):
                address = IPv4Address(candidate) if version == 4 else IPv6Address(candidate)
                if address not in pod_ips:
                    out.append(External(address))
                    break
    return out


class _RuleMatches:
    """Which rules' peers match each peer (pods from the audit's indexes, addresses one by
    one). Rules with no ``from``/``to`` match every peer and are not listed."""

    def __init__(self, ctx: AuditContext, peers: Sequence[Endpoint]) -> None:
        self.rules: list[CompiledRule] = [
            rule for cp in ctx.engine.policies for rule in (*cp.ingress, *cp.egress)
        ]
        self.rule_id = {id(rule): rid for rid, rule in enumerate(self.rules)}
        index = {peer.key: j for j, peer in enumerate(peers)}
        addresses = [(j, p) for j, p in enumerate(peers) if isinstance(p, External)]
        matched: list[set[int]] = [set() for _ in peers]
        for rid, rule in enumerate(self.rules):
            for entry in rule.rule.peers:
                for pod in ctx.lookup.matching(entry, rule.policy.namespace):
                    matched[index[pod.key]].add(rid)
                if entry.ip_block is not None:
                    for j, address in addresses:
                        if entry.ip_block.contains(address.ip):
                            matched[j].add(rid)
        self.matched = [frozenset(m) for m in matched]
        self._ports: dict[tuple[int, Endpoint], PortSet] = {}

    def ports(self, rid: int, dst: Endpoint) -> PortSet:
        key = (rid, dst)
        found = self._ports.get(key)
        if found is None:
            found = self._ports[key] = rule_ports(self.rules[rid].rule, dst)
        return found

    def allowed(self, rules: Iterable[CompiledRule], peer: int, dst: Endpoint) -> PortSet:
        """What ``rules`` allow for ``peer`` (its index) towards ``dst``."""
        out = NOTHING
        for rule in rules:
            rid = self.rule_id[id(rule)]
            if rule.allows_all_peers or rid in self.matched[peer]:
                out = out | self.ports(rid, dst)
        return out


def _named_port_signature(peer: Endpoint, names: Sequence[tuple[str, Protocol]]) -> object:
    if isinstance(peer, External):
        return None
    return tuple(peer.named_port_numbers(name, proto) for name, proto in names)


def check_shadowed(ctx: AuditContext) -> Iterator[Finding]:
    engine = ctx.engine
    candidates = [
        cp for cp in engine.policies if (cp.ingress or cp.egress) and ctx.selected(cp.policy)
    ]
    if not candidates:
        return
    peers: list[Endpoint] = [*ctx.inventory.pods, *representative_addresses(ctx)]
    matches = _RuleMatches(ctx, peers)
    names = sorted(
        {
            (str(entry.port), entry.protocol)
            for rule in matches.rules
            for entry in rule.rule.ports
            if isinstance(entry.port, str)
        }
    )
    # peers that match the same rules and resolve the same names behave alike: keep one each
    classes: dict[tuple[object, object], int] = {}
    for j, peer in enumerate(peers):
        classes.setdefault((matches.matched[j], _named_port_signature(peer, names)), j)
    representatives = sorted(classes.values())
    by_rule: dict[int, list[int]] = {}
    for j in representatives:
        for rid in matches.matched[j]:
            by_rule.setdefault(rid, []).append(j)
    for cp in candidates:
        verdict = _shadowing(ctx, cp, matches, peers, representatives, by_rule, names)
        if verdict is None:
            continue
        allows_nothing, others = verdict
        listed = ", ".join(others)
        if allows_nothing:
            message = (
                "this policy allows nothing today (its rules match no peer or no port; see "
                f"the other findings), and the pods it selects are isolated by {listed} "
                "anyway: deleting it alone would change no connection"
            )
            fix = "fix its rules so they allow what they were written for, or delete it"
        else:
            message = (
                "everything this policy allows is already allowed by the other policies that "
                f"select the same pods ({listed}): deleting it alone would change no connection"
            )
            fix = (
                "delete it or merge it into the others; keep it only if it must survive "
                "changes to them"
            )
        yield Finding("low", "policy-shadowed", policy_title(cp.policy), message, fix)


def _shadowing(
    ctx: AuditContext,
    cp: CompiledPolicy,
    matches: _RuleMatches,
    peers: Sequence[Endpoint],
    representatives: Sequence[int],
    by_rule: Mapping[int, Sequence[int]],
    names: Sequence[tuple[str, Protocol]],
) -> tuple[bool, list[str]] | None:
    """``(allows nothing, other isolating policies)`` when removing ``cp`` changes no side.

    With ``cp`` a side allows ``own | others``; without it ``others``, or everything when no
    other policy isolates the pod. So the two agree when ``own`` is inside ``others`` (or
    ``own`` is everything and nobody else isolates), for every peer. Where other policies
    isolate the pod, only peers that one of ``cp``'s rules matches can differ.
    """
    owners: dict[object, Pod] = {}
    for pod in ctx.selected(cp.policy):
        owners.setdefault((pod.labels, _named_port_signature(pod, names)), pod)
    others_seen: set[str] = set()
    allows_nothing = True
    for direction in (Direction.INGRESS, Direction.EGRESS):
        if direction not in cp.policy.policy_types:
            continue
        own_rules = cp.rules(direction)
        if any(rule.allows_all_peers for rule in own_rules):
            reachable: Sequence[int] = representatives
        else:
            reachable = sorted(
                {j for rule in own_rules for j in by_rule.get(matches.rule_id[id(rule)], ())}
            )
        for owner in owners.values():
            others = [o for o in ctx.engine.selecting(owner, direction) if o is not cp]
            others_seen.update(o.policy.key for o in others)
            other_rules = [rule for o in others for rule in o.rules(direction)]
            for j in representatives if not others else reachable:
                dst = owner if direction is Direction.INGRESS else peers[j]
                own = matches.allowed(own_rules, j, dst)
                if not own.is_empty:
                    allows_nothing = False
                if not others:
                    if own != ALL:
                        return None
                    continue
                if own.is_empty:
                    continue
                theirs = matches.allowed(other_rules, j, dst)
                if (own | theirs) != theirs:
                    return None
    return allows_nothing, sorted(others_seen)
