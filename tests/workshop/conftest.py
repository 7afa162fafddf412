"""Shared fixtures of the workshop tests: a simulated workshop provisioned as ``labkit workshop
init --simulated`` would, in a lab folder of its own.

* :func:`provision_workshop` (plain function) builds one: :meth:`SimulatedHost.create`, then
  one :meth:`SimulatedHost.provision` batch holding the workshop's shared objects and
  ConfigMap (:func:`labkit.model.workshop_objects.workshop_objects`), each learner's objects
  (:func:`~labkit.model.workshop_objects.learner_objects`), the lab topology's pods translated
  per learner (:meth:`LearnerSpace.to_real_object`) and the Calico wall of every learner
  (:func:`labkit.model.wall.render_walls`).
* the ``workshop`` fixture is that function bound to ``tmp_path / "lab"`` (also set as
  ``LABKIT_HOME``): ``host, ws = workshop(["alice", "bob"])``.
* ``provision`` (session-scoped) is :func:`provision_workshop` itself, for module-scoped
  fixtures: ``host, ws = provision(tmp_path_factory.mktemp("lab"), names)``.
* ``learner_env`` sets ``LABKIT_WORKSHOP``/``LABKIT_LEARNER`` for the facade and the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from labkit.cluster.topology import LAB_NAMESPACES, topology_manifests
from labkit.cluster.workshop.host import SimulatedHost
from labkit.cluster.workshop.learner import LearnerCluster
from labkit.model.loader import RawObject
from labkit.model.workshop import (
    LEARNER_ENV,
    LEARNER_KINDS,
    WORKSHOP_ENV,
    Learner,
    Workshop,
)

WORKSHOP_ID = "ws1"


def workshop_raws(
    workshop: Workshop,
    *,
    namespaces: Sequence[RawObject] | None = None,
    pods: Sequence[RawObject] | None = None,
) -> list[RawObject]:
    """Everything ``workshop init`` applies for ``workshop``: ``namespaces`` are the lab's
    Namespace objects (default: the topology's) and ``pods`` the objects every learner starts
    with (default: the topology's pods), both in logical names."""
    from labkit.model.wall import WallFlavour, render_walls
    from labkit.model.workshop_objects import learner_objects, workshop_objects

    topology = topology_manifests()
    lab_namespaces = (
        list(namespaces)
        if namespaces is not None
        else [o for o in topology if o.kind == "Namespace"]
    )
    start = list(pods) if pods is not None else [o for o in topology if o.kind == "Pod"]
    docs = list(workshop_objects(workshop, hub_namespace_exists=False))
    raws = [RawObject(d, "<workshop init>") for d in docs]
    names = [learner.name for learner in workshop.learners]
    for name in names:
        raws += [
            RawObject(d, "<workshop init>") for d in learner_objects(workshop, name, lab_namespaces)
        ]
        space = workshop.space(name)
        raws += [space.to_real_object(o, allowed_kinds=LEARNER_KINDS) for o in start]
    raws += [
        RawObject(d, "<workshop init>")
        for d in render_walls(workshop.id, names, WallFlavour.CALICO)
    ]
    return raws


def provision_workshop(
    home: Path,
    learners: Sequence[str],
    *,
    workshop_id: str = WORKSHOP_ID,
    logical: Sequence[str] = LAB_NAMESPACES,
    namespaces: Sequence[RawObject] | None = None,
    pods: Sequence[RawObject] | None = None,
) -> tuple[SimulatedHost, Workshop]:
    """A simulated workshop ``workshop_id`` with ``learners`` in the lab folder ``home``."""
    workshop = Workshop(workshop_id, tuple(Learner(n) for n in learners), tuple(logical))
    host = SimulatedHost.create(workshop_id, home, fresh=True)
    host.provision(workshop_raws(workshop, namespaces=namespaces, pods=pods))
    return host, workshop


def learner_cluster(host: SimulatedHost, workshop: Workshop, learner: str) -> LearnerCluster:
    return LearnerCluster(host, workshop, learner)


Provision = Callable[..., tuple[SimulatedHost, Workshop]]


@pytest.fixture(scope="session")
def provision() -> Callable[..., tuple[SimulatedHost, Workshop]]:
    """:func:`provision_workshop` itself, for module-scoped fixtures (``from conftest import``
    is ambiguous when several test folders have a conftest)."""
    return provision_workshop


@pytest.fixture
def lab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lab folder of its own, as ``LABKIT_HOME``."""
    home = tmp_path / "lab"
    monkeypatch.setenv("LABKIT_HOME", str(home))
    monkeypatch.delenv(WORKSHOP_ENV, raising=False)
    monkeypatch.delenv(LEARNER_ENV, raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return home


@pytest.fixture
def workshop(lab_home: Path) -> Provision:
    """``workshop(["alice", "bob"], **options)`` -> ``(host, Workshop)`` in ``lab_home``."""

    def make(learners: Sequence[str], **options: object) -> tuple[SimulatedHost, Workshop]:
        return provision_workshop(lab_home, learners, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def learner_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """``learner_env("ws1", "alice")``: this process becomes that simulated learner."""

    def become(workshop_id: str, learner: str) -> None:
        monkeypatch.setenv(WORKSHOP_ENV, workshop_id)
        monkeypatch.setenv(LEARNER_ENV, learner)

    return become
