"""Fakes for the instructor commands' tests (``labkit workshop init | doctor | reset |
teardown``): a host that records every call it gets, a real-cluster host over the fake
``kubectl`` of tests/cluster/fake_tools.py, and one whose writes go through the official
client to the fake API server of tests/cluster/api_fakes.py. These fakes check what labkit
*asks* (label selectors, labels, no call at all); they prove nothing about a real cluster."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLUSTER_TESTS = Path(__file__).resolve().parents[1] / "cluster"
if str(CLUSTER_TESTS) not in sys.path:  # fake_tools and api_fakes live there
    sys.path.insert(0, str(CLUSTER_TESTS))

from api_fakes import FakePool, ObjectStore, fake_api  # noqa: E402
from fake_tools import Call, FakeTools, fake_tools  # noqa: E402

from labkit.cluster.existing import ExistingCluster  # noqa: E402
from labkit.cluster.reads import KubectlReads  # noqa: E402
from labkit.cluster.workshop.host import KubeHost  # noqa: E402

__all__ = [
    "Call",
    "FakePool",
    "FakeTools",
    "ObjectStore",
    "RecordingHost",
    "api_host",
    "fake_tools",
    "kubectl_host",
    "learners_file",
]

CONTEXT = "kind-workshop"
WRITE_METHODS = ("apply", "provision", "delete", "set_labels", "delete_selected")


def learners_file(folder: Path, names: Sequence[str], name: str = "learners.txt") -> Path:
    path = folder / name
    path.write_text("# the workshop's learners\n" + "\n".join(names) + "\n", encoding="utf-8")
    return path


@dataclass
class RecordingHost:
    """Wraps a workshop host and records every call (``name``, args); ``refuse`` makes any
    call fail (to prove none is made)."""

    inner: Any
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    refuse: bool = False

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            if self.refuse:
                raise AssertionError(f"unexpected call {name}{args}")
            return target(*args, **kwargs)

        return record

    @property
    def writes(self) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
        return [c for c in self.calls if c[0] in WRITE_METHODS]


# -- a real cluster through the fake kubectl -----------------------------------------------------
def kubectl_host(tools: FakeTools, context: str = CONTEXT) -> KubeHost:
    """A :class:`KubeHost` whose reads and writes all run the fake ``kubectl`` on PATH (the
    context makes labkit write through kubectl, as for an instructor's laptop)."""
    cluster = ExistingCluster(context)
    cluster.reads = KubectlReads(cluster.kubectl)
    return KubeHost(cluster)


def listing(items: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": list(items)}


def obj(kind: str, name: str, labels: Mapping[str, str], namespace: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(labels), "uid": f"uid-{kind}-{name}"}
    if namespace:
        meta["namespace"] = namespace
    return {"kind": kind, "metadata": meta}


def served(tools: FakeTools, groups: Mapping[str, Sequence[str]]) -> None:
    """API discovery through ``kubectl get --raw``: ``{group/version: [plural, ...]}``."""
    for group_version, plurals in groups.items():
        tools.add(
            "kubectl",
            match=["get", "--raw", f"/apis/{group_version}"],
            stdout={
                "kind": "APIResourceList",
                "groupVersion": group_version,
                "resources": [{"name": p, "namespaced": False, "kind": "X"} for p in plurals],
            },
        )
    index = {
        "kind": "APIGroupList",
        "groups": [
            {
                "name": gv.rpartition("/")[0],
                "versions": [{"groupVersion": gv, "version": gv.rpartition("/")[2]}],
            }
            for gv in groups
        ],
    }
    tools.add("kubectl", match=["get", "--raw", "/apis"], stdout=index)


def applied_items(calls: Sequence[Call]) -> list[tuple[bool, list[dict[str, Any]]]]:
    """``(dry run, items)`` of every ``kubectl apply`` in ``calls``."""
    found = []
    for call in calls:
        if "apply" in call.argv:
            body = json.loads(call.stdin or "{}")
            found.append(("--dry-run=server" in call.argv, list(body.get("items") or ())))
    return found


def delete_calls(calls: Sequence[Call]) -> list[list[str]]:
    return [c.argv for c in calls if "delete" in c.argv]


def selector_of(argv: Sequence[str]) -> str | None:
    return argv[argv.index("-l") + 1] if "-l" in argv else None


# -- a real cluster whose writes go through the official client -----------------------------------
def api_host(
    tools: FakeTools, store_setup: Callable[[ObjectStore], None]
) -> tuple[KubeHost, FakePool, ObjectStore]:
    """A :class:`KubeHost` whose writes (server-side apply, deletes by selector) go through
    the ``kubernetes`` client to a fake API server (:class:`ObjectStore`), and whose counts
    come from the fake kubectl (as :meth:`KubeHost.selected` lists with ``kubectl get -l``)."""
    pool = FakePool()
    store = ObjectStore()
    pool.store = store
    store_setup(store)
    api = fake_api(pool)
    cluster = ExistingCluster(CONTEXT)
    cluster.reads = api
    cluster._writes = api
    return KubeHost(cluster), pool, store
