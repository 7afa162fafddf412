"""A learner's view of the shared cluster, read only with namespaced and name-addressed
requests (workshop mode).

A learner's RBAC is a Role in each of the learner's namespaces (and read access to
kube-system pods and services); nothing cluster-scoped. So a learner never lists across
namespaces (``GET /api/v1/pods`` would be refused, and would show other learners' objects
if it were not); what the view needs is read as:

* each of the learner's Namespaces by name, ``GET /api/v1/namespaces/NAME``: the API server
  authorizes that request in namespace NAME (``RequestInfo`` of
  ``/api/v1/namespaces/NAME`` carries namespace NAME), so the learner's Role there may grant
  ``get`` on ``namespaces``; a Namespace not there (yet) is skipped, with its contents;
* pods, services and networkpolicies listed in each of those namespaces;
* pods and services listed in each system namespace (``kube-system``: CoreDNS is what the
  DNS lessons reach). Its Namespace object is not read: the model gives a namespace it
  has no object for the automatic ``kubernetes.io/metadata.name`` label
  (:mod:`labkit.model.inventory`), which is what lessons select it by.

Objects come back in the API's JSON shape with ``kind`` and ``apiVersion`` set, in real
names; :meth:`labkit.model.workshop.LearnerSpace.to_logical_object` maps them back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from labkit.cluster.reads import Obj, Objs, Reads
from labkit.model.workshop import LearnerSpace

log = logging.getLogger(__name__)

LEARNER_PLURALS = ("pods", "services", "networkpolicies")
"""What is listed in each of the learner's namespaces."""
SYSTEM_PLURALS = ("pods", "services")
"""What is listed in each system namespace (the learner may read these, nothing else)."""
SYSTEM_NAMESPACES = ("kube-system",)


def learner_namespaces(reads: Reads, space: LearnerSpace) -> dict[str, Obj]:
    """The learner's Namespaces that exist, by real name, each read by name (``GET``)."""
    found: dict[str, Obj] = {}
    for name in space.real_namespaces:
        obj = reads.get("namespaces", None, name)
        if obj is None:
            log.debug("learner %s: namespace %s does not exist", space.learner, name)
            continue
        found[name] = obj
    return found


def learner_items(
    reads: Reads,
    space: LearnerSpace,
    *,
    system_namespaces: Sequence[str] = SYSTEM_NAMESPACES,
) -> Objs:
    """Every object of the learner's view, in real names: the learner's Namespaces, then
    per namespace its pods, services and networkpolicies, then the pods and services of
    ``system_namespaces``. Only namespaced lists (the namespace is always the name asked
    for, never one read from an answer) and name-addressed GETs; never a cluster-wide
    list."""
    namespaces = learner_namespaces(reads, space)
    items: Objs = list(namespaces.values())
    for name in namespaces:
        for plural in LEARNER_PLURALS:
            items.extend(reads.list(plural, namespace=name).items)
    for name in system_namespaces:
        if not name:
            raise ValueError("a system namespace needs a name (an empty one lists everywhere)")
        for plural in SYSTEM_PLURALS:
            items.extend(reads.list(plural, namespace=name).items)
    return items
