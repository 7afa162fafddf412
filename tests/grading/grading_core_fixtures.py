"""A small hand-written world for the grading core's tests (requirements, evaluate, privilege,
score): namespaces ``a`` and ``b``, pods ``a/web`` (app=web), ``a/db`` (app=db), ``b/client``
(app=client) and ``b/node-agent`` (hostNetwork), and helpers to write policies and exercises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from labkit.grading.evaluate import View
from labkit.grading.requirements import Requirement, RequirementSet, parse_requirements
from labkit.model.inventory import Inventory, build_inventory
from labkit.model.loader import RawObject


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def pod(ns: str, name: str, host_network: bool = False, **labels: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "agnhost"}]}
    if host_network:
        spec["hostNetwork"] = True
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": ns, "name": name, "labels": labels},
        "spec": spec,
    }


def policy(
    ns: str,
    name: str,
    selector: dict[str, str],
    *,
    ingress: list[dict[str, Any]] | None = None,
    egress: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": {"matchLabels": selector} if selector else {}}
    types = []
    if ingress is not None:
        spec["ingress"] = ingress
        types.append("Ingress")
    if egress is not None:
        spec["egress"] = egress
        types.append("Egress")
    spec["policyTypes"] = types
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"namespace": ns, "name": name},
        "spec": spec,
    }


def from_pods(ns: str, **labels: str) -> dict[str, Any]:
    """A peer: pods with ``labels`` in namespace ``ns``."""
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
        "podSelector": {"matchLabels": labels},
    }


def ports(*items: tuple[int, str] | tuple[int, str, int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        entry: dict[str, Any] = {"port": item[0], "protocol": item[1]}
        if len(item) == 3:
            entry["endPort"] = item[2]
        out.append(entry)
    return out


def world_objects() -> list[dict[str, Any]]:
    return [
        namespace("a"),
        namespace("b"),
        pod("a", "web", app="web"),
        pod("a", "db", app="db"),
        pod("b", "client", app="client"),
        pod("b", "node-agent", host_network=True, app="agent"),
    ]


def raw(objects: list[dict[str, Any]], file: str = "world.yaml") -> list[RawObject]:
    return [RawObject(o, file) for o in objects]


def inventory(*policies: dict[str, Any]) -> Inventory:
    return build_inventory(raw([*world_objects(), *policies]))


def view(*policies: dict[str, Any], externals: RequirementSet | None = None) -> View:
    return View(inventory(*policies), externals.externals if externals else ())


def requirement(item: dict[str, Any], externals: list[str] | None = None) -> RequirementSet:
    data: dict[str, Any] = {"requirements": [item]}
    if externals:
        data["externals"] = externals
    return parse_requirements(data, file="reqs.yaml")


def only(requirements: RequirementSet) -> Requirement:
    (req,) = requirements.requirements
    return req


def write_yaml(path: Path, *docs: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    return path
