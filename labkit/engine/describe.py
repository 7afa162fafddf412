"""A NetworkPolicy in ``kubectl describe networkpolicy`` form.

Mirrors kubectl's ``describeNetworkPolicy`` (``k8s.io/kubectl/pkg/describe/describe.go``):
the same headings, indentation (two spaces per level) and wording, including
``<none> (Selected pods are isolated for ingress connectivity)``,
``From: <any> (traffic not restricted by source)``, ``Not affecting egress traffic`` and
``----------`` between rules; selectors are printed as ``metav1.FormatLabelSelector`` does
(requirements sorted by key, ``<none>`` for the empty selector); the header is aligned like
Go's ``tabwriter`` with padding 2. A port entry without ``port`` prints as ``<nil>/UDP``,
as kubectl prints it.

Differences, because labkit's model does not keep them: ``Created on`` is printed only when
``created_on`` is given (a policy read from a file has no creation time); labels and
annotations come from the keyword arguments; ``Policy Types`` lists Ingress before Egress
(kubectl keeps the stored order, which is that order unless written otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping

from labkit.model.labels import LabelSelector
from labkit.model.policy import Direction, NetworkPolicy, Peer, Rule

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
"""kubectl hides this annotation in ``describe`` output."""
MAX_ANNOTATION_LEN = 140


def format_label_selector(selector: LabelSelector) -> str:
    """``metav1.FormatLabelSelector``: requirements sorted by key, ``<none>`` when empty."""
    parts = [(key, f"{key}={value}") for key, value in selector.match_labels]
    parts += [(req.key, str(req)) for req in selector.match_expressions]
    parts.sort(key=lambda item: item[0])
    return ",".join(text for _, text in parts) or "<none>"


def _tabwrite(text: str, padding: int = 2) -> str:
    """Go's ``text/tabwriter`` with minwidth 0, padding 2, padchar ' ', no flags.

    A cell is text terminated by a tab; the text after a line's last tab is not part of a
    column. A column block is a run of consecutive lines that have a cell in that column, and
    every cell of a block is padded to the block's widest cell plus ``padding``.
    """
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(start: int, end: int) -> None:
        for row in lines[start:end]:
            parts = []
            for j, cell in enumerate(row):
                if j < len(row) - 1 and j < len(widths):
                    parts.append(cell.ljust(widths[j]))
                else:
                    parts.append(cell)
            out.append("".join(parts))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = 0
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    fmt(0, len(lines))
    return "\n".join(out)


def _labels_lines(title: str, labels: Mapping[str, str]) -> list[str]:
    """``printLabelsMultiline``: sorted ``key=value`` lines, ``<none>`` when empty."""
    if not labels:
        return [f"{title}:\t<none>"]
    keys = sorted(labels)
    lines = [f"{title}:\t{keys[0]}={labels[keys[0]]}"]
    lines += [f"\t{key}={labels[key]}" for key in keys[1:]]
    return lines


def _annotation_lines(annotations: Mapping[str, str]) -> list[str]:
    """``printAnnotationsMultiline``: long or multi-line values go on their own lines."""
    keys = sorted(k for k in annotations if k != LAST_APPLIED)
    if not keys:
        return ["Annotations:\t<none>"]
    lines: list[str] = []
    for i, key in enumerate(keys):
        lead = "Annotations:\t" if i == 0 else "\t"
        value = annotations[key].removesuffix("\n")
        if len(value) + len(key) + 2 > MAX_ANNOTATION_LEN or "\n" in value:
            lines.append(f"{lead}{key}:")
            for part in value.split("\n"):
                short = part
                if len(short) > MAX_ANNOTATION_LEN - 2:
                    short = short[: MAX_ANNOTATION_LEN - 2] + "..."
                lines.append(f"\t  {short}")
        else:
            lines.append(f"{lead}{key}: {value}")
    return lines


def _peer_lines(peer: Peer, indent: str) -> list[str]:
    inner = "  " + indent
    if peer.pod_selector is not None and peer.namespace_selector is not None:
        return [
            f"{inner}NamespaceSelector: {format_label_selector(peer.namespace_selector)}",
            f"{inner}PodSelector: {format_label_selector(peer.pod_selector)}",
        ]
    if peer.pod_selector is not None:
        return [f"{inner}PodSelector: {format_label_selector(peer.pod_selector)}"]
    if peer.namespace_selector is not None:
        return [f"{inner}NamespaceSelector: {format_label_selector(peer.namespace_selector)}"]
    if peer.ip_block is not None:
        block = peer.ip_block
        return [
            f"{inner}IPBlock:",
            f"    {indent}CIDR: {block.raw or block.cidr}",
            f"    {indent}Except: {', '.join(str(e) for e in block.excepts)}",
        ]
    return []


def _rules_lines(rules: tuple[Rule, ...], direction: Direction, indent: str) -> list[str]:
    """``printNetworkPolicySpecIngressFrom`` / ``printNetworkPolicySpecEgressTo``."""
    ingress = direction is Direction.INGRESS
    if not rules:
        side = "ingress" if ingress else "egress"
        return [f"{indent}<none> (Selected pods are isolated for {side} connectivity)"]
    label = "From" if ingress else "To"
    lines: list[str] = []
    for i, rule in enumerate(rules):
        if not rule.ports:
            lines.append(f"{indent}To Port: <any> (traffic allowed to all ports)")
        for entry in rule.ports:
            port = "<nil>" if entry.port is None else str(entry.port)
            if entry.end_port is None:
                lines.append(f"{indent}To Port: {port}/{entry.protocol.value}")
            else:
                lines.append(
                    f"{indent}To Port Range: {port}-{entry.end_port}/{entry.protocol.value}"
                )
        if not rule.peers:
            what = "source" if ingress else "destination"
            lines.append(f"{indent}{label}: <any> (traffic not restricted by {what})")
        for peer in rule.peers:
            lines.append(f"{indent}{label}:")
            lines += _peer_lines(peer, indent)
        if i != len(rules) - 1:
            lines.append(f"{indent}----------")
    return lines


def describe_policy(
    policy: NetworkPolicy,
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    created_on: str | None = None,
) -> str:
    """``kubectl describe networkpolicy`` output for ``policy`` (ends with a newline)."""
    header = [f"Name:\t{policy.name}", f"Namespace:\t{policy.namespace}"]
    if created_on is not None:
        header.append(f"Created on:\t{created_on}")
    header += _labels_lines("Labels", labels or {})
    header += _annotation_lines(annotations or {})
    spec = ["Spec:"]
    if policy.pod_selector.is_empty:
        selector = "<none> (Allowing the specific traffic to all pods in this namespace)"
    else:
        selector = format_label_selector(policy.pod_selector)
    spec.append(f"  PodSelector:     {selector}")
    for direction in (Direction.INGRESS, Direction.EGRESS):
        side = "ingress" if direction is Direction.INGRESS else "egress"
        if direction in policy.policy_types:
            spec.append(f"  Allowing {side} traffic:")
            spec += _rules_lines(policy.rules(direction), direction, "    ")
        else:
            spec.append(f"  Not affecting {side} traffic")
    types = [d.value for d in (Direction.INGRESS, Direction.EGRESS) if d in policy.policy_types]
    spec.append(f"  Policy Types: {', '.join(types) or '<none>'}")
    return _tabwrite("\n".join([*header, *spec, ""]))
