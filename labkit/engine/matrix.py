"""Full connectivity for every ordered pair, computed on equivalence classes.

Pods that no policy can tell apart behave identically, so the matrix is computed once per
pair of *classes* and expanded. A source's class is (the ingress rules whose peers match it,
its own egress rules); a destination's class is (its ingress rules, the egress rules whose
peers match it, the numbers its named ports resolve to). Selectors are evaluated once per
distinct (namespace, labels) group, ipBlocks once per address by bisection over sorted
addresses. The answers equal :meth:`Engine.connectivity` on every pair (tests hold the two
paths together).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from labkit.engine.class_table import class_table
from labkit.engine.compiled import CompiledRule
from labkit.engine.endpoints import Endpoint, External
from labkit.engine.evaluator import Engine, check_port
from labkit.engine.portset import ALL, PortSet
from labkit.model.objects import Pod
from labkit.model.policy import IPBlock, Peer
from labkit.model.ports import Protocol


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
        if isinstance(self.endpoints[i], External) and isinstance(self.endpoints[j], External):
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
        external = [isinstance(e, External) for e in self.endpoints]
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
        external = [isinstance(e, External) for e in self.endpoints]
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


def _ip_int(ep: Endpoint) -> tuple[int, int] | None:
    address = ep.ip
    return None if address is None else (address.version, int(address))


class _IPIndex:
    """Endpoints sorted by address, to find those inside a CIDR by bisection."""

    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        self.by_version: dict[int, tuple[list[int], list[int]]] = {}
        pairs: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for idx, ep in enumerate(endpoints):
            key = _ip_int(ep)
            if key is not None:
                pairs[key[0]].append((key[1], idx))
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


def compute_matrix(engine: Engine, endpoints: Sequence[Endpoint]) -> ConnectivityMatrix:
    """Full connectivity between ``endpoints`` (pods and ``ip:`` peers)."""
    inv = engine.inventory
    ns_labels = engine.namespace_labels
    n = len(endpoints)

    # groups of pods that selectors cannot tell apart
    group_of: list[int] = []
    groups: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    group_ids: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    for ep in endpoints:
        if isinstance(ep, Pod):
            gkey = (ep.namespace, ep.labels)
            gid = group_ids.get(gkey)
            if gid is None:
                gid = group_ids[gkey] = len(groups)
                groups.append(gkey)
            group_of.append(gid)
        else:
            group_of.append(-1)
    group_label_maps = [dict(labels) for _, labels in groups]
    groups_by_ns: dict[str, list[int]] = defaultdict(list)
    for gid, (ns, _) in enumerate(groups):
        groups_by_ns[ns].append(gid)
    label_index: dict[tuple[str, str], set[int]] = defaultdict(set)
    for gid, (_, labels) in enumerate(groups):
        for pair in labels:
            label_index[pair].add(gid)

    ns_match_cache: dict[object, list[str]] = {}

    def matching_namespaces(selector: object) -> list[str]:
        found = ns_match_cache.get(selector)
        if found is None:
            found = [ns for ns, labels in ns_labels.items() if selector.matches(labels)]  # type: ignore[attr-defined]
            ns_match_cache[selector] = found
        return found

    def select_groups(selector: object, namespaces: Iterable[str]) -> set[int]:
        candidates: set[int] | None = None
        for pair in selector.match_labels:  # type: ignore[attr-defined]
            hits = label_index.get(pair, set())
            candidates = set(hits) if candidates is None else candidates & hits
            if not candidates:
                return set()
        wanted = set(namespaces)
        pool = (
            candidates
            if candidates is not None
            else {g for ns in wanted for g in groups_by_ns.get(ns, ())}
        )
        return {
            g
            for g in pool
            if groups[g][0] in wanted and selector.matches(group_label_maps[g])  # type: ignore[attr-defined]
        }

    peer_cache: dict[tuple[Peer, str], set[int]] = {}

    def peer_groups(peer: Peer, policy_ns: str) -> set[int]:
        key = (peer, policy_ns)
        found = peer_cache.get(key)
        if found is None:
            namespaces = (
                [policy_ns]
                if peer.namespace_selector is None
                else matching_namespaces(peer.namespace_selector)
            )
            if peer.pod_selector is None:
                from labkit.model.labels import EVERYTHING

                found = select_groups(EVERYTHING, namespaces)
            else:
                found = select_groups(peer.pod_selector, namespaces)
            peer_cache[key] = found
        return found

    ip_index = _IPIndex(endpoints)
    block_cache: dict[IPBlock, set[int]] = {}

    # rule ids and who their peers match
    rules: list[CompiledRule] = []
    group_rules: list[list[int]] = [[] for _ in groups]
    ep_ip_rules: list[list[int]] = [[] for _ in range(n)]
    for cp in engine.policies:
        for rule in (*cp.ingress, *cp.egress):
            rid = len(rules)
            rules.append(rule)
            if rule.allows_all_peers:
                continue
            gset: set[int] = set()
            eset: set[int] = set()
            for peer in rule.rule.peers:
                if peer.ip_block is not None:
                    hits = block_cache.get(peer.ip_block)
                    if hits is None:
                        hits = block_cache[peer.ip_block] = ip_index.inside(peer.ip_block)
                    eset |= hits
                else:
                    gset |= peer_groups(peer, cp.policy.namespace)
            for g in gset:
                group_rules[g].append(rid)
            for e in eset:
                ep_ip_rules[e].append(rid)
    is_ingress = [r.direction.value == "Ingress" for r in rules]
    all_peers = [r.allows_all_peers for r in rules]

    # which policies isolate each group, per direction
    in_key_group: list[tuple[int, ...] | None] = [None] * len(groups)
    eg_key_group: list[tuple[int, ...] | None] = [None] * len(groups)
    rid_base = 0
    for cp in engine.policies:
        ids_in = list(range(rid_base, rid_base + len(cp.ingress)))
        ids_eg = list(
            range(rid_base + len(cp.ingress), rid_base + len(cp.ingress) + len(cp.egress))
        )
        rid_base += len(cp.ingress) + len(cp.egress)
        pol = cp.policy
        selected = select_groups(pol.pod_selector, [pol.namespace])
        for g in selected:
            if "Ingress" in {t.value for t in pol.policy_types}:
                cur = in_key_group[g]
                in_key_group[g] = (*(cur or ()), *ids_in)
            if "Egress" in {t.value for t in pol.policy_types}:
                cur = eg_key_group[g]
                eg_key_group[g] = (*(cur or ()), *ids_eg)

    # named ports that any rule uses, resolved per destination
    used_names: list[tuple[str, Protocol]] = sorted(
        {(p.port, p.protocol) for r in rules for p in r.rule.ports if isinstance(p.port, str)},
        key=lambda t: (t[0], t[1].value),
    )
    name_slot = {nm: i for i, nm in enumerate(used_names)}

    def port_sig(ep: Endpoint) -> tuple[int | None, ...]:
        if not used_names or isinstance(ep, External):
            return (None,) * len(used_names)
        return tuple(ep.named_port(name, proto) for name, proto in used_names)

    # classes
    src_keys: dict[tuple[object, object], int] = {}
    dst_keys: dict[tuple[object, object, object], int] = {}
    sig_ids: dict[tuple[int | None, ...], int] = {}
    sigs: list[tuple[int | None, ...]] = []
    src_class: list[int] = []
    dst_class: list[int] = []
    src_parts: list[tuple[frozenset[int], tuple[int, ...] | None]] = []
    dst_parts: list[tuple[tuple[int, ...] | None, frozenset[int], int]] = []
    for e, ep in enumerate(endpoints):
        g = group_of[e]
        matched = (group_rules[g] if g >= 0 else []) + ep_ip_rules[e]
        m_in = frozenset(r for r in matched if is_ingress[r])
        m_eg = frozenset(r for r in matched if not is_ingress[r])
        in_key = in_key_group[g] if g >= 0 else None
        eg_key = eg_key_group[g] if g >= 0 else None
        sig = port_sig(ep)
        sig_id = sig_ids.get(sig)
        if sig_id is None:
            sig_id = sig_ids[sig] = len(sigs)
            sigs.append(sig)
        skey = (m_in, eg_key)
        sid = src_keys.get(skey)
        if sid is None:
            sid = src_keys[skey] = len(src_parts)
            src_parts.append((m_in, eg_key))
        src_class.append(sid)
        dkey = (in_key, m_eg, sig_id)
        did = dst_keys.get(dkey)
        if did is None:
            did = dst_keys[dkey] = len(dst_parts)
            dst_parts.append((in_key, m_eg, sig_id))
        dst_class.append(did)

    table = class_table(
        [r.rule.ports for r in rules], all_peers, src_parts, dst_parts, sigs, name_slot
    )

    del inv
    return ConnectivityMatrix(
        peers=tuple(ep.key for ep in endpoints),
        endpoints=tuple(endpoints),
        src_class=tuple(src_class),
        dst_class=tuple(dst_class),
        table=tuple(table),
        self_allowed=engine.self_traffic == "allow",
    )
