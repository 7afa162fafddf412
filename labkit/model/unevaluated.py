"""Policy kinds labkit reads but does not evaluate, and the one warning every command gives.

labkit evaluates ``networking.k8s.io/v1`` NetworkPolicy only. The lab's kind cluster runs
Calico, which also enforces its own policy kinds and, with the CRDs installed, the
Kubernetes network-policy API's cluster-scoped kinds; a file holding one of these changes
what the lab does without changing labkit's prediction. Each command that reads manifests
(``validate``, ``apply``, ``matrix``, ``explain``) prints :func:`unevaluated_warning` for
them, so the learner knows the prediction may differ from the cluster.

Sources: Calico's policy resources (``projectcalico.org/v3`` NetworkPolicy and
GlobalNetworkPolicy, stored as ``crd.projectcalico.org/v1`` CRDs; docs "Calico network
policy" and "Global network policy"), Calico's support for AdminNetworkPolicy and
BaselineAdminNetworkPolicy (docs "Kubernetes admin network policy"), and the
``policy.networking.k8s.io`` API of sigs.k8s.io/network-policy-api (AdminNetworkPolicy,
BaselineAdminNetworkPolicy, and ClusterNetworkPolicy which replaces both).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from labkit.model.loader import RawObject
from labkit.model.wall import wall_from_object

UNEVALUATED_KINDS: dict[tuple[str, str], str] = {
    ("projectcalico.org", "NetworkPolicy"): "Calico NetworkPolicy",
    ("projectcalico.org", "GlobalNetworkPolicy"): "Calico GlobalNetworkPolicy",
    ("crd.projectcalico.org", "NetworkPolicy"): "Calico NetworkPolicy",
    ("crd.projectcalico.org", "GlobalNetworkPolicy"): "Calico GlobalNetworkPolicy",
    ("policy.networking.k8s.io", "AdminNetworkPolicy"): "AdminNetworkPolicy",
    ("policy.networking.k8s.io", "BaselineAdminNetworkPolicy"): "BaselineAdminNetworkPolicy",
    ("policy.networking.k8s.io", "ClusterNetworkPolicy"): "ClusterNetworkPolicy",
}
"""``(API group, kind)`` -> how the warning names it; any version of the group counts."""


def unevaluated_kind(raw: RawObject) -> str | None:
    """How the warning names ``raw`` when it is a kind labkit does not evaluate, else None."""
    group = raw.api_version.rpartition("/")[0]
    return UNEVALUATED_KINDS.get((group, raw.kind))


def describe_unevaluated(raw: RawObject, what: str) -> str:
    """``Calico GlobalNetworkPolicy deny-all (policies.yaml)``: kind, name, where."""
    name = f"{raw.namespace}/{raw.name}" if raw.metadata.get("namespace") else raw.name
    return f"{what} {name or '(no name)'} ({raw.location})"


def find_unevaluated(objects: Iterable[RawObject]) -> tuple[str, ...]:
    """One description per object of a kind labkit reads but does not evaluate; a workshop's
    walls (:func:`labkit.model.wall.wall_from_object`) are evaluated, so not among them."""
    found: list[str] = []
    for raw in objects:
        what = unevaluated_kind(raw)
        if what is not None and wall_from_object(raw) is None:
            found.append(describe_unevaluated(raw, what))
    return tuple(found)


def unevaluated_warning(found: Sequence[str]) -> str | None:
    """The one warning line for ``found`` (see :func:`find_unevaluated`); None when empty."""
    if not found:
        return None
    count = len(found)
    these = "it IS" if count == 1 else "they ARE"
    return (
        f"labkit does not evaluate {'this policy' if count == 1 else f'these {count} policies'}"
        f": {'; '.join(found)}. On the lab's kind + Calico cluster {these} enforced, so "
        "labkit's predictions may differ from what the cluster does"
    )
