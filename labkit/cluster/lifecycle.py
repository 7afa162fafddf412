"""Choosing, starting, finding and stopping the lab cluster.

``up("auto")`` takes kind + Calico when Docker works and ``kind`` and ``kubectl`` are on
``PATH``, else the simulated cluster, and says why in one sentence (logged at WARNING, kept in
``<lab folder>/cluster.json`` and shown by ``status()``). Every later call (``connect``,
``status``, ``down``, ``reset``) finds the same cluster through that record, so the CLI and
the notebooks always work on one cluster. No record means the simulated cluster.

Workshop learners (:mod:`labkit.cluster.workshop.session` finds one): ``up()`` (``auto``,
whatever ``LABKIT_BACKEND`` says) and ``up("workshop")`` connect to the learner's lab on the
shared cluster. ``up("simulated", cni=...)`` gives the learner a **private** simulated lab in
the learner's folder (``<lab folder>/workshops/<id>/learners/<learner>/private-lab``),
recorded in that folder's ``cluster.json`` as ``up`` records any lab; ``connect``, ``status``,
``reset`` and ``down`` then follow that record until ``up("workshop")`` (or ``up()``) returns
to the workshop, which forgets the record (the private lab's state is kept for the next time).
``kind`` and ``existing`` are refused for a learner: the workshop's cluster is the
instructor's.

The kind and existing-cluster backends (:mod:`labkit.cluster.kind`,
:mod:`labkit.cluster.existing`, :mod:`labkit.cluster.doctor`) are imported only when used.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.cluster.backend import ClusterStatus, LabCluster
from labkit.cluster.labdir import cluster_record_path, folder_error, lab_home, write_json_atomic
from labkit.cluster.progress import LogProgress, Progress
from labkit.cluster.simulated import CNIS as SIMULATED_CNIS
from labkit.cluster.simulated import SimulatedCluster, base_objects
from labkit.cluster.topology import topology_manifests
from labkit.errors import ClusterError, LabFolderError, LabNotUp

if TYPE_CHECKING:
    from labkit.cluster.workshop.learner import LearnerCluster

log = logging.getLogger(__name__)

BACKENDS = ("auto", "kind", "existing", "simulated")
WORKSHOP_BACKEND = "workshop"
"""``up("workshop")``: a workshop learner's lab (see the module docstring)."""
PRIVATE_LAB = "private-lab"
"""The learner folder's subfolder holding a learner's private simulated lab."""
BACKEND_ENV = "LABKIT_BACKEND"
"""When set (``simulated``, ``kind``, ``existing``), it stands in for ``auto`` in :func:`up`
(the CLI's ``labkit up`` without ``--backend`` and the notebooks' ``lab.up()`` alike)."""


def chosen_backend(requested: str, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(backend to ask for, the reason in words)``: ``LABKIT_BACKEND`` overrides ``auto``;
    an unknown value is an error naming the valid ones (never silently ``auto``)."""
    env = (environ if environ is not None else os.environ).get(BACKEND_ENV, "").strip()
    if env and env not in BACKENDS:
        raise ClusterError(
            f"{BACKEND_ENV}={env!r} names no backend; use one of {', '.join(BACKENDS)}, "
            f"or unset {BACKEND_ENV}"
        )
    if requested == "auto" and env:
        return env, f"{BACKEND_ENV}={env} is set in the environment, so it was used as asked."
    if requested == "auto":
        return "auto", ""
    return requested, f"You asked for backend={requested!r}."


NOT_UP = (
    "no lab is up (`labkit down` stopped it, or none was started); start one with "
    "`labkit up` (in a notebook: lab.up())"
)


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


def _kind_options(kind_options: Any, record: dict[str, Any] | None) -> Any:
    """The recorded options (name, nodes, kubeconfig, Calico mode) back as ``KindOptions``."""
    saved = (record or {}).get("options") or {}
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
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClusterError(f"{path} is damaged ({exc}); delete it and run `labkit up`") from None
    except OSError as exc:
        raise folder_error(path, exc, "read") from None
    if not isinstance(data, dict) or data.get("backend") not in BACKENDS[1:]:
        raise ClusterError(f"{path} names no backend; delete it and run `labkit up`")
    return data


def _write_record(home: Path, backend: str, why: str, **extra: Any) -> None:
    record = {
        "backend": backend,
        "why": why,
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
        "state": "ready",
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


def unrecorded_kind_cluster() -> str | None:
    """The name of a labkit kind cluster that exists without a record (an ``up`` interrupted
    before it wrote one, or a record deleted by hand), or ``None``; never fails (no kind, no
    Docker: ``None``)."""
    if shutil.which("kind") is None:
        return None
    try:
        kind_options, _ = _kind()
        name = str(kind_options().name)
        clusters = _optional("labkit.cluster.kind.options", "kind_clusters", "kind backend")()
    except ClusterError as exc:
        log.info("cannot look for a kind cluster: %s", str(exc).splitlines()[0])
        return None
    return name if name in clusters else None


# -- operations ------------------------------------------------------------------------------
def up(
    backend: str = "auto",
    *,
    context: str | None = None,
    nodes: int | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    calico_mode: str | None = None,
    recreate: bool = False,
    cni: str = "calico",
) -> LabCluster | str:
    """Start (or reattach to) the lab cluster; with ``dry_run``, return what would be done.

    ``backend``: ``auto`` (kind when usable, else simulated), ``kind``, ``existing`` (the
    kubeconfig ``context``; giving a context implies it; with none, inside a pod, the pod's
    own cluster through its service account) or ``simulated``. ``nodes`` and
    ``calico_mode`` default to the recorded kind cluster's, else 3 and ``manifest``.
    ``recreate`` deletes the cluster and creates it again (kind, simulated); without it a
    cluster is never deleted, except one that an interrupted ``kind create`` left unusable.
    """
    if backend not in (*BACKENDS, WORKSHOP_BACKEND):
        raise ClusterError(
            f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)} (a workshop "
            f"learner: also {WORKSHOP_BACKEND})"
        )
    learner = _workshop_learner()
    if learner is not None:
        return _up_as_learner(learner, backend, dry_run, progress or LogProgress(), cni, recreate)
    if backend == WORKSHOP_BACKEND:
        from labkit.model.workshop import LEARNER_ENV, WORKSHOP_ENV

        raise ClusterError(
            "backend 'workshop' is a workshop learner's lab, and this process is no learner "
            f"(no {WORKSHOP_ENV}/{LEARNER_ENV}, not in a workshop's notebook pod)\n    fix: "
            f"set {WORKSHOP_ENV}=ID and {LEARNER_ENV}=NAME for a simulated workshop, or use "
            "another backend"
        )
    _check_cni(cni, backend)
    backend, asked = chosen_backend(backend) if context is None else (backend, "")
    if context is not None:
        if backend not in ("auto", "existing"):
            raise ClusterError(
                f"--context {context} means an existing cluster; it cannot be "
                f"combined with backend {backend!r} (drop one of them)"
            )
        backend = "existing"
    if nodes is not None and nodes not in (1, 3):
        raise ClusterError(f"nodes must be 1 or 3, not {nodes}")
    home = lab_home()
    prog = progress or LogProgress()
    if backend == "auto":
        backend, why = auto_choice()
        if backend == "simulated":
            log.warning("%s", why)
    elif asked.startswith(BACKEND_ENV):
        why = asked
    else:
        why = (
            f"You asked for the cluster of kubeconfig context {context}."
            if backend == "existing" and context
            else f"You asked for the {backend} backend."
        )
    if backend == "existing" and not context:
        why = _in_cluster_why()
    if backend == "existing" and recreate:
        raise ClusterError(
            "--recreate deletes a cluster, and labkit never deletes an existing cluster; "
            "`labkit reset` restores the lab's objects on it"
        )

    if backend == "simulated":
        if dry_run:
            return _simulated_plan(home, why)
        simulated = SimulatedCluster.up(home, prog, fresh=recreate)
        simulated.cni = cni
        _write_record(home, "simulated", why, state_file=str(simulated.state_path), cni=cni)
        return simulated
    if backend == "kind":
        return _up_kind(home, why, nodes, calico_mode, recreate, dry_run, prog)
    existing = _optional("labkit.cluster.existing", "ExistingCluster", "existing-cluster backend")
    if dry_run:
        where = f"kubeconfig context {context!r}" if context else "the pod's own cluster"
        return (
            f"backend: existing. {why}\nwould use {where}: check "
            "that it answers and enforces NetworkPolicy (canary), then apply the lab "
            f"topology ({len(topology_manifests())} objects labelled labkit.dev/managed)"
        )
    _write_record(home, "existing", why, context=context, state="creating")
    cluster = existing.up(context, prog)
    _write_record(home, "existing", why, context=context)
    return cluster  # type: ignore[no-any-return]


def _check_cni(cni: str, backend: str) -> None:
    """``cni="none"`` (a CNI that enforces no policy) exists only on the simulated backend;
    kind runs Calico and an existing cluster runs whatever it runs."""
    if cni not in SIMULATED_CNIS:
        raise ClusterError(f"unknown CNI {cni!r}; use one of {', '.join(SIMULATED_CNIS)}")
    if cni != "calico" and backend != "simulated":
        raise ClusterError(
            f"--cni {cni} is a simulated CNI: use it with --backend simulated (kind runs "
            "Calico; an existing cluster keeps its own CNI)"
        )


def _in_cluster_why() -> str:
    """Why the existing backend without a context uses the pod's own cluster; a clear error
    outside a pod (a context is needed) or without the kubernetes client."""
    problem = _optional(
        "labkit.cluster.existing", "connection_problem", "existing-cluster backend"
    )(None, None)
    if problem is not None:
        raise ClusterError(problem)
    return (
        "You asked for the existing backend with no --context inside a pod "
        "(KUBERNETES_SERVICE_HOST is set): labkit uses the pod's own cluster through its "
        "service account (in-cluster configuration)."
    )


def _up_kind(
    home: Path,
    why: str,
    nodes: int | None,
    calico_mode: str | None,
    recreate: bool,
    dry_run: bool,
    prog: Progress,
) -> LabCluster | str:
    kind_options, kind_cluster = _kind()
    record = read_record(home)
    recorded = record if record is not None and record.get("backend") == "kind" else None
    options = _kind_options(kind_options, recorded)
    given = {k: v for k, v in (("nodes", nodes), ("calico_mode", calico_mode)) if v is not None}
    options = dataclasses.replace(options, **given)
    if recorded is not None and len(given) < 2:
        kept = [
            f"--{flag} {getattr(options, field)}"
            for flag, field in (("nodes", "nodes"), ("calico", "calico_mode"))
            if field not in given
        ]
        prog.step(
            f"kind cluster {options.name}: using the recorded {' '.join(kept)} "
            "(give the option to change it)"
        )
    if dry_run:
        return f"backend: kind. {why}\n" + str(kind_cluster.plan(options))
    interrupted = recorded is not None and recorded.get("state") == "creating"

    def before_create() -> None:
        _write_record(home, "kind", why, options=_jsonable(options), state="creating")

    cluster: LabCluster = kind_cluster.up(
        options, prog, recreate=recreate, interrupted=interrupted, before_create=before_create
    )
    _write_record(home, "kind", why, options=_jsonable(options))
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


# -- workshop mode -----------------------------------------------------------------------------
def _workshop_learner() -> LearnerCluster | None:
    """The learner's cluster when this process is a workshop learner
    (:func:`labkit.cluster.workshop.session.find_learner`), else ``None``."""
    from labkit.cluster.workshop.session import find_learner

    return find_learner(home=lab_home())


def _learner_why() -> str:
    from labkit.model.workshop import LEARNER_ENV, WORKSHOP_ENV

    if os.environ.get(WORKSHOP_ENV):
        return (
            f"{WORKSHOP_ENV} and {LEARNER_ENV} are set: you are a learner of the simulated "
            "workshop, in your own lab namespaces (shown by their lab names)."
        )
    return (
        "This pod belongs to a workshop (its namespace holds the labkit-workshop ConfigMap): "
        "you are the learner the API server says you are, in your own lab namespaces."
    )


def _up_learner(learner: LearnerCluster, dry_run: bool, progress: Progress) -> LabCluster | str:
    """``up`` for a workshop learner: nothing is deployed (the instructor's ``labkit workshop
    init`` did that); the learner's lab is checked and returned."""
    who = f"workshop {learner.workshop.id}, learner {learner.learner}"
    if dry_run:
        return (
            f"backend: workshop ({who}). {_learner_why()}\nwould deploy nothing: the "
            "instructor's `labkit workshop init` created your lab"
        )
    progress.step(f"Connecting to your lab ({who})")
    missing = learner.missing_pods()
    if missing:
        log.warning(
            "your lab lacks %s; run lab.reset() (or `labkit reset`) to restore it",
            ", ".join(missing),
        )
    progress.finish(f"your lab in {learner.host.where()}")
    return learner


def _up_as_learner(
    learner: LearnerCluster,
    backend: str,
    dry_run: bool,
    progress: Progress,
    cni: str,
    recreate: bool,
) -> LabCluster | str:
    """``up`` for a workshop learner: ``auto``/``workshop`` the workshop's lab, ``simulated``
    a private simulated lab in the learner's folder; kind and existing are refused."""
    if backend in ("auto", WORKSHOP_BACKEND):
        if not dry_run:
            cluster_record_path(learner.folder).unlink(missing_ok=True)
        return _up_learner(learner, dry_run, progress)
    if backend != "simulated":
        raise ClusterError(
            f"you are learner {learner.learner} of workshop {learner.workshop.id}: the "
            f"workshop's cluster is the instructor's, so backend {backend!r} is not yours to "
            'start\n    fix: lab.up() (your lab in the workshop), or lab.up("simulated") for '
            "a private simulated lab of your own"
        )
    _check_cni(cni, backend)
    folder = learner.folder / PRIVATE_LAB
    why = (
        f"You asked for the simulated backend as learner {learner.learner} of workshop "
        f"{learner.workshop.id}: a private simulated lab of your own ({folder}); "
        f"lab.up() or lab.up({WORKSHOP_BACKEND!r}) returns to the workshop."
    )
    if dry_run:
        return _simulated_plan(folder, why)
    simulated = SimulatedCluster.up(folder, progress, fresh=recreate)
    simulated.cni = cni
    _write_record(
        learner.folder,
        "simulated",
        why,
        state_file=str(simulated.state_path),
        cni=cni,
        workshop=learner.workshop.id,
        learner=learner.learner,
    )
    return simulated


def _private_lab(learner: LearnerCluster) -> tuple[SimulatedCluster, dict[str, Any]] | None:
    """The learner's private simulated lab and its record when the learner's folder records
    one (``up("simulated")`` as a learner), else ``None``."""
    record = read_record(learner.folder)
    if record is None or record.get("backend") != "simulated":
        return None
    folder = learner.folder / PRIVATE_LAB
    cluster = SimulatedCluster(folder, cni=str(record.get("cni") or "calico"))
    if not cluster.exists():
        cluster_record_path(learner.folder).unlink(missing_ok=True)
        return None
    return cluster, record


def connect() -> LabCluster:
    """The lab cluster that ``up`` recorded (or, without a record, the simulated cluster
    whose state exists). Never creates one: raises :class:`LabNotUp` saying to run
    ``labkit up`` when no lab is up."""
    learner = _workshop_learner()
    if learner is not None:
        private = _private_lab(learner)
        return private[0] if private is not None else learner
    home = lab_home()
    record = read_record(home)
    backend = record["backend"] if record else "simulated"
    if backend == "simulated":
        cluster = SimulatedCluster(home, cni=str((record or {}).get("cni") or "calico"))
        if not cluster.exists():
            raise LabNotUp(NOT_UP)
        return cluster
    assert record is not None
    if backend == "kind":
        kind_options, kind_cluster = _kind()
        return kind_cluster.attach(_kind_options(kind_options, record))  # type: ignore[no-any-return]
    existing = _optional("labkit.cluster.existing", "ExistingCluster", "existing-cluster backend")
    return existing.attach(record.get("context"))  # type: ignore[no-any-return]


def status() -> ClusterStatus:
    """The lab cluster's status, with why its backend was chosen (``why`` in details)."""
    learner = _workshop_learner()
    if learner is not None:
        private = _private_lab(learner)
        if private is not None:
            found = private[0].status()
            why = str(private[1].get("why", ""))
            return dataclasses.replace(found, details=(("why", why), *found.details))
        found = learner.status()
        return dataclasses.replace(found, details=(("why", _learner_why()), *found.details))
    record = read_record()
    try:
        cluster = connect()
    except LabFolderError:
        raise
    except ClusterError as exc:
        return _status_without_cluster(record, exc)
    found = cluster.status()
    extra = tuple((k, str((record or {})[k])) for k in ("why", "since") if (record or {}).get(k))
    return dataclasses.replace(found, details=(*extra, *_state_details(record), *found.details))


def _state_details(record: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if record is None or record.get("state") != "creating":
        return ()
    return (
        ("state", "creating: an earlier `labkit up` did not finish"),
        ("fix", "`labkit up` resumes it; `labkit down` deletes what was made"),
    )


def _status_without_cluster(record: dict[str, Any] | None, exc: ClusterError) -> ClusterStatus:
    if record is not None:
        return ClusterStatus(
            backend=str(record["backend"]),
            ready=False,
            details=(
                ("why", str(exc).splitlines()[0]),
                *(_state_details(record) or (("fix", "run `labkit up`"),)),
            ),
        )
    orphan = unrecorded_kind_cluster()
    if orphan is not None:
        return ClusterStatus(
            backend="kind",
            ready=False,
            details=(
                (
                    "found",
                    f"kind cluster {orphan}, which labkit has no record of "
                    "(an interrupted `labkit up`?)",
                ),
                ("fix", "`labkit up --backend kind` takes it over; `labkit down` deletes it"),
            ),
        )
    return ClusterStatus(
        backend="none", ready=False, details=(("why", str(exc)), ("fix", "run `labkit up`"))
    )


def down() -> str:
    """Stop the lab cluster and forget it; returns what was done. Without a record, the
    simulated cluster's state and a labkit kind cluster are looked for anyway. A workshop
    learner cannot stop the workshop: that is refused with what to do instead."""
    learner = _workshop_learner()
    if learner is not None:
        private = _private_lab(learner)
        if private is None:
            learner.down()  # raises: the instructor runs `labkit workshop teardown`
        else:
            private[0].down()
            cluster_record_path(learner.folder).unlink(missing_ok=True)
            return "deleted your private simulated lab; lab.up() connects to the workshop again"
    home = lab_home()
    record = read_record(home)
    if record is None:
        texts = []
        if SimulatedCluster(home).down():
            texts.append("deleted the simulated cluster")
        orphan = unrecorded_kind_cluster()
        if orphan is not None:
            texts.append(_down_kind(None))
        return "; ".join(texts) or "no lab cluster to delete"
    backend = record["backend"]
    if backend == "simulated":
        removed = SimulatedCluster(home).down()
        text = "deleted the simulated cluster" if removed else "no simulated cluster to delete"
    elif backend == "kind":
        text = _down_kind(record)
    else:
        existing = _optional(
            "labkit.cluster.existing", "ExistingCluster", "existing-cluster backend"
        )
        existing(record.get("context")).cleanup()
        text = (
            "removed the lab's objects (labelled labkit.dev/managed) from the existing "
            "cluster; the cluster itself is untouched"
        )
    cluster_record_path(home).unlink(missing_ok=True)
    return text


def _down_kind(record: dict[str, Any] | None) -> str:
    """Delete the kind cluster (without connecting to it: a half-made one has no API)."""
    kind_options, kind_cluster = _kind()
    options = _kind_options(kind_options, record)
    clusters = _optional("labkit.cluster.kind.options", "kind_clusters", "kind backend")()
    present = options.name in clusters
    kind_cluster(options).down()
    if not present:
        return f"no kind cluster named {options.name} to delete (it was deleted already)"
    return f"deleted the kind cluster {options.name}"


def reset() -> LabCluster:
    """Back to the lab topology with no policies; deletes only what labkit created
    (:meth:`LabCluster.reset`)."""
    cluster = connect()
    cluster.reset()
    return cluster


def doctor() -> list[Any]:
    """H3's checks of Docker, kind, kubectl and the cluster (``labkit doctor``)."""
    run_checks = _optional("labkit.cluster.doctor", "run_checks", "cluster doctor")
    return list(run_checks())
