"""Protocols and ports as the NetworkPolicy API defines them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Protocol(StrEnum):
    """The protocols a NetworkPolicy port may name (``core/v1.Protocol``)."""

    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"

    def __str__(self) -> str:
        return self.value


PROTOCOLS: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)
MIN_PORT = 1
MAX_PORT = 65535


@dataclass(frozen=True)
class ContainerPort:
    """A container port of a pod: the target of named-port resolution."""

    port: int
    protocol: Protocol = Protocol.TCP
    name: str = ""


@dataclass(frozen=True)
class PolicyPort:
    """One ``spec.ingress[].ports[]`` / ``spec.egress[].ports[]`` entry, defaulted.

    ``port`` is ``None`` (every port of ``protocol``), a number, or a name that is resolved on
    the destination pod. ``end_port`` makes ``port``..``end_port`` an inclusive range.
    ``protocol`` is defaulted to TCP at parse time (``SetDefaults_NetworkPolicyPort``).
    """

    protocol: Protocol = Protocol.TCP
    port: int | str | None = None
    end_port: int | None = None

    def __str__(self) -> str:
        if self.port is None:
            return f"every {self.protocol} port"
        if self.end_port is not None:
            return f"{self.port}-{self.end_port}/{self.protocol}"
        return f"{self.port}/{self.protocol}"


def parse_probe(text: str) -> tuple[int, Protocol]:
    """Parse ``80``, ``80/TCP`` or ``53/udp`` into ``(port, protocol)``.

    Raises ``ValueError`` with a sentence a learner can act on.
    """
    raw = text.strip()
    port_text, _, proto_text = raw.partition("/")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a port: write PORT or PORT/PROTOCOL, for example 80/TCP or 53/UDP"
        ) from None
    if not MIN_PORT <= port <= MAX_PORT:
        raise ValueError(f"port {port} is out of range: use a number from 1 to 65535")
    proto_name = (proto_text or "TCP").upper()
    try:
        protocol = Protocol(proto_name)
    except ValueError:
        raise ValueError(
            f"protocol {proto_text!r} is not one of TCP, UDP, SCTP (NetworkPolicy cannot "
            "select other protocols)"
        ) from None
    return port, protocol
