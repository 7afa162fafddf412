"""Checking requirements on full connectivity, and the feedback for a miss.

Every check reads the engine's full connectivity (:func:`labkit.engine.matrix.compute_matrix`
for every ordered pair of the world, which equals :meth:`Engine.connectivity` pair by pair)
as :class:`~labkit.engine.portset.PortSet` ranges over every port of TCP, UDP and SCTP; no
check samples probe ports, so one extra open port anywhere in a range is seen.

* ``allowed``: every (source, destination) pair allows every listed port;
* ``blocked``: every pair allows none of the listed ports;
* ``exactly``: for the target and every peer of the world (its pods and the requirement
  file's ``externals``), the allowed ports equal the union of the ``allow`` entries naming
  that peer (nothing else: no other source, port or protocol);
* ``unchanged``: every pair allows exactly what it allowed in the starting world;
* ``state``: a NetworkPolicy exists in the namespace.

Traffic from a pod to itself is skipped: the engine (like real CNIs) always allows it and no
policy can change that (:mod:`labkit.engine.evaluator`). Pairs of two endpoints off the pod
network are skipped too: no policy governs them (``Engine.connectivity`` is ``None``).
A miss names the first failing pair and its lowest failing port, with the reason from
:func:`labkit.engine.explain.explain`, so the feedback can never disagree with the verdict.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from labkit.engine.endpoints import Endpoint, External
from labkit.engine.evaluator import Engine
from labkit.engine.explain import explain
from labkit.engine.matrix import ConnectivityMatrix, compute_matrix
from labkit.engine.portset import NOTHING, PortSet
from labkit.errors import RequirementsError
from labkit.grading.peers import (
    COMMON_PORTS,
    PeerExpr,
    difference,
    expand,
    first_port,
    lowest_ports,
)
from labkit.grading.requirements import ExactEntry, Exactly, Flow, Requirement
from labkit.model.inventory import Inventory
from labkit.model.ports import Protocol


@dataclass(frozen=True)
class Observation:
    """What a probe on the lab cluster saw: ``source`` -> ``destination`` (peer keys) on
    ``port``/``protocol`` was allowed or not."""

    source: str
    destination: str
    port: int
    protocol: Protocol
    allowed: bool


class View:
    """One world's full connectivity: its pods and ``externals``, computed once.

    With observations (:meth:`observed`, for ``labkit grade --live``) the probes decide where
    they speak: a probed port counts as the cluster answered, every other port as the engine
    predicts."""

    def __init__(self, inventory: Inventory, externals: Iterable[PeerExpr] = ()) -> None:
        self.inventory = inventory
        self.engine = Engine(inventory)
        addresses = [e.text for e in externals if e.address is not None]
        self.endpoints: tuple[Endpoint, ...] = tuple(self.engine.endpoints(addresses))
        self.matrix: ConnectivityMatrix = compute_matrix(self.engine, self.endpoints)
        self._index = {ep.key: i for i, ep in enumerate(self.endpoints)}
        self.corrections: dict[tuple[str, str], tuple[PortSet, PortSet]] = {}
        """``(source, destination) -> (ports observed open, ports observed closed)`` where
        the cluster disagreed with the engine."""

    def ports(self, src: Endpoint, dst: Endpoint) -> PortSet | None:
        """Every port allowed from ``src`` to ``dst`` (``None``: no policy governs it)."""
        i, j = self._index.get(src.key), self._index.get(dst.key)
        found = (
            self.engine.connectivity(src, dst) if i is None or j is None else self.matrix.cell(i, j)
        )
        fix = self.corrections.get((src.key, dst.key))
        if found is None or fix is None:
            return found
        opened, closed = fix
        return difference(found.union(opened), closed)

    def observed(self, observations: Iterable[Observation]) -> View:
        """This view, corrected by what the probes saw where it differs from the engine."""
        view = copy.copy(self)
        view.corrections = dict(self.corrections)
        for o in observations:
            single = PortSet.of(o.protocol, o.port, o.port)
            current = self.ports(
                self.engine.endpoint(o.source), self.engine.endpoint(o.destination)
            )
            if current is None or current.contains(o.port, o.protocol) == o.allowed:
                continue
            opened, closed = view.corrections.get((o.source, o.destination), (NOTHING, NOTHING))
            if o.allowed:
                opened = opened.union(single)
            else:
                closed = closed.union(single)
            view.corrections[(o.source, o.destination)] = (opened, closed)
        return view

    def expand(self, expr: PeerExpr, requirement: Requirement, field: str) -> tuple[Endpoint, ...]:
        try:
            return expand(expr, self.inventory)
        except LookupError as exc:
            raise RequirementsError(
                str(exc).strip("'\""),
                file=requirement.file,
                requirement=requirement.id,
                field=field,
                hint="name a namespace, pod or label of the exercise's world",
            ) from None


@dataclass(frozen=True)
class Miss:
    """The first failing pair of a requirement, its lowest failing port and why."""

    source: Endpoint
    destination: Endpoint
    port: int
    protocol: Protocol
    reason: str


@dataclass(frozen=True)
class Outcome:
    """Whether a requirement's check passes; a miss (traffic) or a note (state) if not."""

    passed: bool
    miss: Miss | None = None
    note: str = ""


PASSED = Outcome(True)


def check_requirement(req: Requirement, after: View, before: View) -> Outcome:
    """Check ``req`` on the graded world ``after`` (``before``: the starting world)."""
    misses = _misses(req, after, before)
    miss = next(misses, None)
    if miss is not None:
        return Outcome(False, miss)
    if req.state is not None and not after.inventory.policies_in(req.state.policy_in):
        return Outcome(False, note=f"no NetworkPolicy exists in namespace {req.state.policy_in}")
    return PASSED


def _misses(req: Requirement, after: View, before: View) -> Iterator[Miss]:
    for flow in req.allowed:
        yield from _flow_misses(req, flow, after, must_allow=True)
    for flow in req.blocked:
        yield from _flow_misses(req, flow, after, must_allow=False)
    if req.exactly is not None:
        yield from _exactly_misses(req, req.exactly, after)
    for flow in req.unchanged:
        yield from _unchanged_misses(req, flow, after, before)


def _pairs(req: Requirement, flow: Flow, view: View) -> Iterator[tuple[Endpoint, Endpoint]]:
    sources = view.expand(flow.source, req, f"{flow.field}.from")
    destinations = view.expand(flow.destination, req, f"{flow.field}.to")
    for src in sources:
        for dst in destinations:
            if src != dst:
                yield src, dst


def _named_ports(req: Requirement) -> tuple[tuple[int, Protocol], ...]:
    """The ports ``req`` names (a miss is shown on one of them when it can be), then the
    common ones; ``any`` names none."""
    sets = [f.ports for f in (*req.allowed, *req.blocked, *req.unchanged)]
    if req.exactly is not None:
        sets += [e.ports for e in req.exactly.allow]
    named = [p for ports in sets if not ports.is_all for p in lowest_ports(ports)]
    return tuple(dict.fromkeys((*named, *COMMON_PORTS)))


def _miss(
    src: Endpoint, dst: Endpoint, ports: PortSet, reason: str, req: Requirement
) -> Iterator[Miss]:
    if ports.is_empty:
        return
    found = first_port(ports, _named_ports(req))
    if found is not None:
        yield Miss(src, dst, found[0], found[1], reason)


def _flow_misses(req: Requirement, flow: Flow, view: View, *, must_allow: bool) -> Iterator[Miss]:
    for src, dst in _pairs(req, flow, view):
        conn = view.ports(src, dst)
        if conn is None:
            continue
        if must_allow:
            yield from _miss(
                src, dst, difference(flow.ports, conn), "is blocked but must be allowed", req
            )
        else:
            yield from _miss(src, dst, conn & flow.ports, "is allowed but must be blocked", req)


def _exactly_misses(req: Requirement, exactly: Exactly, view: View) -> Iterator[Miss]:
    other = "from" if exactly.direction == "to" else "to"
    entries = [
        (frozenset(view.expand(e.peer, req, f"{e.field}.{other}")), e) for e in exactly.allow
    ]
    for target in view.expand(exactly.target, req, f"{exactly.field}.{exactly.direction}"):
        for peer in view.endpoints:
            if peer == target:
                continue
            src, dst = (peer, target) if exactly.direction == "to" else (target, peer)
            conn = view.ports(src, dst)
            if conn is None:
                continue
            expected = _expected(peer, entries)
            yield from _miss(
                src, dst, difference(conn, expected), "is allowed but must be blocked", req
            )
            yield from _miss(
                src, dst, difference(expected, conn), "is blocked but must be allowed", req
            )


def _expected(peer: Endpoint, entries: list[tuple[frozenset[Endpoint], ExactEntry]]) -> PortSet:
    result = NOTHING
    for members, entry in entries:
        if peer in members:
            result = result | entry.ports
    return result


def _unchanged_misses(req: Requirement, flow: Flow, after: View, before: View) -> Iterator[Miss]:
    sources = _with_externals(
        after, flow.source, after.expand(flow.source, req, f"{flow.field}.from")
    )
    destinations = _with_externals(
        after, flow.destination, after.expand(flow.destination, req, f"{flow.field}.to")
    )
    skip_src = _excepted(after, req, flow.except_source, f"{flow.field}.except_from")
    skip_dst = _excepted(after, req, flow.except_destination, f"{flow.field}.except_to")
    for src in sources:
        for dst in destinations:
            if src == dst or src in skip_src or dst in skip_dst:
                continue
            now, then = after.ports(src, dst), before.ports(src, dst)
            if now is None or then is None:
                continue
            now, then = now & flow.ports, then & flow.ports
            yield from _miss(
                src,
                dst,
                difference(now, then),
                "is allowed but was blocked at the start (it must stay unchanged)",
                req,
            )
            yield from _miss(
                src,
                dst,
                difference(then, now),
                "is blocked but was allowed at the start (it must stay unchanged)",
                req,
            )


def _with_externals(
    view: View, expr: PeerExpr, found: tuple[Endpoint, ...]
) -> tuple[Endpoint, ...]:
    """``*`` in ``unchanged`` also covers the requirement file's ``externals``."""
    if not expr.is_everything:
        return found
    return (*found, *(ep for ep in view.endpoints if isinstance(ep, External)))


def _excepted(
    view: View, req: Requirement, expr: PeerExpr | None, field: str
) -> frozenset[Endpoint]:
    return frozenset() if expr is None else frozenset(view.expand(expr, req, field))


def miss_text(miss: Miss, engine: Engine, view: View | None = None) -> str:
    """``a -> b on 5432/TCP is allowed but must be blocked: <explain's summary>``; where the
    lab cluster's probe decided against the engine (``view`` with observations), it says so."""
    head = f"{miss.source.key} -> {miss.destination.key} on {miss.port}/{miss.protocol.value}"
    fix = view.corrections.get((miss.source.key, miss.destination.key)) if view else None
    if fix is not None and any(ps.contains(miss.port, miss.protocol) for ps in fix):
        return (
            f"{head} {miss.reason}: observed by a probe on the lab cluster, although the "
            "policies predict the opposite (the cluster's CNI and the engine disagree)"
        )
    why = explain(engine, miss.source, miss.destination, miss.port, miss.protocol)
    return f"{head} {miss.reason}: {why.summary}"
