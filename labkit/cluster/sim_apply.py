"""What the API server does on apply, delete and label, for the simulated cluster's store.

Pure functions over the stored entries (:mod:`labkit.cluster.sim_store`), each all-or-nothing:
every problem in a batch is collected and raised together, before anything changes. The rules
followed, as a real cluster does them:

* An object is identified by kind, namespace and name; applying it again replaces it
  (``kubectl apply``) and reports it unchanged when nothing differs.
* A namespaced object needs its namespace to exist, or to be created in the same batch
  (API server: ``namespaces "x" not found``).
* Every namespace carries ``kubernetes.io/metadata.name: <name>``; the API server sets it and
  puts it back when someone removes or changes it.
* A pod's spec is immutable apart from container images (API server: ``pod updates may not
  change fields other than ...``); labels and annotations may change. A pod keeps its address.
* A new pod gets its address when it is created and keeps it (``status.podIP``): from
  ``status.podIP`` or Calico's ``cni.projectcalico.org/ipAddrs`` when given, else from the pool
  of its namespace; two pods never share an address.
* Deleting a namespace deletes everything in it; ``default``, ``kube-system``, ``kube-public``
  and ``kube-node-lease`` cannot be deleted.
* ``labkit reset`` (:func:`reset_entries`) deletes only what labkit created (labelled
  ``labkit.dev/managed=true``), as on a shared real cluster; other objects stay.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from ipaddress import ip_address
from typing import Any

from labkit.cluster.backend import ApplyReport
from labkit.cluster.sim_store import Entry
from labkit.errors import ClusterError, ManifestError
from labkit.model.inventory import KNOWN_KINDS, Inventory, build_inventory
from labkit.model.ipam import IPPlan
from labkit.model.loader import RawObject
from labkit.model.objects import MANAGED_LABEL, NAMESPACE_NAME_LABEL
from labkit.model.unevaluated import unevaluated_kind
from labkit.model.workloads import pods_from

log = logging.getLogger(__name__)

Key = tuple[str, str, str]
"""``(kind, namespace, name)``; the namespace is ``""`` for cluster-scoped kinds."""

CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "StorageClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "GlobalNetworkPolicy",
        "IPPool",
        "AdminNetworkPolicy",
        "BaselineAdminNetworkPolicy",
        "ClusterNetworkPolicy",
        "Tier",
        "GlobalNetworkSet",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }
)
PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PlanFor = Callable[[Sequence[Entry]], IPPlan]


def key_of(obj: Mapping[str, Any]) -> Key:
    kind = str(obj.get("kind") or "")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    name = str(meta.get("name") or "")
    namespace = "" if kind in CLUSTER_SCOPED else str(meta.get("namespace") or "default")
    return kind, namespace, name


def title(key: Key) -> str:
    kind, namespace, name = key
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def to_raw(entry: Entry) -> RawObject:
    return RawObject(entry["object"], str(entry.get("source") or "<simulated>"))


def build(entries: Sequence[Entry], plan: IPPlan) -> Inventory:
    """The inventory of the stored objects: the kinds labkit models, plus the policy kinds it
    reads but does not evaluate (recorded in ``Inventory.unevaluated``, so every view can
    warn); other kinds (RBAC, IP pools) are kept in the store, not shown."""
    raws = [to_raw(e) for e in entries]
    return build_inventory(
        [r for r in raws if r.kind in KNOWN_KINDS or unevaluated_kind(r) is not None],
        ip_plan=plan,
    )


def _prepare(raw: RawObject) -> Entry:
    obj: dict[str, Any] = copy.deepcopy(raw.data)
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise ClusterError(
            f"{raw.location}: {raw.title}: metadata.name: Required value; give "
            "every object a name (the simulated cluster does not generate names)"
        )
    kind = raw.kind
    if kind in CLUSTER_SCOPED:
        meta.pop("namespace", None)
    else:
        meta["namespace"] = raw.namespace
    if kind == "Namespace":
        labels = meta.get("labels")
        labels = dict(labels) if isinstance(labels, dict) else {}
        labels[NAMESPACE_NAME_LABEL] = meta["name"]
        meta["labels"] = labels
    return {"source": raw.location, "object": obj}


def _spec_without_images(obj: Mapping[str, Any]) -> Any:
    spec = copy.deepcopy(obj.get("spec") or {})
    if isinstance(spec, dict):
        spec.pop("activeDeadlineSeconds", None)
        spec.pop("tolerations", None)
        for field in ("containers", "initContainers"):
            for container in spec.get(field) or []:
                if isinstance(container, dict):
                    container.pop("image", None)
    return spec


def _pod_ip(entry: Entry) -> str | None:
    status = entry["object"].get("status")
    ip = status.get("podIP") if isinstance(status, dict) else None
    return ip if isinstance(ip, str) and ip else None


def merge(
    entries: list[Entry], objects: Sequence[RawObject], plan_for: PlanFor
) -> tuple[list[Entry], ApplyReport]:
    """Apply ``objects`` (already validated) to ``entries``; raises before changing anything."""
    result = copy.deepcopy(entries)
    index = {key_of(e["object"]): i for i, e in enumerate(result)}
    applied: list[str] = []
    unchanged: list[str] = []
    problems: list[str] = []
    new_pods: list[int] = []
    for raw in objects:
        entry = _prepare(raw)
        key = key_of(entry["object"])
        where = f"{raw.location}: {raw.title}"
        old_at = index.get(key)
        if key[0] == "Pod":
            entry["object"].pop("status", None)
            requested = _requested_ip(raw, problems, where)
            if old_at is not None:
                old = result[old_at]
                if _spec_without_images(old["object"]) != _spec_without_images(entry["object"]):
                    problems.append(
                        f"{where}: spec: Forbidden: pod updates may not change fields other "
                        "than spec.containers[*].image, spec.initContainers[*].image, "
                        "spec.activeDeadlineSeconds and spec.tolerations; delete the pod first "
                        f"(labkit delete pod {key[2]} -n {key[1]}) and apply it again"
                    )
                    continue
                if requested and requested != _pod_ip(old):
                    log.warning(
                        "%s: the pod already has address %s; status.podIP %s is ignored "
                        "(a pod keeps its address)",
                        where,
                        _pod_ip(old),
                        requested,
                    )
                if "status" in old["object"]:
                    entry["object"]["status"] = copy.deepcopy(old["object"]["status"])
            elif requested:
                entry["object"]["status"] = _status(requested)
        if old_at is None:
            index[key] = len(result)
            result.append(entry)
            applied.append(title(key))
            if key[0] == "Pod":
                new_pods.append(index[key])
        elif result[old_at]["object"] == entry["object"]:
            unchanged.append(title(key))
        else:
            result[old_at] = entry
            applied.append(title(key))
    namespaces = {k[2] for k in index if k[0] == "Namespace"}
    for key in index:
        if key[1] and key[1] not in namespaces:
            problems.append(
                f'{title(key)}: namespaces "{key[1]}" not found; create the namespace first '
                f"(a Namespace object named {key[1]} in the same apply, or labkit apply of one)"
            )
    if problems:
        raise ClusterError(_batch_failed(problems))
    if any(raw.kind == "IPPool" for raw in objects):
        try:  # Calico refuses a malformed pool or one that overlaps another
            plan_for(result).pools  # noqa: B018
        except ManifestError as exc:
            raise ClusterError(_batch_failed([str(exc)])) from None
    _place_new_pods(entries, result, new_pods, plan_for)
    return result, ApplyReport(applied=tuple(applied), unchanged=tuple(unchanged))


def _batch_failed(problems: list[str]) -> str:
    count = len(problems)
    head = f"{count} object{'s' if count != 1 else ''} rejected; nothing was applied:"
    return "\n".join([head, *(f"  {p}" for p in dict.fromkeys(problems))])


def _requested_ip(raw: RawObject, problems: list[str], where: str) -> str | None:
    try:
        drafts = pods_from(raw)
    except ManifestError as exc:
        problems.append(f"{where}: {exc.detail}")
        return None
    return drafts[0].ip if drafts else None


def _status(ip: str) -> dict[str, Any]:
    return {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}


def _place_new_pods(
    old_entries: list[Entry], result: list[Entry], new_pods: list[int], plan_for: PlanFor
) -> None:
    """Give new pods their addresses: requested ones must be free, the others come from the
    namespace's pool avoiding every address in use (recorded or held by workload pods)."""
    taken: dict[str, str] = {}
    try:
        for pod in build(old_entries, plan_for(old_entries)).pods:
            if pod.ip is not None:
                taken[str(pod.ip)] = f"Pod {pod.key}"
    except ManifestError as exc:  # an old state the model cannot read: recorded IPs still count
        log.warning("while placing pods: %s", exc)
    for i, entry in enumerate(result):
        ip = _pod_ip(entry)
        if ip and i not in new_pods and entry["object"].get("kind") == "Pod":
            taken.setdefault(str(ip_address(ip)), title(key_of(entry["object"])))
    problems = []
    for i in new_pods:
        ip = _pod_ip(result[i])
        if ip:
            canonical = str(ip_address(ip))
            owner = taken.get(canonical)
            if owner is not None:
                problems.append(
                    f"{title(key_of(result[i]['object']))}: address {ip} is already "
                    f"used by {owner}; choose another address or delete {owner}"
                )
            taken[canonical] = title(key_of(result[i]["object"]))
    if problems:
        raise ClusterError(_batch_failed(problems))
    wanted = [i for i in new_pods if not _pod_ip(result[i])]
    if not wanted:
        return
    plan = plan_for(result)
    keys = {i: key_of(result[i]["object"]) for i in wanted}
    allocated = plan.allocate(((k[1], k[2]) for k in keys.values()), (ip_address(a) for a in taken))
    for i, key in keys.items():
        result[i]["object"]["status"] = _status(str(allocated[(key[1], key[2])]))


def is_managed(obj: Mapping[str, Any]) -> bool:
    """Whether labkit created the object: it carries ``labkit.dev/managed: "true"``."""
    meta = obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return isinstance(labels, dict) and labels.get(MANAGED_LABEL) == "true"


def reset_entries(
    entries: list[Entry],
    objects: Sequence[RawObject],
    plan_for: PlanFor,
    own: Sequence[RawObject] = (),
) -> tuple[list[Entry], ApplyReport]:
    """``labkit reset`` on the stored objects, as :meth:`labkit.cluster.kube.KubeCluster.reset`
    does on a real cluster: every object labkit created that ``objects`` (the system objects
    and the topology) does not hold is deleted, a managed namespace with everything in it;
    objects without the managed label stay, wherever they are. Then ``objects`` are applied
    again, so they lose labels added since; their pods keep their addresses (a pod whose spec
    differs from the topology's is created again, as it would have to be on a cluster).
    ``own`` are objects the simulated cluster itself made (CoreDNS): deleted too when
    ``objects`` does not hold them."""
    wanted = {key_of(entry["object"]): entry["object"] for entry in map(_prepare, objects)}
    owned = {key_of(entry["object"]) for entry in map(_prepare, own)}
    gone_namespaces = {
        key[2]
        for key, obj in ((key_of(e["object"]), e["object"]) for e in entries)
        if key[0] == "Namespace" and key not in wanted and is_managed(obj)
    }
    kept: list[Entry] = []
    for entry in entries:
        key = key_of(entry["object"])
        if key[1] in gone_namespaces or (key[0] == "Namespace" and key[2] in gone_namespaces):
            continue
        if key in wanted:
            if key[0] != "Pod" or _spec_without_images(entry["object"]) == _spec_without_images(
                wanted[key]
            ):
                kept.append(entry)
        elif not is_managed(entry["object"]) and key not in owned:
            kept.append(entry)
    return merge(kept, objects, plan_for)


def delete(entries: list[Entry], kind: str, namespace: str, name: str) -> tuple[list[Entry], bool]:
    """Remove one object (a namespace with everything in it); ``False`` when absent."""
    kind = canonical_kind(entries, kind)
    if kind == "Namespace":
        if name in PROTECTED_NAMESPACES:
            raise ClusterError(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted'
            )
        target: Key = ("Namespace", "", name)
        if not any(key_of(e["object"]) == target for e in entries):
            return entries, False
        kept = [
            e for e in entries if key_of(e["object"]) != target and key_of(e["object"])[1] != name
        ]
        return kept, True
    target = (kind, "" if kind in CLUSTER_SCOPED else namespace, name)
    kept = [e for e in entries if key_of(e["object"]) != target]
    return kept, len(kept) != len(entries)


def canonical_kind(entries: Sequence[Entry], kind: str) -> str:
    """``networkpolicy`` -> ``NetworkPolicy``: the stored spelling of a kind, any case."""
    for known in (*KNOWN_KINDS, *CLUSTER_SCOPED, *(str(e["object"].get("kind")) for e in entries)):
        if known.lower() == kind.lower():
            return known
    return kind


def set_labels(
    entries: list[Entry],
    kind: str,
    namespace: str,
    name: str,
    changes: Mapping[str, str | None],
    workload_of: Callable[[], str | None],
) -> list[Entry]:
    """Set (value) or remove (``None``) labels on a stored Namespace or Pod."""
    target: Key = (kind, "" if kind == "Namespace" else namespace, name)
    result = copy.deepcopy(entries)
    for entry in result:
        if key_of(entry["object"]) != target:
            continue
        meta = entry["object"]["metadata"]
        labels = dict(meta.get("labels") or {})
        for label, value in changes.items():
            if value is None:
                labels.pop(label, None)
            else:
                labels[label] = value
        if kind == "Namespace" and labels.get(NAMESPACE_NAME_LABEL) != name:
            log.warning(
                "namespace %s: the API server keeps %s=%s on every namespace; that label "
                "cannot be removed or changed",
                name,
                NAMESPACE_NAME_LABEL,
                name,
            )
            labels[NAMESPACE_NAME_LABEL] = name
        meta["labels"] = labels
        return result
    what = "namespaces" if kind == "Namespace" else "pods"
    shown = name if kind == "Namespace" else f'{name}" in namespace "{namespace}'
    owner = workload_of()
    hint = (
        f"; it belongs to {owner}: change the labels of its pod template and apply it"
        if owner
        else "; check the name with `labkit get "
        + what
        + ("" if kind == "Namespace" else f" -n {namespace}")
        + "`"
    )
    raise ClusterError(f'{what} "{shown}" not found{hint}')
