"""Flow records: which probe ran when, its verdict, and the policy that allowed or denied it.

* Simulated backend: every probe the simulated runner answers is appended to
  ``<lab folder>/flows.jsonl`` (one JSON object a line), with the policy taken from the
  engine's explanation (:func:`labkit.engine.explain.explain`): the rules that allowed it on
  each side, or the isolating policies of the side that denied it. With the simulated CNI
  ``none`` the verdict is what the cluster did (allowed) and ``policy`` says that nothing
  enforced the policy the engine names.
* A workshop learner (:class:`labkit.cluster.workshop.learner.LearnerCluster`): on a
  simulated workshop the learner's own probes, in logical names, in
  ``<lab folder>/workshops/<id>/learners/<learner>/flows.jsonl`` (:func:`logical_recorder`);
  on a real cluster none: Calico's flow logs are cluster-wide (every learner's traffic), so
  they are not the learner's to read (:data:`LEARNER_LIVE_FLOWS`).
* kind + Calico: Calico's flow aggregator Goldmane, read through the Whisker backend's HTTP
  API (``GET /whisker-backend/flows``; its JSON is the ``FlowLog`` of Calico's
  ``whisker`` UI: ``start_time``, ``end_time``, ``action``, ``source_namespace``,
  ``source_name``, ``dest_namespace``, ``dest_name``, ``protocol``, ``dest_port``,
  ``reporter``, ``policies.enforced[]`` with ``kind``, ``namespace``, ``name``, ``tier``,
  ``action``). :func:`parse_whisker_flows` turns one response into records;
  :func:`read_whisker_flows` fetches it through the API server's service proxy, and when that
  fails through a port-forward to the whisker pod. Checked against the sources of Calico
  v3.32.1 and tigera/operator v1.42.3 (not against a live cluster: no Docker here): the
  operator renders Service ``calico-system/whisker`` on port 8081, selecting ``k8s-app:
  whisker`` (``pkg/render/whisker/component.go``; the operator's
  ``setStandardSelectorAndLabels`` puts that label on the Deployment's pods), whose nginx
  listens on 8081 and sends ``/whisker-backend/`` to the backend on port 3002
  (``pkg/render/whisker/nginx.conf``), where ``FlowsPath = "/flows"`` answers GET with
  ``{"total", "items"}`` (``whisker-backend/pkg/apis/v1/flows.go``).

  Two ways in, neither verified on a live cluster. The operator also renders the Calico
  policy ``calico-system.whisker`` (Ingress and Egress, no ingress rule), which most likely
  denies the API server's proxied connection to the pod (certainly from another node). So
  the service proxy first (``kubectl get --raw``, bounded by :data:`PROXY_TIMEOUT_S`); when
  that call fails (a timeout, 503 "no endpoints available" or "error trying to reach
  service", a refused connection, no kubectl), the same path on port 8081 of a Running pod
  labelled ``k8s-app=whisker``, through a port-forward of the official client
  (:meth:`labkit.cluster.kube_api.KubeApi.http_get_via_port_forward`; without the client
  the error says how to forward by hand). That connection enters the pod's network
  namespace from the kubelet, as ``kubectl port-forward -n calico-system service/whisker
  8081:8081`` in Calico's README does, so the policy does not see it. The log says which
  way answered. Once the port-forward has answered, later reads of the same cluster
  (kubeconfig and context) in this process try it first and keep the proxy as the
  fallback: a proxy that always times out costs its wait once, not on every read.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.engine.evaluator import Engine
from labkit.errors import ClusterError, UnknownPeer
from labkit.model.ports import Protocol
from labkit.probe.jobs import Outcome, Result

if TYPE_CHECKING:
    from labkit.cluster.backend import LabCluster

log = logging.getLogger(__name__)

FLOWS_FILE = "flows.jsonl"
MAX_KEPT = 5000
LINE_BYTES = 250
"""About one record's size: the file is trimmed to :data:`MAX_KEPT` records once it grows
past twice that many lines of this size."""

WHISKER_SERVICE = "calico-system/whisker:8081"
WHISKER_FLOWS_PATH = "whisker-backend/flows"
WHISKER_POD_SELECTOR = "k8s-app=whisker"
WHISKER_POD_PORT = 8081
"""Where nginx listens in the whisker pod (the Service's port 8081 maps to it)."""
PROXY_TIMEOUT_S = 20.0
"""Seconds the service proxy gets before the port-forward is tried (without a bound, a
proxied connection that the pod's policy drops holds the read for kubectl's own timeout)."""
PORT_FORWARD_TIMEOUT_S = 30.0
VIA_PROXY = "the API server's service proxy"
VIA_PORT_FORWARD = "a port-forward to the whisker pod"
_PORT_FORWARD_FIRST: set[tuple[str, str]] = set()
"""The clusters (kubeconfig, context) whose Whisker answered through the port-forward in this
process: their next read tries it first."""


@dataclass(frozen=True)
class FlowRecord:
    """One observed flow."""

    time: float
    source: str
    destination: str
    port: int
    protocol: str
    verdict: str
    policy: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def flows_path(home: Path) -> Path:
    return home / FLOWS_FILE


def policy_of(engine: Engine, result: Result) -> str:
    """The policy that allowed or denied ``result``'s probe, in words (``""`` when the probe
    did not run)."""
    from labkit.engine.explain import explain

    if result.outcome is Outcome.FAILED:
        return ""
    job = result.job
    try:
        found = explain(
            engine,
            engine.endpoint(job.src),
            engine.endpoint(job.dst),
            job.probe.port,
            job.probe.protocol,
        )
    except UnknownPeer:
        return ""
    if found.allowed is None:
        return "no policy applies"
    if found.allowed:
        refs = [r.ref for side in found.sides for r in side.allowed_by]
        return "allowed by " + ", ".join(refs) if refs else "no policy isolates either side"
    denying = [side for side in found.sides if not side.allowed]
    names = [f"{s.name}: {', '.join(s.isolating)}" for s in denying if s.isolating]
    text = "denied; isolated by " + "; ".join(names) if names else "denied"
    if result.outcome is Outcome.ALLOWED:
        return f"NOT ENFORCED: the policies say {text}, but nothing enforced them"
    return text


def records_of(
    engine: Engine, results: Sequence[Result], now: float | None = None
) -> list[FlowRecord]:
    stamp = time.time() if now is None else now
    return [
        FlowRecord(
            stamp,
            r.job.src,
            r.job.dst,
            r.job.probe.port,
            Protocol(r.job.probe.protocol).value,
            r.outcome.value,
            policy_of(engine, r),
        )
        for r in results
    ]


def append(home: Path, records: Iterable[FlowRecord]) -> None:
    """Add records to the lab folder's flow file (dropping the oldest past :data:`MAX_KEPT`)."""
    path = flows_path(home)
    lines = [json.dumps(r.as_dict(), sort_keys=True) for r in records]
    if not lines:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        if path.stat().st_size > 2 * MAX_KEPT * LINE_BYTES:
            kept = path.read_text(encoding="utf-8").splitlines()
            path.write_text("\n".join(kept[-MAX_KEPT:]) + "\n", encoding="utf-8")
    except OSError as exc:
        log.warning("could not record flows in %s: %s", path, exc)


def recorder(home: Path) -> Callable[[Engine, Sequence[Result]], None]:
    """What the simulated runner calls after each batch of probes."""

    def record(engine: Engine, results: Sequence[Result]) -> None:
        append(home, records_of(engine, results))

    return record


def logical_recorder(
    folder: Path, peer: Callable[[str], str], text: Callable[[str], str]
) -> Callable[[Engine, Sequence[Result]], None]:
    """What a workshop learner's simulated probes record: the records of the shared
    cluster's engine (real names), with source, destination and policy put back in the
    learner's logical names (``peer``: a real peer to its logical name, ``text``: real names
    in a sentence to logical ones), appended to ``<learner folder>/flows.jsonl``."""

    def record(engine: Engine, results: Sequence[Result]) -> None:
        found = records_of(engine, results)
        append(
            folder,
            (
                replace(
                    r, source=peer(r.source), destination=peer(r.destination), policy=text(r.policy)
                )
                for r in found
            ),
        )

    return record


def read(home: Path, limit: int | None = None) -> list[FlowRecord]:
    """The recorded flows, oldest first (the last ``limit`` when given)."""
    path = flows_path(home)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ClusterError(f"cannot read the flow records {path}: {exc}") from None
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(FlowRecord(**json.loads(line)))
        except (ValueError, TypeError):
            log.warning("%s line %d is damaged; skipped", path, number)
    return records[-limit:] if limit else records


# -- Calico Goldmane, through Whisker -----------------------------------------------------------
def _epoch(text: object) -> float:
    from datetime import datetime

    if isinstance(text, (int, float)):
        return float(text)
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _policies(flow: Mapping[str, Any]) -> str:
    enforced = (flow.get("policies") or {}).get("enforced") or []
    parts = []
    for p in enforced:
        where = f"{p.get('namespace')}/" if p.get("namespace") else ""
        parts.append(f"{p.get('kind', 'policy')} {where}{p.get('name', '?')}: {p.get('action')}")
    return "; ".join(parts)


def parse_whisker_flows(response: Mapping[str, Any] | Sequence[Any]) -> list[FlowRecord]:
    """Records from one Whisker ``/flows`` response (``{"items": [...]}`` or a list)."""
    items = response.get("items") if isinstance(response, Mapping) else response
    if not isinstance(items, list):
        raise ClusterError("the Whisker flow API answered without an 'items' list")
    records = []
    for flow in items:
        if not isinstance(flow, Mapping):
            continue
        action = str(flow.get("action", "")).lower()
        records.append(
            FlowRecord(
                _epoch(flow.get("end_time") or flow.get("start_time")),
                f"{flow.get('source_namespace', '')}/{flow.get('source_name', '')}",
                f"{flow.get('dest_namespace', '')}/{flow.get('dest_name', '')}",
                int(flow.get("dest_port") or 0),
                str(flow.get("protocol", "")).upper(),
                {"allow": "allowed", "deny": "blocked"}.get(action, action),
                _policies(flow),
            )
        )
    return sorted(records, key=lambda r: r.time)


def read_whisker_flows(
    get_raw: Callable[[str], str],
    limit: int | None = None,
    *,
    port_forward: Callable[[str], str] | None = None,
    port_forward_first: bool = False,
) -> list[FlowRecord]:
    """Flows from Goldmane via the Whisker backend: through ``get_raw`` (``kubectl get --raw
    PATH``: the API server's service proxy to :data:`WHISKER_SERVICE`), and when that raises
    :class:`ClusterError`, through ``port_forward`` (a GET of the pod's own path,
    ``/whisker-backend/flows``, on :data:`WHISKER_POD_PORT`); with ``port_forward_first``
    the other way round. The log says which way answered; when neither does, the error
    gives both reasons."""
    namespace, _, service = WHISKER_SERVICE.partition("/")
    proxy_path = f"/api/v1/namespaces/{namespace}/services/{service}/proxy/{WHISKER_FLOWS_PATH}"
    pod_path = f"/{WHISKER_FLOWS_PATH}"
    ways: list[tuple[str, str, Callable[[], str]]] = [
        (VIA_PROXY, proxy_path, lambda: get_raw(proxy_path))
    ]
    if port_forward is not None:
        forward = port_forward
        via_pod = (VIA_PORT_FORWARD, pod_path, lambda: forward(pod_path))
        ways = [via_pod, *ways] if port_forward_first else [*ways, via_pod]
    way, path, answer = _first_answer(ways)
    try:
        response = json.loads(answer)
    except ValueError as exc:
        raise ClusterError(
            f"the Whisker flow API ({path}, through {way}) did not answer JSON: {exc}"
        ) from None
    records = parse_whisker_flows(response)
    return records[-limit:] if limit else records


def _first_answer(ways: Sequence[tuple[str, str, Callable[[], str]]]) -> tuple[str, str, str]:
    """The way, path and answer of the first of ``ways`` that answers; with a single way its
    own error, else one error with every way's reason and their fixes."""
    failed: list[tuple[str, ClusterError]] = []
    for way, path, fetch in ways:
        try:
            answer = fetch()
        except ClusterError as exc:
            if len(ways) == 1:
                raise
            reason, _ = _reason_and_fixes(exc)
            log.warning("Calico's flow logs did not answer through %s: %s", way, reason)
            failed.append((way, exc))
            continue
        log.info("Calico's flow logs (%s) read through %s", path, way)
        return way, path, answer
    lines = ["Calico's flow logs (Goldmane, through Whisker) did not answer:"]
    fixes: list[str] = []
    for way, error in failed:
        reason, found = _reason_and_fixes(error)
        lines.append(f"    through {way}: {reason}")
        fixes += [f for f in found if f not in fixes]
    lines += [f"    fix: {f}" for f in fixes or [WHISKER_HINT]]
    raise ClusterError("\n".join(lines))


def _reason_and_fixes(exc: ClusterError) -> tuple[str, list[str]]:
    """An error's message as one line, and its ``fix:`` lines apart."""
    reason: list[str] = []
    fixes: list[str] = []
    for line in str(exc).splitlines():
        text = line.strip()
        if text.startswith("fix:"):
            fixes.append(text.removeprefix("fix:").strip())
        elif text:
            reason.append(text)
    return " ".join(reason) or type(exc).__name__, fixes


WHISKER_HINT = (
    "Calico's flow logs come from Goldmane through Whisker (Calico 3.30+, installed by the "
    "tigera operator with the Goldmane and Whisker resources); on this cluster they did not "
    "answer. `kubectl get pods -n calico-system` shows whether goldmane and whisker run"
)
NO_CLIENT_PORT_FORWARD = (
    "a port-forward to the whisker pod needs the official Kubernetes client, which is not "
    "installed\n    fix: pip install 'labkit[lab]'; or forward by hand: `kubectl "
    "port-forward -n calico-system service/whisker 8081:8081`, then open "
    "http://localhost:8081/whisker-backend/flows (Whisker's UI is http://localhost:8081)"
)


def whisker_port_forward(reads: object) -> Callable[[str], str]:
    """A GET of a path of the whisker pod through a port-forward of ``reads`` (a
    :class:`labkit.cluster.kube_api.KubeApi`); without the official client, a callable that
    raises :data:`NO_CLIENT_PORT_FORWARD`."""
    get = getattr(reads, "http_get_via_port_forward", None)
    namespace = WHISKER_SERVICE.partition("/")[0]

    def forward(path: str) -> str:
        if get is None:
            raise ClusterError(NO_CLIENT_PORT_FORWARD)
        answer = get(
            namespace,
            WHISKER_POD_SELECTOR,
            WHISKER_POD_PORT,
            path,
            timeout=PORT_FORWARD_TIMEOUT_S,
            hint=WHISKER_HINT,
        )
        return str(answer)

    return forward


def cluster_flows(cluster: LabCluster, limit: int | None = None) -> list[FlowRecord]:
    """The flows of the lab cluster: the simulated backend's probe records, or Calico's flow
    logs on a real cluster (Goldmane, through Whisker: the service proxy, else a
    port-forward to the whisker pod; see the module's docstring)."""
    from labkit.cluster.kube import KubeCluster
    from labkit.cluster.simulated import SimulatedCluster
    from labkit.cluster.workshop.learner import LearnerCluster

    if isinstance(cluster, SimulatedCluster):
        return read(cluster.home, limit)
    if isinstance(cluster, LearnerCluster):
        return learner_flows(cluster, limit)
    if isinstance(cluster, KubeCluster):
        kubectl = cluster.kubectl
        key = (str(kubectl.kubeconfig or ""), kubectl.context or "")
        via_pod = whisker_port_forward(cluster.reads)

        def get_raw(path: str) -> str:
            done = kubectl.run(["get", "--raw", path], timeout=PROXY_TIMEOUT_S, hint=WHISKER_HINT)
            _PORT_FORWARD_FIRST.discard(key)
            return done.stdout

        def port_forward(path: str) -> str:
            answer = via_pod(path)
            _PORT_FORWARD_FIRST.add(key)
            return answer

        return read_whisker_flows(
            get_raw,
            limit,
            port_forward=port_forward,
            port_forward_first=key in _PORT_FORWARD_FIRST,
        )
    raise ClusterError(f"the {cluster.name} cluster keeps no flow records")


LEARNER_LIVE_FLOWS = (
    "Calico's flow logs (Goldmane, read through Whisker) are cluster-wide: they show every "
    "learner's traffic, so a workshop learner cannot read them (the learner's Role grants no "
    "access to calico-system)\n    fix: probe with lab.check / lab.probe_matrix and ask "
    "lab.explain why; the instructor can show Whisker (`kubectl port-forward -n "
    "calico-system service/whisker 8081:8081`)"
)


def learner_flows(cluster: LabCluster, limit: int | None = None) -> list[FlowRecord]:
    """A workshop learner's flows: on a simulated workshop the learner's own probes, recorded
    in logical names in the learner's folder (:func:`logical_recorder`); on a real cluster
    none (see :data:`LEARNER_LIVE_FLOWS`)."""
    host = getattr(cluster, "host", None)
    if getattr(host, "live", True):
        raise ClusterError(LEARNER_LIVE_FLOWS)
    folder = getattr(cluster, "folder", None)
    assert isinstance(folder, Path)
    return read(folder, limit)
