"""The connectivity table between source classes and destination classes, on rule bitmasks.

:func:`labkit.engine.matrix.compute_matrix` sorts endpoints into classes; this module fills
the table. A side allows the union of the ports of its rules whose peers match the other end
(or that have no peers, conformance rule 2), and traffic needs both sides (rule 1):

* ingress side of a destination: (rules of the policies isolating it for ingress) AND (rules
  whose peers match the source, or that have no peers);
* egress side of a source: (rules of the policies isolating it for egress) AND (rules whose
  peers match the destination, or that have no peers);
* a side that no policy isolates allows everything.

Rule ids are bits of Python ints, so "which rules apply" is one ``&``. Equal masks towards
equal named-port numbers give equal port sets, so each distinct (numbers, mask) is computed
once, and port sets are interned so that the ingress-egress intersections are cached by
identity. :meth:`labkit.engine.evaluator.Engine.connectivity` answers the same question pair
by pair; tests hold the two together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from labkit.engine.portset import ALL, NOTHING, PortSet
from labkit.model.ports import PolicyPort, Protocol

Sig = tuple[int | None, ...]
"""What a destination's named ports resolve to, one slot per (name, protocol) rules use."""


def class_table(
    rule_ports: Sequence[tuple[PolicyPort, ...]],
    all_peers: Sequence[bool],
    src_parts: Sequence[tuple[frozenset[int], tuple[int, ...] | None]],
    dst_parts: Sequence[tuple[tuple[int, ...] | None, frozenset[int], int]],
    sigs: Sequence[Sig],
    name_slot: dict[tuple[str, Protocol], int],
) -> list[tuple[PortSet, ...]]:
    """``table[s][d]``: the ports allowed from source class ``s`` to destination class ``d``.

    * ``rule_ports[r]``: the ``ports`` of rule ``r``; ``all_peers[r]``: rule ``r`` has no peers;
    * ``src_parts[s]``: (ingress rules whose peers match the source, the egress rules of the
      policies isolating it or ``None`` when none does);
    * ``dst_parts[d]``: (the ingress rules of the policies isolating it or ``None``, egress
      rules whose peers match it, index of its named-port numbers in ``sigs``).
    """
    all_mask = 0
    for rid, free in enumerate(all_peers):
        if free:
            all_mask |= 1 << rid

    port_cache: dict[tuple[int, int], PortSet] = {}

    def rule_portset(rid: int, sig_id: int) -> PortSet:
        key = (rid, sig_id)
        found = port_cache.get(key)
        if found is None:
            found = port_cache[key] = _rule_ports_sig(rule_ports[rid], sigs[sig_id], name_slot)
        return found

    interned: dict[PortSet, PortSet] = {ALL: ALL, NOTHING: NOTHING}
    union_cache: dict[tuple[int, int], PortSet] = {}

    def allowed_by(sig_id: int, relevant: int) -> PortSet:
        """Union of the ports of the rules in ``relevant`` towards ``sigs[sig_id]``."""
        key = (sig_id, relevant)
        found = union_cache.get(key)
        if found is None:
            result = NOTHING
            rest = relevant
            while rest:
                low = rest & -rest
                rest ^= low
                result = result | rule_portset(low.bit_length() - 1, sig_id)
                if result.is_all:
                    break
            found = union_cache[key] = interned.setdefault(result, result)
        return found

    # destination profiles: ingress (isolating rules, numbers), egress (matching rules, numbers)
    in_profiles: dict[tuple[tuple[int, ...], int], int] = {}
    in_profile_parts: list[tuple[int, int]] = []  # (mask of isolating rules, sig id)
    eg_profiles: dict[tuple[frozenset[int], int], int] = {}
    eg_profile_parts: list[tuple[int, int]] = []  # (mask of matching rules, sig id)
    dst_in: list[int] = []  # -1: not ingress-isolated
    dst_eg: list[int] = []
    for in_key, m_eg, sig_id in dst_parts:
        if in_key is None:
            dst_in.append(-1)
        else:
            pid = in_profiles.get((in_key, sig_id))
            if pid is None:
                pid = in_profiles[(in_key, sig_id)] = len(in_profile_parts)
                in_profile_parts.append((_bits(in_key), sig_id))
            dst_in.append(pid)
        qid = eg_profiles.get((m_eg, sig_id))
        if qid is None:
            qid = eg_profiles[(m_eg, sig_id)] = len(eg_profile_parts)
            eg_profile_parts.append((_bits(m_eg) | all_mask, sig_id))
        dst_eg.append(qid)

    meet_cache: dict[tuple[int, int], PortSet] = {}

    def meet(ingress: PortSet, egress: PortSet) -> PortSet:
        key = (id(ingress), id(egress))
        found = meet_cache.get(key)
        if found is None:
            both = ingress & egress
            found = meet_cache[key] = interned.setdefault(both, both)
        return found

    table: list[tuple[PortSet, ...]] = []
    for m_in, eg_key in src_parts:
        src_mask = _bits(m_in) | all_mask
        ing = [allowed_by(sig_id, mask & src_mask) for mask, sig_id in in_profile_parts]
        ing.append(ALL)  # index -1: not isolated
        if eg_key is None:
            table.append(tuple([ing[p] for p in dst_in]))
            continue
        eg_mask = _bits(eg_key)
        egr = [allowed_by(sig_id, mask & eg_mask) for mask, sig_id in eg_profile_parts]
        row: list[PortSet] = []
        for p, q in zip(dst_in, dst_eg, strict=True):
            ingress = ing[p]
            row.append(NOTHING if ingress is NOTHING else meet(ingress, egr[q]))
        table.append(tuple(row))
    return table


def _bits(ids: Iterable[int]) -> int:
    out = 0
    for rid in ids:
        out |= 1 << rid
    return out


def _rule_ports_sig(
    entries: tuple[PolicyPort, ...], sig: Sig, slot: dict[tuple[str, Protocol], int]
) -> PortSet:
    """The ports of one rule towards a destination whose named ports resolve to ``sig``
    (an empty ``ports`` list: everything; an unresolved name: nothing, rule 6)."""
    if not entries:
        return ALL
    result = NOTHING
    for entry in entries:
        port = entry.port
        if port is None:
            result = result | PortSet.of(entry.protocol)
        elif isinstance(port, int):
            result = result | PortSet.of(entry.protocol, port, entry.end_port or port)
        else:
            number = sig[slot[(port, entry.protocol)]]
            if number is not None:
                result = result | PortSet.of(entry.protocol, number, number)
    return result
