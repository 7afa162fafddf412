"""``labkit apply | delete | label | get | describe``: kubectl's habits on the lab cluster.

They work on whichever cluster ``labkit up`` started (simulated, kind or existing) and follow
kubectl: ``-n`` picks the namespace (default ``default``), ``-A`` all of them, ``-o json`` or
``-o wide`` change the output, ``TYPE NAME`` or ``TYPE/NAME`` name an object, ``k=v`` sets a
label and ``k-`` removes it (changing a value needs ``--overwrite``).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from labkit.cli.common import emit_json, report_invalid, warn_unevaluated
from labkit.errors import LabkitError

if TYPE_CHECKING:
    from labkit.cluster.backend import LabCluster

KIND_ALIASES: dict[str, str] = {}
for _kind, _names in {
    "Namespace": ("namespace", "namespaces", "ns"),
    "Pod": ("pod", "pods", "po"),
    "NetworkPolicy": (
        "networkpolicy",
        "networkpolicies",
        "netpol",
        "netpols",
        "networkpolicy.networking.k8s.io",
        "networkpolicies.networking.k8s.io",
    ),
    "Service": ("service", "services", "svc"),
    "Deployment": ("deployment", "deployments", "deploy", "deployment.apps"),
    "ReplicaSet": ("replicaset", "replicasets", "rs"),
    "StatefulSet": ("statefulset", "statefulsets", "sts"),
    "DaemonSet": ("daemonset", "daemonsets", "ds"),
    "Job": ("job", "jobs"),
}.items():
    for _name in _names:
        KIND_ALIASES[_name] = _kind
RESOURCE = {
    "Namespace": "namespaces",
    "Pod": "pods",
    "NetworkPolicy": "networkpolicies.networking.k8s.io",
    "Service": "services",
}
SHORT = {"Namespace": "namespace", "Pod": "pod", "NetworkPolicy": "networkpolicy.networking.k8s.io"}


def kind_of(text: str, allowed: tuple[str, ...] | None = None) -> str:
    kind = KIND_ALIASES.get(text.lower())
    if kind is None or (allowed is not None and kind not in allowed):
        choices = ", ".join(
            a.lower() for a in (allowed or tuple(dict.fromkeys(KIND_ALIASES.values())))
        )
        raise LabkitError(
            f'the server doesn\'t have a resource type "{text}"; use one of: {choices}'
        )
    return kind


def _add_namespace(p: argparse.ArgumentParser, all_namespaces: bool = False) -> None:
    p.add_argument(
        "-n",
        "--namespace",
        default="default",
        metavar="NS",
        help="namespace (default: %(default)s)",
    )
    if all_namespaces:
        p.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "apply",
        help="validate manifests, then apply them all to the lab cluster",
        description="Validate every object as the API server would; apply them only when all "
        "are valid (nothing is applied otherwise).",
    )
    p.add_argument(
        "-f",
        "--filename",
        dest="files",
        action="append",
        required=True,
        metavar="PATH",
        help="manifest file or directory; repeat for several",
    )
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.set_defaults(handler=run_apply)

    p = sub.add_parser("delete", help="delete objects by TYPE NAME or from manifests (-f)")
    p.add_argument("names", nargs="*", metavar="TYPE NAME|TYPE/NAME")
    p.add_argument(
        "-f",
        "--filename",
        dest="files",
        action="append",
        default=[],
        metavar="PATH",
        help="delete the objects these manifests describe",
    )
    p.add_argument("--ignore-not-found", action="store_true")
    _add_namespace(p)
    p.set_defaults(handler=run_delete)

    p = sub.add_parser("label", help="set (k=v) or remove (k-) labels of a pod or namespace")
    p.add_argument("kind", metavar="pod|namespace")
    p.add_argument("name", metavar="NAME")
    p.add_argument("labels", nargs="+", metavar="KEY=VALUE|KEY-")
    p.add_argument("--overwrite", action="store_true", help="allow changing an existing value")
    _add_namespace(p)
    p.set_defaults(handler=run_label)

    p = sub.add_parser("get", help="list namespaces, pods or networkpolicies")
    p.add_argument("kind", metavar="namespaces|pods|networkpolicies")
    p.add_argument("name", nargs="?", metavar="NAME")
    p.add_argument("-o", "--output", choices=("json", "wide"), default=None)
    p.add_argument("--show-labels", action="store_true")
    _add_namespace(p, all_namespaces=True)
    p.set_defaults(handler=run_get)

    p = sub.add_parser("describe", help="describe a networkpolicy as kubectl does")
    p.add_argument("kind", metavar="networkpolicy")
    p.add_argument("name", metavar="NAME")
    _add_namespace(p)
    p.set_defaults(handler=run_describe)


def _cluster() -> LabCluster:
    """The lab cluster ``labkit up`` started; never creates one (says to run ``labkit up``)."""
    from labkit.cluster.lifecycle import connect

    return connect()


# -- apply / delete ------------------------------------------------------------------------------
def run_apply(args: argparse.Namespace) -> int:
    from labkit.errors import ValidationFailed
    from labkit.model.loader import load_paths
    from labkit.model.unevaluated import find_unevaluated

    cluster = _cluster()
    try:
        report = cluster.apply(list(args.files))
    except ValidationFailed as exc:
        return report_invalid(exc, args.output, "nothing was applied")
    warn_unevaluated(find_unevaluated(load_paths(args.files)))
    if args.output == "json":
        emit_json(
            {
                "applied": list(report.applied),
                "unchanged": list(report.unchanged),
                "warnings": list(report.warnings),
                "labelled": list(report.labelled),
            }
        )
    else:
        print("\n".join(report.lines()) or "nothing to apply")
        for warning in report.warnings:
            print(f"Warning: {warning}", file=sys.stderr)
        if report.label_note:
            print(f"info: {report.label_note}", file=sys.stderr)
    return 0


def _targets(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """``(kind, namespace, name)`` from ``TYPE NAME...``, ``TYPE/NAME...`` or ``-f``."""
    out: list[tuple[str, str, str]] = []
    if args.files:
        from labkit.model.loader import load_paths

        for raw in load_paths(args.files):
            out.append((raw.kind, raw.metadata.get("namespace") or args.namespace, raw.name))
    words = list(args.names)
    if words and "/" not in words[0]:
        kind = kind_of(words[0])
        if len(words) == 1:
            raise LabkitError(
                f"resource(s) were provided, but no name was specified: "
                f"labkit delete {words[0]} NAME"
            )
        out += [(kind, args.namespace, name) for name in words[1:]]
    else:
        for word in words:
            kind_text, _, name = word.partition("/")
            out.append((kind_of(kind_text), args.namespace, name))
    if not out:
        raise LabkitError("name what to delete: labkit delete TYPE NAME, TYPE/NAME or -f PATH")
    return out


def run_delete(args: argparse.Namespace) -> int:
    cluster = _cluster()
    status = 0
    for kind, namespace, name in _targets(args):
        if cluster.delete(kind, name, namespace):
            print(f'{SHORT.get(kind, kind.lower())} "{name}" deleted')
        elif not args.ignore_not_found:
            where = "" if kind == "Namespace" else f' in namespace "{namespace}"'
            print(
                f'Error from server (NotFound): {RESOURCE.get(kind, kind.lower())} "{name}" '
                f"not found{where}",
                file=sys.stderr,
            )
            status = 1
    return status


# -- label ---------------------------------------------------------------------------------------
def parse_label_changes(words: list[str]) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    for word in words:
        if word.endswith("-") and "=" not in word:
            changes[word[:-1]] = None
        elif "=" in word:
            key, _, value = word.partition("=")
            changes[key] = value
        else:
            raise LabkitError(
                f"{word!r} is not a label change: write KEY=VALUE to set a label "
                "or KEY- to remove it"
            )
    return changes


def run_label(args: argparse.Namespace) -> int:
    kind = kind_of(args.kind, ("Pod", "Namespace"))
    changes = parse_label_changes(args.labels)
    cluster = _cluster()
    inventory = cluster.inventory()
    if kind == "Namespace":
        found_ns = inventory.namespace_map.get(args.name)
        if found_ns is None:
            raise LabkitError(f'namespaces "{args.name}" not found; see `labkit get namespaces`')
        current = found_ns.label_map
    else:
        found_pod = inventory.pod_map.get(f"{args.namespace}/{args.name}")
        if found_pod is None:
            raise LabkitError(
                f'pods "{args.name}" not found in namespace "{args.namespace}"; '
                f"see `labkit get pods -n {args.namespace}` (or -A)"
            )
        current = found_pod.label_map
    for key, value in changes.items():
        if value is not None and key in current and current[key] != value and not args.overwrite:
            raise LabkitError(
                f"'{key}' already has a value ({current[key]}), and --overwrite is false"
            )
    effective = {k: v for k, v in changes.items() if current.get(k) != v}
    if not effective:
        print(f"{kind.lower()}/{args.name} not labeled")
        return 0
    cluster.label(kind, args.name, effective, args.namespace)
    print(f"{kind.lower()}/{args.name} labeled")
    return 0


# -- get / describe ------------------------------------------------------------------------------
def run_get(args: argparse.Namespace) -> int:
    from labkit.cli import render_objects as render

    kind = kind_of(args.kind, ("Namespace", "Pod", "NetworkPolicy"))
    cluster = _cluster()
    inventory = cluster.inventory()
    every = bool(args.all_namespaces) or kind == "Namespace"
    in_ns = (lambda ns: True) if every else (lambda ns: ns == args.namespace)
    items: list[Any]
    if kind == "Namespace":
        items = [n for n in inventory.namespaces if not args.name or n.name == args.name]
    elif kind == "Pod":
        items = [
            p
            for p in inventory.pods
            if in_ns(p.namespace) and (not args.name or p.name == args.name)
        ]
    else:
        items = [
            p
            for p in inventory.policies
            if in_ns(p.namespace) and (not args.name or p.name == args.name)
        ]
    if args.name and not items:
        where = "" if kind == "Namespace" else f' in namespace "{args.namespace}"'
        print(
            f'Error from server (NotFound): {RESOURCE[kind]} "{args.name}" not found{where}',
            file=sys.stderr,
        )
        return 1
    if args.output == "json":
        objects: list[dict[str, Any]]
        if kind == "Namespace":
            objects = [render.namespace_json(i) for i in items]
        elif kind == "Pod":
            objects = [render.pod_json(i) for i in items]
        else:
            objects = [render.policy_json(i) for i in items]
        emit_json(objects[0] if args.name else render.list_json(objects))
        return 0
    if not items:
        where = "" if every else f" in {args.namespace} namespace"
        print(f"No resources found{where}.", file=sys.stderr)
        return 0
    wide = args.output == "wide"
    if kind == "Namespace":
        print(render.namespace_rows(items, args.show_labels or wide))
    elif kind == "Pod":
        print(render.pod_rows(items, all_namespaces=every, wide=wide, show_labels=args.show_labels))
    else:
        print(render.policy_rows(items, all_namespaces=every, wide=wide))
    return 0


def run_describe(args: argparse.Namespace) -> int:
    kind_of(args.kind, ("NetworkPolicy",))
    cluster = _cluster()
    try:
        text = cluster.describe_policy(args.name, args.namespace)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("labkit.engine"):
            raise LabkitError(
                "describe needs labkit.engine.describe, which this installation "
                "lacks; reinstall labkit (`make install`)"
            ) from None
        raise
    print(text.rstrip("\n"))
    return 0
