"""Answering "is this traffic allowed?" for one pair of endpoints.

Kubernetes semantics (conformance README, rules 1, 2, 9):

* Isolation is per direction. A pod is ingress-isolated when some policy of its namespace
  selects it and lists ``Ingress`` in its (defaulted) ``policyTypes``; egress likewise.
* Traffic is allowed when the source's egress side allows it and the destination's ingress
  side allows it. A side that is not isolated allows everything; an isolated side allows the
  union of what the rules of all policies selecting it allow (policies only add).
* An address that is not a pod has no side of its own: as a destination only the source's
  egress applies, as a source only the destination's ingress. A ``hostNetwork`` pod is
  treated the same way: its traffic is its node's (:mod:`labkit.engine.endpoints`).
* Traffic from a pod to itself is allowed by default (the sources never assert it and real
  CNIs let it through); ``self_traffic="evaluate"`` treats it like any other pair.
* In a workshop, the walls between learners (:mod:`labkit.engine.wall`) come first: traffic
  between two learners' namespaces is denied whatever the NetworkPolicies say. An inventory
  without walls builds no wall index and pays nothing for them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Literal

from labkit.engine.compiled import CompiledPolicy, CompiledRule, compile_policy, rule_ports
from labkit.engine.endpoints import Endpoint, on_pod_network, resolve_endpoint, service_at
from labkit.engine.portset import ALL, NOTHING, PortSet
from labkit.engine.wall import WallBlock, WallIndex
from labkit.errors import EvaluationError
from labkit.model.inventory import Inventory
from labkit.model.objects import Pod
from labkit.model.policy import Direction, parse_address
from labkit.model.ports import MAX_PORT, MIN_PORT, Protocol

SelfTraffic = Literal["allow", "evaluate"]


class Engine:
    """A compiled view of an :class:`Inventory` that answers reachability questions."""

    def __init__(self, inventory: Inventory, *, self_traffic: SelfTraffic = "allow") -> None:
        if self_traffic not in ("allow", "evaluate"):
            raise EvaluationError(
                f"self_traffic must be 'allow' or 'evaluate', not {self_traffic!r}"
            )
        self.inventory = inventory
        self.self_traffic: SelfTraffic = self_traffic
        self.policies: tuple[CompiledPolicy, ...] = tuple(
            compile_policy(p) for p in inventory.policies
        )
        by_ns: dict[str, list[CompiledPolicy]] = defaultdict(list)
        for cp in self.policies:
            by_ns[cp.policy.namespace].append(cp)
        self._by_namespace = dict(by_ns)
        self.namespace_labels: dict[str, dict[str, str]] = {
            ns.name: ns.label_map for ns in inventory.namespaces
        }
        self.wall: WallIndex | None = (
            WallIndex(inventory.walls, self.namespace_labels) if inventory.walls else None
        )
        """The workshop walls (None: the inventory has none)."""

    # -- selection -------------------------------------------------------------------------
    def selecting(self, pod: Pod, direction: Direction | None = None) -> list[CompiledPolicy]:
        """Policies whose ``podSelector`` selects ``pod`` (and that isolate ``direction``)."""
        return [
            cp
            for cp in self._by_namespace.get(pod.namespace, ())
            if cp.selects(pod) and (direction is None or direction in cp.policy.policy_types)
        ]

    def is_isolated(self, pod: Pod, direction: Direction) -> bool:
        return bool(self.selecting(pod, direction))

    def endpoint(self, text: str) -> Endpoint:
        return resolve_endpoint(self.inventory, text)

    # -- evaluation ------------------------------------------------------------------------
    def matching_rules(
        self, src: Endpoint, dst: Endpoint, direction: Direction
    ) -> tuple[bool, list[CompiledRule]]:
        """``(isolated, rules whose peers match)`` for one side of the traffic."""
        owner = dst if direction is Direction.INGRESS else src
        other = src if direction is Direction.INGRESS else dst
        if not on_pod_network(owner):
            return False, []
        policies = self.selecting(owner, direction)
        if not policies:
            return False, []
        rules = [
            rule
            for cp in policies
            for rule in cp.rules(direction)
            if rule.peer_matches(other, self.namespace_labels)
        ]
        return True, rules

    def side(self, src: Endpoint, dst: Endpoint, direction: Direction) -> PortSet:
        isolated, rules = self.matching_rules(src, dst, direction)
        if not isolated:
            return ALL
        result = NOTHING
        for rule in rules:
            result = result | rule_ports(rule.rule, dst)
            if result.is_all:
                break
        return result

    def connectivity(self, src: Endpoint, dst: Endpoint) -> PortSet | None:
        """Every port and protocol allowed from ``src`` to ``dst``; ``None`` between two
        endpoints off the pod network (addresses, ``hostNetwork`` pods): no policy can speak
        about that traffic."""
        if not on_pod_network(src) and not on_pod_network(dst):
            return None
        if src == dst and self.self_traffic == "allow":
            return ALL
        if self.wall is not None and self.wall.blocks(src, dst) is not None:
            return NOTHING
        ingress = self.side(src, dst, Direction.INGRESS)
        if ingress.is_empty:
            return ingress
        return ingress & self.side(src, dst, Direction.EGRESS)

    def wall_block(self, src: Endpoint, dst: Endpoint) -> WallBlock | None:
        """Why the workshop walls deny ``src`` -> ``dst`` (None: they do not, or there are
        none); self traffic is never walled off."""
        if self.wall is None or (src == dst and self.self_traffic == "allow"):
            return None
        return self.wall.blocks(src, dst)

    def allowed(self, src: Endpoint, dst: Endpoint, port: int, protocol: Protocol) -> bool | None:
        check_port(port)
        protocol = check_protocol(protocol)
        conn = self.connectivity(src, dst)
        return None if conn is None else conn.contains(port, protocol)

    def allowed_by_name(
        self, src: str, dst: str, port: int, protocol: Protocol | str
    ) -> bool | None:
        return self.allowed(self.endpoint(src), self.endpoint(dst), port, check_protocol(protocol))

    def endpoints(self, externals: Iterable[str] = ()) -> list[Endpoint]:
        found: list[Endpoint] = list(self.inventory.pods)
        for text in externals:
            written = text if text.startswith("ip:") else f"ip:{text}"
            service = _service_address(self.inventory, written)
            if service is not None:
                raise EvaluationError(
                    f"--external {text} is the ClusterIP of service {service}: policies never "
                    "see a ClusterIP (traffic to it is judged on the Service's backend pods), "
                    "so it is no external peer"
                )
            ep = self.endpoint(written)
            if isinstance(ep, Pod):
                raise EvaluationError(
                    f"--external {text} is the address of pod {ep.key}; external peers must not "
                    "be pod addresses"
                )
            if ep not in found:
                found.append(ep)
        return found


def _service_address(inventory: Inventory, written: str) -> str | None:
    try:
        address = parse_address(written[3:])
    except ValueError:
        return None
    return service_at(inventory, address)


def check_port(port: int) -> None:
    if not isinstance(port, int) or isinstance(port, bool) or not MIN_PORT <= port <= MAX_PORT:
        raise EvaluationError(f"port {port!r} is out of range: use a number from 1 to 65535")


def check_protocol(protocol: Protocol | str) -> Protocol:
    """``TCP``, ``UDP`` or ``SCTP`` (any case): the protocols NetworkPolicy can name."""
    try:
        return Protocol(str(protocol).upper())
    except ValueError:
        raise EvaluationError(
            f"protocol {protocol!r} is not one of TCP, UDP, SCTP (NetworkPolicy cannot select "
            "other protocols)"
        ) from None
