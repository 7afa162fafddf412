"""The world a submission is graded in: the lab, the exercise's objects, the submission's.

:func:`build_world` applies a submission's objects to the exercise's world the way ``kubectl
apply`` would on a throwaway simulated cluster: an object whose key (kind, namespace, name)
equals a world object replaces it; the others are added. Only what the exercise allows
(``allowed`` in ``exercise.yaml``, :class:`AllowedChanges`) is applied; everything else is
listed under ``rejected`` with a reason and has no effect:

* Namespaces, pods and workloads (which make pods) are part of the world: refused unless the
  exercise lists their kind, and even then a change to the labels (or anything else) of a
  namespace or pod of the world is refused: relabelling ``untrusted`` as ``trusted`` must
  not satisfy "only pods in namespaces labelled trusted";
* any kind the exercise does not list, and objects in namespaces it does not let the learner
  change (``"*"``: any namespace of the world but the cluster's own, kube-system...);
* policy kinds labkit does not evaluate (Calico's, AdminNetworkPolicy): they would change
  nothing in the grade while looking as if they did.

The inventory is :func:`labkit.model.inventory.build_inventory`'s, so the lab's address plan
(the pool annotations of the topology's namespaces) applies as everywhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labkit.errors import GradingError, LabkitError
from labkit.grading.submission import Rejected, Submission
from labkit.model.inventory import Inventory, build_inventory
from labkit.model.loader import RawObject
from labkit.model.objects import SYSTEM_NAMESPACES
from labkit.model.unevaluated import unevaluated_kind
from labkit.model.workloads import WORKLOAD_KINDS

log = logging.getLogger(__name__)

ANY_NAMESPACE = "*"
WORLD_KINDS = frozenset({"Namespace", "Pod"}) | WORKLOAD_KINDS
"""Kinds that make up the world (namespaces and the pods the flows run between)."""

ObjectKey = tuple[str, str, str]


@dataclass(frozen=True)
class AllowedChanges:
    """What a submission may create or change (``allowed`` in ``exercise.yaml``).

    ``kinds``: object kinds (``NetworkPolicy``); ``namespaces``: the namespaces its objects
    may live in, ``"*"`` for any namespace of the world except the cluster's own
    (:data:`labkit.model.objects.SYSTEM_NAMESPACES`), which must be named to be allowed.
    """

    kinds: frozenset[str] = frozenset({"NetworkPolicy"})
    namespaces: frozenset[str] = frozenset()

    @classmethod
    def from_mapping(cls, data: object, where: str = "exercise.yaml") -> AllowedChanges:
        """``allowed`` as written in ``exercise.yaml``: ``{kinds: [...], namespaces: [...]}``;
        a wrong shape raises :class:`~labkit.errors.GradingError` naming ``where`` and the
        field."""
        if not isinstance(data, Mapping):
            raise GradingError(
                f"{where}: allowed: must be a mapping, e.g. "
                "{kinds: [NetworkPolicy], namespaces: [my-segment]}"
            )
        unknown = sorted(str(key) for key in data if key not in ("kinds", "namespaces"))
        if unknown:
            raise GradingError(
                f"{where}: allowed: unknown field {', '.join(unknown)}; "
                "only kinds and namespaces are read"
            )
        return cls(
            kinds=_names(data.get("kinds", ["NetworkPolicy"]), f"{where}: allowed.kinds"),
            namespaces=_names(data.get("namespaces", []), f"{where}: allowed.namespaces"),
        )


def _names(value: Any, where: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise GradingError(f"{where}: must be a list of names, e.g. [NetworkPolicy]")
    return frozenset(value)


@dataclass(frozen=True)
class World:
    """The objects graded (world, exercise objects, accepted submission objects), their
    inventory, and the submission objects that were rejected (with no effect)."""

    objects: tuple[RawObject, ...]
    inventory: Inventory
    rejected: tuple[Rejected, ...] = ()


def object_key(raw: RawObject) -> ObjectKey:
    """``(kind, namespace, name)``; a Namespace's namespace is ``""``."""
    return raw.kind, "" if raw.kind == "Namespace" else raw.namespace, raw.name


def build_world(
    base: Sequence[RawObject],
    exercise_world: Sequence[RawObject],
    submission: Submission,
    allowed: AllowedChanges,
) -> World:
    """The world ``submission`` is graded in: ``base`` (the lab's objects), then the
    exercise's ``world/`` objects, then the submission's allowed objects, each replacing the
    object of its key. ``World.rejected`` lists the rest (the submission's own ``rejected``
    are not repeated: callers report both)."""
    merged: dict[ObjectKey, RawObject] = {}
    for raw in (*base, *exercise_world):
        merged[object_key(raw)] = raw  # a replaced object keeps its place, as on apply
    world = dict(merged)
    namespaces = _world_namespaces(world.values())
    rejected: list[Rejected] = []
    accepted: list[RawObject] = []
    for raw in submission.objects:
        reason = rejection_reason(raw, world, namespaces, allowed)
        if reason:
            rejected.append(Rejected(raw.location, raw.title, reason))
        else:
            accepted.append(raw)
    inventory, unusable = _inventory(merged, accepted)
    rejected += unusable
    log.info("world: %d objects, %d submission objects rejected", len(merged), len(rejected))
    return World(tuple(_applied(merged, accepted, unusable)), inventory, tuple(rejected))


def _world_namespaces(objects: Iterable[RawObject]) -> frozenset[str]:
    """Namespaces of the world: declared, or holding one of its objects."""
    found: set[str] = set()
    for raw in objects:
        found.add(raw.name if raw.kind == "Namespace" else raw.namespace)
    return frozenset(found)


def rejection_reason(
    raw: RawObject,
    world: Mapping[ObjectKey, RawObject],
    namespaces: frozenset[str],
    allowed: AllowedChanges,
) -> str | None:
    """Why the submission object ``raw`` may not be applied to ``world``, or None."""
    what = unevaluated_kind(raw)
    if what is not None:
        return (
            f"a {what} is not graded: labkit evaluates Kubernetes NetworkPolicy "
            "(apiVersion networking.k8s.io/v1) only; write the rule as one"
        )
    kind = raw.kind
    if kind in ("Namespace", "Pod"):
        changed = _world_change(raw, world.get(object_key(raw)))
        if changed:
            return changed
    if kind not in allowed.kinds:
        if kind in WORLD_KINDS:
            return (
                f"a submission may not create or change a {kind}: namespaces and pods are "
                "part of the exercise's world; write policies for them as they are"
            )
        listed = ", ".join(sorted(allowed.kinds)) or "nothing"
        return f"kind {kind or '(none)'} is not allowed in this exercise (allowed: {listed})"
    return _namespace_reason(raw, namespaces, allowed)


def _world_change(raw: RawObject, before: RawObject | None) -> str | None:
    """The reason for refusing a change to the world's namespace or pod ``before``."""
    if before is None:
        return None
    if _labels(raw) != _labels(before):
        return (
            f"changes the labels of {before.title}: namespace and pod labels are part of the "
            "exercise's world and may not be changed; select the peers by the labels they have"
        )
    if raw.data != before.data:
        return (
            f"changes {before.title}, which is part of the exercise's world and may not be changed"
        )
    return None


def _labels(raw: RawObject) -> object:
    return raw.metadata.get("labels") or {}


def _namespace_reason(
    raw: RawObject, namespaces: frozenset[str], allowed: AllowedChanges
) -> str | None:
    """Why ``raw`` may not live in its namespace, or None."""
    namespace = raw.name if raw.kind == "Namespace" else raw.namespace
    if namespace in allowed.namespaces:
        return None
    if ANY_NAMESPACE in allowed.namespaces:
        if namespace in namespaces and namespace not in SYSTEM_NAMESPACES:
            return None
        if namespace not in namespaces:
            return f"namespace {namespace} does not exist in this exercise's world"
    listed = ", ".join(sorted(allowed.namespaces)) or "none"
    unset = (
        ""
        if raw.metadata.get("namespace") or raw.kind == "Namespace"
        else (" (metadata.namespace is not set, so it would land in default)")
    )
    return (
        f"namespace {namespace} is not one this exercise lets you change{unset}; allowed: {listed}"
    )


def _inventory(
    merged: Mapping[ObjectKey, RawObject], accepted: Sequence[RawObject]
) -> tuple[Inventory, list[Rejected]]:
    """The inventory of the world with ``accepted`` applied; an accepted object the inventory
    cannot take (it validates, yet cannot be evaluated) is rejected and left out, so the
    rest is still graded, never half-applied."""
    try:
        return build_inventory(_applied(merged, accepted, [])), []
    except LabkitError:
        log.info("the submission cannot be applied as a whole: trying its objects one by one")
    unusable: list[Rejected] = []
    for raw in accepted:
        try:
            build_inventory(_applied(merged, [raw], []))
        except LabkitError as exc:
            unusable.append(Rejected(raw.location, raw.title, f"cannot be evaluated: {exc}"))
    return build_inventory(_applied(merged, accepted, unusable)), unusable


def _applied(
    merged: Mapping[ObjectKey, RawObject],
    accepted: Sequence[RawObject],
    unusable: Sequence[Rejected],
) -> list[RawObject]:
    """``merged`` with the accepted objects applied (those in ``unusable`` left out)."""
    skip = {(r.file, r.object) for r in unusable}
    objects = dict(merged)
    for raw in accepted:
        if (raw.location, raw.title) not in skip:
            objects[object_key(raw)] = raw
    return list(objects.values())
