"""Finding the learner's lab: is this process a learner of a workshop, and which one?

:func:`find_learner` answers, in this order:

1. ``LABKIT_WORKSHOP`` and ``LABKIT_LEARNER`` set: the **simulated** workshop of that id in
   the lab folder (``labkit workshop init --simulated`` made it), and that learner, who must
   be listed in the workshop's ``labkit-workshop`` ConfigMap (stored in the simulated cluster
   as on a real one, parsed with :func:`labkit.model.workshop_objects.workshop_config`). The
   variables select nothing on a real cluster.
2. In a pod (``KUBERNETES_SERVICE_HOST`` set, the ``kubernetes`` client installed) whose
   namespace holds a ``labkit-workshop`` ConfigMap the pod may read (a JupyterHub notebook pod
   of a workshop): the learner is who the API server says the pod's service account is (a
   SelfSubjectReview, ``authentication.k8s.io/v1``), never an environment variable; the host
   is the pod's own cluster through in-cluster configuration.
3. Otherwise ``None``: a single-user lab.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from labkit.cluster.workshop.learner import LearnerCluster
from labkit.errors import ClusterError
from labkit.model.workshop import (
    LEARNER_ENV,
    WORKSHOP_CONFIGMAP,
    WORKSHOP_ENV,
    Workshop,
    WorkshopError,
)

log = logging.getLogger(__name__)

IN_POD_ENV = "KUBERNETES_SERVICE_HOST"


def find_learner(
    environ: Mapping[str, str] | None = None, home: Path | None = None
) -> LearnerCluster | None:
    """The learner's cluster when this process is a workshop learner, else ``None`` (see the
    module docstring). Errors say what is wrong and how to fix it."""
    env = os.environ if environ is None else environ
    workshop_id = env.get(WORKSHOP_ENV, "").strip()
    learner = env.get(LEARNER_ENV, "").strip()
    if workshop_id:  # LABKIT_LEARNER alone only names whose progress a single-user lab keeps
        if not learner:
            raise ClusterError(
                f"{WORKSHOP_ENV} is set but {LEARNER_ENV} is not: a simulated workshop learner "
                f"needs both\n    fix: set {LEARNER_ENV}=NAME, or unset {WORKSHOP_ENV}"
            )
        return simulated_learner(workshop_id, learner, home)
    if env.get(IN_POD_ENV):
        return in_cluster_learner()
    return None


def simulated_learner(workshop_id: str, learner: str, home: Path | None = None) -> LearnerCluster:
    """Learner ``learner`` of the simulated workshop ``workshop_id``."""
    from labkit.cluster.workshop.host import SimulatedHost
    from labkit.model.workshop_objects import workshop_config

    host = SimulatedHost.open(workshop_id, home)
    found = host.workshop_data()
    if found is None:
        raise ClusterError(
            f"the simulated workshop {workshop_id} has no {WORKSHOP_CONFIGMAP} ConfigMap "
            f"({host.state_path})\n    fix: the instructor runs `labkit workshop init --id "
            f"{workshop_id} --learners FILE --simulated` again"
        )
    _, data = found
    workshop = workshop_config(data)
    try:
        workshop.learner(learner)
    except WorkshopError as exc:
        raise ClusterError(
            f"{LEARNER_ENV}={learner}: {exc}\n    fix: set {LEARNER_ENV} to one of the "
            "learners, or ask the instructor to add you (`labkit workshop init` again)"
        ) from None
    return LearnerCluster(host, workshop, learner)


def in_cluster_learner() -> LearnerCluster | None:
    """The learner of the workshop this pod belongs to, or ``None`` when the pod's namespace
    holds no ``labkit-workshop`` ConfigMap it can read (not a workshop's notebook pod)."""
    from labkit.cluster.reads import client_installed

    if not client_installed():
        log.info("in a pod without the kubernetes client: not looking for a workshop")
        return None
    from labkit.cluster.existing import ExistingCluster
    from labkit.cluster.workshop.host import KubeHost
    from labkit.cluster.workshop.identity import learner_identity, pod_namespace, read_workshop
    from labkit.model.workshop_objects import workshop_config

    namespace = pod_namespace()
    if not namespace:
        return None
    known = _FOUND_IN_POD.get(namespace)
    if known is not None:  # who this pod is does not change while it runs
        workshop, learner, version = known
        cluster = ExistingCluster(None)
        cluster.kubernetes_version = version
        return LearnerCluster(KubeHost(cluster), workshop, learner)
    cluster = ExistingCluster(None)
    try:
        data = read_workshop(cluster.reads, namespace)
    except ClusterError as exc:
        log.info("no readable workshop ConfigMap in %s: %s", namespace, str(exc).splitlines()[0])
        return None
    if data is None:
        return None
    workshop = workshop_config(data)
    learner = learner_identity(cluster.reads, workshop)  # a SelfSubjectReview, never the env
    try:
        cluster.kubernetes_version = cluster._server_minor()
    except ClusterError as exc:
        log.info("server version unknown: %s", str(exc).splitlines()[0])
    _FOUND_IN_POD[namespace] = (workshop, learner, cluster.kubernetes_version)
    return LearnerCluster(KubeHost(cluster), workshop, learner)


_FOUND_IN_POD: dict[str, tuple[Workshop, str, str]] = {}
"""The workshop, learner and server version this notebook pod found, by the pod's namespace:
found once per process (three requests), not on every lab call of 200 learners."""


def forget_pod_identity() -> None:
    """Look the workshop and the learner up again on the next call (tests; a changed hook)."""
    _FOUND_IN_POD.clear()
