"""Reading ``../shared/conformance/`` in place (never copied into the project)."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LABKIT_SHARED", ROOT.parent / "shared"))
CONFORMANCE = SHARED / "conformance"
SKIP_REASON = (
    f"{CONFORMANCE} is absent: the upstream conformance cases live beside the project in "
    "../shared/conformance/ (set LABKIT_SHARED to point elsewhere)"
)


@cache
def _load(name: str) -> Any:
    path = CONFORMANCE / name
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def netpol_cases() -> list[dict[str, Any]]:
    data = _load("netpol-cases.json")
    return [] if data is None else list(data["cases"])


def validation_cases() -> dict[str, Any] | None:
    data = _load("validation-cases.json")
    return None if data is None else dict(data)


def require_shared() -> None:
    if not CONFORMANCE.is_dir():
        pytest.skip(SKIP_REASON)


def case_manifests(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's world as the Kubernetes objects a user would apply."""
    objects: list[dict[str, Any]] = []
    for ns in case["namespaces"]:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns["name"], "labels": dict(ns.get("labels") or {})},
            }
        )
    for pod in case["pods"]:
        ports = [
            {
                k: v
                for k, v in (
                    ("name", p.get("name")),
                    ("containerPort", p["port"]),
                    ("protocol", p.get("protocol")),
                )
                if v
            }
            for p in pod.get("ports") or []
        ]
        obj: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod["name"],
                "namespace": pod["namespace"],
                "labels": dict(pod.get("labels") or {}),
            },
            "spec": {"containers": [{"name": "c", "image": "agnhost", "ports": ports}]},
        }
        if pod.get("ip"):
            obj["status"] = {"podIP": pod["ip"]}
        objects.append(obj)
    objects.extend(case["policies"])
    return objects


def external_peers(case: dict[str, Any]) -> list[str]:
    seen: list[str] = []
    for bucket in ("allowed", "denied"):
        for tup in case["expected"].get(bucket, []):
            for peer in tup[:2]:
                if peer.startswith("ip:") and peer not in seen:
                    seen.append(peer)
    return seen
