"""Who a learner's notebook is, and which workshop it is in (workshop mode, real cluster).

On a real cluster the learner is who the API server says, never an environment variable:
the notebook pod runs under the learner's ServiceAccount ``labkit-<learner>`` in the hub
namespace (the KubeSpawner ``pre_spawn_hook`` that ``labkit workshop init`` writes sets
``service_account`` per hub user), its token is mounted at
``/var/run/secrets/kubernetes.io/serviceaccount/``, and a ``SelfSubjectReview``
(``authentication.k8s.io/v1``, GA in Kubernetes 1.28) answers
``system:serviceaccount:<hub namespace>:labkit-<learner>`` (the API server's user name of a
service account token). The workshop itself is described by the ConfigMap
:data:`labkit.model.workshop.WORKSHOP_CONFIGMAP` in the hub namespace, read by name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from labkit.cluster.reads import Reads
from labkit.errors import ClusterError
from labkit.model.workshop import WORKSHOP_CONFIGMAP, Workshop

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
"""How the API server names a service account's user: ``system:serviceaccount:NS:NAME``."""
NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
"""The namespace of the pod's service account, mounted by the kubelet with its token."""

_FIX = (
    "    fix: start this notebook from the workshop's JupyterHub: the pre_spawn_hook that "
    "`labkit workshop init` wrote sets each learner's ServiceAccount (labkit-<learner> in "
    "namespace {hub}); check that the hook is in the hub's configuration "
    "(hub.extraConfig), that your hub user is in the learners file, and that the pod has "
    "automountServiceAccountToken enabled"
)


def username_to_learner(username: str, hub_namespace: str, learners: Mapping[str, str]) -> str:
    """The learner whose ServiceAccount ``username`` is: ``learners`` maps ServiceAccount
    names (``labkit-alice``) to learners (``alice``); the account must be in
    ``hub_namespace``. Anything else is a :class:`ClusterError` saying who the notebook is
    and what to check."""
    fix = _FIX.format(hub=hub_namespace)
    if not username.startswith(SERVICE_ACCOUNT_PREFIX):
        raise ClusterError(
            f"this notebook talks to the cluster as {username!r}, which is not a "
            f"learner of the workshop (a learner is a ServiceAccount in namespace "
            f"{hub_namespace})\n{fix}"
        )
    namespace, sep, name = username.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
    if not sep or not namespace or not name or ":" in name:
        raise ClusterError(f"the user name {username!r} is not a service account's\n{fix}")
    if namespace != hub_namespace:
        raise ClusterError(
            f"this notebook runs as ServiceAccount {name} of namespace {namespace}, not a "
            f"learner of the workshop: learners' accounts are in the hub namespace "
            f"{hub_namespace}\n{fix}"
        )
    learner = learners.get(name)
    if learner is None:
        raise ClusterError(
            f"this notebook runs as ServiceAccount {namespace}/{name}, which is not a "
            f"learner of the workshop (learners run as labkit-<learner>; "
            f"{len(learners)} learner{'s' if len(learners) != 1 else ''} known)\n{fix}"
        )
    return learner


def workshop_accounts(workshop: Workshop) -> dict[str, str]:
    """ServiceAccount name -> learner, for every learner of ``workshop``."""
    return {workshop.service_account(learner.name): learner.name for learner in workshop.learners}


def learner_identity(reads: Reads, workshop: Workshop) -> str:
    """The learner this client is, from a SelfSubjectReview (never the environment)."""
    username = reads.self_subject_review()
    learner = username_to_learner(username, workshop.hub_namespace, workshop_accounts(workshop))
    log.debug("workshop %s: %s is learner %s", workshop.id, username, learner)
    return learner


def pod_namespace(path: Path | None = None) -> str | None:
    """The namespace of the pod's service account (the hub namespace in a learner's
    notebook pod), or ``None`` outside a pod (no such file, or it is empty)."""
    path = NAMESPACE_FILE if path is None else path
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


def read_workshop(reads: Reads, hub_namespace: str) -> dict[str, str] | None:
    """The ``data`` of ConfigMap :data:`WORKSHOP_CONFIGMAP` in ``hub_namespace`` (one
    ``GET`` by name), or ``None`` when there is none: then this cluster runs no workshop in
    that namespace. A refusal (403) is a :class:`ClusterError`: the learners' Role must
    grant ``get`` on that one ConfigMap."""
    found = reads.get("configmaps", hub_namespace, WORKSHOP_CONFIGMAP)
    if found is None:
        return None
    data = found.get("data") or {}
    if not isinstance(data, dict):
        raise ClusterError(
            f"ConfigMap {hub_namespace}/{WORKSHOP_CONFIGMAP} has no readable data\n    fix: "
            "run `labkit workshop init` again to rewrite it"
        )
    return {str(key): str(value) for key, value in data.items()}
