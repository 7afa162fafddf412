"""Full connectivity for every ordered pair, computed on equivalence classes.

Pods that no policy can tell apart behave identically, so the matrix is computed once per
pair of *classes* and expanded. A source's class is (the ingress rules whose peers match it,
its own egress rules); a destination's class is (its ingress rules, the egress rules whose
peers match it, the numbers its named ports resolve to). Selectors are evaluated once per
distinct (namespace, labels) group, ipBlocks once per address by bisection over sorted
addresses. The answers equal :meth:`Engine.connectivity` on every pair (tests hold the two
paths together).

:func:`compute_matrix` runs these steps, each over the typed result of the ones before:

1. :class:`_PodGroups`: pods grouped by (namespace, labels), selectors evaluated per group;
2. :func:`_number_rules`: every rule numbered (rule ``r`` is bit ``r`` of the class table);
3. :func:`_match_peers`: which rules' peers match each group and each address;
4. :func:`_isolation`: which policies isolate each group, per direction;
5. :func:`_named_ports`: the named ports rules use, resolved per destination;
6. :func:`_classify`: endpoints into source and destination classes;
7. :func:`labkit.engine.class_table.class_table`: the ports allowed between classes;
8. :func:`_walled`, only when the inventory has workshop walls (:mod:`labkit.engine.wall`):
   classes split by learner, and the cells between two learners the walls deny emptied.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from labkit.engine.class_table import DestinationClass, Sig, SourceClass, class_table
from labkit.engine.compiled import CompiledPolicy, CompiledRule
from labkit.engine.endpoints import Endpoint, on_pod_network
from labkit.engine.evaluator import Engine, check_port
from labkit.engine.portset import ALL, NOTHING, PortSet
from labkit.engine.wall import Identity, WallIndex
from labkit.model.labels import EVERYTHING, LabelSelector
from labkit.model.policy import Direction, IPBlock, Peer
from labkit.model.ports import ContainerPort, Protocol

_T = TypeVar("_T", bound=Hashable)


@dataclass(frozen=True)
class ConnectivityMatrix:
    """Allowed ports for every ordered pair of peers (``None`` between two ``ip:`` peers)."""

    peers: tuple[str, ...]
    endpoints: tuple[Endpoint, ...]
    src_class: tuple[int, ...]
    dst_class: tuple[int, ...]
    table: tuple[tuple[PortSet, ...], ...]
    self_allowed: bool

    def index(self, peer: str) -> int:
        return self.peers.index(peer)

    def cell(self, i: int, j: int) -> PortSet | None:
        if not on_pod_network(self.endpoints[i]) and not on_pod_network(self.endpoints[j]):
            return None
        if i == j and self.self_allowed:
            return ALL
        return self.table[self.src_class[i]][self.dst_class[j]]

    def get(self, src: str, dst: str) -> PortSet | None:
        return self.cell(self.index(src), self.index(dst))

    def row(self, i: int) -> list[PortSet | None]:
        return [self.cell(i, j) for j in range(len(self.peers))]

    def allowed(self, port: int, protocol: Protocol) -> list[list[bool | None]]:
        """The per-probe view: ``allowed[i][j]`` for traffic from peer i to peer j."""
        check_port(port)
        class_rows = [[ps.contains(port, protocol) for ps in row] for row in self.table]
        n = len(self.peers)
        external = [not on_pod_network(e) for e in self.endpoints]  # addresses, hostNetwork
        out: list[list[bool | None]] = []
        for i in range(n):
            crow = class_rows[self.src_class[i]]
            row: list[bool | None] = [crow[c] for c in self.dst_class]
            if external[i]:
                row = [None if external[j] else row[j] for j in range(n)]
            elif self.self_allowed:
                row[i] = True
            out.append(row)
        return out

    def text_rows(self) -> Iterable[list[str]]:
        """Rows of cell strings (``All``, ``TCP 80``, ``""``)."""
        for _, row in self.keyed_text_rows():
            yield row

    def keyed_text_rows(self) -> Iterable[tuple[int | None, list[str]]]:
        """Rows with a key shared by identical rows (``None`` for a row of its own), so
        renderers can serialise each distinct row once."""
        cache: dict[int, list[str]] = {}
        strings = [[str(ps) for ps in row] for row in self.table]
        n = len(self.peers)
        external = [not on_pod_network(e) for e in self.endpoints]  # addresses, hostNetwork
        for i in range(n):
            c = self.src_class[i]
            base = cache.get(c)
            if base is None:
                srow = strings[c]
                base = [srow[d] for d in self.dst_class]
                cache[c] = base
            if external[i] or (self.self_allowed and base[i] != "All"):
                row = list(base)
                if external[i]:
                    for j in range(n):
                        if external[j]:
                            row[j] = ""
                if self.self_allowed and not external[i]:
                    row[i] = "All"
                yield None, row
            else:
                yield c, base


def _ip_ints(ep: Endpoint) -> list[tuple[int, int]]:
    """``(IP version, address)`` of every address of ``ep`` (a dual-stack pod has two)."""
    return [(address.version, int(address)) for address in ep.addresses]


class _IPIndex:
    """Endpoints sorted by address, to find those inside a CIDR by bisection."""

    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        self.by_version: dict[int, tuple[list[int], list[int]]] = {}
        pairs: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for idx, ep in enumerate(endpoints):
            for version, address in _ip_ints(ep):
                pairs[version].append((address, idx))
        for version, items in pairs.items():
            items.sort()
            self.by_version[version] = ([a for a, _ in items], [i for _, i in items])

    def inside(self, block: IPBlock) -> set[int]:
        table = self.by_version.get(block.cidr.version)
        if table is None:
            return set()
        addrs, idxs = table
        lo = bisect.bisect_left(addrs, int(block.cidr.network_address))
        hi = bisect.bisect_right(addrs, int(block.cidr.broadcast_address))
        found = set(idxs[lo:hi])
        for ex in block.excepts:
            if ex.version != block.cidr.version:
                continue
            elo = bisect.bisect_left(addrs, int(ex.network_address))
            ehi = bisect.bisect_right(addrs, int(ex.broadcast_address))
            found.difference_update(idxs[elo:ehi])
        return found


GroupKey = tuple[str, tuple[tuple[str, str], ...]]
"""What selectors see of a pod: its namespace and its labels."""


class _PodGroups:
    """Pods that no selector can tell apart, one group per distinct (namespace, labels), and
    the selectors evaluated over groups (each namespace selector and each peer once).

    ``of_endpoint[e]`` is the group of ``endpoints[e]``, ``-1`` for an ``ip:`` peer (selectors
    never match an address that is not a pod).
    """

    def __init__(
        self, endpoints: Sequence[Endpoint], namespace_labels: dict[str, dict[str, str]]
    ) -> None:
        self.of_endpoint: list[int] = []
        self.keys: list[GroupKey] = []
        ids: dict[GroupKey, int] = {}
        for ep in endpoints:
            if on_pod_network(ep):  # selectors never match addresses or hostNetwork pods
                self.of_endpoint.append(_intern((ep.namespace, ep.labels), ids, self.keys))
            else:
                self.of_endpoint.append(-1)
        self._label_maps = [dict(labels) for _, labels in self.keys]
        self._by_namespace: dict[str, list[int]] = defaultdict(list)
        self._by_label: dict[tuple[str, str], set[int]] = defaultdict(set)
        for gid, (namespace, labels) in enumerate(self.keys):
            self._by_namespace[namespace].append(gid)
            for pair in labels:
                self._by_label[pair].add(gid)
        self._namespace_labels = namespace_labels
        self._namespaces_cache: dict[LabelSelector, list[str]] = {}
        self._peer_cache: dict[tuple[Peer, str], set[int]] = {}

    def namespaces(self, selector: LabelSelector) -> list[str]:
        """The namespaces whose labels ``selector`` matches."""
        found = self._namespaces_cache.get(selector)
        if found is None:
            found = [
                ns for ns, labels in self._namespace_labels.items() if selector.matches(labels)
            ]
            self._namespaces_cache[selector] = found
        return found

    def select(self, selector: LabelSelector, namespaces: Iterable[str]) -> set[int]:
        """Groups in ``namespaces`` whose labels ``selector`` matches (``matchLabels`` first
        narrows the candidates through the label index)."""
        candidates: set[int] | None = None
        for pair in selector.match_labels:
            hits = self._by_label.get(pair, set())
            candidates = set(hits) if candidates is None else candidates & hits
            if not candidates:
                return set()
        wanted = set(namespaces)
        pool = (
            candidates
            if candidates is not None
            else {g for ns in wanted for g in self._by_namespace.get(ns, ())}
        )
        keys, label_maps = self.keys, self._label_maps
        return {g for g in pool if keys[g][0] in wanted and selector.matches(label_maps[g])}

    def peer(self, peer: Peer, policy_namespace: str) -> set[int]:
        """Groups a selector peer matches: ``podSelector`` (absent: every pod) in the
        namespaces of ``namespaceSelector`` (absent: the policy's own namespace)."""
        key = (peer, policy_namespace)
        found = self._peer_cache.get(key)
        if found is None:
            namespaces = (
                [policy_namespace]
                if peer.namespace_selector is None
                else self.namespaces(peer.namespace_selector)
            )
            selector = EVERYTHING if peer.pod_selector is None else peer.pod_selector
            found = self.select(selector, namespaces)
            self._peer_cache[key] = found
        return found


class _Rules(NamedTuple):
    """Every rule of every policy, numbered policy by policy (its ingress rules, then its
    egress rules): rule ``r`` is bit ``r`` of the masks in :mod:`labkit.engine.class_table`."""

    rules: tuple[CompiledRule, ...]
    ids: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]
    """Per policy of ``engine.policies``: (its ingress rule ids, its egress rule ids)."""

    @property
    def is_ingress(self) -> list[bool]:
        return [r.direction is Direction.INGRESS for r in self.rules]


def _number_rules(policies: Sequence[CompiledPolicy]) -> _Rules:
    rules: list[CompiledRule] = []
    ids: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    for cp in policies:
        first = len(rules)
        rules += cp.ingress
        middle = len(rules)
        rules += cp.egress
        ids.append((tuple(range(first, middle)), tuple(range(middle, len(rules)))))
    return _Rules(tuple(rules), tuple(ids))


class _PeerMatches(NamedTuple):
    """Which rules' peers match whom (rules without peers are in neither list: they match
    everyone, see ``all_peers`` in :func:`class_table`)."""

    by_group: list[list[int]]
    """Rule ids whose selector peers match each pod group."""
    by_endpoint: list[list[int]]
    """Rule ids whose ipBlock peers hold each endpoint's address."""


def _match_peers(rules: _Rules, groups: _PodGroups, endpoints: Sequence[Endpoint]) -> _PeerMatches:
    ip_index = _IPIndex(endpoints)
    block_cache: dict[IPBlock, set[int]] = {}
    by_group: list[list[int]] = [[] for _ in groups.keys]
    by_endpoint: list[list[int]] = [[] for _ in endpoints]
    for rid, rule in enumerate(rules.rules):
        group_hits: set[int] = set()
        endpoint_hits: set[int] = set()
        for peer in rule.rule.peers:
            if peer.ip_block is None:
                group_hits |= groups.peer(peer, rule.policy.namespace)
                continue
            hits = block_cache.get(peer.ip_block)
            if hits is None:
                hits = block_cache[peer.ip_block] = ip_index.inside(peer.ip_block)
            endpoint_hits |= hits
        for g in group_hits:
            by_group[g].append(rid)
        for e in endpoint_hits:
            by_endpoint[e].append(rid)
    return _PeerMatches(by_group, by_endpoint)


class _Isolation(NamedTuple):
    """Per pod group, the rule ids of the policies that select it for each direction, in
    policy order (``None``: no policy isolates it that way, so that side allows all)."""

    ingress: list[tuple[int, ...] | None]
    egress: list[tuple[int, ...] | None]


def _isolation(policies: Sequence[CompiledPolicy], rules: _Rules, groups: _PodGroups) -> _Isolation:
    ingress: list[tuple[int, ...] | None] = [None] * len(groups.keys)
    egress: list[tuple[int, ...] | None] = [None] * len(groups.keys)
    for cp, (ingress_ids, egress_ids) in zip(policies, rules.ids, strict=True):
        policy = cp.policy
        for g in groups.select(policy.pod_selector, [policy.namespace]):
            if policy.affects(Direction.INGRESS):
                ingress[g] = (*(ingress[g] or ()), *ingress_ids)
            if policy.affects(Direction.EGRESS):
                egress[g] = (*(egress[g] or ()), *egress_ids)
    return _Isolation(ingress, egress)


class _NamedPorts(NamedTuple):
    """The (name, protocol) pairs that rules name, and each one's slot in a :data:`Sig`."""

    names: tuple[tuple[str, Protocol], ...]
    slot: dict[tuple[str, Protocol], int]
    resolved: dict[tuple[tuple[ContainerPort, ...], tuple[ContainerPort, ...]], Sig]
    """Signatures by a pod's (ports, init container ports): a workload's pods share them."""

    def signature(self, ep: Endpoint) -> Sig:
        """What ``ep``'s named ports resolve to (an ``ip:`` peer resolves none)."""
        if not self.names or not on_pod_network(ep):
            return ((),) * len(self.names)
        key = (ep.ports, ep.init_ports)
        found = self.resolved.get(key)
        if found is None:
            found = tuple(ep.named_port_numbers(name, protocol) for name, protocol in self.names)
            self.resolved[key] = found
        return found


def _named_ports(rules: Iterable[CompiledRule]) -> _NamedPorts:
    names = sorted(
        {(p.port, p.protocol) for r in rules for p in r.rule.ports if isinstance(p.port, str)},
        key=lambda t: (t[0], t[1].value),
    )
    return _NamedPorts(tuple(names), {name: i for i, name in enumerate(names)}, {})


class _Classes(NamedTuple):
    """Endpoints sorted into source and destination classes (see the module docstring)."""

    src_class: list[int]
    dst_class: list[int]
    sources: list[SourceClass]
    destinations: list[DestinationClass]
    sigs: list[Sig]


def _classify(
    endpoints: Sequence[Endpoint],
    groups: _PodGroups,
    rules: _Rules,
    matches: _PeerMatches,
    isolation: _Isolation,
    ports: _NamedPorts,
) -> _Classes:
    is_ingress = rules.is_ingress
    source_ids: dict[SourceClass, int] = {}
    destination_ids: dict[DestinationClass, int] = {}
    sig_ids: dict[Sig, int] = {}
    out = _Classes([], [], [], [], [])
    for e, ep in enumerate(endpoints):
        g = groups.of_endpoint[e]
        matched = (matches.by_group[g] if g >= 0 else []) + matches.by_endpoint[e]
        sig_id = _intern(ports.signature(ep), sig_ids, out.sigs)
        source = SourceClass(
            frozenset(r for r in matched if is_ingress[r]),
            isolation.egress[g] if g >= 0 else None,
        )
        destination = DestinationClass(
            isolation.ingress[g] if g >= 0 else None,
            frozenset(r for r in matched if not is_ingress[r]),
            sig_id,
        )
        out.src_class.append(_intern(source, source_ids, out.sources))
        out.dst_class.append(_intern(destination, destination_ids, out.destinations))
    return out


def _intern(value: _T, ids: dict[_T, int], values: list[_T]) -> int:
    """The index of ``value`` in ``values``, appended on first sight."""
    found = ids.get(value)
    if found is None:
        found = ids[value] = len(values)
        values.append(value)
    return found


def compute_matrix(engine: Engine, endpoints: Sequence[Endpoint]) -> ConnectivityMatrix:
    """Full connectivity between ``endpoints`` (pods and ``ip:`` peers)."""
    groups = _PodGroups(endpoints, engine.namespace_labels)
    rules = _number_rules(engine.policies)
    ports = _named_ports(rules.rules)
    classes = _classify(
        endpoints,
        groups,
        rules,
        _match_peers(rules, groups, endpoints),
        _isolation(engine.policies, rules, groups),
        ports,
    )
    table = class_table(
        [r.rule.ports for r in rules.rules],
        [r.allows_all_peers for r in rules.rules],
        classes.sources,
        classes.destinations,
        classes.sigs,
        ports.slot,
    )
    src_class, dst_class, rows = classes.src_class, classes.dst_class, table
    if engine.wall is not None:
        src_class, dst_class, rows = _walled(engine.wall, endpoints, src_class, dst_class, table)
    return ConnectivityMatrix(
        peers=tuple(ep.key for ep in endpoints),
        endpoints=tuple(endpoints),
        src_class=tuple(src_class),
        dst_class=tuple(dst_class),
        table=tuple(rows),
        self_allowed=engine.self_traffic == "allow",
    )


def _walled(
    wall: WallIndex,
    endpoints: Sequence[Endpoint],
    src_class: Sequence[int],
    dst_class: Sequence[int],
    table: Sequence[tuple[PortSet, ...]],
) -> tuple[list[int], list[int], list[tuple[PortSet, ...]]]:
    """The classes split by learner (a class is now (class, learner)), and the table with the
    cells the walls deny emptied: :meth:`WallIndex.denies` decides on the two learners alone,
    as :meth:`labkit.engine.evaluator.Engine.connectivity` does pair by pair."""
    identities = [wall.identity(ep) for ep in endpoints]
    src_ids: dict[tuple[int, Identity | None], int] = {}
    src_keys: list[tuple[int, Identity | None]] = []
    dst_ids: dict[tuple[int, Identity | None], int] = {}
    dst_keys: list[tuple[int, Identity | None]] = []
    new_src = [
        _intern((c, who), src_ids, src_keys) for c, who in zip(src_class, identities, strict=True)
    ]
    new_dst = [
        _intern((c, who), dst_ids, dst_keys) for c, who in zip(dst_class, identities, strict=True)
    ]
    learners = {who for _, who in dst_keys}
    rows: list[tuple[PortSet, ...]] = []
    for c, a in src_keys:
        denied = {b for b in learners if wall.denies(a, b)}
        row = table[c]
        rows.append(tuple(NOTHING if b in denied else row[d] for d, b in dst_keys))
    return new_src, new_dst, rows
