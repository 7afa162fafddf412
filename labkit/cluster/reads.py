"""Reading API objects of a real cluster, through the official client or through kubectl.

:class:`Reads` is what the kind and existing backends read with: ``list`` (namespaced and
label-selected where the caller can say so), ``watch`` (block until the listed objects
change), ``get`` (one object by name, ``None`` when absent), ``self_subject_review`` (who the
API server says the caller is) and ``served_resources`` (API discovery of a few groups); a
workshop learner reads only with namespaced or name-addressed requests
(:mod:`labkit.cluster.workshop.reads`). :class:`labkit.cluster.kube_api.KubeApi` implements
it with the official ``kubernetes`` client (list calls and ``Watch.stream`` from the list's
resourceVersion); :class:`KubectlReads` with ``kubectl get -o json`` and no watch (waits
then poll), for installs without the ``lab`` extra. Both return objects in the API's JSON shape (camelCase,
``kind`` and ``apiVersion`` set on every item), so every reader of them works on either.
:class:`ObjectWait` joins a list and its watch into a check and a pause for
:func:`labkit.cluster.waits.wait_for`.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from labkit.cluster.kubectl import Kubectl, list_items, parse_json
from labkit.errors import ClusterError

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Objs = list[Obj]


@dataclass(frozen=True)
class Resource:
    """A resource labkit reads: its plural (as kubectl names it), kind, group/version, and
    for built-in kinds the snake_case name in the client's generated methods (``list_{name}``,
    ``list_namespaced_{name}``, ``list_{name}_for_all_namespaces``); custom resources have
    none and are read as custom objects."""

    plural: str
    kind: str
    api_version: str
    namespaced: bool = True
    method_name: str = ""

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def kubectl_name(self) -> str:
        """Fully qualified when the group is not core (with Calico installed,
        ``networkpolicies`` alone is ambiguous)."""
        group = self.group
        return f"{self.plural}.{group}" if group else self.plural


RESOURCES = {
    r.plural: r
    for r in (
        Resource("namespaces", "Namespace", "v1", False, "namespace"),
        Resource("nodes", "Node", "v1", False, "node"),
        Resource("pods", "Pod", "v1", True, "pod"),
        Resource("services", "Service", "v1", True, "service"),
        Resource("configmaps", "ConfigMap", "v1", True, "config_map"),
        Resource(
            "networkpolicies", "NetworkPolicy", "networking.k8s.io/v1", True, "network_policy"
        ),
        Resource("daemonsets", "DaemonSet", "apps/v1", True, "daemon_set"),
        Resource("deployments", "Deployment", "apps/v1", True, "deployment"),
        Resource("tigerastatuses", "TigeraStatus", "operator.tigera.io/v1", namespaced=False),
        Resource("ippools", "IPPool", "crd.projectcalico.org/v1", namespaced=False),
    )
}
INVENTORY = ("namespaces", "pods", "services", "networkpolicies")
DISCOVERY_GROUPS = (
    "projectcalico.org",
    "crd.projectcalico.org",
    "policy.networking.k8s.io",
    "admissionregistration.k8s.io",
)
"""The API groups :meth:`Reads.served_resources` probes by default: the ones that decide how
workshop mode builds its wall (Calico's API server or CRDs, the network-policy API's
AdminNetworkPolicy/ClusterNetworkPolicy) and its admission policy."""


def resource(plural: str) -> Resource:
    try:
        return RESOURCES[plural]
    except KeyError:
        raise ValueError(f"labkit does not read {plural!r}") from None


@dataclass(frozen=True)
class Listing:
    """The items of a list call and the list's ``resourceVersion`` (where a watch starts)."""

    items: Objs = field(default_factory=list)
    resource_version: str = ""


class Reads(Protocol):
    """Read access to one cluster."""

    watches: bool
    """Whether :meth:`watch` blocks until a change (else waits poll)."""

    def list(
        self,
        plural: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Listing: ...

    def list_all(self, plurals: Sequence[str]) -> Objs:
        """The objects of every resource of ``plurals`` in every namespace."""
        ...

    def server_version(self) -> Obj:
        """The API server's version (``/version``: ``major``, ``minor``, ``gitVersion``)."""
        ...

    def watch(
        self,
        plural: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        resource_version: str = "",
        timeout_s: float,
    ) -> bool:
        """Block until the objects of that list change (``True``) or ``timeout_s`` passed."""
        ...

    def get(self, plural: str, namespace: str | None, name: str) -> Obj | None:
        """One object by name (``GET .../PLURAL/NAME``; ``namespace`` is ignored for
        cluster-scoped resources), ``kind`` and ``apiVersion`` set; ``None`` when the API
        server answers 404 NotFound."""
        ...

    def self_subject_review(self) -> str:
        """Who the API server says this client is: ``status.userInfo.username`` of a
        ``SelfSubjectReview`` (``authentication.k8s.io/v1``, GA in Kubernetes 1.28; what
        ``kubectl auth whoami`` shows)."""
        ...

    def served_resources(self, groups: Sequence[str] = DISCOVERY_GROUPS) -> set[str]:
        """``GROUP/VERSION/PLURAL`` of every resource the API server serves in ``groups``
        (API discovery: ``/apis``, then ``/apis/GROUP/VERSION`` of each served version;
        subresources left out). A group version whose discovery fails (an aggregated API
        server that is down answers 503) counts as not served."""
        ...


class KubectlReads:
    """:class:`Reads` through ``kubectl get -o json`` (no watch: waits poll)."""

    watches = False

    def __init__(self, kubectl: Kubectl) -> None:
        self.kubectl = kubectl

    def list(
        self,
        plural: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Listing:
        res = resource(plural)
        args = ["get", res.kubectl_name]
        if res.namespaced:
            args += ["-n", namespace] if namespace else ["--all-namespaces"]
        if label_selector:
            args += ["-l", label_selector]
        if field_selector:
            args += ["--field-selector", field_selector]
        data = self.kubectl.get_json(args)
        meta = data.get("metadata") if isinstance(data, dict) else None
        version = str((meta or {}).get("resourceVersion", ""))
        return Listing(list_items(data), version)

    def list_all(self, plurals: Sequence[str]) -> Objs:
        names = ",".join(resource(p).kubectl_name for p in plurals)
        return self.kubectl.items(["get", names, "--all-namespaces"])

    def server_version(self) -> Obj:
        data = self.kubectl.get_json(["version"], timeout=30)
        server = data.get("serverVersion") if isinstance(data, dict) else None
        return dict(server) if isinstance(server, dict) else {}

    def watch(
        self,
        plural: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        resource_version: str = "",
        timeout_s: float,
    ) -> bool:
        raise ClusterError("kubectl reads cannot watch (`watches` is False): waits poll instead")

    def get(self, plural: str, namespace: str | None, name: str) -> Obj | None:
        """``kubectl get PLURAL NAME [-n NS] --ignore-not-found -o json``: a missing object
        prints nothing and exits 0 (kubectl's ``--ignore-not-found``), so ``None``."""
        res = resource(plural)
        args = ["get", res.kubectl_name, name]
        if res.namespaced:
            args += ["-n", namespace or "default"]
        data = self.kubectl.get_json([*args, "--ignore-not-found"])
        found = list_items(data)
        if not found:
            return None
        return {"apiVersion": res.api_version, "kind": res.kind, **found[0]}

    def self_subject_review(self) -> str:
        """``kubectl auth whoami -o json`` (kubectl 1.28+, which posts a SelfSubjectReview)."""
        data = self.kubectl.get_json(["auth", "whoami"], timeout=30)
        return review_username(data, "kubectl auth whoami")

    def served_resources(self, groups: Sequence[str] = DISCOVERY_GROUPS) -> set[str]:
        """``kubectl get --raw /apis``, then ``kubectl get --raw /apis/GROUP/VERSION`` for each
        served version of ``groups`` (``--raw`` takes no ``-o``)."""
        index = self._raw("/apis")
        found: set[str] = set()
        for group_version in served_group_versions(index, groups):
            try:
                listing = self._raw(f"/apis/{group_version}")
            except ClusterError as exc:
                log.warning("discovery of %s failed: %s", group_version, str(exc).splitlines()[0])
                continue
            found |= discovered_resources(group_version, listing)
        return found

    def _raw(self, path: str) -> Obj:
        done = self.kubectl.run(["get", "--raw", path], timeout=30)
        data = parse_json(done.stdout, f"get --raw {path}")
        return data if isinstance(data, dict) else {}


def review_username(review: Any, what: str) -> str:
    """``status.userInfo.username`` of a SelfSubjectReview answer, or :class:`ClusterError`."""
    status = review.get("status") if isinstance(review, dict) else None
    user = (status or {}).get("userInfo") if isinstance(status, dict) else None
    name = (user or {}).get("username") if isinstance(user, dict) else None
    if not isinstance(name, str) or not name:
        raise ClusterError(
            f"{what}: the SelfSubjectReview names no user (status.userInfo.username is "
            "empty)\n    fix: check the credentials this notebook uses (in a pod: its "
            "service account token) with `kubectl auth whoami`"
        )
    return name


def served_group_versions(index: Any, groups: Sequence[str]) -> list[str]:
    """``GROUP/VERSION`` of each version the discovery index (``/apis``, an
    ``APIGroupList``) serves for ``groups``, in the order the API server lists them."""
    wanted = set(groups)
    found: list[str] = []
    for group in (index.get("groups") if isinstance(index, dict) else None) or ():
        if not isinstance(group, dict) or group.get("name") not in wanted:
            continue
        for version in group.get("versions") or ():
            if isinstance(version, dict) and version.get("groupVersion"):
                found.append(str(version["groupVersion"]))
    return found


def discovered_resources(group_version: str, listing: Any) -> set[str]:
    """``GROUP/VERSION/PLURAL`` of each resource of an ``APIResourceList``; subresources
    (``pods/exec``, ``.../status``) left out."""
    found: set[str] = set()
    for res in (listing.get("resources") if isinstance(listing, dict) else None) or ():
        name = res.get("name") if isinstance(res, dict) else None
        if isinstance(name, str) and name and "/" not in name:
            found.add(f"{group_version}/{name}")
    return found


def client_installed() -> bool:
    """Whether the official ``kubernetes`` client (the ``lab`` extra) is installed."""
    return importlib.util.find_spec("kubernetes") is not None


def default_reads(kubectl: Kubectl) -> Reads:
    """The official client for the cluster of ``kubectl`` (same kubeconfig and context; in a
    pod without either, the pod's service account), or kubectl without the client."""
    if not client_installed():
        log.info("the kubernetes client is not installed: reading through kubectl")
        return KubectlReads(kubectl)
    from labkit.cluster.kube_api import KubeApi

    return KubeApi(kubectl.kubeconfig, kubectl.context)


@dataclass
class ObjectWait:
    """A wait on one list of API objects: :meth:`check` lists them and judges the items;
    :meth:`pause` watches from that list's resourceVersion until something changes (``None``
    when the reads cannot watch: the wait then polls)."""

    reads: Reads
    plural: str
    judge: Callable[[Objs], tuple[bool, str]]
    namespace: str | None = None
    label_selector: str | None = None
    watch_s: float = 30.0
    version: str = ""

    def check(self) -> tuple[bool, str]:
        listing = self.reads.list(
            self.plural, namespace=self.namespace, label_selector=self.label_selector
        )
        self.version = listing.resource_version
        return self.judge(listing.items)

    def _pause(self, seconds: float) -> None:
        self.reads.watch(
            self.plural,
            namespace=self.namespace,
            label_selector=self.label_selector,
            resource_version=self.version,
            timeout_s=min(seconds, self.watch_s),
        )

    @property
    def pause(self) -> Callable[[float], None] | None:
        return self._pause if self.reads.watches else None
