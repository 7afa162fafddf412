"""Choosing, starting, finding and stopping the lab cluster.

``up("auto")`` takes kind + Calico when Docker works and ``kind`` and ``kubectl`` are on
``PATH``, else the simulated cluster, and says why in one sentence (logged at WARNING, kept in
``<lab folder>/cluster.json`` and shown by ``status()``). Every later call (``connect``,
``status``, ``down``, ``reset``) finds the same cluster through that record, so the CLI and
the notebooks always work on one cluster. No record means the simulated cluster.

The kind and existing-cluster backends (:mod:`labkit.cluster.kind`,
:mod:`labkit.cluster.existing`, :mod:`labkit.cluster.doctor`) are imported only when used.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labkit.cluster.backend import ClusterStatus, LabCluster
from labkit.cluster.labdir import cluster_record_path, lab_home, write_json_atomic
from labkit.cluster.progress import LogProgress, Progress
from labkit.cluster.simulated import SimulatedCluster, base_objects
from labkit.cluster.topology import SYSTEM_NAMESPACES, topology_manifests
from labkit.errors import ClusterError, ClusterNotReady

log = logging.getLogger(__name__)

BACKENDS = ("auto", "kind", "existing", "simulated")


# -- the other backends, imported on use ------------------------------------------------------
def _optional(module: str, attr: str, what: str) -> Any:
    """``module.attr``, or a :class:`ClusterError` naming the missing piece."""
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            raise ClusterError(
                f"the {what} is not part of this labkit installation ({module} is missing); "
                "use `labkit up --backend simulated`, or reinstall labkit (`make install`)"
            ) from None
        raise
    except AttributeError:
        raise ClusterError(
            f"{module} has no {attr}: this labkit installation is "
            "inconsistent; reinstall it (`make install`)"
        ) from None


def _kind() -> tuple[Any, Any]:
    """``(KindOptions, KindCluster)`` of the kind backend."""
    module = "labkit.cluster.kind.cluster"
    return (
        _optional(module, "KindOptions", "kind backend"),
        _optional(module, "KindCluster", "kind backend"),
    )


def _kind_options(kind_options: Any, record: dict[str, Any]) -> Any:
    """The recorded options (name, nodes, kubeconfig, Calico mode) back as ``KindOptions``."""
    saved = record.get("options") or {}
    wanted = {f.name for f in dataclasses.fields(kind_options)} & {
        "name",
        "nodes",
        "kubeconfig",
        "calico_mode",
        "calico_version",
    }
    given = {k: v for k, v in saved.items() if k in wanted}
    if "kubeconfig" in given:
        given["kubeconfig"] = Path(given["kubeconfig"])
    return kind_options(**given)


def auto_choice() -> tuple[str, str]:
    """``("kind", why)`` when Docker works and kind and kubectl are installed, else
    ``("simulated", why)``; ``why`` is one sentence."""
    try:
        docker_usable = _optional("labkit.cluster.doctor", "docker_usable", "cluster doctor")
    except ClusterError:
        return "simulated", (
            "labkit cannot check Docker here (labkit.cluster.doctor is missing), "
            "so it uses the simulated cluster."
        )
    usable, detail = docker_usable()
    if not usable:
        return "simulated", (
            f"Docker is not usable here ({str(detail).rstrip('.')}), so labkit uses the "
            "simulated cluster; start Docker and install kind and kubectl for a real "
            "kind + Calico cluster."
        )
    missing = [tool for tool in ("kind", "kubectl") if shutil.which(tool) is None]
    if missing:
        return "simulated", (
            f"Docker works but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
            "not on PATH, so labkit uses the simulated cluster; install "
            f"{' and '.join(missing)} (`labkit doctor` says how) for a real kind + Calico "
            "cluster."
        )
    return "kind", "Docker, kind and kubectl are usable, so labkit runs kind + Calico."


# -- the record ------------------------------------------------------------------------------
def read_record(home: Path | None = None) -> dict[str, Any] | None:
    """The recorded backend (``cluster.json``), or ``None`` when no lab cluster was started."""
    path = cluster_record_path(home)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise ClusterError(f"{path} is damaged ({exc}); delete it and run `labkit up`") from None
    if not isinstance(data, dict) or data.get("backend") not in BACKENDS[1:]:
        raise ClusterError(f"{path} names no backend; delete it and run `labkit up`")
    return data


def _write_record(home: Path, backend: str, why: str, **extra: Any) -> None:
    record = {
        "backend": backend,
        "why": why,
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }
    write_json_atomic(cluster_record_path(home), record)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


# -- operations ------------------------------------------------------------------------------
def up(
    backend: str = "auto",
    *,
    context: str | None = None,
    nodes: int = 3,
    dry_run: bool = False,
    progress: Progress | None = None,
    calico_mode: str = "operator",
) -> LabCluster | str:
    """Start (or reattach to) the lab cluster; with ``dry_run``, return what would be done.

    ``backend``: ``auto`` (kind when usable, else simulated), ``kind``, ``existing`` (the
    kubeconfig ``context``; giving a context implies it) or ``simulated``.
    """
    if backend not in BACKENDS:
        raise ClusterError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if context is not None:
        if backend not in ("auto", "existing"):
            raise ClusterError(
                f"--context {context} means an existing cluster; it cannot be "
                f"combined with backend {backend!r} (drop one of them)"
            )
        backend = "existing"
    if nodes not in (1, 3):
        raise ClusterError(f"nodes must be 1 or 3, not {nodes}")
    home = lab_home()
    prog = progress or LogProgress()
    if backend == "auto":
        backend, why = auto_choice()
        if backend == "simulated":
            log.warning("%s", why)
    else:
        why = (
            f"You asked for the cluster of kubeconfig context {context}."
            if backend == "existing" and context
            else f"You asked for the {backend} backend."
        )
    if backend == "existing" and not context:
        raise ClusterError(
            "the existing backend needs a kubeconfig context: labkit up "
            "--context NAME (see `kubectl config get-contexts`)"
        )

    if backend == "simulated":
        if dry_run:
            return _simulated_plan(home, why)
        simulated = SimulatedCluster.up(home, prog)
        _write_record(home, "simulated", why, state=str(simulated.state_path))
        return simulated
    if backend == "kind":
        kind_options, kind_cluster = _kind()
        options = kind_options(nodes=nodes, calico_mode=calico_mode)
        if dry_run:
            return f"backend: kind. {why}\n" + str(kind_cluster.plan(options))
        cluster: LabCluster = kind_cluster.up(options, prog)
        _write_record(home, "kind", why, options=_jsonable(options))
        return cluster
    existing = _optional("labkit.cluster.existing", "ExistingCluster", "existing-cluster backend")
    if dry_run:
        return (
            f"backend: existing. {why}\nwould use kubeconfig context {context!r}: check "
            "that it answers and enforces NetworkPolicy (canary), then apply the lab "
            f"topology ({len(topology_manifests())} objects labelled labkit.dev/managed)"
        )
    cluster = existing.up(context, prog)
    _write_record(home, "existing", why, context=context)
    return cluster


def _simulated_plan(home: Path, why: str) -> str:
    state = SimulatedCluster(home)
    objects = base_objects()
    lines = [f"backend: simulated. {why}"]
    if state.exists():
        lines.append(
            f"would keep the simulated cluster at {state.state_path} as it is "
            "(`labkit reset` restores the topology)"
        )
    else:
        lines.append(
            f"would create a simulated cluster at {state.state_path} with {len(objects)} objects:"
        )
        lines += [f"  {o.title}" for o in objects]
    lines.append(f"would record the backend in {cluster_record_path(home)}")
    return "\n".join(lines)


def connect(*, create: bool = True) -> LabCluster:
    """The lab cluster that ``up`` recorded; the simulated cluster when none was (created
    with the topology when it does not exist yet, unless ``create`` is false)."""
    home = lab_home()
    record = read_record(home)
    backend = record["backend"] if record else "simulated"
    if backend == "simulated":
        cluster = SimulatedCluster(home)
        if not cluster.exists():
            if not create:
                raise ClusterError("no lab cluster is running; start one with `labkit up`")
            log.info(
                "no simulated cluster at %s yet; creating it with the lab topology",
                cluster.state_path,
            )
            cluster = SimulatedCluster.up(home)
            if record is None:
                _write_record(
                    home,
                    "simulated",
                    "no lab cluster was started, so labkit created the simulated one.",
                )
        return cluster
    assert record is not None
    if backend == "kind":
        kind_options, kind_cluster = _kind()
        return kind_cluster.attach(_kind_options(kind_options, record))  # type: ignore[no-any-return]
    existing = _optional("labkit.cluster.existing", "ExistingCluster", "existing-cluster backend")
    attach = getattr(existing, "attach", None)
    if attach is not None:
        return attach(record.get("context"))  # type: ignore[no-any-return]
    return existing.up(record.get("context"), LogProgress())  # type: ignore[no-any-return]


def status() -> ClusterStatus:
    """The lab cluster's status, with why its backend was chosen (``why`` in details)."""
    try:
        cluster = connect(create=False)
    except ClusterError as exc:
        return ClusterStatus(
            backend="none", ready=False, details=(("why", str(exc)), ("fix", "run `labkit up`"))
        )
    record = read_record() or {}
    found = cluster.status()
    extra = tuple((k, str(record[k])) for k in ("why", "since") if record.get(k))
    return dataclasses.replace(found, details=(*extra, *found.details))


def down() -> str:
    """Stop the lab cluster and forget it; returns what was done."""
    home = lab_home()
    record = read_record(home)
    backend = record["backend"] if record else "simulated"
    if backend == "simulated":
        removed = SimulatedCluster(home).down()
        text = "deleted the simulated cluster" if removed else "no simulated cluster to delete"
    elif backend == "kind":
        try:
            cluster = connect()
        except ClusterNotReady as exc:  # the cluster is gone already (deleted by hand)
            text = f"no kind cluster to delete ({str(exc).splitlines()[0]})"
        else:
            cluster.down()  # type: ignore[attr-defined]
            text = "deleted the kind cluster"
    else:
        cluster = connect()
        cluster.cleanup()  # type: ignore[attr-defined]
        text = (
            "removed the lab's objects (labelled labkit.dev/managed) from the existing "
            "cluster; the cluster itself is untouched"
        )
    cluster_record_path(home).unlink(missing_ok=True)
    return text


def reset() -> LabCluster:
    """Back to the lab topology with no policies (see :func:`reset_lab` for real clusters)."""
    cluster = connect()
    if isinstance(cluster, SimulatedCluster):
        cluster.reset()
        return cluster
    own = getattr(cluster, "reset", None)
    if callable(own):
        own()
    else:
        reset_lab(cluster)
    return cluster


def reset_lab(cluster: LabCluster) -> None:
    """Reset any cluster through :class:`LabCluster` operations: delete every NetworkPolicy
    outside the system namespaces, re-apply the topology (recreating missing namespaces and
    pods) and remove labels that the topology does not give its namespaces and pods."""
    for policy in cluster.policies():
        if policy.namespace not in SYSTEM_NAMESPACES:
            cluster.delete("NetworkPolicy", policy.name, policy.namespace)
    objects = topology_manifests()
    cluster.apply([o.data for o in objects])
    inventory = cluster.inventory()
    for raw in objects:
        wanted = raw.metadata.get("labels") or {}
        if raw.kind == "Namespace":
            have = inventory.namespace(raw.name).label_map
            stray = {
                k: None for k in have if k not in wanted and not k.startswith("kubernetes.io/")
            }
            if stray:
                cluster.label("Namespace", raw.name, stray)
        elif raw.kind == "Pod":
            pod = inventory.pod(f"{raw.namespace}/{raw.name}")
            stray = {k: None for k in pod.label_map if k not in wanted}
            if stray:
                cluster.label("Pod", raw.name, stray, raw.namespace)


def doctor() -> list[Any]:
    """H3's checks of Docker, kind, kubectl and the cluster (``labkit doctor``)."""
    run_checks = _optional("labkit.cluster.doctor", "run_checks", "cluster doctor")
    return list(run_checks())
