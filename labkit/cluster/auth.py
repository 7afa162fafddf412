"""``can-i``: may a user do something on the lab cluster?

On the simulated cluster the answer comes from labkit's RBAC evaluation
(:mod:`labkit.model.rbac`) over the Roles and bindings applied to it; on kind and an existing
cluster from the API server itself, through ``kubectl auth can-i ... --as USER`` (a
SelfSubjectAccessReview made while impersonating the user, so the kubectl user needs the
``impersonate`` permission, which kind's admin has). Both answer a resource request the way
kubectl builds it: ``TYPE[.GROUP][/NAME]`` (:mod:`labkit.model.api_resources`) and an
optional ``--subresource``.

A workshop learner (:class:`labkit.cluster.workshop.learner.LearnerCluster`) may not write
RBAC on the shared cluster, nor impersonate anyone there: the RBAC objects the learner applies
are kept in the learner's private RBAC sandbox, and ``can-i`` evaluates that sandbox with
labkit's RBAC evaluation, in the learner's logical names (``-n my-segment``), saying so
(``Answer.sandbox``).

Where the two can differ: the simulated cluster holds only the RBAC objects applied to it (no
bootstrap ClusterRoles such as ``cluster-admin``, ``admin``, ``edit`` or ``view``: a binding to
one of them grants nothing there, and the answer says so); and a cluster-scoped type
(``namespaces``) is asked without a namespace, as the API server authorizes the real request,
whereas ``kubectl auth can-i ... -n NS`` sends the namespace along.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from labkit.cluster.backend import LabCluster
from labkit.cluster.kubectl import Kubectl
from labkit.errors import ClusterError, CommandFailed, LabkitError
from labkit.model.api_resources import parse_target
from labkit.model.rbac import Decision, Policy, Request, Requester

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    """``kubectl auth can-i VERB RESOURCE [-n NS] --as USER [--as-group G]...``."""

    verb: str
    resource: str
    namespace: str | None = None
    as_user: str = ""
    as_groups: tuple[str, ...] = ()
    subresource: str = ""

    def __post_init__(self) -> None:
        if not self.verb.strip():
            raise LabkitError("can-i needs a verb, e.g. get, list, create, patch, delete or *")
        if not self.as_user.strip():
            raise LabkitError(
                "can-i needs the user to ask for (--as USER), e.g. --as alice or "
                "--as system:serviceaccount:team-a:deployer"
            )

    def kubectl_args(self) -> list[str]:
        """The arguments after ``kubectl``, as a learner types them."""
        args = ["auth", "can-i", self.verb, self.resource]
        if self.subresource:
            args += ["--subresource", self.subresource]
        if self.namespace:
            args += ["-n", self.namespace]
        args += ["--as", self.as_user]
        for group in self.as_groups:
            args += ["--as-group", group]
        return args

    @property
    def kubectl_command(self) -> str:
        return shlex.join(["kubectl", *self.kubectl_args()])

    def request(self) -> Request:
        """The request the API server would authorize (the namespace defaults to
        ``default``, the lab's context namespace; a cluster-scoped type has none)."""
        target = parse_target(self.resource)
        if not target.resource.known:
            log.warning(
                "the server doesn't have a resource type %r: asking for it in the core group "
                "(kubectl api-resources lists the types)",
                target.resource.plural,
            )
        namespace = (self.namespace or "default") if target.resource.namespaced else ""
        return Request(
            verb=self.verb,
            resource=target.resource.plural,
            api_group=target.resource.group,
            subresource=self.subresource,
            name=target.name,
            namespace=namespace,
        )


@dataclass(frozen=True)
class Answer:
    """``allowed``, and how it was decided: by labkit's evaluation (``decision``) or by the
    cluster's API server (``reason`` from kubectl)."""

    question: Question
    allowed: bool
    backend: str
    reason: str = ""
    decision: Decision | None = None
    sandbox: str = ""
    """For a workshop learner: the private RBAC sandbox the answer comes from (a path)."""


def can_i(cluster: LabCluster, question: Question) -> Answer:
    """Ask ``cluster``: labkit's RBAC evaluation on the simulated cluster and of a workshop
    learner's private RBAC sandbox, kubectl elsewhere."""
    from labkit.cluster.simulated import SimulatedCluster
    from labkit.cluster.workshop.learner import LearnerCluster

    if isinstance(cluster, LearnerCluster):
        policy = Policy.from_objects(cluster.rbac_objects())
        decision = policy.authorize(
            Requester.impersonated(question.as_user, question.as_groups), question.request()
        )
        return Answer(
            question,
            decision.allowed,
            cluster.name,
            decision.reason,
            decision,
            sandbox=str(cluster.rbac_sandbox.path),
        )
    if isinstance(cluster, SimulatedCluster):
        policy = Policy.from_objects(cluster.raw_objects())
        decision = policy.authorize(
            Requester.impersonated(question.as_user, question.as_groups), question.request()
        )
        return Answer(question, decision.allowed, cluster.name, decision.reason, decision)
    kubectl = getattr(cluster, "kubectl", None)
    if not isinstance(kubectl, Kubectl):
        raise ClusterError(
            f"can-i on the {cluster.name} backend needs kubectl\n    fix: install kubectl "
            "(`labkit doctor` says how)"
        )
    allowed, reason = kubectl_can_i(kubectl, question)
    return Answer(question, allowed, cluster.name, reason)


def kubectl_can_i(kubectl: Kubectl, question: Question) -> tuple[bool, str]:
    """Run ``kubectl auth can-i``: exit 0 and ``yes`` is allowed; exit 1 and ``no[ - reason]``
    is denied; anything else (an unreachable cluster, no right to impersonate) raises."""
    done = kubectl.run(question.kubectl_args(), check=False)
    answer, _, reason = done.stdout.strip().partition(" - ")
    if done.returncode == 0 and answer == "yes":
        return True, reason
    if done.returncode == 1 and answer == "no":
        return False, reason
    raise _failed(done.command, done.returncode, done.stderr or done.stdout)


def _failed(command: Sequence[str], returncode: int, output: str) -> CommandFailed:
    return CommandFailed(
        command,
        returncode,
        output,
        "kubectl could not answer; is the cluster reachable (`labkit status`), and may your "
        "kubectl user impersonate others (`kubectl auth can-i impersonate users`)?",
    )


SANDBOX_NOTE = (
    "labkit's RBAC evaluation of your private RBAC sandbox (workshop learners' RBAC objects "
    "are kept there, never on the shared cluster)"
)
