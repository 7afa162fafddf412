"""Probe jobs and their outcomes: the same jobs for the engine and for a real cluster."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from labkit.model.ports import Protocol


@dataclass(frozen=True)
class ProbeSpec:
    """A destination port and protocol to try (``80/TCP``)."""

    port: int
    protocol: Protocol = Protocol.TCP

    def __str__(self) -> str:
        return f"{self.port}/{self.protocol.value}"

    @staticmethod
    def parse(text: str) -> ProbeSpec:
        from labkit.model.ports import parse_probe

        port, protocol = parse_probe(text)
        return ProbeSpec(port, protocol)


@dataclass(frozen=True)
class Job:
    """Try to reach ``dst`` from ``src`` on ``probe`` (peers are ``ns/pod`` or ``ip:addr``)."""

    src: str
    dst: str
    probe: ProbeSpec


class Outcome(StrEnum):
    """What a probe saw. ``FAILED`` means the probe itself broke (pod not ready, exec error,
    DNS): it is never shown as ``BLOCKED``."""

    ALLOWED = "allowed"
    BLOCKED = "blocked"
    FAILED = "failed"
    NOT_APPLICABLE = "n/a"

    @property
    def symbol(self) -> str:
        return {"allowed": ".", "blocked": "X", "failed": "?", "n/a": "-"}[self.value]


@dataclass(frozen=True)
class Result:
    job: Job
    outcome: Outcome
    detail: str = ""
    attempts: int = 1
