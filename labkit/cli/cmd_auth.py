"""``labkit auth can-i``: may a user do something on the lab cluster?

As ``kubectl auth can-i VERB TYPE[/NAME] [--subresource S] [-n NS] --as USER [--as-group G]``:
prints ``yes`` or ``no`` and exits 0 or 1. On the simulated cluster labkit's RBAC evaluation
answers and names the binding, role and rule that allowed it; on kind and an existing cluster
``kubectl auth can-i`` does. A workshop learner's answer comes from the learner's private RBAC
sandbox (the RBAC objects the learner applied; they never reach the shared cluster), and says
so. The kubectl command is printed beside the answer.
"""

from __future__ import annotations

import argparse
from typing import Any

from labkit.cli.common import emit_json


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "auth",
        help="may USER do VERB on RESOURCE? (auth can-i; yes: exit 0, no: exit 1)",
        description="labkit auth can-i VERB RESOURCE --as USER: answer as the API server "
        "would: on the simulated cluster from the Roles, ClusterRoles and bindings applied to "
        "it (denied unless a rule allows it), on kind or an existing cluster through `kubectl "
        "auth can-i`. RESOURCE is TYPE[.GROUP][/NAME] as for kubectl: pods/exec is the pod "
        "named exec; ask for a subresource with --subresource exec.",
    )
    p.add_argument("action", choices=("can-i",), help="what to ask (as kubectl auth can-i)")
    p.add_argument("verb", metavar="VERB", help="get, list, watch, create, update, patch, delete")
    p.add_argument("resource", metavar="RESOURCE", help="e.g. networkpolicies, namespaces/web")
    p.add_argument("-n", "--namespace", metavar="NS", help="the namespace (default: default)")
    p.add_argument("--as", dest="as_user", required=True, metavar="USER", help="the user")
    p.add_argument(
        "--as-group",
        dest="as_groups",
        action="append",
        default=[],
        metavar="GROUP",
        help="a group of the user (repeatable)",
    )
    p.add_argument("--subresource", default="", metavar="SUB", help="e.g. exec, log, status")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from labkit.cluster.auth import Question, can_i
    from labkit.cluster.lifecycle import connect

    question = Question(
        args.verb,
        args.resource,
        args.namespace,
        args.as_user,
        tuple(args.as_groups),
        args.subresource,
    )
    answer = can_i(connect(), question)
    decision = answer.decision if answer.decision is not None and answer.allowed else None
    details = {
        "binding": decision.binding.title if decision and decision.binding else None,
        "role": decision.role.title if decision and decision.role else None,
        "rule": str(decision.rule) if decision and decision.rule else None,
    }
    if args.output == "json":
        emit_json(
            {
                "allowed": answer.allowed,
                "answer": "yes" if answer.allowed else "no",
                "backend": answer.backend,
                "reason": answer.reason,
                **details,
                "kubectl": question.kubectl_command,
                **({"sandbox": answer.sandbox} if answer.sandbox else {}),
            }
        )
    else:
        lines = ["yes" if answer.allowed else "no"]
        lines += [f"  {name}: {value}" for name, value in details.items() if value]
        if answer.reason and not details["rule"]:
            lines.append(f"  why: {answer.reason}")
        if decision is not None:
            for problem in decision.problems:
                lines.append(f"  note: {problem}")
        if answer.sandbox:
            from labkit.cluster.auth import SANDBOX_NOTE

            lines.append(f"  decided by: {SANDBOX_NOTE}: {answer.sandbox}")
        lines.append(f"  kubectl: {question.kubectl_command}")
        print("\n".join(lines))
    return 0 if answer.allowed else 1
