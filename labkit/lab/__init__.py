"""The notebook facade: ``import labkit.lab as lab``.

A handful of calls, each a step of a lesson that shows its result and, beside it, the kubectl
command that does the same by hand::

    session = lab.up()                      # progress bar; kind+Calico, a cluster, or simulated
    lab.show_topology()                     # namespaces, pods, addresses
    lab.probe_matrix(["80/TCP", "81/UDP"])  # heatmaps, rows = from
    lab.apply("policy.yaml")
    lab.explain("trusted/client", "my-segment/critical-app", "80/TCP")
    lab.check("untrusted/client", "my-segment/database", "80/TCP", expect="blocked")

The lab's state lives in the lab folder (``$LABKIT_HOME`` or ``<project>/.labkit``), so every
call reconnects to the cluster ``up`` recorded, and the CLI sees the same lab. When the
environment variable ``LABKIT_BACKEND`` is set, ``up()`` uses that backend instead of choosing
one (the notebook tests set it to ``simulated``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Submodules are loaded first, so that the functions below (``kubectl``, ``quiz``) and not the
# modules of the same name are this package's attributes.
from labkit.cluster import learner_progress as _learner_progress
from labkit.extras import require_lab_extra
from labkit.lab import dashboard as _dashboard
from labkit.lab import kubectl as _kubectl_commands
from labkit.lab import quiz as _quiz
from labkit.lab.can_i import CanI
from labkit.lab.kubectl import Commands
from labkit.lab.progress import NotebookProgress
from labkit.lab.quiz import CheckResult, Feedback, Question, grade
from labkit.lab.views import (
    Audit,
    BackendExplanation,
    Connectivity,
    Done,
    LabSession,
    Matrices,
    Picture,
    ServiceExplanation,
)
from labkit.probe.jobs import ProbeSpec
from labkit.probe.table import TruthTable

if TYPE_CHECKING:
    from labkit.cluster.backend import ClusterStatus, LabCluster
    from labkit.cluster.progress import Progress
    from labkit.engine.explain import Explanation
    from labkit.lab.dashboard import WorkshopDashboard
    from labkit.lab.diffview import Diff
    from labkit.lab.exercise_check import SelfCheck, SubmissionLike
    from labkit.lab.objects_view import Objects
    from labkit.lab.prediction import Prediction, Verification
    from labkit.lab.progress_store import Progress as LearnerProgress
    from labkit.lab.scenarios import Scenario
    from labkit.lab.traffic import Flows, Snapshot
    from labkit.model.inventory import Inventory
    from labkit.model.objects import Pod
    from labkit.probe.jobs import Result
    from labkit.probe.runner import Runner

require_lab_extra("labkit.lab (the notebook lab)")
_learner_progress.add_listener(_dashboard.publish)  # workshop learners publish progress events

__all__ = [
    "Audit",
    "CanI",
    "CheckResult",
    "Commands",
    "Connectivity",
    "Done",
    "Feedback",
    "LabSession",
    "Matrices",
    "NotebookProgress",
    "Picture",
    "Question",
    "ServiceExplanation",
    "apply",
    "audit",
    "can_i",
    "changes",
    "check",
    "check_requirements",
    "cluster",
    "connectivity",
    "delete",
    "describe",
    "diff",
    "explain",
    "flows",
    "get",
    "grade",
    "kubectl",
    "label",
    "predict",
    "predicted_matrix",
    "probe_matrix",
    "progress",
    "quiz",
    "reset",
    "scenario",
    "show",
    "show_topology",
    "snapshot",
    "status",
    "up",
    "verify",
    "what_if",
    "workshop_dashboard",
]

ProbeLike = str | int | ProbeSpec


def _probe(value: ProbeLike) -> ProbeSpec:
    if isinstance(value, ProbeSpec):
        return value
    if isinstance(value, int):
        return ProbeSpec(value)
    try:
        return ProbeSpec.parse(value)
    except ValueError as exc:
        from labkit.errors import LabkitError

        raise LabkitError(str(exc)) from None


def _probes(values: ProbeLike | Sequence[ProbeLike]) -> list[ProbeSpec]:
    if isinstance(values, (str, int, ProbeSpec)):
        return [_probe(values)]
    return [_probe(v) for v in values]


def up(
    backend: str = "auto",
    *,
    context: str | None = None,
    nodes: int | None = None,
    progress: Progress | None = None,
    cni: str = "calico",
) -> LabSession:
    """Bring the lab up (or reconnect to it) and say which backend runs and why.

    ``backend="auto"`` takes kind + Calico when Docker and kind work, else the simulated
    cluster; ``"existing"`` uses the cluster of your kubeconfig ``context`` (in a notebook pod
    with no context: the pod's own cluster, through its service account). The environment
    variable ``LABKIT_BACKEND`` stands in for ``"auto"`` when set. ``nodes``
    (kind: 1 or 3) defaults to the recorded cluster's, else 3. ``cni="none"`` (simulated
    only) stores policies and enforces none, as a CNI without policy support would. This is
    the one call that creates a lab; the others raise, saying to call it, when no lab is up.

    A workshop learner gets the learner's lab on the shared cluster (``"auto"`` or
    ``"workshop"``); ``"simulated"`` gives the learner a private simulated lab in the
    learner's folder (lesson 7's CNI swap), until ``up()`` or ``up("workshop")`` returns to
    the workshop (:mod:`labkit.cluster.lifecycle`).
    """
    from labkit.cluster import lifecycle
    from labkit.errors import ClusterError, LabkitError
    from labkit.lab.session_log import held_warnings, release

    bar = progress if progress is not None else NotebookProgress("Bringing the lab up")
    with held_warnings(lifecycle.log.name) as held:  # the session box shows the reason once
        try:
            result = lifecycle.up(backend, context=context, nodes=nodes, progress=bar, cni=cni)
        except LabkitError as exc:
            release(held)
            if isinstance(bar, NotebookProgress):
                bar.fail(str(exc).splitlines()[0])
            raise
    if isinstance(result, str):
        release(held)
        raise ClusterError(f"up() returned a plan instead of a cluster:\n{result}")
    _show_real_names(result)
    found = lifecycle.status()
    why = dict(found.details).get("why", "") or _fallback_reason(found)
    release(held, shown=why)
    return LabSession(result, found, why, _kubectl_commands.for_step("up"))


def _fallback_reason(found: ClusterStatus) -> str:
    return f"backend='auto' chose {found.backend}."


def cluster() -> LabCluster:
    """The lab cluster ``up()`` recorded (raises with a hint when no lab is up)."""
    from labkit.cluster.lifecycle import connect

    return _show_real_names(connect())


def _show_real_names(lab: LabCluster) -> LabCluster:
    """kubectl hints in a workshop learner's real names (``ws1-alice-trusted``) while the
    connected lab is the learner's; as written otherwise."""
    from labkit.cluster.workshop.learner import LearnerCluster

    if isinstance(lab, LearnerCluster):
        space = lab.space
        _kubectl_commands.use_real_names(
            _kubectl_commands.RealNames(
                namespace=space.to_real, peer=space.peer_to_real, namespaces=space.real_namespaces
            )
        )
    else:
        _kubectl_commands.use_real_names(None)
    return lab


def status() -> ClusterStatus:
    """Backend, readiness, nodes, CNI and why this backend runs."""
    from labkit.cluster.lifecycle import status as lifecycle_status

    return lifecycle_status()


def probe_matrix(
    probes: ProbeLike | Sequence[ProbeLike] = ("80/TCP",),
    *,
    namespaces: Iterable[str] | None = None,
    peers: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    destinations: Sequence[str] | None = None,
) -> Matrices:
    """Probe every ordered pair of lab pods on each probe; shows one heatmap per probe.
    ``peers`` may add addresses (``ip:8.8.8.8``). ``sources`` (rows) and ``destinations``
    (columns) make a rectangular matrix: pods, ``NS/*``, and as destinations Services
    (``svc:NS/NAME`` or ``NAME.NS.svc.cluster.local``), probed through their backends."""
    lab = cluster()
    if sources is not None or destinations is not None:
        return _rectangular(lab, lab.runner(), probes, sources, destinations, namespaces)
    chosen = _matrix_peers(peers) if peers else lab.peers(namespaces)
    specs = _probes(probes)
    tables = lab.probe_matrix(specs, peers=chosen)
    source = f"probed on the {lab.name} cluster (rows: from, columns: to)"
    return Matrices(tuple(tables), source, _probe_commands(lab, chosen, specs))


def _matrix_peers(peers: Sequence[str]) -> list[str]:
    """``peers`` for a matrix, whose peers are sources as well as destinations: a Service
    is only ever a destination (traffic to it goes to one backend pod)."""
    from labkit.engine.services import SERVICE_PREFIX
    from labkit.errors import LabkitError

    services = [p for p in peers if p.strip().startswith(SERVICE_PREFIX)]
    if services:
        raise LabkitError(
            f"a matrix's peers are sources too, and a Service cannot send: {services[0]}; "
            f"probe it from a pod with lab.check(SRC, {services[0]!r}) or "
            f"lab.explain(SRC, {services[0]!r})"
        )
    return list(peers)


def _probe_commands(lab: LabCluster, peers: Sequence[str], specs: Sequence[ProbeSpec]) -> Commands:
    """The probe of one example pair (the last pod to the first other peer), once per probe;
    addresses (``ip:...``) are never a source: kubectl can only exec into a pod."""
    pods = [p for p in peers if not p.startswith("ip:")]
    if len(peers) < 2 or not pods:
        return _kubectl_commands.for_step("probe")
    src = pods[-1]
    dst = next(p for p in peers if p != src)
    address = _address(lab, dst)
    lines = tuple(_kubectl_commands.connect(src, address, s.port, s.protocol) for s in specs)
    note = f"{src} -> {dst}; the matrix runs this for every ordered pair"
    return Commands("probe", lines, note)


def _address(lab: LabCluster, peer: str) -> str:
    if peer.startswith("ip:"):
        return peer[3:]
    pod = lab.inventory().pod(peer)
    return str(pod.ip) if pod.ip is not None else "DST_POD_IP"


def predicted_matrix(
    probes: ProbeLike | Sequence[ProbeLike] = ("80/TCP",),
    *,
    namespaces: Iterable[str] | None = None,
    peers: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    destinations: Sequence[str] | None = None,
) -> Matrices:
    """What the policy engine predicts for the same pairs as :func:`probe_matrix`."""
    from labkit.probe.runner import EngineRunner

    lab = cluster()
    warning = _unevaluated(lab.inventory().unevaluated)
    if sources is not None or destinations is not None:
        runner = EngineRunner(lab.engine())
        found = _rectangular(lab, runner, probes, sources, destinations, namespaces, True)
        return replace(found, warning=warning)
    chosen = _matrix_peers(peers) if peers else lab.peers(namespaces)
    tables = lab.predicted_matrix(_probes(probes), peers=chosen)
    source = "predicted by the policy engine (rows: from, columns: to)"
    return Matrices(tuple(tables), source, warning=warning)


def _unevaluated(found: Sequence[str]) -> str:
    """The one warning for policy kinds the engine does not evaluate, or ``""``."""
    from labkit.model.unevaluated import unevaluated_warning

    return unevaluated_warning(found) or ""


def _rectangular(
    lab: LabCluster,
    runner: Runner,
    probes: ProbeLike | Sequence[ProbeLike],
    sources: Sequence[str] | None,
    destinations: Sequence[str] | None,
    namespaces: Iterable[str] | None,
    predicted: bool = False,
) -> Matrices:
    """Rows ``sources`` by columns ``destinations`` (:mod:`labkit.lab.rectangular`)."""
    from labkit.lab.rectangular import axes, tables

    inventory = lab.inventory()
    rows, cols = axes(lab, inventory, sources, destinations, namespaces)
    found = tables(runner, inventory, _probes(probes), rows, cols)
    if predicted:
        return Matrices(tuple(found), "predicted by the policy engine (rows: from, columns: to)")
    source = f"probed on the {lab.name} cluster (rows: from, columns: to)"
    return Matrices(tuple(found), source, _kubectl_commands.for_step("probe"))


def what_if(
    manifests: str
    | Path
    | Sequence[str | Path]
    | Mapping[str, object]
    | Sequence[Mapping[str, object]],
    probes: ProbeLike | Sequence[ProbeLike] = ("80/TCP",),
    *,
    sources: Sequence[str] | None = None,
    destinations: Sequence[str] | None = None,
) -> Matrices:
    """The matrices the policy engine predicts if ``manifests`` (a path, YAML text or
    objects) were applied on top of the cluster's objects now. Nothing is applied; invalid
    manifests raise as :func:`apply` would (:mod:`labkit.lab.whatif`)."""
    from labkit.cluster.backend import read_manifests
    from labkit.lab.whatif import what_if_tables
    from labkit.model.unevaluated import find_unevaluated

    lab = cluster()
    found = what_if_tables(lab, manifests, _probes(probes), sources, destinations)
    added = find_unevaluated(read_manifests(manifests))
    warning = _unevaluated((*lab.inventory().unevaluated, *added))
    one_path = isinstance(manifests, (str, Path)) and "\n" not in str(manifests)
    shown = str(manifests) if one_path else "FILE.yaml"
    line = _kubectl_commands.command("apply", "--dry-run=server", "-f", shown)
    note = "the API server checks the change without applying it; nothing predicts traffic"
    return Matrices(
        tuple(found),
        "what if the manifests were applied (predicted, not applied)",
        Commands("what_if", (line,), note),
        warning,
    )


def diff(before: Iterable[TruthTable], after: Iterable[TruthTable]) -> Diff:
    """What changed between two sets of matrices (e.g. two :func:`predicted_matrix` calls,
    or a probe before and after :func:`apply`): the ``after`` heatmaps with every changed
    cell outlined and marked, and the changes in words."""
    from labkit.lab.diffview import diff_tables

    return diff_tables(before, after)


def reset() -> Done:
    """Back to the lab topology with no NetworkPolicies; only what labkit created is removed
    (objects you created with kubectl, without labkit's label, stay)."""
    from labkit.lab.objects_view import reset_commands

    report = cluster().reset()
    return Done(f"the lab is back to its topology\n{report}", reset_commands())


def get(kind: str, namespace: str | None = None) -> Objects:
    """List Namespaces, Pods, Services or NetworkPolicies (all namespaces when ``namespace``
    is ``None``), as ``kubectl get`` does."""
    from labkit.lab.objects_view import get as get_objects

    return get_objects(cluster(), kind, namespace)


def describe(kind: str, name: str, namespace: str = "default") -> Objects:
    """One object in ``kubectl describe`` form (a NetworkPolicy exactly as kubectl prints it)."""
    from labkit.lab.objects_view import describe as describe_object

    return describe_object(cluster(), kind, name, namespace)


def delete(kind: str, name: str, namespace: str = "default") -> Done:
    """Delete one object (a NetworkPolicy, Pod, Service or Namespace)."""
    from labkit.errors import LabkitError
    from labkit.lab.objects_view import delete_command, kind_of

    found = kind_of(kind)
    scoped = None if found == "Namespace" else namespace
    if not cluster().delete(found, name, namespace):
        where = f" in namespace {namespace}" if scoped else ""
        raise LabkitError(f"{found} {name} does not exist{where}; nothing deleted")
    return Done(f"deleted {found} {name}", delete_command(found, name, scoped))


def connectivity(namespaces: Iterable[str] | None = None) -> Connectivity:
    """Every port and protocol allowed per ordered pair of lab pods, as predicted."""
    from labkit.engine.matrix import compute_matrix
    from labkit.probe.table import ConnectivityTable

    lab = cluster()
    engine = lab.engine()
    endpoints = [engine.inventory.pod(key) for key in lab.peers(namespaces)]
    table = ConnectivityTable(compute_matrix(engine, endpoints))
    return Connectivity(table, _kubectl_commands.for_step("policies"))


def show(table: TruthTable) -> Picture:
    """One truth table as a heatmap."""
    from labkit.lab.heatmap import heatmap

    return Picture(heatmap(table), alt=f"probe {table.probe}")


def show_topology(
    probe: ProbeLike | None = None,
    *,
    namespaces: Iterable[str] | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    changed: Diff | None = None,
) -> Picture:
    """Draw the lab's namespaces and pods with their addresses; with ``probe``, arrows for
    the chosen ``pairs`` (``[("trusted/client", "my-segment/database")]``: ✓ solid when
    allowed, ✗ dashed when blocked), for the pairs a :func:`diff` found ``changed``, or
    without either for every allowed pair while they are few."""
    from labkit.cluster.topology import lab_address_plan
    from labkit.lab.topology import draw_topology

    lab = cluster()
    inventory = lab.inventory()
    shown = list(namespaces) if namespaces is not None else None
    if shown is None:
        from labkit.cluster.topology import LAB_NAMESPACES

        present = {p.namespace for p in inventory.pods}
        shown = [ns for ns in LAB_NAMESPACES if ns in present]
        shown += sorted(present - set(shown))
    plan = lab_address_plan()
    captions = {ns: f"{p.name} {p.cidr}" for ns in shown for p in plan.pools_for(ns)[:1]}
    table = None
    if changed is not None:
        spec = _probe(probe) if probe is not None else changed.after[0].probe
        pairs = [(c.src, c.dst) for c in changed if c.probe == spec]
        probe = spec
    if probe is not None:
        table = lab.probe_matrix([_probe(probe)], peers=lab.peers(namespaces))[0]
    from labkit.cluster.topology import LAB_PODS

    figure = draw_topology(
        inventory,
        table=table,
        pairs=pairs,
        namespaces=shown,
        captions=captions,
        pod_order=LAB_PODS,
    )
    return Picture(figure, _kubectl_commands.for_step("topology"), "lab topology")


@_dashboard.publishing(_dashboard.enrich_apply)
def apply(
    source: str
    | Path
    | Sequence[str | Path]
    | Mapping[str, object]
    | Sequence[Mapping[str, object]],
) -> Done:
    """Validate, then apply manifests (a path, YAML text or an object); nothing is applied
    when one object is invalid."""
    lab = cluster()
    report = _with_rbac_sandbox(lab).apply(source)
    shown = source if isinstance(source, (str, Path)) and "\n" not in str(source) else "FILE.yaml"
    commands = _kubectl_commands.for_step("apply", shown)
    where = _learner_namespace(lab, (*report.applied, *report.unchanged))
    if where is not None:  # a learner's objects in one namespace: its real name
        commands = replace(commands, lines=(_kubectl_commands.apply(shown, where),))
    return Done.applied(report, commands)


def _with_rbac_sandbox(lab: LabCluster) -> LabCluster:
    """A workshop learner's lab keeps the lesson's RBAC objects in the learner's private RBAC
    sandbox (the shared cluster refuses them, as ``labkit apply`` does); any other lab as is."""
    from labkit.cluster.workshop.learner import LearnerCluster

    return lab.with_rbac_sandbox() if isinstance(lab, LearnerCluster) else lab


def _learner_namespace(lab: LabCluster, titles: Sequence[str]) -> str | None:
    """For a workshop learner, the one namespace of the objects applied (its real name goes
    into the kubectl hint: ``-n ws1-alice-my-segment``), else ``None``."""
    from labkit.cluster.workshop.learner import LearnerCluster

    if not isinstance(lab, LearnerCluster):
        return None
    found = {t.split(" ", 1)[-1].split("/", 1)[0] for t in titles if "/" in t}
    return found.pop() if len(found) == 1 else None


def label(
    kind: str, name: str, labels: Mapping[str, str | None], namespace: str = "default"
) -> Done:
    """Set (``{"k": "v"}``) or remove (``{"k": None}``) labels on a Namespace or Pod, and say
    what the object carries afterwards: the API server keeps ``kubernetes.io/metadata.name``
    equal to a namespace's name whatever is asked (NamespaceDefaultLabelName), so a request
    to change it is reported as not kept rather than as done."""
    lab = cluster()
    lab.label(kind, name, labels, namespace)
    ns = None if kind == "Namespace" else namespace
    inventory = lab.inventory()
    if kind == "Namespace":
        now = inventory.namespace(name).label_map
    else:
        now = inventory.pod(f"{namespace}/{name}").label_map
    changes = ", ".join(f"{k}-" if v is None else f"{k}={v}" for k, v in labels.items())
    kept = [k for k, v in labels.items() if now.get(k) != v]
    text = f"{kind} {name}: {changes}"
    if kept:
        text += "; not kept: " + ", ".join(f"{k} stays {now.get(k)!r}" for k in kept)
        text += " (the API server sets kubernetes.io/metadata.name to the namespace's name)"
    return Done(text, _kubectl_commands.for_step("label", kind, name, labels, ns))


def explain(src: str, dst: str, probe: ProbeLike = "80/TCP") -> Explanation | ServiceExplanation:
    """Why ``src`` may or may not reach ``dst`` on ``probe``: the policies and rules of both
    sides, as the engine sees the lab now. ``dst`` may be a Service (``svc:NS/NAME`` or its
    ClusterIP): then each backend pod is explained on its target port, as ``labkit explain``
    does."""
    from labkit.engine.explain import explain as explain_endpoints
    from labkit.engine.explain import explain_by_name
    from labkit.engine.services import service_destination

    spec = _probe(probe)
    engine = cluster().engine()
    service = service_destination(engine.inventory, dst)
    if service is None:
        return explain_by_name(engine, src, dst, spec.port, spec.protocol)
    source = engine.endpoint(src)
    return ServiceExplanation(
        src,
        service,
        spec,
        tuple(
            BackendExplanation(
                pod.key, port, explain_endpoints(engine, source, pod, port, spec.protocol)
            )
            for pod, port in _backends(engine.inventory, service, spec)
        ),
    )


def _backends(inventory: Inventory, service: str, spec: ProbeSpec) -> list[tuple[Pod, int]]:
    """The ``(backend pod, target port)`` pairs of ``service`` for ``spec``."""
    from labkit.engine.services import resolve_service_target

    return resolve_service_target(inventory, service, spec.port, spec.protocol)


def audit(namespace: str | None = None, min_severity: str | None = None) -> Audit:
    """Findings on the lab's policies, most severe first, each with its fix (a policy that
    selects nothing, rules that are ignored, egress without DNS, shadowed policies, ...);
    only those about ``namespace``, and of ``min_severity`` (high, medium, low, info) or
    worse, when given."""
    from labkit.engine.audit import audit as engine_audit
    from labkit.engine.audit.scope import narrowed
    from labkit.errors import LabkitError

    try:
        findings = narrowed(engine_audit(cluster().inventory()), namespace, min_severity)
    except ValueError as exc:
        raise LabkitError(str(exc)) from None
    return Audit(tuple(findings), _kubectl_commands.for_step("audit"))


@_dashboard.publishing(_dashboard.enrich_check)
def check(
    src: str, dst: str, probe: ProbeLike = "80/TCP", *, expect: str | bool = "allowed"
) -> CheckResult:
    """Probe one pair and compare with what you expected (``"allowed"`` or ``"blocked"``).
    ``dst`` may be a Service (``svc:NS/NAME`` or its ClusterIP): see :func:`_probe_service`."""
    from labkit.engine.peer_names import destination_key
    from labkit.engine.services import service_destination

    spec = _probe(probe)
    lab = cluster()
    inventory = lab.inventory()
    dst = destination_key(dst)
    service = service_destination(inventory, dst)
    if service is None:
        result = lab.probe(src, dst, spec.port, spec.protocol)
        address = _address(lab, dst)
    else:
        result = _probe_service(lab, src, dst, service, spec)
        address = _service_address(inventory, service)
    command = _kubectl_commands.connect(src, address, spec.port, spec.protocol)
    checked = _quiz.compare(expect, result, command)
    from labkit.lab.progress_store import record_quietly

    record_quietly("check", f"check:{src}->{dst}:{spec}", checked.matches)
    return checked


def _probe_service(lab: LabCluster, src: str, dst: str, service: str, spec: ProbeSpec) -> Result:
    """A probe through a Service, as policy decides it (conformance rule 13): each backend
    pod is probed on its target port; the connection is allowed when every backend allows
    it, blocked when one does not (which backend kube-proxy picks is chance), and fails
    before any policy when there is no backend."""
    from labkit.probe.jobs import Job, Outcome
    from labkit.probe.jobs import Result as ProbeResult

    job = Job(src, dst, spec)
    backends = _backends(lab.inventory(), service, spec)
    if not backends:
        why = f"service {service} has no backend for {spec}: the connection fails before policy"
        return ProbeResult(job, Outcome.BLOCKED, why)
    results = [lab.probe(src, pod.key, port, spec.protocol) for pod, port in backends]
    outcomes = {r.outcome for r in results}
    each = "; ".join(f"{r.job.dst}:{r.job.probe.port} {r.outcome.value}" for r in results)
    if Outcome.FAILED in outcomes:
        return ProbeResult(job, Outcome.FAILED, f"a backend probe failed: {each}")
    if outcomes == {Outcome.ALLOWED}:
        return ProbeResult(job, Outcome.ALLOWED, f"every backend allows it: {each}")
    return ProbeResult(job, Outcome.BLOCKED, f"blocked to at least one backend: {each}")


def _service_address(inventory: Inventory, service: str) -> str:
    """What a learner connects to: the Service's ClusterIP, else its DNS name."""
    found = inventory.service(service)
    if found is not None and found.cluster_ips:
        return str(found.cluster_ips[0])
    namespace, _, name = service.partition("/")
    return f"{name}.{namespace}.svc"


@_dashboard.publishing(_dashboard.enrich_self_check)
def check_requirements(
    name: str | Path, submission: SubmissionLike = None, *, hint_level: int | None = None
) -> SelfCheck:
    """Self-check an exercise or a lesson (``notebooks/requirements/<lesson>.yaml``): its
    public requirements, as ``labkit check``, on a path (manifests, or a notebook whose
    ``answer`` cells hold YAML), YAML text or objects; with no submission, what you applied
    to the lab cluster. Each failing requirement shows its next hint; every requirement is
    recorded in your progress (:mod:`labkit.lab.exercise_check`, :mod:`labkit.lab.lesson_check`)."""
    from labkit.lab.exercise_check import check_requirements as self_check

    return self_check(name, submission, hint_level=hint_level)


def quiz(questions: str | Sequence[Question]) -> Any:
    """A quiz bank ``notebooks/quizzes/<bank>.yaml`` by name (single and multiple choice,
    predict-the-matrix, fix-the-YAML; each attempt recorded), or your own :class:`Question`
    list as buttons with instant feedback."""
    if isinstance(questions, str):
        from labkit.lab.learning import bank_quiz

        return bank_quiz(questions)
    return _quiz.quiz(questions)


def predict(
    probe: ProbeLike = "80/TCP",
    *,
    sources: Sequence[str] | None = None,
    destinations: Sequence[str] | None = None,
    key: str,
) -> Prediction:
    """A clickable matrix for your prediction (rows: from, columns: to; default the lab's
    pods); ``.value`` is your matrix, saved in your progress under ``key``. Then
    :func:`verify` it (:mod:`labkit.lab.prediction`)."""
    from labkit.lab.learning import make_prediction

    return make_prediction(cluster(), _probe(probe), sources, destinations, key)


@_dashboard.publishing(_dashboard.enrich_verify)
def verify(prediction: Prediction, *, before: object = None) -> Verification:
    """Probe the prediction's pairs now: prediction, observation and difference side by
    side, each wrong cell explained; recorded as the check ``prediction:<key>``. With
    ``before`` (``lab.probe_matrix()`` or ``lab.snapshot()`` taken before the change) a
    before/after panel marks the cells that changed."""
    from labkit.lab.learning import verify_prediction

    return verify_prediction(cluster(), prediction, before)


def progress() -> LearnerProgress:
    """Your checks, quiz answers and predictions so far (``labkit progress``)."""
    from labkit.lab.progress_store import load

    return load()


def kubectl(step: str, *args: Any, **kwargs: Any) -> Commands:
    """The kubectl commands of a facade step (``up``, ``topology``, ``apply``, ``probe``,
    ``policies``, ``explain``, ``audit``, ``label``)."""
    return _kubectl_commands.for_step(step, *args, **kwargs)


def scenario(name: str) -> Scenario:
    """A break-fix scenario (``notebooks/scenarios/<name>.yaml``): ``.start()`` breaks the
    lab, ``.check()`` grades the fix (one more hint per failed check), ``.stop()`` resets;
    the same as ``labkit scenario start|check|stop NAME``."""
    from labkit.lab.scenarios import scenario as load_scenario

    return load_scenario(name)


def flows(limit: int | None = None) -> Flows:
    """The flows seen so far (time, source, destination, port, verdict, and the policy that
    allowed or denied each): the simulated backend's probes, or Calico's flow logs (Goldmane)
    on a real cluster; ``.frame`` is a pandas DataFrame."""
    from labkit.cluster.flows import cluster_flows
    from labkit.lab.traffic import Flows

    lab = cluster()
    return Flows(tuple(cluster_flows(lab, limit)), f"{lab.name} cluster")


def snapshot(probes: ProbeLike | Sequence[ProbeLike] = ("80/TCP",)) -> Snapshot:
    """The observed matrices now, to compare later with :func:`changes`."""
    from labkit.lab.traffic import snapshot as take

    return take(probe_matrix(probes))


def changes(before: Snapshot, after: Snapshot) -> Diff:
    """What changed between two snapshots: heatmaps with changed cells marked, and a list."""
    from labkit.lab.traffic import changes as compare

    return compare(before, after)


def can_i(
    verb: str,
    resource: str,
    *,
    namespace: str | None = None,
    as_user: str,
    as_groups: Sequence[str] = (),
    subresource: str = "",
) -> CanI:
    """May ``as_user`` (in ``as_groups``) do ``verb`` on ``resource`` (``TYPE[.GROUP][/NAME]``
    as for kubectl; a subresource such as ``exec`` with ``subresource=``)? On the simulated
    cluster labkit's RBAC evaluation answers, naming the binding and rule that allowed it; on
    kind or an existing cluster ``kubectl auth can-i`` does. The kubectl command is beside."""
    from labkit.lab.can_i import ask

    return ask(
        verb,
        resource,
        namespace=namespace,
        as_user=as_user,
        as_groups=as_groups,
        subresource=subresource,
        cluster=cluster(),
    )


def workshop_dashboard(workshop_id: str, stuck_minutes: float = 10) -> WorkshopDashboard:
    """The instructor's dashboard of workshop ``workshop_id``: learners x checks (each
    learner's lab run through the lesson requirement files), who made no progress for
    ``stuck_minutes``, the most common wrong answers and the pods not ready. Run the cell
    again to refresh (:mod:`labkit.lab.dashboard`)."""
    return _dashboard.workshop_dashboard(workshop_id, stuck_minutes)
