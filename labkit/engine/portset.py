"""Sets of (protocol, port) as sorted, disjoint inclusive ranges.

Connectivity between two peers is a ``PortSet``: computed on ranges, never by enumerating the
65,535 ports of each protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit.errors import EvaluationError
from labkit.model.ports import MAX_PORT, MIN_PORT, PROTOCOLS, Protocol

Ranges = tuple[tuple[int, int], ...]
FULL: Ranges = ((MIN_PORT, MAX_PORT),)


def _normalise(ranges: list[tuple[int, int]]) -> Ranges:
    ranges.sort()
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def _intersect(a: Ranges, b: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _unknown(protocol: object) -> EvaluationError:
    return EvaluationError(
        f"protocol {protocol!r} is not one of TCP, UDP, SCTP (write it in capitals, e.g. UDP)"
    )


@dataclass(frozen=True)
class PortSet:
    """Allowed ports per protocol (TCP, UDP, SCTP)."""

    tcp: Ranges = ()
    udp: Ranges = ()
    sctp: Ranges = ()

    @staticmethod
    def of(protocol: Protocol, lo: int = MIN_PORT, hi: int = MAX_PORT) -> PortSet:
        rng: Ranges = ((lo, hi),) if lo <= hi else ()
        if protocol == Protocol.TCP:
            return PortSet(tcp=rng)
        if protocol == Protocol.UDP:
            return PortSet(udp=rng)
        if protocol == Protocol.SCTP:
            return PortSet(sctp=rng)
        raise _unknown(protocol)

    def ranges(self, protocol: Protocol) -> Ranges:
        # `==`, not `is`: a plain "UDP" string from a notebook must not read the SCTP ranges
        if protocol == Protocol.TCP:
            return self.tcp
        if protocol == Protocol.UDP:
            return self.udp
        if protocol == Protocol.SCTP:
            return self.sctp
        raise _unknown(protocol)

    @property
    def is_empty(self) -> bool:
        return not (self.tcp or self.udp or self.sctp)

    @property
    def is_all(self) -> bool:
        return self.tcp == FULL and self.udp == FULL and self.sctp == FULL

    def contains(self, port: int, protocol: Protocol) -> bool:
        return any(lo <= port <= hi for lo, hi in self.ranges(protocol))

    def union(self, other: PortSet) -> PortSet:
        if other.is_empty or self.is_all:
            return self
        if self.is_empty or other.is_all:
            return other
        return PortSet(
            _normalise([*self.tcp, *other.tcp]),
            _normalise([*self.udp, *other.udp]),
            _normalise([*self.sctp, *other.sctp]),
        )

    def intersection(self, other: PortSet) -> PortSet:
        if self.is_all or other.is_empty:
            return other
        if other.is_all or self.is_empty:
            return self
        return PortSet(
            _intersect(self.tcp, other.tcp),
            _intersect(self.udp, other.udp),
            _intersect(self.sctp, other.sctp),
        )

    __or__ = union
    __and__ = intersection

    def __str__(self) -> str:
        """``All``, ``TCP 80,9000-9100; UDP 53``, or the empty string for nothing."""
        if self.is_all:
            return "All"
        parts = []
        for proto in PROTOCOLS:
            rng = self.ranges(proto)
            if rng:
                items = ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in rng)
                parts.append(f"{proto.value} {items}")
        return "; ".join(parts)

    @staticmethod
    def parse(text: str) -> PortSet:
        """Inverse of ``str()``: ``All``, ``""`` or ``TCP 80,90-99; UDP 53``."""
        text = text.strip()
        if text == "All":
            return ALL
        result = NOTHING
        for part in filter(None, (p.strip() for p in text.split(";"))):
            name, _, items = part.partition(" ")
            proto = Protocol(name)
            for item in items.split(","):
                lo, _, hi = item.strip().partition("-")
                result = result | PortSet.of(proto, int(lo), int(hi or lo))
        return result


ALL = PortSet(FULL, FULL, FULL)
NOTHING = PortSet()
