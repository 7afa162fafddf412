"""Peer and port expressions of requirement files (labkit.grading.peers)."""

from __future__ import annotations

import pytest
from grading_core_fixtures import inventory

from labkit.engine.endpoints import External
from labkit.engine.portset import ALL, NOTHING, PortSet
from labkit.grading.peers import (
    difference,
    expand,
    first_port,
    parse_peer,
    parse_ports,
)
from labkit.model.ports import MAX_PORT, Protocol

TCP, UDP, SCTP = Protocol.TCP, Protocol.UDP, Protocol.SCTP


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("*", ["a/db", "a/web", "b/client"]),  # every pod but the hostNetwork one
        ("a/*", ["a/db", "a/web"]),
        ("b/*", ["b/client"]),  # a wildcard never expands to a hostNetwork pod
        ("b/node-agent", ["b/node-agent"]),  # ...unless it is named exactly
        ("a/web", ["a/web"]),
        ("a/app=db", ["a/db"]),
        ("*/app=client", ["b/client"]),
        ("*/app=agent", None),  # the only app=agent pod is hostNetwork: matches none
        ("a/app=web,tier=x", None),  # all labels must match (matchLabels)
        ("c/*", None),  # unknown namespace
        ("a/nope", None),  # unknown pod
        ("b/app=web", None),  # a selector matching no pod is an error, not an empty set
    ],
)
def test_expand(text: str, keys: list[str] | None) -> None:
    inv = inventory()
    expr = parse_peer(text)
    if keys is None:
        with pytest.raises(LookupError):
            expand(expr, inv)
    else:
        assert sorted(ep.key for ep in expand(expr, inv)) == keys


def test_expand_address_is_an_external_peer() -> None:
    (found,) = expand(parse_peer("ip:8.8.8.8"), inventory())
    assert isinstance(found, External)
    assert found.key == "ip:8.8.8.8"


@pytest.mark.parametrize(
    "text", ["", "my-segment", "a/b/c", "*/web", "/x", "ip:not-an-ip", "a/=x", 7]
)
def test_parse_peer_refuses(text: object) -> None:
    with pytest.raises(ValueError):
        parse_peer(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("80/TCP", PortSet.of(TCP, 80, 80)),
        ("53/udp", PortSet.of(UDP, 53, 53)),
        ("9090", PortSet.of(TCP, 9090, 9090)),  # no protocol: TCP, as NetworkPolicy defaults
        (9090, PortSet.of(TCP, 9090, 9090)),
        ("9000-9100/TCP", PortSet.of(TCP, 9000, 9100)),
        ("any", ALL),
        (["53/UDP", "53/TCP"], PortSet.of(UDP, 53, 53) | PortSet.of(TCP, 53, 53)),
        ("1-65535/SCTP", PortSet.of(SCTP)),
    ],
)
def test_parse_ports(value: object, expected: PortSet) -> None:
    assert parse_ports(value) == expected


@pytest.mark.parametrize(
    "value", ["80/ICMP", "0/TCP", "65536", "100-90/TCP", "http", [], None, True, "80/TCP/x"]
)
def test_parse_ports_refuses(value: object) -> None:
    with pytest.raises(ValueError):
        parse_ports(value)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (ALL, NOTHING, ALL),
        (ALL, ALL, NOTHING),
        (PortSet.of(TCP, 1, 100), PortSet.of(TCP, 50, 50), PortSet(tcp=((1, 49), (51, 100)))),
        (PortSet.of(TCP, 1, 100), PortSet.of(UDP, 1, 100), PortSet.of(TCP, 1, 100)),
        (PortSet.of(TCP), PortSet(tcp=((1, 79), (81, MAX_PORT))), PortSet.of(TCP, 80, 80)),
        (
            PortSet.of(TCP, 10, 20),
            PortSet(tcp=((1, 12), (15, 16), (19, 30))),
            PortSet(tcp=((13, 14), (17, 18))),
        ),
    ],
)
def test_difference_on_ranges(a: PortSet, b: PortSet, expected: PortSet) -> None:
    assert difference(a, b) == expected


def test_first_port_prefers_named_ports_then_lowest() -> None:
    ports = PortSet.of(TCP, 1, 100) | PortSet.of(UDP, 53, 53)
    assert first_port(ports) == (1, TCP)
    assert first_port(ports, [(443, TCP), (53, UDP)]) == (53, UDP)
    assert first_port(PortSet.of(SCTP, 9, 9)) == (9, SCTP)
    assert first_port(NOTHING) is None
