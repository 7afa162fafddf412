"""The evidence of an explanation: plain frozen records, filled in by
:mod:`labkit.engine.explain` and laid out by :mod:`labkit.engine.explain.render`."""

from __future__ import annotations

from dataclasses import dataclass

from labkit.model.policy import Direction
from labkit.model.ports import Protocol


@dataclass(frozen=True)
class PeerCheck:
    """One ``from``/``to`` entry held against the other endpoint."""

    index: int
    text: str
    matched: bool
    reasons: tuple[str, ...] = ()
    note: str = ""
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortCheck:
    """A rule's ``ports`` held against the probed port and protocol."""

    matched: bool
    text: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleCheck:
    """One rule of a policy that isolates the side, with what matched and what did not."""

    policy: str
    direction: Direction
    index: int
    peers: tuple[PeerCheck, ...]
    ports: PortCheck
    summary: str

    @property
    def any_peer(self) -> bool:
        """The rule has no ``from``/``to``: it matches every peer, addresses included."""
        return not self.peers

    @property
    def peer_matched(self) -> bool:
        return self.any_peer or any(p.matched for p in self.peers)

    @property
    def matched_peer(self) -> int | None:
        return next((p.index for p in self.peers if p.matched), None)

    @property
    def allows(self) -> bool:
        return self.peer_matched and self.ports.matched

    @property
    def distance(self) -> int:
        """How many of (peers, ports) failed: 0 allows, 1 is a near miss."""
        return int(not self.peer_matched) + int(not self.ports.matched)

    @property
    def field(self) -> str:
        return "ingress" if self.direction is Direction.INGRESS else "egress"

    @property
    def peer_field(self) -> str:
        return "from" if self.direction is Direction.INGRESS else "to"

    @property
    def ref(self) -> str:
        """``my-segment/allow-x ingress[0]``, plus ``from[1]`` when a peer matched."""
        text = f"{self.policy} {self.field}[{self.index}]"
        if self.matched_peer is not None:
            text += f" {self.peer_field}[{self.matched_peer}]"
        return text


@dataclass(frozen=True)
class PolicyNote:
    """A policy of the pod's namespace that does not isolate this side, and why."""

    policy: str
    selects: bool
    text: str


@dataclass(frozen=True)
class SideExplanation:
    """The egress side of the source or the ingress side of the destination."""

    direction: Direction
    owner: str
    peer: str
    exists: bool
    isolated: bool
    allowed: bool
    isolating: tuple[str, ...]
    rules: tuple[RuleCheck, ...]
    empty_policies: tuple[str, ...]
    not_isolating: tuple[PolicyNote, ...]
    summary: str
    host_network: bool = False
    """The owner is a ``hostNetwork`` pod: it has no side, its traffic is its node's."""

    @property
    def name(self) -> str:
        return "ingress" if self.direction is Direction.INGRESS else "egress"

    @property
    def allowed_by(self) -> tuple[RuleCheck, ...]:
        return tuple(r for r in self.rules if r.allows)

    @property
    def misses(self) -> tuple[RuleCheck, ...]:
        """Rules that do not allow the traffic, closest first."""
        return tuple(r for r in self.rules if not r.allows)


@dataclass(frozen=True)
class WallCheck:
    """The workshop wall that denies the traffic before any NetworkPolicy is consulted
    (:mod:`labkit.engine.wall`)."""

    kind: str
    name: str
    tier: str | None
    direction: Direction
    """``EGRESS``: the source's wall denies it; ``INGRESS``: the destination's."""
    owner: str
    """The endpoint whose side the wall guards."""
    learner: str
    """The learner the wall belongs to."""
    peer_learner: str
    """The other learner."""
    text: str
    """``denied by the workshop wall: GlobalNetworkPolicy labkit-ws1-alice (tier
    labkit-workshop) denies traffic between learner alice's namespaces and learner bob's``."""
    also: str = ""
    """The other side's wall (kind, name, tier) when it denies the traffic too."""

    @property
    def title(self) -> str:
        text = f"{self.kind} {self.name}"
        return f"{text} (tier {self.tier})" if self.tier else text

    @property
    def side(self) -> str:
        return "egress" if self.direction is Direction.EGRESS else "ingress"


@dataclass(frozen=True)
class Explanation:
    """A verdict (``Engine.allowed``) and the evidence of both sides."""

    source: str
    destination: str
    port: int
    protocol: Protocol
    allowed: bool | None
    self_traffic: bool
    egress: SideExplanation
    ingress: SideExplanation
    summary: str
    notes: tuple[str, ...] = ()
    wall: WallCheck | None = None
    """The workshop wall that denies this traffic (None: no wall does)."""

    @property
    def verdict(self) -> str:
        if self.allowed is None:
            return "NOT GOVERNED BY POLICY"
        return "ALLOWED" if self.allowed else "DENIED"

    @property
    def sides(self) -> tuple[SideExplanation, SideExplanation]:
        return (self.egress, self.ingress)

    def __str__(self) -> str:
        from labkit.engine.explain.render import to_text

        return to_text(self)

    def _repr_html_(self) -> str:
        from labkit.engine.explain.render import to_html

        return to_html(self)
