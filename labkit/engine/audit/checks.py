"""The audit's checks on namespaces and whole policies (one function per concern).

Each check yields :class:`Finding` objects; :func:`labkit.engine.audit.audit` sorts them. The
Kubernetes behaviour each check relies on is cited where it is used: isolation per direction
and the default-deny pattern (rule 1), ``policyTypes`` defaulting (rule 2) and DNS being
ordinary egress (rule 13). Checks on single rules and peers live in
:mod:`labkit.engine.audit.rules`.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_address

from labkit.engine.audit.model import (
    DNS_LABEL,
    AuditContext,
    Finding,
    pod_list,
    policy_title,
)
from labkit.engine.compiled import rule_ports
from labkit.engine.endpoints import External
from labkit.engine.selector_words import required_keys
from labkit.model.objects import Pod
from labkit.model.policy import Direction
from labkit.model.ports import Protocol

_ANY_ADDRESS = External(ip_address("0.0.0.0"))
"""Stands for 'some address' when no DNS pod is known: numeric ports do not depend on it."""

DNS_RULE = (
    "to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, "
    "podSelector: {matchLabels: {k8s-app: kube-dns}}}], "
    "ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]"
)


def dir_name(direction: Direction) -> str:
    return "ingress" if direction is Direction.INGRESS else "egress"


# -- namespaces -----------------------------------------------------------------------------


def check_default_deny(ctx: AuditContext) -> Iterator[Finding]:
    """A namespace whose policies never select every pod (``podSelector: {}``) for a direction
    leaves every pod that no other policy selects open in that direction (rule 1).

    Any policy with an empty podSelector and the direction in its policyTypes counts as the
    namespace's default-deny; rules it also carries are judged by the rule checks (an
    ``ingress: [{}]`` there is reported as ``rule-allows-all``)."""
    for ns in ctx.inventory.namespaces:
        policies = ctx.inventory.policies_in(ns.name)
        pods = ctx.pods_in(ns.name)
        for direction in (Direction.INGRESS, Direction.EGRESS):
            if any(p.pod_selector.is_empty and direction in p.policy_types for p in policies):
                continue
            name = dir_name(direction)
            open_pods = [p for p in pods if not ctx.engine.is_isolated(p, direction)]
            if not ctx.managed(ns.name):
                severity = "info"
            elif direction is Direction.INGRESS:
                severity = "medium" if open_pods else "low"
            else:
                severity = "low" if open_pods else "info"
            message = (
                f"no policy in namespace {ns.name} selects every pod (podSelector: {{}}) for "
                f"{direction.value}"
            )
            if open_pods:
                message += f"; pods open to all {name} traffic now: {pod_list(open_pods)}"
            elif pods:
                message += (
                    f"; today every pod is {name}-isolated by a specific policy, but a new pod "
                    "would be open"
                )
            else:
                message += "; it has no pods yet, and the first one would be open"
            if not ctx.managed(ns.name):
                message += " (a system or unmanaged namespace: the lab leaves it to its owner)"
            fix = (
                f"add a default-deny policy in {ns.name}: spec: {{podSelector: {{}}, "
                f"policyTypes: [{direction.value}]}}, then allow what each pod needs"
            )
            if direction is Direction.EGRESS:
                fix += f"; keep DNS working with an egress rule {DNS_RULE}"
            yield Finding(
                severity, f"missing-default-deny-{name}", f"Namespace {ns.name}", message, fix
            )


def check_egress_dns(ctx: AuditContext) -> Iterator[Finding]:
    """DNS is egress like any other traffic (rule 13): an egress-isolated pod needs a rule that
    allows UDP 53 to the cluster DNS pods, or every name lookup fails."""
    failing: dict[str, list[Pod]] = {}
    isolating: dict[str, set[str]] = {}
    for pod in ctx.inventory.pods:
        if pod in ctx.dns_pods:
            continue
        policies = ctx.engine.selecting(pod, Direction.EGRESS)
        if not policies:
            continue
        if ctx.dns_pods:
            ok = any(
                ctx.engine.side(pod, dns, Direction.EGRESS).contains(53, Protocol.UDP)
                for dns in ctx.dns_pods
            )
        else:  # no DNS pods known: does any egress rule open UDP 53 at all?
            ok = any(
                rule_ports(rule.rule, _ANY_ADDRESS).contains(53, Protocol.UDP)
                for cp in policies
                for rule in cp.egress
            )
        if not ok:
            failing.setdefault(pod.namespace, []).append(pod)
            isolating.setdefault(pod.namespace, set()).update(cp.policy.key for cp in policies)
    key, value = DNS_LABEL
    target = (
        "the cluster DNS pods (" + pod_list(ctx.dns_pods) + ")"
        if ctx.dns_pods
        else f"any address (no pod with {key}={value} is known)"
    )
    for ns, pods in sorted(failing.items()):
        message = (
            f"{pod_list(pods)} {'is' if len(pods) == 1 else 'are'} egress-isolated (by "
            f"{', '.join(sorted(isolating[ns]))}) and no egress rule allows UDP 53 to "
            f"{target}: every name lookup will fail (wget says 'bad address', agnhost connect "
            "'DNS: ...')"
        )
        fix = f"add an egress rule for DNS to a policy selecting these pods: {DNS_RULE}"
        yield Finding("high", "egress-without-dns", f"Namespace {ns}", message, fix)


# -- policies -------------------------------------------------------------------------------


def _label_values(pods: list[Pod], key: str) -> list[str]:
    return sorted({p.label_map[key] for p in pods if key in p.label_map})


def check_selects_nothing(ctx: AuditContext) -> Iterator[Finding]:
    """``spec.podSelector`` selects pods of the policy's own namespace only; one that matches
    none of them makes the policy do nothing."""
    for policy in ctx.inventory.policies:
        if ctx.selected(policy):
            continue
        pods = ctx.pods_in(policy.namespace)
        selector = policy.pod_selector
        message = f"podSelector {selector} matches no pod in namespace {policy.namespace}"
        if not pods:
            message += " (it has no pods yet)"
        for key in required_keys(selector):
            values = _label_values(pods, key)
            if pods and values:
                message += f"; pods there carry {key}=" + ", ".join(values)
            elif pods:
                message += f"; no pod there carries label {key}"
        elsewhere = sorted(
            {p.namespace for p in ctx.lookup.in_namespaces(selector, sorted(ctx.lookup.groups))}
            - {policy.namespace}
        )
        if elsewhere:
            message += (
                f"; matching pods live in {', '.join(elsewhere)}, but a policy only selects "
                "pods of its own namespace"
            )
        message += ": the policy does nothing"
        if not ctx.managed(policy.namespace) or not pods:
            severity = "low"
        else:
            severity = "medium"
        fix = (
            "correct spec.podSelector, or label the pods it is meant for "
            f"(kubectl label pod -n {policy.namespace} POD KEY=VALUE); to protect pods of "
            "another namespace, create the policy in that namespace"
        )
        yield Finding(
            severity,
            "policy-selects-nothing",
            policy_title(policy),
            message,
            fix,
            "spec.podSelector",
        )


def check_ignored_rules(ctx: AuditContext) -> Iterator[Finding]:
    """Rules of a direction missing from an explicit ``policyTypes`` are stored but never
    applied (API reference, ``NetworkPolicySpec.policyTypes``)."""
    for policy in ctx.inventory.policies:
        for direction in (Direction.INGRESS, Direction.EGRESS):
            rules = policy.rules(direction)
            if direction in policy.policy_types or not rules:
                continue
            name = dir_name(direction)
            types = ", ".join(
                d.value for d in (Direction.INGRESS, Direction.EGRESS) if d in policy.policy_types
            )
            message = (
                f"spec.{name} has {len(rules)} rule{'s' if len(rules) != 1 else ''}, but "
                f"policyTypes is [{types}]: the rules are stored and never applied, and the "
                f"{name} of the selected pods is not restricted by this policy"
            )
            fix = (
                f"add {direction.value} to spec.policyTypes if the rules should apply, or "
                f"delete spec.{name}"
            )
            yield Finding(
                "medium",
                f"{name}-rules-ignored",
                policy_title(policy),
                message,
                fix,
                f"spec.{name}",
            )


def check_defaulted_types(ctx: AuditContext) -> Iterator[Finding]:
    """``policyTypes`` omitted: the API server sets ``[Ingress]``, plus ``Egress`` when
    ``spec.egress`` has rules (rule 2). An egress-only policy written without ``policyTypes``
    therefore also isolates ingress, and with no ingress rules denies all of it."""
    for policy in ctx.inventory.policies:
        if not policy.policy_types_defaulted:
            continue
        title = policy_title(policy)
        if policy.egress and not policy.ingress:
            selected = ctx.selected(policy)
            who = pod_list(selected) if selected else "the pods it selects"
            message = (
                "policyTypes is not set. Because spec.egress has rules, the API server sets "
                "policyTypes [Ingress, Egress], and with no ingress rules this policy also "
                f"isolates {who} for ingress: only other policies can let traffic in"
            )
            fix = (
                "write policyTypes: [Egress] if the policy is meant for egress only, or "
                "[Ingress, Egress] to keep the ingress isolation on purpose"
            )
            yield Finding(
                "medium", "policy-types-defaulted", title, message, fix, "spec.policyTypes"
            )
        elif policy.egress:
            message = (
                "policyTypes is not set; because spec.egress has rules the API server sets "
                "[Ingress, Egress]: the selected pods are isolated in both directions"
            )
            fix = "write policyTypes: [Ingress, Egress] so readers see what the API server does"
            yield Finding("low", "policy-types-defaulted", title, message, fix, "spec.policyTypes")
        else:
            message = (
                "policyTypes is not set; the API server sets [Ingress]: this policy leaves "
                "egress alone (adding egress rules later would silently make it [Ingress, "
                "Egress])"
            )
            fix = "write policyTypes: [Ingress] explicitly"
            yield Finding("info", "policy-types-defaulted", title, message, fix, "spec.policyTypes")
