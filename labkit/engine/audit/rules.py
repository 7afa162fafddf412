"""The audit's checks on single rules and peers.

Empty ``from``/``to``/``ports`` meaning "all" (rule 3), peer scoping (rule 4), selectors and
absent keys (rule 5), named ports (rule 6) and ``ipBlock`` applying to pod addresses (rule 8).
"""

from __future__ import annotations

from collections.abc import Iterator

from labkit.engine.audit.checks import dir_name
from labkit.engine.audit.model import AuditContext, Finding, pod_list, policy_title
from labkit.engine.explain.checks import peer_text
from labkit.engine.selector_words import missing_keys, required_value
from labkit.model.labels import LabelSelector
from labkit.model.objects import NAMESPACE_NAME_LABEL
from labkit.model.policy import Direction, IPBlock, NetworkPolicy, Peer, Rule

BROAD_PREFIX = 8
"""An ipBlock with a prefix shorter than this (or /0) counts as broad."""


def check_rules(ctx: AuditContext) -> Iterator[Finding]:
    """Per applied rule: allow-all shapes, peers that match nothing, ipBlocks, named ports."""
    for policy in ctx.inventory.policies:
        for direction in (Direction.INGRESS, Direction.EGRESS):
            if direction not in policy.policy_types:
                continue
            rules = policy.rules(direction)
            has_selectors = any(peer.ip_block is None for rule in rules for peer in rule.peers)
            for index, rule in enumerate(rules):
                field = f"spec.{dir_name(direction)}[{index}]"
                yield from _rule_shape(policy, direction, rule, field)
                peer_key = "from" if direction is Direction.INGRESS else "to"
                for pindex, peer in enumerate(rule.peers):
                    pfield = f"{field}.{peer_key}[{pindex}]"
                    if peer.ip_block is not None:
                        yield from _ip_block(
                            ctx, policy, direction, peer.ip_block, pfield, has_selectors
                        )
                    else:
                        yield from _selector_peer(ctx, policy, rule, peer, pfield)
                yield from _named_ports(ctx, policy, direction, rule, field)


def _ports_text(rule: Rule) -> str:
    return ", ".join(str(p) for p in rule.ports)


def _rule_shape(
    policy: NetworkPolicy, direction: Direction, rule: Rule, field: str
) -> Iterator[Finding]:
    """Rule 3: an omitted or empty ``from``/``to`` means every peer, addresses outside the
    cluster included; an omitted or empty ``ports`` means every port and protocol."""
    if rule.peers:
        return
    ingress = direction is Direction.INGRESS
    who = "source" if ingress else "destination"
    key = "from" if ingress else "to"
    if not rule.ports:
        message = (
            f"this rule has no {key} and no ports: it allows every {who} (any pod of any "
            "namespace and any address outside the cluster) on every port and protocol"
        )
        fix = (
            f"list the {who}s in {key} (podSelector/namespaceSelector/ipBlock) and the ports; "
            "if allowing everything is intended, a comment saying so helps the next reader"
        )
        yield Finding(
            "medium" if ingress else "low",
            "rule-allows-all",
            policy_title(policy),
            message,
            fix,
            field,
        )
    else:
        message = (
            f"this rule has no {key}: it allows every {who}, addresses outside the cluster "
            f"included, on {_ports_text(rule)}"
        )
        fix = f"add {key} entries unless these ports are meant to be open to everyone"
        yield Finding("low", "rule-any-peer", policy_title(policy), message, fix, field)


def _selector_peer(
    ctx: AuditContext, policy: NetworkPolicy, rule: Rule, peer: Peer, field: str
) -> Iterator[Finding]:
    """Rule 4: ``podSelector`` alone means the policy's namespace, ``namespaceSelector`` alone
    every pod of the matching namespaces, both together is AND."""
    title = policy_title(policy)
    ns_sel = peer.namespace_selector
    labels = ctx.engine.namespace_labels
    if (
        ns_sel is not None
        and ns_sel.is_empty
        and (peer.pod_selector is None or peer.pod_selector.is_empty)
    ):
        message = (
            "namespaceSelector {} selects every namespace, including ones created later: "
            "every pod of the cluster matches this peer"
        )
        fix = (
            "select the namespaces you mean, e.g. namespaceSelector: {matchLabels: "
            "{kubernetes.io/metadata.name: NAME}}"
        )
        yield Finding("low", "peer-all-namespaces", title, message, fix, field)
        return
    if ns_sel is None:
        namespaces = [policy.namespace]
    else:
        unknown = missing_keys(ns_sel, ctx.namespace_label_keys)
        if unknown:
            yield _unknown_namespace_label(ctx, title, ns_sel, unknown, field)
            return
        namespaces = sorted(ns for ns, lab in labels.items() if ns_sel.matches(lab))
        if not namespaces:
            message = f"namespaceSelector {ns_sel} matches no namespace: this peer matches nothing"
            fix = (
                "label the namespace it is meant for (kubectl label namespace NAME KEY=VALUE) "
                f"or select {NAMESPACE_NAME_LABEL}, which every namespace carries"
            )
            yield Finding(
                "medium", "peer-matches-nothing", title, message, fix, f"{field}.namespaceSelector"
            )
            return
    selector = peer.pod_selector or LabelSelector()
    if ctx.lookup.matching(peer, policy.namespace):
        return
    text = peer_text(peer, policy.namespace)
    if not any(ctx.pods_in(ns) for ns in namespaces):
        message = (
            f"this peer ({text}) matches no pod: namespace{'s' if len(namespaces) > 1 else ''} "
            f"{', '.join(namespaces)} {'hold' if len(namespaces) > 1 else 'holds'} no pods yet"
        )
        yield Finding(
            "low",
            "peer-matches-nothing",
            title,
            message,
            "nothing to do if the pods come later; otherwise check the selector",
            field,
        )
        return
    message = f"this peer ({text}) matches no pod"
    everywhere = ctx.lookup.in_namespaces(selector, sorted(ctx.lookup.groups))
    elsewhere = sorted({p.namespace for p in everywhere} - set(namespaces))
    if ns_sel is None and elsewhere:
        message += (
            f"; a podSelector without namespaceSelector means pods of the policy's own "
            f"namespace {policy.namespace}, and pods with {selector} live in "
            f"{', '.join(elsewhere)}"
        )
        fix = (
            "put a namespaceSelector in the same peer entry (no '-' before it), e.g. "
            f"namespaceSelector: {{matchLabels: {{{NAMESPACE_NAME_LABEL}: {elsewhere[0]}}}}}"
        )
    else:
        carried = {k for p in ctx.inventory.pods for k in p.label_map}
        absent = missing_keys(selector, carried)
        if absent:
            message += f"; no pod carries label {', '.join(absent)}"
        fix = "correct the podSelector or label the pods it is meant for"
    yield Finding("medium", "peer-matches-nothing", title, message, fix, field)


def _unknown_namespace_label(
    ctx: AuditContext, title: str, selector: LabelSelector, unknown: list[str], field: str
) -> Finding:
    key = unknown[0]
    carried = ", ".join(sorted(ctx.namespace_label_keys)) or "none"
    message = (
        f"namespaceSelector {selector} needs namespace label {key}, which no namespace carries "
        f"(namespace label keys: {carried}): this peer matches nothing, so the rule opens "
        "nothing for it"
    )
    value = required_value(selector, key)
    if value is not None:
        exists = value in ctx.engine.namespace_labels
        fix = (
            f"select {NAMESPACE_NAME_LABEL}: {value} instead; the API server sets that label "
            "on every namespace" + (f" (namespace {value} exists)" if exists else "")
        )
    else:
        fix = (
            f"label the namespaces (kubectl label namespace NAME {key}=VALUE) or select "
            f"{NAMESPACE_NAME_LABEL}, which every namespace carries"
        )
    return Finding(
        "high", "namespace-label-unknown", title, message, fix, f"{field}.namespaceSelector"
    )


def _ip_block(
    ctx: AuditContext,
    policy: NetworkPolicy,
    direction: Direction,
    block: IPBlock,
    field: str,
    has_selectors: bool,
) -> Iterator[Finding]:
    """Rule 8: ``ipBlock`` matches pod addresses as well as outside ones. A block that holds
    no known pod is taken as outside traffic and not flagged."""
    title = policy_title(policy)
    inside = ctx.lookup.in_block(block)
    name = dir_name(direction)
    if block.cidr.prefixlen < BROAD_PREFIX:
        message = f"ipBlock {block} covers a very large range"
        if inside:
            message += (
                f" and matches {len(inside)} of the {len(ctx.inventory.pods)} known pods too "
                "(ipBlock applies to pod addresses)"
            )
            if has_selectors:
                message += (
                    f"; next to it, the pod/namespace selectors of this policy's {name} rules "
                    "add nothing"
                )
            severity = "medium" if has_selectors else "low"
        else:
            severity = "info"
            message += ", with the known pods carved out"
        fix = (
            "narrow the range to the outside clients or servers you mean; to mean 'outside "
            "the cluster', add except entries for the pod and service networks"
        )
        yield Finding(severity, "broad-ipblock", title, message, fix, f"{field}.ipBlock")
    elif inside:
        message = (
            f"ipBlock {block} contains the address{'es' if len(inside) > 1 else ''} of "
            f"{pod_list(inside)}: ipBlock matches pod addresses too, so these pods are "
            f"{'let in' if direction is Direction.INGRESS else 'reachable'} as well, and a "
            "pod's address changes when it is recreated"
        )
        fix = (
            "to allow those pods, select them with podSelector/namespaceSelector; to allow "
            "only clients outside the cluster, use a range outside the pod network or carve "
            "the pods out with except"
        )
        yield Finding("medium", "ipblock-matches-pods", title, message, fix, f"{field}.ipBlock")


def _named_ports(
    ctx: AuditContext, policy: NetworkPolicy, direction: Direction, rule: Rule, field: str
) -> Iterator[Finding]:
    """Rule 6: a port name resolves on each destination pod's container ports (name and
    protocol); where it resolves nowhere, the entry opens nothing."""
    names = [(i, p) for i, p in enumerate(rule.ports) if isinstance(p.port, str)]
    if not names:
        return
    if direction is Direction.INGRESS:
        targets = ctx.selected(policy)
        who = "pod this policy selects"
    else:
        if rule.peers:
            found = {
                p.key: p for peer in rule.peers for p in ctx.lookup.matching(peer, policy.namespace)
            }
            targets = sorted(found.values(), key=lambda p: (p.namespace, p.name))
        else:
            targets = list(ctx.inventory.pods)
        who = "destination pod of this rule"
    if not targets:
        return
    for index, entry in names:
        name = str(entry.port)
        if any(t.named_port_numbers(name, entry.protocol) for t in targets):
            continue
        declared = sorted({cp.name for t in targets for cp in t.ports if cp.name})
        message = (
            f"port name '{name}' ({entry.protocol.value}) is not a container port of any {who} "
            f"({pod_list(targets)}): the entry opens nothing"
        )
        fix = (
            "use a name from the pods' containers[].ports[].name"
            + (f" ({', '.join(declared)})" if declared else "")
            + " with the same protocol, or the port number"
        )
        yield Finding(
            "medium",
            "named-port-unresolved",
            policy_title(policy),
            message,
            fix,
            f"{field}.ports[{index}]",
        )
