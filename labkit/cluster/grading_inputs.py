"""What the grader needs from the lab, found here because :mod:`labkit.grading` never
imports :mod:`labkit.cluster`: the exercises folder and the lab world.

* :func:`exercises_dir`: where labkit finds its exercises (``exercises/``), as
  :mod:`labkit.cluster.paths` finds ``clusters/``: ``$LABKIT_EXERCISES_DIR`` when set, else the project checkout's ``exercises/`` folder
(:func:`labkit.cluster.labdir.find_project`). Wheels ship no exercises: their
  ``instructor/`` folders hold hidden requirements and reference solutions, so learners work
  from the copy ``labkit exercises release OUTDIR`` makes, pointed at with ``--exercises-dir``
  or the environment variable.
* :func:`lab_world`: the lab topology plus the cluster's own namespaces and CoreDNS pods
  (:func:`labkit.cluster.topology.in_the_lab`), the ``base`` every grade is computed on.
* :func:`cluster_objects`: the lab cluster's objects now, for a self-check of what the
  learner applied. For a workshop learner, the learner's own objects in logical names
  (:meth:`labkit.cluster.workshop.learner.LearnerCluster.logical_items`, which include the
  namespaces every cluster has) without the workshop's own labels, so a learner's lab is
  graded exactly as a single-user lab.

The CLI and the notebook facade pass both into :mod:`labkit.grading`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.cluster.labdir import find_project
from labkit.errors import LabkitError
from labkit.model.loader import RawObject

if TYPE_CHECKING:
    from labkit.cluster.backend import LabCluster

EXERCISES_ENV = "LABKIT_EXERCISES_DIR"


def exercises_dir() -> Path:
    """The exercises folder; a :class:`LabkitError` saying how to point at one when none is
    found."""
    override = os.environ.get(EXERCISES_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_dir():
            raise LabkitError(
                f"{EXERCISES_ENV}={override} is not a folder; point it at an exercises/ "
                f"folder, or unset it"
            )
        return path
    root = find_project()
    if root is not None and (root / "exercises").is_dir():
        return root / "exercises"
    raise LabkitError(
        "exercises not found: run labkit inside its project checkout, or point "
        f"--exercises-dir (or {EXERCISES_ENV}) at an exercises/ folder, e.g. the learner's "
        "copy that `labkit exercises release OUTDIR` makes"
    )


def lab_world() -> list[RawObject]:
    """The lab's objects before any exercise: topology namespaces and pods, the cluster's
    namespaces and the two CoreDNS pods (``k8s-app: kube-dns``)."""
    from labkit.cluster.topology import in_the_lab, topology_manifests

    return in_the_lab(topology_manifests())


def cluster_objects(cluster: LabCluster) -> list[RawObject]:
    """The lab cluster's namespaces, pods and NetworkPolicies as they are now, as raw
    objects (what a self-check with no submission grades): the simulated cluster's stored
    objects, or a real cluster's read through its API reads."""
    from labkit.cluster.kube import KubeCluster
    from labkit.cluster.simulated import SimulatedCluster
    from labkit.cluster.workshop.learner import LearnerCluster

    if isinstance(cluster, SimulatedCluster):
        return cluster.raw_objects()
    if isinstance(cluster, LearnerCluster):
        return [
            RawObject(_without_workshop_labels(i), "<workshop>") for i in cluster.logical_items()
        ]
    if isinstance(cluster, KubeCluster):
        items = cluster.reads.list_all(("namespaces", "pods", "networkpolicies"))
        return [RawObject(dict(item), "<cluster>") for item in items]
    raise LabkitError(
        f"the {cluster.name} cluster cannot list its objects; give the submission "
        "(a manifest file, folder or notebook) instead"
    )


def _without_workshop_labels(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` without the labels the workshop puts on a learner's objects (workshop,
    learner, logical namespace): a single-user lab's objects do not carry them."""
    from labkit.model.workshop import LEARNER_LABEL, LOGICAL_LABEL, WORKSHOP_LABEL

    meta = dict(item.get("metadata") or {})
    labels = meta.get("labels")
    if isinstance(labels, dict):
        meta["labels"] = {
            k: v
            for k, v in labels.items()
            if k not in (WORKSHOP_LABEL, LEARNER_LABEL, LOGICAL_LABEL)
        }
    return {**item, "metadata": meta}
