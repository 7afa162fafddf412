"""The workshop wall in the engine: traffic between two learners' namespaces is denied.

The walls (:mod:`labkit.model.wall`) are evaluated before any NetworkPolicy, as Calico
evaluates its tier ``labkit-workshop`` (order 100) before the ``default`` tier holding the
Kubernetes NetworkPolicies, and as the network-policy-api evaluates the Admin tier before
NetworkPolicy. A wall only ever passes or denies, so it can take traffic away, never add it:

* A wall selects the pods of the namespaces labelled with its workshop and learner. Between
  two pods on the pod network whose namespaces belong to *different* learners (each has
  ``labkit.dev/learner``; a learner is a (workshop, learner) pair), the egress wall of the
  source's learner and the ingress wall of the destination's learner deny the traffic; one of
  the two existing is enough (a learner whose peer has no wall is still protected by its own).
* Everything else passes on to the NetworkPolicies: a learner's own namespaces, namespaces
  that are no learner's (``kube-system``, the canary), and peers with no namespace at all
  (``ip:`` addresses and ``hostNetwork`` pods, whose traffic is their node's: Calico makes no
  workload endpoint for them, see :mod:`labkit.engine.endpoints`).

With no wall in the inventory the engine builds no :class:`WallIndex` and nothing here runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from labkit.engine.endpoints import Endpoint, on_pod_network
from labkit.model.policy import Direction
from labkit.model.wall import LearnerWall
from labkit.model.workshop import LEARNER_LABEL, WORKSHOP_LABEL

Identity = tuple[str, str]
"""A learner: ``(workshop, learner)`` from a namespace's labels."""


def learner_text(identity: Identity, other: Identity) -> str:
    """``learner alice`` (``learner alice of workshop ws2`` when the two workshops differ)."""
    workshop, learner = identity
    if workshop != other[0]:
        return f"learner {learner} of workshop {workshop or '(none)'}"
    return f"learner {learner}"


@dataclass(frozen=True)
class WallBlock:
    """Why traffic is denied by the wall: the deciding wall, the side it guards, the two
    learners, and the other side's wall when it denies the traffic too."""

    wall: LearnerWall
    direction: Direction
    """``EGRESS``: the source's wall; ``INGRESS``: the destination's."""
    owner: str
    """The endpoint whose side the wall guards (``ns/pod``)."""
    own: Identity
    peer: Identity
    also: LearnerWall | None = None
    """The other side's wall, which denies the traffic too."""

    @property
    def text(self) -> str:
        """``denied by the workshop wall: GlobalNetworkPolicy labkit-ws1-alice (tier
        labkit-workshop) denies traffic between learner alice's namespaces and learner
        bob's``."""
        return (
            f"denied by the workshop wall: {self.wall.title} denies traffic between "
            f"{learner_text(self.own, self.peer)}'s namespaces and "
            f"{learner_text(self.peer, self.own)}'s"
        )


class WallIndex:
    """The walls of an inventory, by learner, and each namespace's learner."""

    def __init__(
        self, walls: Iterable[LearnerWall], namespace_labels: Mapping[str, Mapping[str, str]]
    ) -> None:
        by_owner: dict[Identity, list[LearnerWall]] = defaultdict(list)
        for wall in walls:
            by_owner[wall.owner].append(wall)
        self.walls: dict[Identity, tuple[LearnerWall, ...]] = {
            owner: tuple(found) for owner, found in by_owner.items()
        }
        self.learner_of: dict[str, Identity] = {
            namespace: (labels.get(WORKSHOP_LABEL, ""), labels[LEARNER_LABEL])
            for namespace, labels in namespace_labels.items()
            if LEARNER_LABEL in labels
        }

    def identity(self, endpoint: Endpoint) -> Identity | None:
        """The learner whose namespace holds ``endpoint`` (None: no learner's, or no pod on
        the pod network: an address or a ``hostNetwork`` pod has no namespace to the wall)."""
        if not on_pod_network(endpoint):
            return None
        return self.learner_of.get(endpoint.namespace)

    def denies(self, source: Identity | None, destination: Identity | None) -> bool:
        """Whether the walls deny traffic from a pod of learner ``source`` to one of learner
        ``destination`` (None: no learner's namespace): two different learners, and at least
        one of them has a wall."""
        return (
            source is not None
            and destination is not None
            and source != destination
            and (source in self.walls or destination in self.walls)
        )

    def blocks(self, src: Endpoint, dst: Endpoint) -> WallBlock | None:
        """Why the walls deny ``src`` -> ``dst``, or None when they pass it on."""
        own = self.identity(src)
        peer = self.identity(dst)
        if not self.denies(own, peer):
            return None
        assert own is not None and peer is not None
        egress = self.walls.get(own, ())
        ingress = self.walls.get(peer, ())
        if egress:
            return WallBlock(
                egress[0],
                Direction.EGRESS,
                src.key,
                own,
                peer,
                ingress[0] if ingress else None,
            )
        return WallBlock(ingress[0], Direction.INGRESS, dst.key, peer, own)
