"""Workshop mode's names: who the learners are, and how a learner's logical names map to the
real ones on the shared cluster.

Learner ``alice`` of workshop ``ws1`` gets each lab namespace as ``ws1-alice-<logical>``
(``ws1-alice-my-segment``, ``ws1-alice-trusted``...), labelled with :data:`WORKSHOP_LABEL`,
:data:`LEARNER_LABEL`, :data:`LOGICAL_LABEL` and the managed label. Learners and lessons keep
writing the logical names; :class:`LearnerSpace` maps them on the way in
(:meth:`LearnerSpace.to_real_object`) and back on the way out
(:meth:`LearnerSpace.to_logical_object`, :meth:`LearnerSpace.logical_text`).

What is mapped, and nothing else:

* ``metadata.namespace`` of namespaced objects, and ``metadata.name`` of Namespaces;
* the automatic label ``kubernetes.io/metadata.name`` (the API server sets it to the
  namespace's name, so it is the one label whose value *is* a namespace name): on Namespaces,
  and as the key of ``namespaceSelector`` terms in NetworkPolicy peers (``matchLabels`` values
  and the values of ``In``/``NotIn`` expressions).

Custom labels are never mapped: ``namespaceSelector: {matchLabels: {name: trusted}}`` selects
nothing in a learner's space exactly as it selects nothing in a single-user lab (the
tutorial's mistake stays visible). Names that are not the learner's logical namespaces
(``kube-system``, ``default``, a typo) pass through unchanged, both ways, so the engine gives a
policy the same verdicts in a learner's space as in a single-user lab.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from labkit.errors import Issue, LabkitError, ValidationFailed
from labkit.model.loader import RawObject
from labkit.model.objects import MANAGED_LABEL, SYSTEM_NAMESPACES

WORKSHOP_LABEL = "labkit.dev/workshop"
LEARNER_LABEL = "labkit.dev/learner"
LOGICAL_LABEL = "labkit.dev/logical"
WALL_LABEL = "labkit.dev/wall"
"""``"true"`` on the objects that build the wall between learners (one per learner)."""
HUB_LABEL = "labkit.dev/hub"
"""``"true"`` on a hub namespace that ``workshop init`` created: ``teardown`` empties it of the
workshop's objects but keeps it (JupyterHub may have been installed there since)."""
NAME_LABEL = "kubernetes.io/metadata.name"
LABKIT_PREFIX = "labkit.dev/"
POOL_ANNOTATION = "cni.projectcalico.org/ipv4pools"

WORKSHOP_CONFIGMAP = "labkit-workshop"
"""The ConfigMap in the hub namespace that tells a learner's notebook which workshop it is in."""
PROGRESS_CONFIGMAP = "labkit-progress"
"""The ConfigMap in each learner's first namespace holding that learner's progress events."""
DEFAULT_HUB_NAMESPACE = "jhub"
WORKSHOP_ENV = "LABKIT_WORKSHOP"
LEARNER_ENV = "LABKIT_LEARNER"
"""On the simulated backend only, these select the workshop and the learner; on a real
cluster the learner is who the API server says (a SelfSubjectReview)."""

LEARNER_KINDS = ("NetworkPolicy", "Pod", "Service", "Deployment", "ConfigMap")
"""The kinds a learner may apply, in the learner's own namespaces only (their RBAC Role grants
exactly these, plus ``pods/exec``); the learner's own Namespaces may be re-applied (labels)."""

RESERVED_LEARNERS = frozenset({"canary", "hub", "doctor-a", "doctor-b", "system", "all"})
"""Learner names labkit keeps for itself (``ID-canary`` and the doctor's wall check)."""
DOCTOR_LEARNERS = ("doctor-a", "doctor-b")
"""The two pseudo-learners whose walls ``labkit workshop doctor`` checks."""

_WORKSHOP_ID = re.compile(r"^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$")
_LEARNER = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
MAX_NAMESPACE = 63


class WorkshopError(LabkitError):
    """A workshop definition (id, learners file) that labkit cannot use."""


def check_workshop_id(value: str) -> str:
    """``value`` when it is a usable workshop id (1-12 characters: lower-case letters, digits
    and ``-``, starting with a letter), else :class:`WorkshopError` saying how to fix it."""
    if not _WORKSHOP_ID.match(value):
        raise WorkshopError(
            f"workshop id {value!r} is not usable: it becomes the first part of every "
            "namespace name\n    fix: use 1-12 lower-case letters, digits or '-', starting "
            "with a letter and not ending with '-' (for example ws1)"
        )
    return value


@dataclass(frozen=True)
class Learner:
    """One participant: ``name`` names the namespaces and the ServiceAccount, ``hub_user`` is
    the JupyterHub user name the spawn hook maps to it (the same unless the file says)."""

    name: str
    hub_user: str = ""

    @property
    def user(self) -> str:
        return self.hub_user or self.name


def learner_problem(name: str, workshop_id: str, logical: Sequence[str]) -> str | None:
    """Why ``name`` cannot be a learner of ``workshop_id`` (``None`` when it can)."""
    if not _LEARNER.match(name):
        return (
            "a learner name becomes part of namespace names: use lower-case letters, digits "
            "and '-', starting and ending with a letter or digit"
        )
    if name in RESERVED_LEARNERS:
        return f"{name!r} is reserved by labkit ({', '.join(sorted(RESERVED_LEARNERS))})"
    longest = max((len(n) for n in logical), default=0)
    total = len(workshop_id) + 1 + len(name) + 1 + longest
    if total > MAX_NAMESPACE:
        room = MAX_NAMESPACE - len(workshop_id) - 2 - longest
        return (
            f"its namespaces would be {total} characters long (Kubernetes allows "
            f"{MAX_NAMESPACE}); use at most {room} characters"
        )
    return None


def parse_learners(
    text: str, source: str, workshop_id: str, logical: Sequence[str]
) -> tuple[Learner, ...]:
    """Learners from a file: one per line, ``NAME`` or ``NAME HUB_USER`` (whitespace or a
    comma between them); ``#`` starts a comment. Every bad line is reported at once
    (``file:line``), as a :class:`WorkshopError`; duplicates are errors too."""
    found: list[Learner] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    users: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        body = line.split("#", 1)[0].replace(",", " ").split()
        if not body:
            continue
        where = f"{source}:{number}"
        if len(body) > 2:
            problems.append(f"{where}: expected NAME or NAME HUB_USER, found {len(body)} fields")
            continue
        name = body[0]
        user = body[1] if len(body) == 2 else ""
        problem = learner_problem(name, workshop_id, logical)
        if problem:
            problems.append(f"{where}: learner {name!r}: {problem}")
            continue
        if name in seen:
            problems.append(
                f"{where}: learner {name!r} is listed twice (first on line {seen[name]})"
            )
            continue
        hub = user or name
        if hub in users:
            problems.append(
                f"{where}: hub user {hub!r} is mapped twice (first on line {users[hub]})"
            )
            continue
        seen[name] = number
        users[hub] = number
        found.append(Learner(name, user))
    if problems:
        raise WorkshopError(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the learners file "
            f"{source}:\n  " + "\n  ".join(problems) + "\n    fix: one learner per line, "
            "NAME or NAME HUB_USER; names of lower-case letters, digits and '-'"
        )
    if not found:
        raise WorkshopError(
            f"the learners file {source} names no learner\n    fix: write one learner name "
            "per line (NAME, or NAME HUB_USER when the JupyterHub user name differs)"
        )
    return tuple(found)


@dataclass(frozen=True)
class Workshop:
    """A workshop: its id, learners, the lab's logical namespaces and the hub namespace (where
    the learners' ServiceAccounts and the ``labkit-workshop`` ConfigMap live)."""

    id: str
    learners: tuple[Learner, ...]
    logical_namespaces: tuple[str, ...]
    hub_namespace: str = DEFAULT_HUB_NAMESPACE

    def __post_init__(self) -> None:
        check_workshop_id(self.id)

    @property
    def canary_namespace(self) -> str:
        return f"{self.id}-canary"

    def learner(self, name: str) -> Learner:
        for learner in self.learners:
            if learner.name == name:
                return learner
        raise WorkshopError(
            f"{name!r} is not a learner of workshop {self.id}; learners: "
            + ", ".join(learner.name for learner in self.learners)
        )

    def service_account(self, learner: str) -> str:
        return f"labkit-{learner}"

    def space(self, learner: str) -> LearnerSpace:
        """Learner ``learner``'s names (any name: the doctor's pseudo-learners too)."""
        return LearnerSpace(self.id, learner, self.logical_namespaces)

    def spaces(self) -> list[LearnerSpace]:
        return [self.space(learner.name) for learner in self.learners]

    def labels(self) -> dict[str, str]:
        """The labels every object of the workshop carries."""
        return {WORKSHOP_LABEL: self.id, MANAGED_LABEL: "true"}

    def selector(self) -> str:
        """The label selector of everything this workshop created."""
        return f"{WORKSHOP_LABEL}={self.id}"


@dataclass(frozen=True)
class LearnerSpace:
    """One learner's names: logical namespace <-> real namespace, both ways."""

    workshop: str
    learner: str
    logical_namespaces: tuple[str, ...]
    _extra: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def real(self, logical: str) -> str:
        return f"{self.workshop}-{self.learner}-{logical}"

    @cached_property
    def to_real_map(self) -> dict[str, str]:
        return {name: self.real(name) for name in self.logical_namespaces}

    @cached_property
    def to_logical_map(self) -> dict[str, str]:
        return {real: logical for logical, real in self.to_real_map.items()}

    @property
    def real_namespaces(self) -> tuple[str, ...]:
        return tuple(self.to_real_map.values())

    @property
    def home(self) -> str:
        """The real namespace that holds the learner's progress ConfigMap (the first)."""
        return self.real(self.logical_namespaces[0])

    def labels(self) -> dict[str, str]:
        """The labels every object of this learner carries."""
        return {WORKSHOP_LABEL: self.workshop, LEARNER_LABEL: self.learner, MANAGED_LABEL: "true"}

    def selector(self) -> str:
        return f"{WORKSHOP_LABEL}={self.workshop},{LEARNER_LABEL}={self.learner}"

    def namespace_labels(self, logical: str) -> dict[str, str]:
        return {**self.labels(), LOGICAL_LABEL: logical}

    # -- names ---------------------------------------------------------------------------------
    def to_real(self, namespace: str) -> str:
        """The real name of a logical namespace; any other name unchanged."""
        return self.to_real_map.get(namespace, namespace)

    def to_logical(self, namespace: str) -> str:
        """The logical name of one of the learner's real namespaces; any other unchanged."""
        return self.to_logical_map.get(namespace, namespace)

    def owns_real(self, namespace: str) -> bool:
        return namespace in self.to_logical_map

    def peer_to_real(self, peer: str) -> str:
        """``my-segment/frontend`` -> ``ws1-alice-my-segment/frontend``; addresses, DNS names
        (``svc:`` and ``NAME.NS...``) get their namespace part mapped."""
        return _map_peer(peer, self.to_real)

    def peer_to_logical(self, peer: str) -> str:
        return _map_peer(peer, self.to_logical)

    @cached_property
    def _real_pattern(self) -> re.Pattern[str]:
        names = sorted(self.to_logical_map, key=len, reverse=True)
        return re.compile(
            r"(?<![A-Za-z0-9-])(" + "|".join(map(re.escape, names)) + r")(?![A-Za-z0-9-])"
        )

    def logical_text(self, text: str) -> str:
        """``text`` with each of the learner's real namespace names replaced by its logical
        name (messages and details from the cluster, never kubectl hints)."""
        if not text or not self.to_logical_map:
            return text
        return self._real_pattern.sub(lambda m: self.to_logical_map[m.group(1)], text)

    # -- objects -------------------------------------------------------------------------------
    def to_real_object(self, raw: RawObject, *, allowed_kinds: Iterable[str]) -> RawObject:
        """A copy of ``raw`` in real names, labelled for this learner (and, on Namespaces, with
        the logical label). Raises :class:`ValidationFailed` (the API server's form: file,
        object, field) for a kind outside ``allowed_kinds``, a cluster-scoped kind other than
        the learner's own Namespaces, or a namespace outside the learner's set; the caller
        checks the whole batch before applying any of it (:meth:`refusals`)."""
        issues = self.refusals([raw], allowed_kinds=allowed_kinds)
        if issues:
            raise ValidationFailed(issues)
        data = copy.deepcopy(raw.data)
        meta = dict(data.get("metadata") or {})
        labels = dict(meta.get("labels") or {})
        if raw.kind == "Namespace":
            logical = str(meta.get("name", ""))
            meta["name"] = self.to_real(logical)
            labels.pop(NAME_LABEL, None)  # the API server sets it from the real name
            labels.update(self.namespace_labels(logical))
        else:
            meta["namespace"] = self.to_real(raw.namespace)
            labels.update(self.labels())
        meta["labels"] = labels
        data["metadata"] = meta
        if raw.kind == "NetworkPolicy":
            _map_policy_selectors(data, self.to_real)
        return replace(raw, data=data)

    def to_logical_object(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """An object as read from the cluster (API JSON), in the learner's logical names."""
        data = copy.deepcopy(dict(item))
        meta = dict(data.get("metadata") or {})
        if data.get("kind") == "Namespace":
            meta["name"] = self.to_logical(str(meta.get("name", "")))
            labels = dict(meta.get("labels") or {})
            if NAME_LABEL in labels:
                labels[NAME_LABEL] = self.to_logical(str(labels[NAME_LABEL]))
            meta["labels"] = labels
        elif meta.get("namespace"):
            meta["namespace"] = self.to_logical(str(meta["namespace"]))
        data["metadata"] = meta
        if data.get("kind") == "NetworkPolicy":
            _map_policy_selectors(data, self.to_logical)
        return data

    def refusals(
        self, objects: Sequence[RawObject], *, allowed_kinds: Iterable[str]
    ) -> list[Issue]:
        """Every object of the batch that a learner may not apply, one :class:`Issue` each."""
        allowed = frozenset(allowed_kinds)
        mine = ", ".join(self.logical_namespaces)
        issues: list[Issue] = []
        for raw in objects:
            scoped = _cluster_scoped(raw.kind)
            obj = f"{raw.kind} {raw.name}" if scoped else raw.title
            if raw.kind == "Namespace":
                if raw.name not in self.to_real_map:
                    issues.append(
                        Issue(
                            raw.location,
                            obj,
                            "metadata.name",
                            "Forbidden",
                            f"a workshop learner works in the lab's namespaces only ({mine}); "
                            "labkit creates them, learners cannot add namespaces",
                            hint="use one of your namespaces, or ask the instructor",
                        )
                    )
                continue
            if raw.kind not in allowed:
                issues.append(
                    Issue(
                        raw.location,
                        obj,
                        "kind",
                        "Forbidden",
                        f"a workshop learner may apply {', '.join(sorted(allowed))}; "
                        f"{raw.kind} is not among them"
                        + (" (cluster-scoped objects belong to the instructor)" if scoped else ""),
                        hint="remove it from the batch (the instructor manages it)",
                    )
                )
                continue
            if raw.namespace not in self.to_real_map:
                issues.append(
                    Issue(
                        raw.location,
                        obj,
                        "metadata.namespace",
                        "Forbidden",
                        f"namespace {raw.namespace!r} is not one of yours ({mine})",
                        value=raw.namespace,
                        hint="set metadata.namespace to one of your lab namespaces",
                    )
                )
        return issues


def _map_peer(peer: str, mapping: Any) -> str:
    if peer.startswith("svc:"):
        return "svc:" + _map_peer(peer[4:], mapping)
    if "/" in peer:
        ns, _, rest = peer.partition("/")
        return f"{mapping(ns)}/{rest}"
    parts = peer.split(".")
    if len(parts) >= 2 and not parts[-1].isdigit() and ":" not in peer:
        # NAME.NAMESPACE[.svc.cluster.local]
        parts[1] = mapping(parts[1])
        return ".".join(parts)
    return peer


def _map_selector(selector: Any, mapping: Any) -> None:
    if not isinstance(selector, dict):
        return
    labels = selector.get("matchLabels")
    if isinstance(labels, dict) and isinstance(labels.get(NAME_LABEL), str):
        labels[NAME_LABEL] = mapping(labels[NAME_LABEL])
    for expression in selector.get("matchExpressions") or ():
        if (
            isinstance(expression, dict)
            and expression.get("key") == NAME_LABEL
            and expression.get("operator") in ("In", "NotIn")
            and isinstance(expression.get("values"), list)
        ):
            expression["values"] = [
                mapping(v) if isinstance(v, str) else v for v in expression["values"]
            ]


def _map_policy_selectors(data: dict[str, Any], mapping: Any) -> None:
    """Map ``kubernetes.io/metadata.name`` in every peer's ``namespaceSelector``, in place."""
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return
    for direction, side in (("ingress", "from"), ("egress", "to")):
        for rule in spec.get(direction) or ():
            if not isinstance(rule, dict):
                continue
            for peer in rule.get(side) or ():
                if isinstance(peer, dict):
                    _map_selector(peer.get("namespaceSelector"), mapping)


def _cluster_scoped(kind: str) -> bool:
    from labkit.model.api_resources import API_RESOURCES

    return any(r.singular == kind.lower() and not r.namespaced for r in API_RESOURCES)


def is_system_namespace(name: str) -> bool:
    return name in SYSTEM_NAMESPACES
