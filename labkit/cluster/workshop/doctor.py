"""The checks of ``labkit workshop doctor`` (and of ``workshop init``, which refuses a cluster
that fails the first two):

* **canary**: the one enforcement canary (:func:`labkit.cluster.canary.run_canary`) in the
  workshop's own namespace ``ID-canary``, its objects labelled with the workshop's labels,
  the namespace kept (``keep_namespace``) and only its pods deleted afterwards, by label and
  name (:class:`ScopedKube`, :class:`ScopedSimulated`);
* **walls**: every learner (and the doctor's two pseudo-learners) has its wall object, found
  by the labels ``labkit.dev/wall=true`` and ``labkit.dev/workshop=ID``;
* **wall traffic**: between the pseudo-learners :data:`~labkit.model.workshop.DOCTOR_LEARNERS`
  (namespace ``ID-doctor-a-wall`` and ``ID-doctor-b-wall``, a server and a client each, no
  NetworkPolicy): doctor-a -> doctor-a is allowed (the wall passes a learner's own traffic to
  its own policies, and there are none), doctor-b -> doctor-a and doctor-a -> doctor-b are
  blocked (rule 2 of the wall: another learner's namespaces are denied). On a real cluster a
  block is a timeout (Calico drops denied packets), as for the canary; programming is
  asynchronous, so each probe repeats until its deadline;
* **can-i**: what the first learner's ServiceAccount
  (``system:serviceaccount:HUB:labkit-NAME``) may and may not do: on the simulated cluster by
  labkit's RBAC evaluation (:mod:`labkit.model.rbac`, as ``labkit auth can-i``), on a real
  one by ``kubectl auth can-i --as`` (a SubjectAccessReview while impersonating);
* **pool room**: the IP pools hold every learner's lab pods
  (:func:`labkit.model.workshop_objects.pool_room`);
* **DNS**: CoreDNS pods (``k8s-app=kube-dns``) ready in kube-system (the DNS lessons need it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from labkit.cluster.backend import ApplyReport, ClusterStatus, LabCluster
from labkit.cluster.doctor import Check
from labkit.cluster.kube import KubeCluster
from labkit.cluster.live_inventory import pod_not_ready
from labkit.cluster.progress import LogProgress, Progress
from labkit.cluster.simulated import SimulatedCluster, SimulatedRunner
from labkit.cluster.waits import VirtualClock, poll_until
from labkit.cluster.workshop.host import (
    KubeHost,
    SimulatedHost,
    WorkshopHost,
    delete_one_selected,
)
from labkit.errors import ClusterError, LabkitError
from labkit.model.loader import RawObject
from labkit.model.workshop import (
    DOCTOR_LEARNERS,
    WALL_LABEL,
    WORKSHOP_CONFIGMAP,
    Workshop,
)
from labkit.probe.jobs import Job, Outcome, ProbeSpec, Result
from labkit.probe.runner import Runner

log = logging.getLogger(__name__)

DOCTOR_LOGICAL = "wall"
"""The one logical namespace of the doctor's pseudo-learners (``ID-doctor-a-wall``)."""
WALL_PORT = 8080
SERVER, CLIENT = "server", "client"
DNS_SELECTOR = "k8s-app=kube-dns"
POD_REQUESTS = {"cpu": "10m", "memory": "16Mi"}
INIT_FIX = "run `labkit workshop init` for this workshop again (it re-applies what is missing)"


WorkshopCheck = Check
"""One finding of ``labkit workshop doctor``: the same record as ``labkit doctor``'s."""


@dataclass(frozen=True)
class DoctorReport:
    workshop: str
    checks: tuple[WorkshopCheck, ...]

    @property
    def failed(self) -> list[WorkshopCheck]:
        return [c for c in self.checks if not c.ok and c.required]

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "workshop": self.workshop,
            "ok": self.ok,
            "checks": [c.as_dict() for c in self.checks],
        }


# -- the doctor's pseudo-learners -----------------------------------------------------------------
def doctor_workshop(workshop: Workshop) -> Workshop:
    """The workshop as the doctor's pseudo-learners see it: one logical namespace, ``wall``."""
    return replace(workshop, learners=(), logical_namespaces=(DOCTOR_LOGICAL,))


def doctor_namespaces(workshop: Workshop) -> list[str]:
    names = doctor_workshop(workshop)
    return [names.space(learner).real(DOCTOR_LOGICAL) for learner in DOCTOR_LEARNERS]


def _pod(
    name: str, namespace: str, labels: Mapping[str, str], image: str, args: list[str]
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": image,
        "args": args,
        "resources": {"requests": dict(POD_REQUESTS), "limits": {"cpu": "100m", "memory": "64Mi"}},
    }
    if name == SERVER:
        container["ports"] = [{"name": "http", "containerPort": WALL_PORT, "protocol": "TCP"}]
        container["readinessProbe"] = {
            "httpGet": {"path": "/", "port": WALL_PORT},
            "periodSeconds": 1,
        }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**labels, "app": f"doctor-{name}"},
        },
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]},
    }


def doctor_objects(workshop: Workshop, flavour: Any, agnhost_image: str) -> list[dict[str, Any]]:
    """The pseudo-learners' Namespaces (labelled as a learner's), a server (``agnhost
    netexec``) and a client (``agnhost pause``) in each, and their walls."""
    from labkit.model.wall import render_wall

    names = doctor_workshop(workshop)
    objects: list[dict[str, Any]] = []
    for learner in DOCTOR_LEARNERS:
        space = names.space(learner)
        namespace = space.real(DOCTOR_LOGICAL)
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "labels": space.namespace_labels(DOCTOR_LOGICAL)},
            }
        )
        server_args = ["netexec", f"--http-port={WALL_PORT}", "--udp-port=-1"]
        objects.append(_pod(SERVER, namespace, space.labels(), agnhost_image, server_args))
        objects.append(_pod(CLIENT, namespace, space.labels(), agnhost_image, ["pause"]))
        objects.append(render_wall(workshop.id, learner, flavour))
    return objects


# -- the canary, scoped to the workshop ---------------------------------------------------------------
class ScopedSimulated(SimulatedCluster):
    """The simulated shared cluster as the canary drives it: deletes only what carries
    ``selector`` (and the name asked for)."""

    def __init__(self, host: SimulatedHost, selector: str) -> None:
        super().__init__(host.state_path.parent, store=host.cluster.store)
        self.host = host
        self.selector = selector

    def _delete(self, kind: str, namespace: str, name: str) -> bool:
        return delete_one_selected(self.host, self.selector, kind, namespace, name)

    def runner(self) -> Runner:
        return SimulatedRunner(self.inventory())


class ScopedKube(KubeCluster):
    """A real shared cluster as the canary drives it: writes through the workshop host
    (all or nothing), deletes by the workshop's label selector and the object's name
    (``kubectl delete KIND -l SEL --field-selector metadata.name=NAME``), never by name
    alone."""

    def __init__(self, host: KubeHost, selector: str) -> None:
        base = host.cluster
        super().__init__(
            base.kubectl, probe_timeout_s=base.probe_timeout_s, reads=base.reads, writes=base.writes
        )
        self.name = base.name
        self.host = host
        self.selector = selector

    def _apply_objects(self, objects: Sequence[RawObject]) -> ApplyReport:
        return self.host.apply(objects)

    def _delete(self, kind: str, namespace: str, name: str) -> bool:
        return delete_one_selected(self.host, self.selector, kind, namespace, name)

    def status(self) -> ClusterStatus:
        return ClusterStatus(self.name, False, details=(("scope", self.selector),))


def scoped_cluster(host: WorkshopHost, workshop: Workshop) -> LabCluster:
    if isinstance(host, SimulatedHost):
        return ScopedSimulated(host, workshop.selector())
    if isinstance(host, KubeHost):
        return ScopedKube(host, workshop.selector())
    raise ClusterError(f"the workshop doctor does not know the host {type(host).__name__}")


def check_canary(
    host: WorkshopHost,
    workshop: Workshop,
    progress: Progress | None = None,
    *,
    settings: Any = None,
    agnhost_image: str | None = None,
) -> WorkshopCheck:
    """The enforcement canary in ``ID-canary`` (see the module docstring)."""
    from labkit.cluster.canary import CanarySettings, run_canary
    from labkit.cluster.topology import AGNHOST_IMAGE

    cluster = scoped_cluster(host, workshop)
    kwargs: dict[str, Any] = {}
    if isinstance(host, SimulatedHost):
        clock = VirtualClock()  # the engine answers at once: nothing to wait for
        kwargs = {"clock": clock, "sleep": clock.sleep}
    name = f"canary in {workshop.canary_namespace}"
    try:
        result = run_canary(
            cluster,
            agnhost_image or AGNHOST_IMAGE,
            progress,
            settings=settings or CanarySettings(),
            namespace=workshop.canary_namespace,
            labels=workshop.labels(),
            keep_namespace=True,
            **kwargs,
        )
    except LabkitError as exc:
        text = str(exc)
        detail, _, fix = text.partition("\n    fix: ")
        return WorkshopCheck(name, False, detail.strip(), fix.strip() or INIT_FIX)
    if not result.enforced:
        return WorkshopCheck(
            name,
            False,
            result.line(),
            "run the workshop on a cluster whose CNI enforces NetworkPolicy (Calico: labkit's "
            "kind cluster has it); labkit will not run a workshop without enforcement",
        )
    return WorkshopCheck(name, True, result.line())


# -- walls ------------------------------------------------------------------------------------------
def wall_kinds(flavour: Any) -> tuple[str, ...]:
    """The kind a host deletes and lists walls of ``flavour`` by (``Kind.group``)."""
    group = str(flavour.value).rpartition("/")[0]
    return (f"{flavour.kind}.{group}",)


def _kind_arg(host: WorkshopHost, kind: str) -> str:
    """The simulated host names kinds plainly; a real one by ``Kind.group``."""
    return kind.partition(".")[0] if isinstance(host, SimulatedHost) else kind


def check_walls_present(host: WorkshopHost, workshop: Workshop, flavour: Any) -> WorkshopCheck:
    """Every learner and pseudo-learner has its wall (found by labels, named as rendered)."""
    from labkit.model.wall import wall_name

    kinds = tuple(_kind_arg(host, k) for k in wall_kinds(flavour))
    found = {key[2] for key in host.selected(f"{WALL_LABEL}=true,{workshop.selector()}", kinds)}
    learners = [x.name for x in workshop.learners] + list(DOCTOR_LEARNERS)
    missing = [x for x in learners if wall_name(workshop.id, x) not in found]
    if missing:
        shown = ", ".join(missing[:8]) + (
            f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        )
        return WorkshopCheck(
            "walls",
            False,
            f"{len(missing)} of {len(learners)} walls are missing ({flavour.kind}): {shown}; "
            "without its wall a learner's namespaces are open to the other learners",
            INIT_FIX,
        )
    return WorkshopCheck(
        "walls",
        True,
        f"{len(learners)} {flavour.kind} walls in place ({len(workshop.learners)} "
        f"learners, {len(DOCTOR_LEARNERS)} doctor)",
    )


def _prober(host: WorkshopHost) -> Callable[[list[Job]], list[Result]]:
    from labkit.cluster.live_probe import LiveRunner

    if isinstance(host, SimulatedHost):
        return lambda jobs: host.runner().run(jobs)  # a fresh view of the store each time
    runner = host.runner()
    if isinstance(runner, LiveRunner):
        return runner.run_once
    return runner.run


def _wait_doctor_pods(host: WorkshopHost, workshop: Workshop, progress: Progress) -> None:
    if not isinstance(host, KubeHost):
        return
    from labkit.cluster.kind import readiness

    namespaces = doctor_namespaces(workshop)
    readiness.wait(
        "workshop doctor pods",
        readiness.pods_wait(host.cluster.reads, namespaces, 2 * len(namespaces)),
        timeout=180,
        progress=progress,
        fix="`kubectl get pods -n " + " -n ".join(namespaces[:1]) + " -o wide` (image pull? "
        "CNI not ready? the learners' quota?)",
    )


def check_wall_traffic(
    host: WorkshopHost,
    workshop: Workshop,
    progress: Progress | None = None,
    *,
    timeout: float = 30.0,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> list[WorkshopCheck]:
    """doctor-a -> doctor-a allowed, doctor-b -> doctor-a and doctor-a -> doctor-b blocked."""
    prog = progress or LogProgress()
    a, b = doctor_namespaces(workshop)
    try:
        _wait_doctor_pods(host, workshop, prog)
    except LabkitError as exc:
        detail, _, fix = str(exc).partition("\n    fix: ")
        return [WorkshopCheck("wall check pods", False, detail.strip(), fix.strip() or INIT_FIX)]
    if isinstance(host, SimulatedHost) and clock is None:
        virtual = VirtualClock()
        clock, sleep = virtual, virtual.sleep
    probe = _prober(host)
    cases = (
        (
            a,
            a,
            Outcome.ALLOWED,
            "allowed: the wall passes a learner's own traffic to its own policies",
        ),
        (b, a, Outcome.BLOCKED, "blocked by the wall"),
        (a, b, Outcome.BLOCKED, "blocked by the wall"),
    )
    out: list[WorkshopCheck] = []
    for src, dst, expected, meaning in cases:
        job = Job(f"{src}/{CLIENT}", f"{dst}/{SERVER}", ProbeSpec(WALL_PORT))
        last: list[Result] = []

        def attempt(
            job: Job = job, expected: Outcome = expected, last: list[Result] = last
        ) -> tuple[bool, str]:
            result = probe([job])[0]
            last[:] = [result]
            return result.outcome is expected, result.detail or result.outcome.value

        waited = poll_until(
            f"wall {src} -> {dst}",
            attempt,
            timeout=timeout,
            progress=prog,
            clock=clock or time.monotonic,
            sleep=sleep or time.sleep,
        )
        name = f"wall {src} -> {dst}:{WALL_PORT}"
        if waited.ok:
            out.append(WorkshopCheck(name, True, meaning))
            continue
        got = last[0].outcome.value if last else "not probed"
        if expected is Outcome.BLOCKED:
            fix = (
                "the wall does not block traffic between learners: check that the walls exist "
                "(`labkit workshop doctor` lists them) and that the CNI enforces them (Calico "
                "tiers need Calico >= 3.29; AdminNetworkPolicy needs a CNI that supports it)"
            )
        else:
            fix = (
                "traffic within one learner's namespaces must reach the learner's own "
                "policies; check the wall's first rule (Pass own namespaces) and the pods"
            )
        out.append(
            WorkshopCheck(
                name,
                False,
                f"expected {expected.value}, got {got} after {waited.seconds:.0f} s "
                f"({waited.message})",
                fix,
            )
        )
    return out


# -- can-i ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RightCase:
    verb: str
    resource: str
    namespace: str | None
    expected: bool
    subresource: str = ""


def right_cases(workshop: Workshop, learner: str) -> list[RightCase]:
    """What learner ``learner`` needs (expected yes) and must not have (expected no)."""
    space = workshop.space(learner)
    home = space.home
    others = [x.name for x in workshop.learners if x.name != learner]
    if others:
        other = workshop.space(others[0]).home
    else:
        other = doctor_namespaces(workshop)[0]
    return [
        RightCase("create", "networkpolicies", home, True),
        RightCase("delete", "networkpolicies", home, True),
        RightCase("list", "pods", home, True),
        RightCase("create", "pods", home, True),
        RightCase("create", "pods", home, True, "exec"),
        RightCase("create", "services", home, True),
        RightCase("get", "pods", "kube-system", True),
        RightCase("list", "services", "kube-system", True),
        RightCase("patch", f"namespaces/{home}", None, True),
        RightCase("get", f"configmaps/{WORKSHOP_CONFIGMAP}", workshop.hub_namespace, True),
        RightCase("list", "namespaces", None, False),
        RightCase("create", "networkpolicies", other, False),
        RightCase("get", "pods", other, False),
        RightCase("patch", f"namespaces/{other}", None, False),
        RightCase("list", "secrets", home, False),
        RightCase("delete", "pods", "kube-system", False),
        RightCase("create", "clusterroles.rbac.authorization.k8s.io", None, False),
    ]


def learner_user(workshop: Workshop, learner: str) -> str:
    """``system:serviceaccount:HUB:labkit-NAME``: who the API server says the learner is."""
    return f"system:serviceaccount:{workshop.hub_namespace}:{workshop.service_account(learner)}"


def _answers(host: WorkshopHost, questions: Sequence[Any]) -> list[bool]:
    from labkit.cluster.auth import kubectl_can_i
    from labkit.model.rbac import Policy, Requester

    if isinstance(host, SimulatedHost):
        policy = Policy.from_objects(host.raw_objects())
        return [
            policy.authorize(Requester.impersonated(q.as_user, q.as_groups), q.request()).allowed
            for q in questions
        ]
    if isinstance(host, KubeHost):
        return [kubectl_can_i(host.cluster.kubectl, q)[0] for q in questions]
    raise ClusterError(f"can-i does not know the host {type(host).__name__}")


def check_can_i(host: WorkshopHost, workshop: Workshop) -> list[WorkshopCheck]:
    """The first learner's rights, as ``kubectl auth can-i --as`` answers them."""
    from labkit.cluster.auth import Question

    if not workshop.learners:
        return [WorkshopCheck("can-i", False, "the workshop has no learners", INIT_FIX, False)]
    learner = workshop.learners[0].name
    user = learner_user(workshop, learner)
    cases = right_cases(workshop, learner)
    questions = [Question(c.verb, c.resource, c.namespace, user, (), c.subresource) for c in cases]
    if isinstance(host, KubeHost):
        from labkit.cluster import commands

        if commands.which("kubectl") is None:
            return [
                WorkshopCheck(
                    "can-i",
                    False,
                    "not checked: `kubectl auth can-i --as` needs kubectl",
                    "install kubectl (`labkit doctor` says how) and run the doctor again",
                    required=False,
                )
            ]
    try:
        answers = _answers(host, questions)
    except LabkitError as exc:
        detail, _, fix = str(exc).partition("\n    fix: ")
        return [WorkshopCheck("can-i", False, detail.strip(), fix.strip() or INIT_FIX)]
    out: list[WorkshopCheck] = []
    for want, title in ((True, "what a learner needs"), (False, "what a learner must not do")):
        chosen = [
            (c, q, a)
            for c, q, a in zip(cases, questions, answers, strict=True)
            if c.expected is want
        ]
        wrong = [(q, a) for c, q, a in chosen if a is not want]
        name = f"can-i {learner}: {title}"
        if not wrong:
            out.append(
                WorkshopCheck(name, True, f"{len(chosen)}/{len(chosen)} answers as expected")
            )
            continue
        shown = "; ".join(f"{q.kubectl_command} -> {'yes' if a else 'no'}" for q, a in wrong[:4])
        fix = (
            INIT_FIX
            if want
            else (
                "a learner has more rights than the workshop gives: look for other bindings of "
                f"{user} or its groups (`kubectl get rolebindings,clusterrolebindings -A -o wide`)"
            )
        )
        out.append(
            WorkshopCheck(
                name, False, f"{len(wrong)} of {len(chosen)} answers are wrong: {shown}", fix
            )
        )
    return out


# -- pool room and DNS ------------------------------------------------------------------------------
def cluster_pools(host: WorkshopHost) -> list[Any] | None:
    """The IP pools to check against: the lab's (simulated), the cluster's Calico pools when
    it has the lab's, else ``None`` (pods take the cluster's addresses: no pool to fill)."""
    if isinstance(host, SimulatedHost):
        from labkit.model.ippools import lab_pools

        return list(lab_pools())
    cluster = getattr(host, "cluster", None)
    if cluster is None or not getattr(cluster, "uses_pools", False):
        return None
    from labkit.model.ippools import parse_ippool

    return [
        parse_ippool(RawObject(item, "<cluster>")) for item in cluster.reads.list("ippools").items
    ]


def check_pool_room(
    workshop: Workshop, pools: Sequence[Any] | None, *, applies: bool = True
) -> WorkshopCheck:
    from labkit.cluster.topology import topology_manifests
    from labkit.model.workshop_objects import pool_room

    if not applies:
        return WorkshopCheck(
            "pool room",
            True,
            "the cluster has no lab IP pools: pods take the cluster's own addresses (the "
            "ipBlock lessons then show other addresses)",
        )
    problems = pool_room(workshop, topology_manifests(), pools)
    if problems:
        detail, _, fix = problems[0].partition("\n    fix: ")
        more = f" (and {len(problems) - 1} more pool problems)" if len(problems) > 1 else ""
        return WorkshopCheck("pool room", False, detail + more, fix)
    return WorkshopCheck(
        "pool room", True, f"the IP pools hold the lab pods of {len(workshop.learners)} learners"
    )


def check_dns(host: WorkshopHost) -> WorkshopCheck:
    fix = (
        "`kubectl get pods -n kube-system -l k8s-app=kube-dns` shows why; the DNS lessons "
        "and every service name need CoreDNS"
    )
    if isinstance(host, SimulatedHost):
        pods = [
            p
            for p in host.cluster.inventory().pods
            if p.namespace == "kube-system" and p.label_map.get("k8s-app") == "kube-dns"
        ]
        ready, total = len(pods), len(pods)
    elif isinstance(host, KubeHost):
        try:
            items = host.cluster.reads.list(
                "pods", namespace="kube-system", label_selector=DNS_SELECTOR
            ).items
        except LabkitError as exc:
            return WorkshopCheck("DNS", False, str(exc).splitlines()[0], fix)
        ready, total = sum(1 for i in items if pod_not_ready(i) is None), len(items)
    else:
        raise ClusterError(f"the DNS check does not know the host {type(host).__name__}")
    if not ready:
        found = f"{ready}/{total} CoreDNS pods ready" if total else "no CoreDNS pods"
        return WorkshopCheck("DNS", False, f"{found} in kube-system ({DNS_SELECTOR})", fix)
    return WorkshopCheck("DNS", True, f"{ready}/{total} CoreDNS pods ready in kube-system")


# -- all of them ------------------------------------------------------------------------------------
def safety_checks(
    host: WorkshopHost,
    workshop: Workshop,
    flavour: Any,
    progress: Progress | None = None,
    *,
    canary_settings: Any = None,
    wall_timeout: float = 30.0,
) -> list[WorkshopCheck]:
    """What ``workshop init`` requires before any learner gets a lab: the canary, the
    doctor's walls in place, and the wall's three probes."""
    doctor_only = replace(workshop, learners=())
    return _enforcement_checks(
        host, workshop, doctor_only, flavour, progress, canary_settings, wall_timeout
    )


def _enforcement_checks(
    host: WorkshopHost,
    workshop: Workshop,
    walls_of: Workshop,
    flavour: Any,
    progress: Progress | None,
    canary_settings: Any,
    wall_timeout: float,
) -> list[WorkshopCheck]:
    """The canary, the walls of ``walls_of``'s learners (and the doctor's) in place, and the
    wall's three probes: what init and doctor both check first."""
    return [
        check_canary(host, workshop, progress, settings=canary_settings),
        check_walls_present(host, walls_of, flavour),
        *check_wall_traffic(host, workshop, progress, timeout=wall_timeout),
    ]


def run_checks(
    host: WorkshopHost,
    workshop: Workshop,
    flavour: Any,
    progress: Progress | None = None,
    *,
    canary_settings: Any = None,
    wall_timeout: float = 30.0,
) -> DoctorReport:
    """Every check of ``labkit workshop doctor``, in the order to fix them."""
    checks = _enforcement_checks(
        host, workshop, workshop, flavour, progress, canary_settings, wall_timeout
    )
    checks += check_can_i(host, workshop)
    pools = cluster_pools(host)
    checks.append(check_pool_room(workshop, pools, applies=pools is not None))
    checks.append(check_dns(host))
    return DoctorReport(workshop.id, tuple(checks))
