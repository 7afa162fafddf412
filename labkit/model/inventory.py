"""The inventory: every namespace, pod, service and policy of a set of manifests.

Rules applied while building, as a real cluster would:

* Namespaces referenced by an object but never declared exist implicitly, with the automatic
  ``kubernetes.io/metadata.name`` label.
* An object declared twice (same kind, namespace and name) is replaced by the later one, as
  ``kubectl apply`` would (conformance rule 9 for policies); a warning says so.
* Pods without ``status.podIP`` get a deterministic address from the :class:`IPPlan`;
  ``hostNetwork`` pods never do (their address is their node's).
* Finished pods (phase Succeeded or Failed) are kept aside in ``finished``: they own no
  address, back no Service and match no peer, and a running pod may reuse their address.
* A workload whose children (ReplicaSets, Jobs, pods) are in the input, linked by
  ``ownerReferences`` uid, stands for no more pods (a cluster dump yields its real pods);
  pods written with only ``generateName`` get distinct names (``<generateName><n>``).
* Policy kinds labkit does not evaluate (Calico's, AdminNetworkPolicy...) are recorded in
  ``unevaluated`` (see :mod:`labkit.model.unevaluated`); other unknown kinds are skipped
  with a warning.
* Workshop walls (:mod:`labkit.model.wall`: a Calico GlobalNetworkPolicy, ClusterNetworkPolicy
  or AdminNetworkPolicy labelled as a learner's wall) are evaluated: they go to ``walls``, not
  to ``unevaluated``; the Calico Tier holding them is read silently. A wall declared twice
  (same kind and name) is replaced by the later one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from labkit.errors import ManifestError, UnknownPeer, ValidationFailed
from labkit.model.ipam import IPPlan
from labkit.model.ippools import is_ippool
from labkit.model.labels import LabelSelector
from labkit.model.loader import RawObject, load_paths, load_text
from labkit.model.objects import (
    IPAddress,
    Namespace,
    Pod,
    Service,
    ServicePort,
    namespace_labels,
)
from labkit.model.parse_policy import _Ctx, parse_network_policy, parse_selector
from labkit.model.policy import NetworkPolicy, parse_address
from labkit.model.ports import Protocol
from labkit.model.unevaluated import describe_unevaluated, unevaluated_kind
from labkit.model.wall import LearnerWall, is_wall_tier, wall_from_object
from labkit.model.workloads import (
    WORKLOAD_KINDS,
    PodDraft,
    has_children,
    owner_uids,
    pods_from,
)

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

KNOWN_KINDS = frozenset({"Namespace", "Pod", "Service", "NetworkPolicy"}) | WORKLOAD_KINDS


@dataclass(frozen=True)
class Inventory:
    """Everything the engine evaluates, immutable and sorted."""

    namespaces: tuple[Namespace, ...] = ()
    pods: tuple[Pod, ...] = ()
    services: tuple[Service, ...] = ()
    policies: tuple[NetworkPolicy, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)
    finished: tuple[Pod, ...] = field(default=(), compare=False)
    """Pods whose phase is Succeeded or Failed: no address, no peer, no Service backend."""
    unevaluated: tuple[str, ...] = field(default=(), compare=False)
    """Objects of kinds labkit reads but does not evaluate (:mod:`labkit.model.unevaluated`)."""
    walls: tuple[LearnerWall, ...] = field(default=(), compare=False)
    """Workshop walls between learners (:mod:`labkit.model.wall`), sorted by kind and name."""

    @cached_property
    def namespace_map(self) -> dict[str, Namespace]:
        return {ns.name: ns for ns in self.namespaces}

    @cached_property
    def pod_map(self) -> dict[str, Pod]:
        return {pod.key: pod for pod in self.pods}

    def namespace(self, name: str) -> Namespace:
        try:
            return self.namespace_map[name]
        except KeyError:
            raise UnknownPeer(
                f"namespace {name!r} does not exist; namespaces: "
                + ", ".join(sorted(self.namespace_map))
            ) from None

    def pod(self, key: str) -> Pod:
        """Find ``namespace/pod``; a workload name finds its first pod; a bare pod name finds
        the one pod of that name (several: :class:`UnknownPeer` says it is ambiguous and
        lists them); a finished pod is named as such."""
        if key in self.pod_map:
            return self.pod_map[key]
        if "/" not in key:
            matches = [p for p in self.pods if p.name == key]
            if len(matches) == 1:
                return matches[0]
            if matches:
                raise UnknownPeer(
                    f"pod name {key!r} is ambiguous: it exists in {len(matches)} namespaces; "
                    "write NAMESPACE/POD: " + ", ".join(p.key for p in matches)
                )
        else:
            ns, _, name = key.partition("/")
            for pod in self.pods:
                if pod.namespace == ns and pod.workload.endswith(f"/{name}"):
                    return pod
        for pod in self.finished:
            if key in (pod.key, pod.name):
                raise UnknownPeer(
                    f"pod {pod.key} has finished (phase {pod.phase}): a finished pod owns no "
                    "address, sends and receives nothing, and backs no Service"
                )
        known = ", ".join(p.key for p in self.pods[:20])
        raise UnknownPeer(
            f"pod {key!r} does not exist (write NAMESPACE/POD); pods: {known}"
            + (" ..." if len(self.pods) > 20 else "")
        )

    def service(self, key: str) -> Service | None:
        for svc in self.services:
            if svc.key == key:
                return svc
        return None

    def policies_in(self, namespace: str) -> tuple[NetworkPolicy, ...]:
        return tuple(p for p in self.policies if p.namespace == namespace)


def _service(raw: RawObject) -> Service:
    ctx = _Ctx(raw)
    spec = raw.data.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    selector_raw = spec.get("selector")
    selector = None
    if isinstance(selector_raw, dict) and selector_raw:
        selector = parse_selector(ctx, {"matchLabels": selector_raw}, "spec.selector")
    ports: list[ServicePort] = []
    raw_ports = spec.get("ports") or []
    if not isinstance(raw_ports, list):
        raise ctx.fail("spec.ports", "must be a list")
    for i, item in enumerate(raw_ports):
        if not isinstance(item, dict):
            raise ctx.fail(f"spec.ports[{i}]", "must be a mapping")
        port = item.get("port")
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise ctx.fail(
                f"spec.ports[{i}].port", f"invalid value {port!r}", "use a number from 1 to 65535"
            )
        target = item.get("targetPort", port)
        if not isinstance(target, (int, str)) or isinstance(target, bool):
            raise ctx.fail(f"spec.ports[{i}].targetPort", f"invalid value {target!r}")
        try:
            proto = Protocol(item.get("protocol") or "TCP")
        except ValueError:
            raise ctx.fail(
                f"spec.ports[{i}].protocol", "unsupported protocol", "use TCP, UDP or SCTP"
            ) from None
        ports.append(ServicePort(port, target, proto, str(item.get("name") or "")))
    return Service(raw.namespace, raw.name, selector, tuple(ports), _cluster_ips(ctx, spec))


def _cluster_ips(ctx: _Ctx, spec: dict[str, Any]) -> tuple[IPAddress, ...]:
    """``spec.clusterIPs`` (else ``spec.clusterIP``); ``None`` (headless) and ``""`` are none."""
    written = spec.get("clusterIPs")
    field_name = "spec.clusterIPs"
    if not isinstance(written, list):
        written = [spec.get("clusterIP")]
        field_name = "spec.clusterIP"
    found: list[IPAddress] = []
    for value in written:
        if not isinstance(value, str) or value in ("", "None"):
            continue
        try:
            found.append(parse_address(value))
        except ValueError as exc:
            raise ctx.fail(field_name, str(exc)) from None
    return tuple(found)


def build_inventory(
    objects: Sequence[RawObject],
    *,
    ip_plan: IPPlan | None = None,
    extra_namespaces: Iterable[str] = (),
) -> Inventory:
    """Build an :class:`Inventory` from raw objects (validate them first)."""
    plan = (ip_plan or IPPlan()).including(objects)  # the lab's pools + the input's
    warnings: list[str] = []
    namespaces: dict[str, dict[str, str]] = {}
    drafts: dict[tuple[str, str], PodDraft] = {}
    services: dict[tuple[str, str], Service] = {}
    policies: dict[tuple[str, str], NetworkPolicy] = {}
    referenced: set[str] = set(extra_namespaces)
    unevaluated: list[str] = []
    walls: dict[tuple[str, str], LearnerWall] = {}
    owners = owner_uids(objects)
    generated: dict[tuple[str, str], int] = {}

    def note(message: str) -> None:
        warnings.append(message)
        log.warning("%s", message)

    for raw in objects:
        kind = raw.kind
        if _take_wall(raw, walls, note):
            continue
        what = unevaluated_kind(raw)
        if what is not None:  # Calico's NetworkPolicy is a kind of the same name
            unevaluated.append(describe_unevaluated(raw, what))
            continue
        if kind not in KNOWN_KINDS:
            if is_ippool(raw):  # read by the address plan (labkit.model.ipam), not skipped
                continue
            note(
                f"{raw.location}: skipped {raw.title}: labkit does not model kind {kind or '(none)'!r}"
            )
            continue
        if kind == "Namespace":
            if raw.name in namespaces:
                note(f"{raw.location}: {raw.title} is declared again; the later one wins")
            namespaces[raw.name] = _declared_labels(raw)
            continue
        namespace = raw.namespace
        referenced.add(namespace)
        if kind == "NetworkPolicy":
            key = (namespace, raw.name)
            if key in policies:
                note(f"{raw.location}: {raw.title} replaces the earlier policy of that name")
            policies[key] = parse_network_policy(raw)
        elif kind == "Service":
            services[(namespace, raw.name)] = _service(raw)
        elif kind == "Pod" or not has_children(raw, owners):
            _add_pods(raw, drafts, generated, note)

    ns_objects = [
        Namespace(name, namespace_labels(name, labels)) for name, labels in namespaces.items()
    ]
    ns_objects += [
        Namespace(name, namespace_labels(name, None), implicit=True)
        for name in referenced - namespaces.keys()
    ]
    running = [d for d in drafts.values() if not d.finished]
    pods = _place_pods(running, plan)
    finished = [pod_from_draft(d, None) for d in drafts.values() if d.finished]
    return Inventory(
        namespaces=tuple(sorted(ns_objects, key=lambda n: n.name)),
        pods=tuple(sorted(pods, key=_BY_NAMESPACE_AND_NAME)),
        services=tuple(sorted(services.values(), key=_BY_NAMESPACE_AND_NAME)),
        policies=tuple(sorted(policies.values(), key=_BY_NAMESPACE_AND_NAME)),
        warnings=tuple(warnings),
        finished=tuple(sorted(finished, key=_BY_NAMESPACE_AND_NAME)),
        unevaluated=tuple(unevaluated),
        walls=tuple(walls[key] for key in sorted(walls)),
    )


def _take_wall(
    raw: RawObject, walls: dict[tuple[str, str], LearnerWall], note: Callable[[str], None]
) -> bool:
    """Whether ``raw`` is part of a workshop's wall: a learner's wall (recorded in ``walls``;
    a later one of the same kind and name replaces it) or the Calico Tier holding them."""
    wall = wall_from_object(raw)
    if wall is None:
        return is_wall_tier(raw)
    if (wall.kind, wall.name) in walls:
        note(f"{raw.location}: {wall.title} is declared again; the later one wins")
    walls[(wall.kind, wall.name)] = wall
    return True


def _declared_labels(raw: RawObject) -> dict[str, str]:
    labels = raw.metadata.get("labels")
    if labels is not None and not isinstance(labels, dict):
        raise ManifestError(
            "must be a mapping", file=raw.location, object=raw.title, field="metadata.labels"
        )
    return {str(k): "" if v is None else str(v) for k, v in (labels or {}).items()}


def _add_pods(
    raw: RawObject,
    drafts: dict[tuple[str, str], PodDraft],
    generated: dict[tuple[str, str], int],
    note: Callable[[str], None],
) -> None:
    """The pods ``raw`` stands for; a later pod of the same name replaces the earlier one."""
    for draft in pods_from(raw):
        if draft.generated_name:
            draft = _named(draft, generated)
        dkey = (draft.namespace, draft.name)
        if dkey in drafts:
            note(
                f"{raw.location}: pod {draft.namespace}/{draft.name} is declared again; "
                "the later one wins"
            )
        drafts[dkey] = draft


def _named(draft: PodDraft, generated: dict[tuple[str, str], int]) -> PodDraft:
    """A pod written with only ``generateName``: the API server appends 5 random characters
    (``names.SimpleNameGenerator``); labkit appends a counter per prefix, so each such pod
    stays a pod of its own."""
    key = (draft.namespace, draft.name)
    generated[key] = generated.get(key, 0) + 1
    return replace(draft, name=f"{draft.name}{generated[key]}", generated_name=False)


_BY_NAMESPACE_AND_NAME = attrgetter("namespace", "name")


def _place_pods(drafts: list[PodDraft], plan: IPPlan) -> list[Pod]:
    """Pods with their addresses: their own, else one from ``plan`` (names are unique).

    A ``hostNetwork`` pod keeps its node's address (or none) and is never given one from the
    pod network; several of them share their node's address, which is normal.
    """
    fixed: list[tuple[IPAddress, ...]] = []
    seen: dict[IPAddress, PodDraft] = {}
    for d in drafts:
        addresses = tuple(parse_address(text) for text in d.ips or ((d.ip,) if d.ip else ()))
        if not d.host_network:
            for address in addresses:
                holder = seen.get(address)
                if holder is not None:
                    log.warning(
                        "pods %s and %s/%s share address %s",
                        f"{holder.namespace}/{holder.name}",
                        d.namespace,
                        d.name,
                        address,
                    )
                seen[address] = d
        fixed.append(addresses)
    allocated = plan.allocate(
        ((d.namespace, d.name) for d in drafts if not d.ip and not d.host_network), list(seen)
    )
    placed: list[Pod] = []
    for d, addresses in zip(drafts, fixed, strict=True):
        if not addresses and not d.host_network:
            addresses = (allocated[(d.namespace, d.name)],)
        placed.append(pod_from_draft(d, addresses))
    return placed


def pod_from_draft(d: PodDraft, addresses: tuple[IPAddress, ...] | None) -> Pod:
    """The pod of a draft; ``None``: a finished pod, which owns no address."""
    addresses = addresses or ()
    return Pod(
        d.namespace,
        d.name,
        d.labels,
        addresses[0] if addresses else None,
        d.ports,
        d.workload,
        ips=addresses if len(addresses) > 1 else (),
        host_network=d.host_network,
        phase=d.phase,
        init_ports=d.init_ports,
    )


def check_objects(objects: Sequence[RawObject], kubernetes_version: str | None = None) -> None:
    """Validate like the API server; raises :class:`ValidationFailed` listing every error."""
    from labkit.model.validation import validate_objects

    errors, warnings = validate_objects(objects, kubernetes_version=kubernetes_version)
    if errors:
        raise ValidationFailed(errors, warnings)


def load_inventory(
    paths: Iterable[str | Path],
    *,
    ip_plan: IPPlan | None = None,
    kubernetes_version: str | None = None,
    validate: bool = True,
) -> Inventory:
    """Read, validate and build: the one call notebooks and the CLI use."""
    objects = load_paths(paths)
    if validate:
        check_objects(objects, kubernetes_version)
    return build_inventory(objects, ip_plan=ip_plan)


def inventory_from_text(text: str, **kwargs: Any) -> Inventory:
    objects = load_text(text)
    if kwargs.pop("validate", True):
        check_objects(objects, kwargs.pop("kubernetes_version", None))
    return build_inventory(objects, **kwargs)


def selector_text(selector: LabelSelector | None) -> str:
    return "<none>" if selector is None else str(selector)
