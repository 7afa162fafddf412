"""Why one connection is allowed or denied: the evidence behind a verdict.

:func:`explain` answers the same question as :meth:`Engine.allowed` and shows its work, side
by side, in Kubernetes' terms (conformance README, rules 1-13):

* Traffic passes only when the source's **egress** side and the destination's **ingress** side
  both allow it. A side is *isolated* when a policy of the pod's namespace selects the pod and
  lists that direction in its (defaulted) ``policyTypes``; a side that is not isolated allows
  everything. An isolated side allows the union of its policies' rules (policies only add).
* An ``ip:`` endpoint is not a pod and has no side of its own; between two ``ip:`` endpoints
  no policy applies at all (verdict ``None``, as the engine says).
* Traffic from a pod to itself is allowed by default (``Engine(self_traffic="allow")``); the
  sides are still evaluated and shown for the curious.

For each side the evidence names the policies that select the pod (or says that none does),
the rules that allow the traffic (policy, rule index, peer index) and, when nothing allows
it, every rule of those policies ordered by how close it came, with the reason in words:
selector requirements the pod or namespace fails (naming the label it lacks or the value it
has), a ``podSelector`` alone meaning the policy's own namespace, ``ipBlock`` ranges and
``except`` carve-outs, ports and protocols, and named ports that the destination pod does not
declare. The verdict is always :meth:`Engine.allowed`'s; the tests hold the evidence to it on
every conformance tuple. Rendering lives in :mod:`labkit.engine.explain.render`.

In a workshop, traffic between two learners' namespaces is denied by the wall
(:mod:`labkit.engine.wall`) before any NetworkPolicy is consulted: the summary then names the
wall object (kind, name, Calico tier) and the two learners, and a note says what the
NetworkPolicies alone would have done; both sides are still shown.
"""

from __future__ import annotations

from dataclasses import replace

from labkit.engine.compiled import CompiledPolicy
from labkit.engine.endpoints import Endpoint, External, host_network_text, on_pod_network
from labkit.engine.evaluator import Engine, check_protocol
from labkit.engine.explain.checks import check_rule, peer_text, port_entry_text, would_allow
from labkit.engine.explain.model import (
    Explanation,
    PeerCheck,
    PolicyNote,
    PortCheck,
    RuleCheck,
    SideExplanation,
    WallCheck,
)
from labkit.engine.selector_words import selector_misses
from labkit.engine.wall import WallBlock
from labkit.model.objects import Pod
from labkit.model.policy import Direction
from labkit.model.ports import Protocol

__all__ = [
    "Explanation",
    "PeerCheck",
    "PolicyNote",
    "PortCheck",
    "RuleCheck",
    "SideExplanation",
    "WallCheck",
    "explain",
    "explain_by_name",
    "peer_text",
    "port_entry_text",
]


def _not_isolating(
    engine: Engine,
    owner: Pod,
    other: Endpoint,
    dst: Endpoint,
    direction: Direction,
    port: int,
    protocol: Protocol,
    isolated: bool,
) -> tuple[PolicyNote, ...]:
    """Policies of the pod's namespace that do not isolate this side, and why.

    When the side is not isolated every such policy is listed (one of them may be the one
    meant for this pod); when it is isolated, only those with a rule that would allow this
    traffic if the policy applied: the near misses of the selection itself.
    """
    notes: list[PolicyNote] = []
    name = direction.value.lower()
    for cp in engine.policies:
        pol = cp.policy
        if pol.namespace != owner.namespace:
            continue
        selects = cp.selects(owner)
        if selects and direction in pol.policy_types:
            continue
        if not selects and direction not in pol.policy_types:
            continue
        would = would_allow(engine, pol, direction, other, dst, port, protocol)
        if isolated and would is None:
            continue
        if selects:
            types = ", ".join(t.value for t in sorted(pol.policy_types, key=lambda t: t.value))
            text = (
                f"{pol.key} selects {owner.key} but its policyTypes [{types}] do not include "
                f"{direction.value}, so it leaves {name} alone"
            )
            if pol.rules(direction):
                text += f" (its spec.{name} rules are ignored)"
        else:
            misses = selector_misses(pol.pod_selector, owner.label_map, "pod", f"pod {owner.key}")
            text = f"{pol.key} does not select {owner.key}: its podSelector " + "; ".join(misses)
        if would is not None:
            text += f"; its {name}[{would}] would allow this traffic"
        notes.append(PolicyNote(pol.key, selects, text))
    return tuple(notes)


def _side(
    engine: Engine,
    src: Endpoint,
    dst: Endpoint,
    direction: Direction,
    port: int,
    protocol: Protocol,
) -> SideExplanation:
    ingress = direction is Direction.INGRESS
    owner = dst if ingress else src
    other = src if ingress else dst
    name = "ingress" if ingress else "egress"
    if not on_pod_network(owner):
        if isinstance(owner, External):
            summary = f"{owner.key} is not a pod, so it has no {name} side"
        else:
            summary = f"{host_network_text(owner)}, so it has no {name} side"
        if on_pod_network(other):
            side = "egress side of the source" if ingress else "ingress side of the destination"
            summary += f"; only the {side} decides"
        side_of = _no_policy_side(direction, owner, other, exists=False, summary=summary)
        return replace(side_of, host_network=isinstance(owner, Pod))
    isolating: list[CompiledPolicy] = engine.selecting(owner, direction)
    notes = _not_isolating(engine, owner, other, dst, direction, port, protocol, bool(isolating))
    if not isolating:
        summary = (
            f"not isolated: no policy in namespace {owner.namespace} selects {owner.key} with "
            f"{direction.value} in its policyTypes, so all of its {name} traffic is allowed"
        )
        return _no_policy_side(direction, owner, other, exists=True, summary=summary, notes=notes)
    checks = [
        check_rule(engine, rule, owner, other, dst, port, protocol)
        for cp in isolating
        for rule in cp.rules(direction)
    ]
    allowing = [c for c in checks if c.allows]
    missing = sorted(
        (c for c in checks if not c.allows), key=lambda c: (c.distance, c.policy, c.index)
    )
    empty = tuple(cp.policy.key for cp in isolating if not cp.rules(direction))
    names = ", ".join(cp.policy.key for cp in isolating)
    if allowing:
        summary = f"isolated by {names}; allowed by " + ", ".join(c.ref for c in allowing)
    else:
        summary = (
            f"isolated by {names}; no {name} rule allows {other.key} on {port}/{protocol.value}"
        )
    return SideExplanation(
        direction=direction,
        owner=owner.key,
        peer=other.key,
        exists=True,
        isolated=True,
        allowed=bool(allowing),
        isolating=tuple(cp.policy.key for cp in isolating),
        rules=(*allowing, *missing),
        empty_policies=empty,
        not_isolating=notes,
        summary=summary,
    )


def _no_policy_side(
    direction: Direction,
    owner: Endpoint,
    other: Endpoint,
    *,
    exists: bool,
    summary: str,
    notes: tuple[PolicyNote, ...] = (),
) -> SideExplanation:
    """A side that allows everything: an address has none, a pod no policy isolates."""
    return SideExplanation(
        direction=direction,
        owner=owner.key,
        peer=other.key,
        exists=exists,
        isolated=False,
        allowed=True,
        isolating=(),
        rules=(),
        empty_policies=(),
        not_isolating=notes,
        summary=summary,
    )


def explain(
    engine: Engine, src: Endpoint, dst: Endpoint, port: int, protocol: Protocol | str
) -> Explanation:
    """Explain :meth:`Engine.allowed` for ``src`` -> ``dst`` on ``port``/``protocol``.

    Raises :class:`~labkit.errors.EvaluationError` for a port or protocol the engine rejects.
    """
    protocol = check_protocol(protocol)
    verdict = engine.allowed(src, dst, port, protocol)
    egress = _side(engine, src, dst, Direction.EGRESS, port, protocol)
    ingress = _side(engine, src, dst, Direction.INGRESS, port, protocol)
    probe = f"{port}/{protocol.value}"
    self_traffic = src == dst and engine.self_traffic == "allow"
    notes: list[str] = [
        host_network_text(ep) + " (Kubernetes docs: a pod cannot block traffic from its own "
        "node, so traffic between it and pods on the same node passes whatever the policies say)"
        for ep in dict.fromkeys((src, dst))
        if isinstance(ep, Pod) and ep.host_network
    ]
    block = engine.wall_block(src, dst)
    wall = _wall_check(block) if block is not None else None
    if wall is not None:
        policies_say = "allow" if egress.allowed and ingress.allowed else "deny"
        summary = wall.text
        notes.append(
            f"the wall is evaluated before any NetworkPolicy; without it the NetworkPolicies "
            f"would {policies_say} {probe}"
        )
        if wall.also:
            notes.append(f"the other side's wall, {wall.also}, denies this traffic too")
    elif verdict is None and isinstance(src, External) and isinstance(dst, External):
        summary = (
            f"neither {src.key} nor {dst.key} is a pod: NetworkPolicy only governs traffic to "
            "or from pods, so no policy speaks about this traffic"
        )
    elif verdict is None:
        summary = (
            f"neither {src.key} nor {dst.key} is a pod on the pod network: NetworkPolicy only "
            "governs traffic to or from such pods, so no policy speaks about this traffic"
        )
    elif self_traffic:
        policies_say = "allow" if egress.allowed and ingress.allowed else "deny"
        summary = (
            f"traffic from {src.key} to itself is allowed by default (real CNIs let it "
            "through; NetworkPolicy sources never assert it)"
        )
        notes.append(
            f"evaluated like traffic between two pods, the policies would {policies_say} it"
        )
    elif verdict:
        summary = (
            f"both sides allow {probe}: the egress of {src.key} ({_brief(egress)}) and the "
            f"ingress of {dst.key} ({_brief(ingress)})"
        )
    else:
        blocked = [s for s in (egress, ingress) if not s.allowed]
        which = " and ".join(f"the {s.name} side of {s.owner}" for s in blocked)
        summary = f"{which} {'do' if len(blocked) > 1 else 'does'} not allow {probe}"
        if port == 53 and not egress.allowed:
            notes.append(
                "port 53 is DNS: an egress-isolated pod needs a rule allowing UDP and TCP 53 to "
                "the cluster DNS pods (k8s-app=kube-dns in kube-system), or every name lookup "
                "fails"
            )
    return Explanation(
        source=src.key,
        destination=dst.key,
        port=port,
        protocol=protocol,
        allowed=verdict,
        self_traffic=self_traffic,
        egress=egress,
        ingress=ingress,
        summary=summary,
        notes=tuple(notes),
        wall=wall,
    )


def _wall_check(block: WallBlock) -> WallCheck:
    return WallCheck(
        kind=block.wall.kind,
        name=block.wall.name,
        tier=block.wall.tier,
        direction=block.direction,
        owner=block.owner,
        learner=block.own[1],
        peer_learner=block.peer[1],
        text=block.text,
        also=block.also.title if block.also is not None else "",
    )


def _brief(side: SideExplanation) -> str:
    if side.host_network:
        return "no side: host network"
    if not side.exists:
        return "no side: not a pod"
    if not side.isolated:
        return "not isolated"
    return "by " + ", ".join(r.ref for r in side.allowed_by)


def explain_by_name(
    engine: Engine, src: str, dst: str, port: int, protocol: Protocol | str = Protocol.TCP
) -> Explanation:
    """:func:`explain` with peers written as ``ns/pod``, ``ip:addr`` or a bare address."""
    return explain(engine, engine.endpoint(src), engine.endpoint(dst), port, protocol)
