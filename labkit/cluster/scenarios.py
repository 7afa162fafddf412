"""Break-fix scenarios: a broken lab the learner diagnoses and fixes.

A scenario is data, ``notebooks/scenarios/<name>.yaml``::

    name: wrong-labels                 # the file's name
    title: One line
    story: |                           # what the learner is told (symptom, not the cause)
      ...
    cni: none                          # optional: start on the simulated CNI that enforces nothing
    objects: [ ...manifests... ]       # applied on top of the reset lab
    requirements: {requirements: [...], externals: [...]}   # the grader's format
    hints: [vague, closer, specific]

``start`` resets the lab (only what labkit created goes) and applies the objects; ``check``
grades the requirements on the cluster's objects now (:mod:`labkit.grading.scenario_check`;
a scenario with ``cni`` also asks the enforcement canary); ``stop`` resets the lab and puts
the simulated CNI back to Calico. The folder is ``$LABKIT_SCENARIOS_DIR`` when set, else the
project checkout's ``notebooks/scenarios``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labkit.cluster.backend import ApplyReport, LabCluster
from labkit.cluster.labdir import find_project
from labkit.errors import LabkitError
from labkit.model.loader import RawObject

SCENARIOS_ENV = "LABKIT_SCENARIOS_DIR"
KEYS = frozenset({"name", "title", "story", "cni", "objects", "requirements", "hints"})
REQUIRED = ("name", "title", "story", "requirements")


class ScenarioError(LabkitError):
    """A scenario that cannot be found, read or started."""


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario file, read and checked (requirements stay raw: the grader parses them)."""

    name: str
    title: str
    story: str
    objects: tuple[Mapping[str, Any], ...]
    requirements: Mapping[str, Any]
    hints: tuple[str, ...]
    file: Path
    cni: str | None = None

    def raw_objects(self) -> list[RawObject]:
        return [RawObject(dict(o), str(self.file)) for o in self.objects]


def scenarios_dir() -> Path:
    override = os.environ.get(SCENARIOS_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_dir():
            raise ScenarioError(f"{SCENARIOS_ENV}={override} is not a folder; unset it or fix it")
        return path
    root = find_project()
    if root is not None and (root / "notebooks" / "scenarios").is_dir():
        return root / "notebooks" / "scenarios"
    raise ScenarioError(
        "scenarios not found: run labkit inside its project checkout, or point "
        f"{SCENARIOS_ENV} at a folder of scenario files"
    )


def names() -> list[str]:
    return sorted(p.stem for p in scenarios_dir().glob("*.yaml"))


def load(name: str) -> ScenarioSpec:
    """The scenario ``name``; a clear error naming the file and field when it is wrong."""
    path = scenarios_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ScenarioError(
            f"no scenario {name!r}; `labkit scenario list` shows them: {', '.join(names())}"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    return parse(data, path)


def _fail(path: Path, field: str, problem: str) -> ScenarioError:
    return ScenarioError(f"{path}: {field}: {problem}")


def parse(data: object, path: Path) -> ScenarioSpec:
    if not isinstance(data, dict):
        raise _fail(path, "(top)", "must be a mapping with " + ", ".join(REQUIRED))
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise _fail(path, unknown[0], "unknown key; use " + ", ".join(sorted(KEYS)))
    for key in REQUIRED:
        if not data.get(key):
            raise _fail(path, key, "required")
    if data["name"] != path.stem:
        raise _fail(path, "name", f"is {data['name']!r}; it must be the file's name {path.stem!r}")
    objects = data.get("objects") or []
    if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
        raise _fail(path, "objects", "must be a list of manifests (mappings)")
    hints = data.get("hints") or []
    if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
        raise _fail(path, "hints", "must be a list of sentences")
    if not isinstance(data["requirements"], dict):
        raise _fail(path, "requirements", "must be a mapping in the grader's format")
    cni = data.get("cni")
    if cni not in (None, "none", "calico"):
        raise _fail(path, "cni", f"is {cni!r}; use none or calico")
    return ScenarioSpec(
        name=str(data["name"]),
        title=str(data["title"]),
        story=str(data["story"]).strip(),
        objects=tuple(objects),
        requirements=data["requirements"],
        hints=tuple(hints),
        file=path,
        cni=cni,
    )


def start(spec: ScenarioSpec) -> tuple[LabCluster, ApplyReport]:
    """Reset the lab and break it as ``spec`` says (on the simulated CNI it names)."""
    from labkit.cluster import lifecycle

    lab = lifecycle.connect()
    if spec.cni is not None:
        lab = _switch_cni(lab, spec.cni, spec.name)
    lab.reset()
    return lab, lab.apply([dict(o) for o in spec.objects]) if spec.objects else ApplyReport()


def stop(spec: ScenarioSpec) -> LabCluster:
    """Reset the lab; the simulated CNI goes back to Calico."""
    from labkit.cluster import lifecycle
    from labkit.cluster.simulated import SimulatedCluster

    lab = lifecycle.connect()
    if isinstance(lab, SimulatedCluster) and lab.cni != "calico":
        lab = _switch_cni(lab, "calico", spec.name)
    lab.reset()
    return lab


def _switch_cni(lab: LabCluster, cni: str, name: str) -> LabCluster:
    from labkit.cluster import lifecycle
    from labkit.cluster.simulated import SimulatedCluster

    if not isinstance(lab, SimulatedCluster):
        raise ScenarioError(
            f"scenario {name} swaps the CNI, which only the simulated backend can do; run it "
            "there (`labkit up --backend simulated`), or on this cluster read lesson 7"
        )
    if lab.cni == cni:
        return lab
    found = lifecycle.up("simulated", cni=cni)
    assert isinstance(found, LabCluster)
    return found


def broken_world(spec: ScenarioSpec) -> list[RawObject]:
    """The lab as the scenario leaves it: lab topology, system objects and its objects."""
    from labkit.cluster.grading_inputs import lab_world

    return [*lab_world(), *spec.raw_objects()]


def enforcement(lab: LabCluster) -> tuple[bool, str]:
    """Whether the cluster enforces NetworkPolicy, from the one canary
    (:mod:`labkit.cluster.canary`, run by ``status``)."""
    found = lab.status()
    return found.ready, found.canary


@dataclass(frozen=True)
class CheckInputs:
    """What the grader needs to check a scenario (:mod:`labkit.grading.scenario_check`)."""

    broken: list[RawObject]
    now: Any
    """The cluster's :class:`~labkit.model.inventory.Inventory` now."""
    enforcement: tuple[bool, str] | None


def check_inputs(spec: ScenarioSpec) -> CheckInputs:
    """The broken world, the cluster's objects now, and (for a CNI scenario) the canary."""
    from labkit.cluster import lifecycle

    lab = lifecycle.connect()
    return CheckInputs(broken_world(spec), lab.inventory(), enforcement(lab) if spec.cni else None)
