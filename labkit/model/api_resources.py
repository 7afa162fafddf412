"""Resource names as ``kubectl`` resolves them for ``kubectl auth can-i VERB TYPE[/NAME]``.

kubectl asks the API server's discovery (its RESTMapper) which group serves a resource type
and accepts the plural (``networkpolicies``), the singular (``networkpolicy``), the short
name (``netpol``) and ``TYPE.GROUP`` (``networkpolicies.networking.k8s.io``). The table below
holds the built-in types a lab uses, as ``kubectl api-resources`` lists them; ``TYPE/NAME``
names one object (so ``pods/exec`` is the pod named ``exec``: a subresource is asked with
``--subresource exec``, as ``kubectl auth can-i create pods --subresource exec`` does).
A type kubectl cannot resolve is asked in the core group, after a warning (kubectl: "the
server doesn't have a resource type").
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit.errors import LabkitError


@dataclass(frozen=True)
class ApiResource:
    plural: str
    group: str
    namespaced: bool
    singular: str
    short_names: tuple[str, ...] = ()
    known: bool = True

    @property
    def qualified(self) -> str:
        """``networkpolicies.networking.k8s.io``; core types by their plural alone."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


API_RESOURCES = (
    ApiResource("pods", "", True, "pod", ("po",)),
    ApiResource("services", "", True, "service", ("svc",)),
    ApiResource("namespaces", "", False, "namespace", ("ns",)),
    ApiResource("nodes", "", False, "node", ("no",)),
    ApiResource("configmaps", "", True, "configmap", ("cm",)),
    ApiResource("secrets", "", True, "secret"),
    ApiResource("serviceaccounts", "", True, "serviceaccount", ("sa",)),
    ApiResource("endpoints", "", True, "endpoints", ("ep",)),
    ApiResource("events", "", True, "event", ("ev",)),
    ApiResource("networkpolicies", "networking.k8s.io", True, "networkpolicy", ("netpol",)),
    ApiResource("ingresses", "networking.k8s.io", True, "ingress", ("ing",)),
    ApiResource("deployments", "apps", True, "deployment", ("deploy",)),
    ApiResource("replicasets", "apps", True, "replicaset", ("rs",)),
    ApiResource("statefulsets", "apps", True, "statefulset", ("sts",)),
    ApiResource("daemonsets", "apps", True, "daemonset", ("ds",)),
    ApiResource("jobs", "batch", True, "job"),
    ApiResource("cronjobs", "batch", True, "cronjob", ("cj",)),
    ApiResource("roles", "rbac.authorization.k8s.io", True, "role"),
    ApiResource("rolebindings", "rbac.authorization.k8s.io", True, "rolebinding"),
    ApiResource("clusterroles", "rbac.authorization.k8s.io", False, "clusterrole"),
    ApiResource("clusterrolebindings", "rbac.authorization.k8s.io", False, "clusterrolebinding"),
    ApiResource(
        "globalnetworkpolicies", "crd.projectcalico.org", False, "globalnetworkpolicy", ("gnp",)
    ),
)


@dataclass(frozen=True)
class Target:
    """A parsed ``TYPE[.GROUP][/NAME]``: the resource and the object's name (``""``: any)."""

    resource: ApiResource
    name: str = ""


def resolve_resource(text: str) -> ApiResource:
    """The resource ``text`` names (plural, singular, short name, ``TYPE.GROUP``, ``*``)."""
    wanted = text.strip().lower()
    if not wanted:
        raise LabkitError("the resource type is empty; name one, e.g. networkpolicies or pods")
    if wanted == "*":
        return ApiResource("*", "", True, "*")
    for resource in API_RESOURCES:
        if wanted in (resource.plural, resource.singular, *resource.short_names):
            return resource
        if wanted.startswith(f"{resource.plural}.") or wanted.startswith(f"{resource.singular}."):
            if wanted.split(".", 1)[1] == resource.group:
                return resource
    plural, _, group = wanted.partition(".")
    return ApiResource(plural, group, True, plural, known=False)


def parse_target(text: str) -> Target:
    """``kubectl auth can-i``'s second argument: ``TYPE[.GROUP][/NAME]``."""
    kind, _, name = text.partition("/")
    return Target(resolve_resource(kind), name)
