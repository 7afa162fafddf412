"""Renderers for :class:`labkit.engine.explain.Explanation`: text, HTML and plain data.

Evaluation lives in :mod:`labkit.engine.explain`; these functions only lay the evidence out.
``to_dict`` gives JSON-ready data (``labkit explain -o json``), ``to_text`` what the terminal
and ``str()`` show, ``to_html`` what a notebook shows (``_repr_html_``).
"""

from __future__ import annotations

from html import escape
from typing import Any

from labkit.engine.explain.model import (
    Explanation,
    PeerCheck,
    RuleCheck,
    SideExplanation,
    WallCheck,
)

INDENT = "  "


def _side_state(side: SideExplanation) -> str:
    if side.host_network:
        return "no such side (host network: the node's traffic)"
    if not side.exists:
        return "no such side (not a pod)"
    if not side.isolated:
        return "allowed (not isolated)"
    return "allowed" if side.allowed else "DENIED"


def _peer_lines(rule: RuleCheck, peer: PeerCheck, depth: int) -> list[str]:
    pad = INDENT * depth
    state = "matches" if peer.matched else "does not match"
    lines = [f"{pad}{rule.peer_field}[{peer.index}] ({peer.text}): {state}"]
    lines += [f"{pad}{INDENT}{reason}" for reason in peer.reasons]
    lines += [f"{pad}{INDENT}hint: {hint}" for hint in peer.hints]
    if peer.note:
        lines.append(f"{pad}{INDENT}note: {peer.note}")
    return lines


def _rule_lines(rule: RuleCheck, depth: int) -> list[str]:
    pad = INDENT * depth
    lines = [f"{pad}- {rule.policy} {rule.field}[{rule.index}]: {rule.summary}"]
    if rule.any_peer:
        lines.append(f"{pad}{INDENT}{rule.peer_field}: any peer (no {rule.peer_field} list)")
    for peer in rule.peers:
        if rule.allows and not peer.matched:
            continue
        lines += _peer_lines(rule, peer, depth + 1)
    state = "match" if rule.ports.matched else "no match"
    lines.append(f"{pad}{INDENT}ports ({rule.ports.text}): {state}")
    lines += [f"{pad}{INDENT * 2}{reason}" for reason in rule.ports.reasons[1:]]
    return lines


def _side_lines(side: SideExplanation) -> list[str]:
    title = "Egress" if side.name == "egress" else "Ingress"
    lines = [f"{title} of {side.owner}: {_side_state(side)}", f"{INDENT}{side.summary}"]
    if side.allowed_by:
        lines.append(f"{INDENT}Allowed by:")
        for rule in side.allowed_by:
            lines += _rule_lines(rule, 2)
    for key in side.empty_policies:
        lines.append(
            f"{INDENT}{key} has no {side.name} rules: it isolates the pod and allows nothing"
        )
    if side.isolated and side.misses:
        heading = "Closest misses:" if not side.allowed else "Other rules (not needed):"
        lines.append(f"{INDENT}{heading}")
        for rule in side.misses:
            lines += _rule_lines(rule, 2)
    if side.not_isolating:
        lines.append(f"{INDENT}Policies of its namespace that do not isolate this side:")
        lines += [f"{INDENT * 2}- {note.text}" for note in side.not_isolating]
    return lines


def to_text(expl: Explanation) -> str:
    """Plain text: verdict first, then the egress and ingress sides with their evidence."""
    lines = [
        f"{expl.source} -> {expl.destination} on {expl.port}/{expl.protocol.value}: {expl.verdict}",
        f"{INDENT}{expl.summary}",
    ]
    if expl.wall is not None:
        lines.append(f"{INDENT}workshop wall: {_wall_line(expl.wall)}")
    elif expl.allowed is not None and not expl.self_traffic:
        lines.append(
            f"{INDENT}(traffic passes only when the egress side of the source and the ingress "
            "side of the destination both allow it)"
        )
    lines += [f"{INDENT}note: {note}" for note in expl.notes]
    for side in expl.sides:
        lines.append("")
        lines += _side_lines(side)
    return "\n".join(lines) + "\n"


def _wall_line(wall: WallCheck) -> str:
    """``GlobalNetworkPolicy labkit-ws1-alice (tier labkit-workshop), learner alice's wall,
    denies on the egress side of ws1-alice-trusted/client``."""
    return (
        f"{wall.title}, learner {wall.learner}'s wall, denies on the {wall.side} side of "
        f"{wall.owner}"
    )


def _wall_dict(wall: WallCheck | None) -> dict[str, Any] | None:
    if wall is None:
        return None
    return {
        "kind": wall.kind,
        "name": wall.name,
        "tier": wall.tier,
        "direction": wall.direction.value,
        "owner": wall.owner,
        "learner": wall.learner,
        "peer_learner": wall.peer_learner,
        "text": wall.text,
        "also": wall.also,
    }


def _rule_dict(rule: RuleCheck) -> dict[str, Any]:
    return {
        "policy": rule.policy,
        "direction": rule.direction.value,
        "rule": rule.index,
        "ref": rule.ref,
        "allows": rule.allows,
        "any_peer": rule.any_peer,
        "matched_peer": rule.matched_peer,
        "summary": rule.summary,
        "peers": [
            {
                "index": p.index,
                "text": p.text,
                "matched": p.matched,
                "reasons": list(p.reasons),
                "hints": list(p.hints),
                "note": p.note,
            }
            for p in rule.peers
        ],
        "ports": {
            "matched": rule.ports.matched,
            "text": rule.ports.text,
            "reasons": list(rule.ports.reasons),
        },
    }


def _side_dict(side: SideExplanation) -> dict[str, Any]:
    return {
        "direction": side.direction.value,
        "owner": side.owner,
        "peer": side.peer,
        "exists": side.exists,
        "host_network": side.host_network,
        "isolated": side.isolated,
        "allowed": side.allowed,
        "summary": side.summary,
        "isolating_policies": list(side.isolating),
        "policies_without_rules": list(side.empty_policies),
        "allowed_by": [_rule_dict(r) for r in side.allowed_by],
        "misses": [_rule_dict(r) for r in side.misses],
        "not_isolating": [
            {"policy": n.policy, "selects": n.selects, "text": n.text} for n in side.not_isolating
        ],
    }


def to_dict(expl: Explanation) -> dict[str, Any]:
    """JSON-ready data with every piece of evidence."""
    return {
        "source": expl.source,
        "destination": expl.destination,
        "port": expl.port,
        "protocol": expl.protocol.value,
        "allowed": expl.allowed,
        "verdict": expl.verdict,
        "self_traffic": expl.self_traffic,
        "summary": expl.summary,
        "notes": list(expl.notes),
        "wall": _wall_dict(expl.wall),
        "egress": _side_dict(expl.egress),
        "ingress": _side_dict(expl.ingress),
    }


_COLOURS = {"ALLOWED": "#1a7f37", "DENIED": "#cf222e"}


def _html_rule(rule: RuleCheck) -> str:
    items = []
    for peer in rule.peers:
        if rule.allows and not peer.matched:
            continue
        state = "matches" if peer.matched else "does not match"
        sub = "".join(f"<li>{escape(r)}</li>" for r in peer.reasons)
        sub += "".join(f"<li><i>hint:</i> {escape(h)}</li>" for h in peer.hints)
        if peer.note:
            sub += f"<li><i>note:</i> {escape(peer.note)}</li>"
        items.append(
            f"<li><code>{rule.peer_field}[{peer.index}]</code> {escape(peer.text)}: "
            f"<b>{state}</b>" + (f"<ul>{sub}</ul>" if sub else "") + "</li>"
        )
    if rule.any_peer:
        items.append(f"<li><code>{rule.peer_field}</code>: any peer</li>")
    port_state = "match" if rule.ports.matched else "no match"
    port_sub = "".join(f"<li>{escape(r)}</li>" for r in rule.ports.reasons[1:])
    items.append(
        f"<li>ports {escape(rule.ports.text)}: <b>{port_state}</b>"
        + (f"<ul>{port_sub}</ul>" if port_sub else "")
        + "</li>"
    )
    return (
        f"<li><code>{escape(rule.policy)} {rule.field}[{rule.index}]</code>: "
        f"{escape(rule.summary)}<ul>{''.join(items)}</ul></li>"
    )


def _html_side(side: SideExplanation) -> str:
    title = "Egress" if side.name == "egress" else "Ingress"
    parts = [
        f"<h4>{title} of <code>{escape(side.owner)}</code>: {escape(_side_state(side))}</h4>",
        f"<p>{escape(side.summary)}</p>",
    ]
    if side.allowed_by:
        rules = "".join(_html_rule(r) for r in side.allowed_by)
        parts.append(f"<p>Allowed by:</p><ul>{rules}</ul>")
    for key in side.empty_policies:
        parts.append(
            f"<p><code>{escape(key)}</code> has no {side.name} rules: it isolates the pod and "
            "allows nothing</p>"
        )
    if side.isolated and side.misses:
        heading = "Closest misses:" if not side.allowed else "Other rules (not needed):"
        rules = "".join(_html_rule(r) for r in side.misses)
        parts.append(f"<p>{heading}</p><ul>{rules}</ul>")
    if side.not_isolating:
        notes = "".join(f"<li>{escape(n.text)}</li>" for n in side.not_isolating)
        parts.append(
            f"<p>Policies of its namespace that do not isolate this side:</p><ul>{notes}</ul>"
        )
    return "".join(parts)


def to_html(expl: Explanation) -> str:
    """An HTML fragment for notebooks: verdict banner, then both sides."""
    colour = _COLOURS.get(expl.verdict, "#57606a")
    notes = "".join(f"<p><i>note:</i> {escape(n)}</p>" for n in expl.notes)
    if expl.wall is not None:
        notes = f"<p><i>workshop wall:</i> {escape(_wall_line(expl.wall))}</p>" + notes
    return (
        '<div class="labkit-explanation">'
        f"<p><code>{escape(expl.source)}</code> &rarr; <code>{escape(expl.destination)}</code>"
        f" on <code>{expl.port}/{expl.protocol.value}</code>: "
        f'<b style="color:{colour}">{expl.verdict}</b></p>'
        f"<p>{escape(expl.summary)}</p>{notes}"
        f"{_html_side(expl.egress)}{_html_side(expl.ingress)}</div>"
    )
