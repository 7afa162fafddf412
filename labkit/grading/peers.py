"""Peer and port expressions of requirement files, and their expansion against a world.

Peers, as requirement files write them (:mod:`labkit.grading.requirements`):

* ``ns/pod`` one pod (a ``hostNetwork`` pod only when named exactly like this);
* ``ns/*`` every pod of ``ns``; ``*`` every pod of the world;
* ``ns/l=v`` or ``ns/l=v,l2=v2`` the pods of ``ns`` carrying all those labels (Kubernetes
  ``matchLabels``: every pair must be present with that value, ``labels.SelectorFromSet``
  in apimachinery); ``*/l=v`` the same in every namespace;
* ``ip:8.8.8.8`` an address off the pod network (an ``External`` endpoint of the engine).

Wildcards and selectors never expand to ``hostNetwork`` pods: NetworkPolicy selectors never
select them either (:mod:`labkit.engine.endpoints`). An expression naming a namespace or pod
the world does not hold, or a selector matching no pod, is an error of the requirement file,
never a silent empty set.

Ports: ``80/TCP``, ``53/UDP``, ``9090`` (TCP, the NetworkPolicy default protocol),
``9000-9100/TCP``, ``any`` (every port of TCP, UDP and SCTP), or a list of those; parsed
into :class:`labkit.engine.portset.PortSet` and handled as ranges, never port by port.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labkit.engine.endpoints import Endpoint, External
from labkit.engine.portset import ALL, NOTHING, PortSet, Ranges
from labkit.model.inventory import Inventory
from labkit.model.objects import IPAddress
from labkit.model.policy import parse_address
from labkit.model.ports import MAX_PORT, MIN_PORT, PROTOCOLS, Protocol

ANY_PORT = "any"


@dataclass(frozen=True)
class PeerExpr:
    """A parsed peer expression; ``namespace`` ``None`` means every namespace."""

    text: str
    namespace: str | None = None
    pod: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    address: IPAddress | None = None

    @property
    def is_everything(self) -> bool:
        return self.text == "*"


def parse_peer(text: object) -> PeerExpr:
    """Parse a peer expression; raises ``ValueError`` saying what to write instead."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            f"{text!r} is not a peer: write ns/pod, ns/*, ns/label=value, * or ip:ADDR"
        )
    raw = text.strip()
    if raw == "*":
        return PeerExpr(raw)
    if raw.startswith("ip:"):
        return PeerExpr(raw, address=parse_address(raw[3:]))
    namespace, slash, rest = raw.partition("/")
    if not slash or not namespace or not rest or "/" in rest:
        raise ValueError(
            f"{raw!r} is not a peer: write ns/pod, ns/*, ns/label=value, */label=value, * or ip:ADDR"
        )
    ns = None if namespace == "*" else namespace
    if rest == "*":
        return PeerExpr(raw, namespace=ns)
    if "=" not in rest:
        if ns is None:
            raise ValueError(f"{raw!r}: a pod name needs its namespace (write ns/{rest})")
        return PeerExpr(raw, namespace=ns, pod=rest)
    return PeerExpr(raw, namespace=ns, labels=_parse_labels(raw, rest))


def _parse_labels(raw: str, rest: str) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for item in rest.split(","):
        key, eq, value = item.strip().partition("=")
        if not eq or not key.strip():
            raise ValueError(f"{raw!r}: {item!r} is not label=value")
        pairs.append((key.strip(), value.strip()))
    return tuple(sorted(pairs))


def expand(expr: PeerExpr, inventory: Inventory) -> tuple[Endpoint, ...]:
    """The endpoints ``expr`` stands for in ``inventory`` (inventory order).

    Raises ``LookupError`` when a namespace or pod does not exist or a selector matches none.
    """
    if expr.address is not None:
        return (External(expr.address),)
    if expr.namespace is not None and expr.namespace not in inventory.namespace_map:
        raise LookupError(
            f"namespace {expr.namespace!r} does not exist in the world; namespaces: "
            + ", ".join(sorted(inventory.namespace_map))
        )
    if expr.pod is not None:
        pod = inventory.pod_map.get(f"{expr.namespace}/{expr.pod}")
        if pod is None:
            raise LookupError(f"pod {expr.namespace}/{expr.pod} does not exist in the world")
        return (pod,)
    wanted = dict(expr.labels)
    found = tuple(
        pod
        for pod in inventory.pods
        if not pod.host_network
        and (expr.namespace is None or pod.namespace == expr.namespace)
        and all(pod.label_map.get(k) == v for k, v in wanted.items())
    )
    if not found:
        raise LookupError(f"{expr.text!r} matches no pod of the world")
    return found


def parse_ports(value: object) -> PortSet:
    """Parse a port expression (or a list of them) into a :class:`PortSet`."""
    if isinstance(value, list):
        if not value:
            raise ValueError("an empty list of ports: write any, or list at least one port")
        result = NOTHING
        for item in value:
            result = result | parse_ports(item)
        return result
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a port: write 80/TCP, 53/UDP, 9000-9100/TCP or any")
    return _parse_one_port(value.strip())


def _parse_one_port(text: str) -> PortSet:
    if text.lower() == ANY_PORT:
        return ALL
    numbers, _, proto_text = text.partition("/")
    try:
        protocol = Protocol((proto_text or "TCP").strip().upper())
    except ValueError:
        raise ValueError(f"{text!r}: the protocol must be TCP, UDP or SCTP") from None
    lo_text, dash, hi_text = numbers.partition("-")
    try:
        lo = int(lo_text)
        hi = int(hi_text) if dash else lo
    except ValueError:
        raise ValueError(
            f"{text!r} is not a port: write 80/TCP, 53/UDP, 9000-9100/TCP or any"
        ) from None
    if not MIN_PORT <= lo <= hi <= MAX_PORT:
        raise ValueError(f"{text!r}: ports run from 1 to 65535, the range low to high")
    return PortSet.of(protocol, lo, hi)


def subtract_ranges(a: Ranges, b: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in a:
        start = lo
        for blo, bhi in b:
            if bhi < start or blo > hi:
                continue
            if blo > start:
                out.append((start, blo - 1))
            start = max(start, bhi + 1)
            if start > hi:
                break
        if start <= hi:
            out.append((start, hi))
    return tuple(out)


def difference(a: PortSet, b: PortSet) -> PortSet:
    """The ports of ``a`` that ``b`` does not hold, protocol by protocol, on ranges."""
    if b.is_empty or a.is_empty:
        return a
    return PortSet(
        subtract_ranges(a.tcp, b.tcp),
        subtract_ranges(a.udp, b.udp),
        subtract_ranges(a.sctp, b.sctp),
    )


COMMON_PORTS: tuple[tuple[int, Protocol], ...] = (
    (80, Protocol.TCP),
    (443, Protocol.TCP),
    (53, Protocol.UDP),
    (53, Protocol.TCP),
)
"""Ports a miss is shown on when they fail, before the lowest failing port."""


def lowest_ports(ports: PortSet) -> tuple[tuple[int, Protocol], ...]:
    """The first port of each range of ``ports``: the ports a requirement names."""
    return tuple((rng[0], p) for p in PROTOCOLS for rng in ports.ranges(p))


def first_port(
    ports: PortSet, prefer: Iterable[tuple[int, Protocol]] = ()
) -> tuple[int, Protocol] | None:
    """The port of ``ports`` a miss is shown on: the first of ``prefer`` it holds (the
    ports the requirement names), else the lowest (TCP first, then UDP, then SCTP)."""
    for port, protocol in prefer:
        if ports.contains(port, protocol):
            return port, protocol
    for protocol in PROTOCOLS:
        ranges = ports.ranges(protocol)
        if ranges:
            return ranges[0][0], protocol
    return None
