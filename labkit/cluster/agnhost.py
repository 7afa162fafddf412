"""Reading ``agnhost connect``: what a probe saw, and what that means for policy.

``agnhost connect HOST:PORT --timeout=Ns --protocol=tcp|udp|sctp`` (test/images/agnhost/
connect/connect.go) exits 0 when the connection succeeded (for UDP: a reply came back) and
otherwise exits 1 with one line on stderr that starts with a fixed word:

* ``TIMEOUT`` (UDP: ``TIMEOUT: <error>``): nothing came back in time. NetworkPolicy
  enforcement by Calico drops packets, so a blocked connection times out.
* ``REFUSED`` (UDP: ``REFUSED: <error>``): the destination answered with a reset (or ICMP
  port unreachable). The packet got through policy; nothing listens on that port. labkit
  reports it as allowed with the detail ``refused: nothing listens`` and never as blocked
  (a CNI that rejects instead of dropping would also show REFUSED; the detail says so).
* ``DNS: <error>``, ``OTHER: <error>``, ``UNKNOWN: <error>``: the probe itself failed.

Its default timeout is 0 (no timeout), so labkit always passes one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from ipaddress import ip_address

from labkit.model.ports import Protocol
from labkit.probe.jobs import Outcome

AGNHOST = "/agnhost"


class Seen(Enum):
    CONNECTED = "connected"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    DNS = "dns"
    OTHER = "other"
    UNKNOWN = "unknown"
    NO_AGNHOST = "no-agnhost"


@dataclass(frozen=True)
class Observation:
    seen: Seen
    text: str = ""

    @property
    def outcome(self) -> Outcome:
        if self.seen in (Seen.CONNECTED, Seen.REFUSED):
            return Outcome.ALLOWED
        if self.seen is Seen.TIMEOUT:
            return Outcome.BLOCKED
        return Outcome.FAILED

    def detail(self, protocol: Protocol = Protocol.TCP) -> str:
        if self.seen is Seen.CONNECTED:
            return "connected"
        if self.seen is Seen.REFUSED:
            return "refused: nothing listens (policy let it through; or the CNI rejects)"
        if self.seen is Seen.TIMEOUT:
            return "timeout: no UDP reply" if protocol is Protocol.UDP else "timeout"
        if self.seen is Seen.NO_AGNHOST:
            return (
                "probe failed: the source pod has no /agnhost (probes need the image "
                "registry.k8s.io/e2e-test-images/agnhost)"
            )
        return f"probe failed: {self.text or self.seen.value}"


_WORDS = {
    "TIMEOUT": Seen.TIMEOUT,
    "REFUSED": Seen.REFUSED,
    "DNS": Seen.DNS,
    "OTHER": Seen.OTHER,
    "UNKNOWN": Seen.UNKNOWN,
}
_LEADING_WORD = re.compile(r"\s*(TIMEOUT|REFUSED|DNS|OTHER|UNKNOWN)\b")


def classify(exit_code: int, output: str) -> Observation:
    """Turn ``agnhost connect``'s exit status and output into an :class:`Observation`."""
    text = " ".join(output.split())
    if exit_code == 0:
        return Observation(Seen.CONNECTED, text)
    if exit_code in (126, 127) or "agnhost: not found" in text or "no such file" in text.lower():
        return Observation(Seen.NO_AGNHOST, text)
    for line in output.splitlines():
        match = _LEADING_WORD.match(line)
        if match:
            return Observation(_WORDS[match[1]], " ".join(line.split()))
    return Observation(Seen.UNKNOWN, text or f"exit status {exit_code}")


def host_port(address: str, port: int) -> str:
    """``10.0.0.1:80`` or ``[fd00::1]:80``."""
    try:
        is_v6 = ip_address(address).version == 6
    except ValueError:
        is_v6 = False
    return f"[{address}]:{port}" if is_v6 else f"{address}:{port}"


def connect_argv(
    address: str, port: int, protocol: Protocol, timeout_s: float, agnhost: str = AGNHOST
) -> list[str]:
    return [
        agnhost,
        "connect",
        host_port(address, port),
        f"--timeout={timeout_s:g}s",
        f"--protocol={protocol.value.lower()}",
    ]
