"""The wall between workshop learners: one cluster-scoped policy object per learner.

Learner ``L`` of workshop ``W`` gets one object named :func:`wall_name` (``labkit-W-L``). It
selects every pod in the namespaces labelled ``labkit.dev/workshop=W`` and
``labkit.dev/learner=L`` and holds the same three rules for ingress and egress, in order,
first match wins:

1. **Pass** peers in namespaces labelled ``workshop=W`` and ``learner=L`` (the learner's own
   namespaces: the learner's NetworkPolicies decide);
2. **Deny** peers in namespaces that have the label ``labkit.dev/learner`` (another learner's,
   in any workshop);
3. **Pass** everything else (system namespaces, DNS, addresses outside the pod network).

So traffic between the namespaces of two different learners is denied whatever their
NetworkPolicies say, and everything else is decided by the learners' NetworkPolicies exactly
as in a single-user lab. Nothing here allows traffic: a wall never places allow rules that
would add up with a learner's policies and void the default-deny lessons.

Four renderings (:class:`WallFlavour`), the first the cluster serves wins
(:func:`choose_flavour`):

* **Calico** ``projectcalico.org/v3`` and, where Calico's API server is absent (labkit's
  manifest-mode install), the same objects as ``crd.projectcalico.org/v1`` CRDs: a
  ``GlobalNetworkPolicy`` in the tier :data:`WALL_TIER`, ordered :data:`WALL_ORDER` (Calico
  evaluates tiers by ascending ``order``; the ``kube-admin`` tier holding ClusterNetworkPolicy
  is 1,000, the ``default`` tier holding Kubernetes NetworkPolicies is 1,000,000:
  ``api/pkg/apis/projectcalico/v3/tier.go`` at v3.32.1). Actions ``Pass`` and ``Deny``
  (``policy_common.go``: ``Allow``, ``Deny``, ``Log``, ``Pass``); ``Pass`` skips the rest of
  the tier and goes on to the next tier (or, after the last tier with policies for the pod, to
  its profiles, which allow). Selectors are Calico selector expressions
  (``labkit.dev/workshop == 'ws1' && labkit.dev/learner == 'alice'``,
  ``has(labkit.dev/learner)``; ``libcalico-go/lib/selector``: label names may hold letters,
  digits, ``_ . / -``; string literals in single or double quotes); ``spec.namespaceSelector``
  and the rules' ``source``/``destination.namespaceSelector`` select by the namespace's labels
  (libcalico-go ``updateprocessors``: they become ``pcns.``-prefixed endpoint labels). The
  Tier's ``defaultAction`` is ``Pass`` (a field since Calico v3.30; tiers exist since v3.29).
  Policy names need no ``<tier>.`` prefix since Calico v3.32 (release notes: "Naming
  restrictions for NetworkPolicy, GlobalNetworkPolicy ... relaxed to no longer require the
  policy tier prefix for policies in non-default tiers", projectcalico/calico#11232; in
  v3.32.1 ``libcalico-go/lib/backend/k8s/resources/resources.go`` ``determinePolicyName``
  keeps a non-default tier policy's CRD name as it is), so the CRD object is named
  ``labkit-W-L`` too. The objects carry the ``projectcalico.org/tier`` label that Calico's API
  server (``apiserver/pkg/storage/calico/globalNetworkPolicy_storage.go``) and its mutating
  admission policy set for ``kubectl -l`` use.
* **ClusterNetworkPolicy** ``policy.networking.k8s.io/v1alpha2`` (sigs.k8s.io/network-policy-api
  ``apis/v1alpha2/clusternetworkpolicy_types.go``): tier ``Admin``, ``priority``
  :data:`WALL_PRIORITY` (0-1000, lower first), ``subject.namespaces``, rules ``Pass`` then
  ``Deny`` with ``from``/``to`` ``namespaces`` peers; traffic no Admin rule matches goes on to
  the NetworkPolicy tier, so rule 3 needs no object. Calico v3.32 enforces it (tier
  ``kube-admin``).
* **AdminNetworkPolicy** ``policy.networking.k8s.io/v1alpha1`` (``apis/v1alpha1/
  adminnetworkpolicy_types.go``): ``priority``, ``subject.namespaces``, actions ``Allow``,
  ``Deny``, ``Pass``; rules in order, first match wins, unmatched traffic falls through to
  NetworkPolicy. Calico v3.32 no longer enforces ANP (release notes, #11144): this flavour is
  for CNIs that do (OVN-Kubernetes, Antrea, kube-network-policies).

Every object carries the labels :data:`~labkit.model.workshop.WALL_LABEL` ``"true"``,
workshop, learner and managed: :func:`wall_from_object` recognises a wall by them (that is how
the simulated cluster and the engine find the walls).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from labkit.model.loader import RawObject
from labkit.model.objects import MANAGED_LABEL
from labkit.model.workshop import LEARNER_LABEL, WALL_LABEL, WORKSHOP_LABEL, WorkshopError

log = logging.getLogger(__name__)

WALL_TIER = "labkit-workshop"
"""The Calico tier holding the walls."""
WALL_ORDER = 100
"""Calico tier order (lower first): before ``kube-admin`` (1,000) and ``default`` (1,000,000)."""
WALL_PRIORITY = 100
"""ClusterNetworkPolicy / AdminNetworkPolicy priority (0-1000, lower first). The walls of two
learners share it: they select disjoint namespaces, so no connection's direction is matched
by two walls of the same priority."""
CALICO_TIER_LABEL = "projectcalico.org/tier"

CALICO_GROUPS = ("projectcalico.org", "crd.projectcalico.org")
POLICY_API_GROUP = "policy.networking.k8s.io"

Decision = Literal["pass", "deny"]


class WallFlavour(StrEnum):
    """The API a wall is written in (its ``apiVersion``), in order of preference."""

    CALICO = "projectcalico.org/v3"
    CALICO_CRD = "crd.projectcalico.org/v1"
    CNP = "policy.networking.k8s.io/v1alpha2"
    """ClusterNetworkPolicy."""
    ANP = "policy.networking.k8s.io/v1alpha1"
    """AdminNetworkPolicy."""

    @property
    def kind(self) -> str:
        if self in (WallFlavour.CALICO, WallFlavour.CALICO_CRD):
            return "GlobalNetworkPolicy"
        return "ClusterNetworkPolicy" if self is WallFlavour.CNP else "AdminNetworkPolicy"

    @property
    def resource(self) -> str:
        """What API discovery lists when the cluster serves it (``group/version/plural``)."""
        return served_plural(self)

    @property
    def is_calico(self) -> bool:
        return self in (WallFlavour.CALICO, WallFlavour.CALICO_CRD)


WALL_KINDS: dict[tuple[str, str], str] = {
    ("projectcalico.org", "GlobalNetworkPolicy"): "GlobalNetworkPolicy",
    ("crd.projectcalico.org", "GlobalNetworkPolicy"): "GlobalNetworkPolicy",
    (POLICY_API_GROUP, "ClusterNetworkPolicy"): "ClusterNetworkPolicy",
    (POLICY_API_GROUP, "AdminNetworkPolicy"): "AdminNetworkPolicy",
}
"""``(API group, kind)`` of the objects a wall can be; any version of the group counts."""


def wall_name(workshop: str, learner: str) -> str:
    """``labkit-ws1-alice``: the name of learner ``alice``'s wall in workshop ``ws1``."""
    return f"labkit-{workshop}-{learner}"


@dataclass(frozen=True)
class LearnerWall:
    """One learner's wall as the engine evaluates it (see the module docstring)."""

    workshop: str
    learner: str
    kind: str
    """``GlobalNetworkPolicy``, ``ClusterNetworkPolicy`` or ``AdminNetworkPolicy``."""
    name: str

    @property
    def tier(self) -> str | None:
        """Calico's tier (``labkit-workshop``), ClusterNetworkPolicy's (``Admin``), else None."""
        if self.kind == "GlobalNetworkPolicy":
            return WALL_TIER
        if self.kind == "ClusterNetworkPolicy":
            return "Admin"
        return None

    @property
    def title(self) -> str:
        """``GlobalNetworkPolicy labkit-ws1-alice (tier labkit-workshop)``."""
        text = f"{self.kind} {self.name}"
        return f"{text} (tier {self.tier})" if self.tier else text

    @property
    def owner(self) -> tuple[str, str]:
        """``(workshop, learner)``: whose namespaces the wall selects."""
        return (self.workshop, self.learner)

    def owns(self, namespace_labels: Mapping[str, str]) -> bool:
        """Whether the wall selects the pods of a namespace with these labels."""
        return (
            namespace_labels.get(WORKSHOP_LABEL) == self.workshop
            and namespace_labels.get(LEARNER_LABEL) == self.learner
        )

    def decides(
        self, own_labels: Mapping[str, str], peer_labels: Mapping[str, str] | None
    ) -> Decision:
        """What the wall does with traffic between a pod of a namespace labelled
        ``own_labels`` and a peer whose namespace is labelled ``peer_labels`` (``None``: the
        peer has no namespace: an address, a ``hostNetwork`` pod). The same for both
        directions; ``"pass"`` hands the decision on to the NetworkPolicies.

        A namespace the wall does not own is not selected: ``"pass"``. Otherwise the rules in
        order: the learner's own namespaces pass, another learner's are denied, the rest
        passes."""
        if not self.owns(own_labels):
            return "pass"
        if peer_labels is None:
            return "pass"  # rule 3: no namespace
        if self.owns(peer_labels):
            return "pass"  # rule 1: own namespaces
        if LEARNER_LABEL in peer_labels:
            return "deny"  # rule 2: another learner's namespaces
        return "pass"  # rule 3: everything else


# -- rendering -----------------------------------------------------------------------------------
def _labels(workshop: str, learner: str, flavour: WallFlavour) -> dict[str, str]:
    labels = {
        WALL_LABEL: "true",
        WORKSHOP_LABEL: workshop,
        LEARNER_LABEL: learner,
        MANAGED_LABEL: "true",
    }
    if flavour.is_calico:
        labels[CALICO_TIER_LABEL] = WALL_TIER
    return labels


def calico_own_selector(workshop: str, learner: str) -> str:
    """``labkit.dev/workshop == 'ws1' && labkit.dev/learner == 'alice'``."""
    return f"{WORKSHOP_LABEL} == '{workshop}' && {LEARNER_LABEL} == '{learner}'"


CALICO_ANY_LEARNER = f"has({LEARNER_LABEL})"


def _own_label_selector(workshop: str, learner: str) -> dict[str, Any]:
    return {"matchLabels": {WORKSHOP_LABEL: workshop, LEARNER_LABEL: learner}}


def _any_learner_selector() -> dict[str, Any]:
    return {"matchExpressions": [{"key": LEARNER_LABEL, "operator": "Exists"}]}


def render_tier(flavour: WallFlavour) -> list[dict[str, Any]]:
    """The Calico Tier that holds the walls, or ``[]`` for the network-policy-api flavours
    (their tier is built in).

    One Tier serves every workshop on the cluster, so it carries the wall and managed labels
    but no workshop label: a workshop's teardown (selecting ``labkit.dev/workshop=W``) leaves
    it. Calico v3.32's kube-controllers keep a Tier being deleted (finalizer
    ``projectcalico.org/tier-controller``, ``kube-controllers/pkg/controllers/tier``) until no
    policy references it, so delete it only after the last wall."""
    if not flavour.is_calico:
        return []
    return [
        {
            "apiVersion": flavour.value,
            "kind": "Tier",
            "metadata": {
                "name": WALL_TIER,
                "labels": {WALL_LABEL: "true", MANAGED_LABEL: "true"},
            },
            "spec": {"order": WALL_ORDER, "defaultAction": "Pass"},
        }
    ]


def _calico_rules(workshop: str, learner: str, side: str) -> list[dict[str, Any]]:
    return [
        {"action": "Pass", side: {"namespaceSelector": calico_own_selector(workshop, learner)}},
        {"action": "Deny", side: {"namespaceSelector": CALICO_ANY_LEARNER}},
        {"action": "Pass"},
    ]


def _policy_api_rules(workshop: str, learner: str, side: str) -> list[dict[str, Any]]:
    return [
        {
            "name": "own-namespaces-to-own-policies",
            "action": "Pass",
            side: [{"namespaces": _own_label_selector(workshop, learner)}],
        },
        {
            "name": "deny-other-learners",
            "action": "Deny",
            side: [{"namespaces": _any_learner_selector()}],
        },
    ]


def render_wall(workshop: str, learner: str, flavour: WallFlavour) -> dict[str, Any]:
    """Learner ``learner``'s wall as one object of ``flavour`` (see the module docstring)."""
    metadata = {
        "name": wall_name(workshop, learner),
        "labels": _labels(workshop, learner, flavour),
    }
    spec: dict[str, Any]
    if flavour.is_calico:
        spec = {
            "tier": WALL_TIER,
            "order": WALL_ORDER,
            "namespaceSelector": calico_own_selector(workshop, learner),
            "types": ["Ingress", "Egress"],
            "ingress": _calico_rules(workshop, learner, "source"),
            "egress": _calico_rules(workshop, learner, "destination"),
        }
    else:
        spec = {}
        if flavour is WallFlavour.CNP:
            spec["tier"] = "Admin"
        spec["priority"] = WALL_PRIORITY
        spec["subject"] = {"namespaces": _own_label_selector(workshop, learner)}
        spec["ingress"] = _policy_api_rules(workshop, learner, "from")
        spec["egress"] = _policy_api_rules(workshop, learner, "to")
    return {
        "apiVersion": flavour.value,
        "kind": flavour.kind,
        "metadata": metadata,
        "spec": spec,
    }


def render_walls(
    workshop: str, learners: Iterable[str], flavour: WallFlavour
) -> list[dict[str, Any]]:
    """The Tier (Calico) and one wall per learner, in apply order."""
    return [*render_tier(flavour), *(render_wall(workshop, x, flavour) for x in learners)]


# -- reading -------------------------------------------------------------------------------------
def wall_kind(raw: RawObject) -> str | None:
    """The kind when ``raw`` is of a kind a wall can be, else None."""
    group = raw.api_version.rpartition("/")[0]
    return WALL_KINDS.get((group, raw.kind))


def _labels_of(raw: RawObject) -> Mapping[str, Any]:
    labels = raw.metadata.get("labels")
    return labels if isinstance(labels, dict) else {}


def wall_from_object(raw: RawObject) -> LearnerWall | None:
    """The wall ``raw`` is (any flavour), recognised by its kind and its labels
    (:data:`~labkit.model.workshop.WALL_LABEL` ``"true"``, workshop and learner); anything
    else, a learner's own Calico or admin policy included, is None."""
    kind = wall_kind(raw)
    if kind is None:
        return None
    labels = _labels_of(raw)
    workshop = labels.get(WORKSHOP_LABEL)
    learner = labels.get(LEARNER_LABEL)
    if str(labels.get(WALL_LABEL, "")).lower() != "true":
        return None
    if not isinstance(workshop, str) or not workshop:
        return None
    if not isinstance(learner, str) or not learner:
        return None
    return LearnerWall(workshop, learner, kind, raw.name or wall_name(workshop, learner))


def is_wall_tier(raw: RawObject) -> bool:
    """Whether ``raw`` is the Calico Tier that holds the walls (:func:`render_tier`)."""
    group = raw.api_version.rpartition("/")[0]
    return (
        group in CALICO_GROUPS
        and raw.kind == "Tier"
        and str(_labels_of(raw).get(WALL_LABEL, "")).lower() == "true"
    )


# -- choosing ------------------------------------------------------------------------------------
PREFERENCE = (WallFlavour.CALICO, WallFlavour.CALICO_CRD, WallFlavour.CNP, WallFlavour.ANP)


def served_plural(flavour: WallFlavour) -> str:
    """``projectcalico.org/v3/globalnetworkpolicies``: what discovery must list."""
    plural = {
        "GlobalNetworkPolicy": "globalnetworkpolicies",
        "ClusterNetworkPolicy": "clusternetworkpolicies",
        "AdminNetworkPolicy": "adminnetworkpolicies",
    }[flavour.kind]
    return f"{flavour.value}/{plural}"


def choose_flavour(served: Collection[str]) -> WallFlavour:
    """The flavour to write walls in, from the resources the cluster serves
    (``group/version/plural`` strings from API discovery): Calico's API server first, then
    Calico's CRDs (labkit's manifest-mode install, no API server), then ClusterNetworkPolicy,
    then AdminNetworkPolicy. Calico tiers exist since v3.29 and ``defaultAction`` since v3.30;
    labkit installs v3.32.1.

    Raises :class:`WorkshopError` when none is served."""
    wanted = set(served)
    for flavour in PREFERENCE:
        if served_plural(flavour) in wanted:
            log.debug("walls use %s", flavour.value)
            return flavour
    raise WorkshopError(
        "this cluster serves none of the APIs a workshop walls learners off with: Calico's "
        "GlobalNetworkPolicy (projectcalico.org/v3 or crd.projectcalico.org/v1 "
        "globalnetworkpolicies) or the network-policy-api's ClusterNetworkPolicy "
        "(policy.networking.k8s.io/v1alpha2) or AdminNetworkPolicy (v1alpha1); without one, "
        "learners could reach each other's pods"
        "\n    fix: run the workshop on a cluster with Calico (labkit's kind cluster has it), "
        "or install the network-policy-api CRDs on a CNI that enforces them "
        "(https://network-policy-api.sigs.k8s.io/), then run `labkit workshop init` again"
    )
