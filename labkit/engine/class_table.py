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
from typing import NamedTuple

from labkit.engine.portset import ALL, NOTHING, PortSet
from labkit.model.ports import PolicyPort, Protocol

Sig = tuple[tuple[int, ...], ...]
"""What a destination's named ports resolve to, one slot per (name, protocol) rules use."""


class SourceClass(NamedTuple):
    """What tells sources apart: the rules that see them from the other end, their own
    egress side."""

    matched_ingress: frozenset[int]
    """Ingress rules whose peers match the source."""
    egress_rules: tuple[int, ...] | None
    """The egress rules of the policies isolating it (``None``: none does)."""


class DestinationClass(NamedTuple):
    """What tells destinations apart: their own ingress side, the rules that see them from
    the other end, and what their named ports resolve to."""

    ingress_rules: tuple[int, ...] | None
    """The ingress rules of the policies isolating it (``None``: none does)."""
    matched_egress: frozenset[int]
    """Egress rules whose peers match the destination."""
    sig_id: int
    """Index of its named-port numbers in ``sigs``."""


def class_table(
    rule_ports: Sequence[tuple[PolicyPort, ...]],
    all_peers: Sequence[bool],
    src_parts: Sequence[SourceClass],
    dst_parts: Sequence[DestinationClass],
    sigs: Sequence[Sig],
    name_slot: dict[tuple[str, Protocol], int],
) -> list[tuple[PortSet, ...]]:
    """``table[s][d]``: the ports allowed from source class ``s`` to destination class ``d``.

    ``rule_ports[r]``: the ``ports`` of rule ``r``; ``all_peers[r]``: rule ``r`` has no peers;
    ``src_parts[s]`` and ``dst_parts[d]``: what each class is (see :class:`SourceClass` and
    :class:`DestinationClass`).
    """
    all_mask = _bits(rid for rid, free in enumerate(all_peers) if free)
    ports = _PortUnions(rule_ports, sigs, name_slot)
    profiles = _destination_profiles(dst_parts, all_mask)
    return [_row(source, profiles, ports, all_mask) for source in src_parts]


class _PortUnions:
    """Port sets of rules towards named-port numbers, their unions and intersections, each
    computed once and interned (equal sets are one object, so pairs are cached by identity)."""

    def __init__(
        self,
        rule_ports: Sequence[tuple[PolicyPort, ...]],
        sigs: Sequence[Sig],
        name_slot: dict[tuple[str, Protocol], int],
    ) -> None:
        self._rule_ports = rule_ports
        self._sigs = sigs
        self._name_slot = name_slot
        self._port_cache: dict[tuple[int, int], PortSet] = {}
        self._interned: dict[PortSet, PortSet] = {ALL: ALL, NOTHING: NOTHING}
        self._union_cache: dict[tuple[int, int], PortSet] = {}
        self._meet_cache: dict[tuple[int, int], PortSet] = {}

    def rule(self, rid: int, sig_id: int) -> PortSet:
        """The ports of rule ``rid`` towards the named-port numbers ``sigs[sig_id]``."""
        key = (rid, sig_id)
        found = self._port_cache.get(key)
        if found is None:
            found = _rule_ports_sig(self._rule_ports[rid], self._sigs[sig_id], self._name_slot)
            self._port_cache[key] = found
        return found

    def allowed_by(self, sig_id: int, relevant: int) -> PortSet:
        """Union of the ports of the rules in the mask ``relevant`` towards ``sigs[sig_id]``."""
        key = (sig_id, relevant)
        found = self._union_cache.get(key)
        if found is None:
            result = NOTHING
            rest = relevant
            while rest:
                low = rest & -rest
                rest ^= low
                result = result | self.rule(low.bit_length() - 1, sig_id)
                if result.is_all:
                    break
            found = self._union_cache[key] = self._interned.setdefault(result, result)
        return found

    def meet(self, ingress: PortSet, egress: PortSet) -> PortSet:
        """``ingress & egress`` (both interned)."""
        key = (id(ingress), id(egress))
        found = self._meet_cache.get(key)
        if found is None:
            both = ingress & egress
            found = self._meet_cache[key] = self._interned.setdefault(both, both)
        return found


class _Profile(NamedTuple):
    """One side of destinations as the table needs it: a mask of rule ids and the index of
    the named-port numbers they meet."""

    mask: int
    sig_id: int


class _DestinationProfiles(NamedTuple):
    """Destination classes reduced to distinct profiles, per side.

    ``ingress[p]``: (isolating ingress rules, numbers); ``dst_ingress[d]``: the profile of
    class ``d``, ``-1`` when nothing isolates it for ingress. ``egress[q]``: (egress rules
    whose peers match it or that have no peers, numbers); ``dst_egress[d]``: its profile.
    """

    ingress: list[_Profile]
    dst_ingress: list[int]
    egress: list[_Profile]
    dst_egress: list[int]


def _destination_profiles(
    dst_parts: Sequence[DestinationClass], all_mask: int
) -> _DestinationProfiles:
    in_ids: dict[tuple[tuple[int, ...], int], int] = {}
    eg_ids: dict[tuple[frozenset[int], int], int] = {}
    out = _DestinationProfiles([], [], [], [])
    for in_key, m_eg, sig_id in dst_parts:
        if in_key is None:
            out.dst_ingress.append(-1)
        else:
            pid = in_ids.get((in_key, sig_id))
            if pid is None:
                pid = in_ids[(in_key, sig_id)] = len(out.ingress)
                out.ingress.append(_Profile(_bits(in_key), sig_id))
            out.dst_ingress.append(pid)
        qid = eg_ids.get((m_eg, sig_id))
        if qid is None:
            qid = eg_ids[(m_eg, sig_id)] = len(out.egress)
            out.egress.append(_Profile(_bits(m_eg) | all_mask, sig_id))
        out.dst_egress.append(qid)
    return out


def _row(
    source: SourceClass, profiles: _DestinationProfiles, ports: _PortUnions, all_mask: int
) -> tuple[PortSet, ...]:
    """One row of the table: both sides of every destination class towards ``source``."""
    src_mask = _bits(source.matched_ingress) | all_mask
    ing = [ports.allowed_by(sig_id, mask & src_mask) for mask, sig_id in profiles.ingress]
    ing.append(ALL)  # index -1: not isolated
    if source.egress_rules is None:
        return tuple([ing[p] for p in profiles.dst_ingress])
    eg_mask = _bits(source.egress_rules)
    egr = [ports.allowed_by(sig_id, mask & eg_mask) for mask, sig_id in profiles.egress]
    meet = ports.meet
    return tuple(
        [
            NOTHING if ing[p] is NOTHING else meet(ing[p], egr[q])
            for p, q in zip(profiles.dst_ingress, profiles.dst_egress, strict=True)
        ]
    )


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
            for number in sig[slot[(port, entry.protocol)]]:
                result = result | PortSet.of(entry.protocol, number, number)
    return result
