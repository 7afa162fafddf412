"""``labkit explain``: why traffic from one peer to another is allowed or denied."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from labkit.cli.common import add_files, emit_json, load, report_invalid, warn_unevaluated

if TYPE_CHECKING:
    from labkit.engine.endpoints import Endpoint
    from labkit.engine.evaluator import Engine
    from labkit.model.ports import Protocol


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "explain",
        help="why traffic between two peers is allowed or denied",
        description="Evaluate the policies in the manifests for one connection and show the "
        "evidence: the policies that select each side, the rule that allowed the traffic, or "
        "the closest misses in words. Exit status 0 whatever the verdict; 1 on errors.",
    )
    add_files(p, lab_fallback=True)
    p.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="NS/POD|IP",
        help="the source: namespace/pod, or an address (ip:10.0.0.5 or 10.0.0.5)",
    )
    p.add_argument(
        "--to",
        dest="destination",
        required=True,
        metavar="NS/POD|IP|svc:NS/SVC",
        help="the destination: namespace/pod, an address, or svc:namespace/service (each "
        "backend pod is explained on its target port, as policies see Service traffic)",
    )
    p.add_argument(
        "--port",
        required=True,
        metavar="PORT[/PROTO]",
        help="destination port and protocol, e.g. 80, 443/TCP or 53/UDP",
    )
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.add_argument(
        "--evaluate-self",
        action="store_true",
        help="evaluate pod-to-itself traffic like any other pair (default: allowed)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from labkit.engine.evaluator import Engine
    from labkit.engine.explain import explain
    from labkit.engine.explain.render import to_dict, to_text
    from labkit.engine.services import service_destination
    from labkit.errors import EvaluationError, ValidationFailed
    from labkit.model.ports import parse_probe

    try:
        port, protocol = parse_probe(args.port)
    except ValueError as exc:
        raise EvaluationError(f"--port: {exc}") from None
    try:
        inventory = load(args)
    except ValidationFailed as exc:
        return report_invalid(exc, args.output)
    warn_unevaluated(inventory.unevaluated)
    engine = Engine(inventory, self_traffic="evaluate" if args.evaluate_self else "allow")
    source = engine.endpoint(args.source)
    service = service_destination(inventory, args.destination)
    if service is not None:
        return _explain_service(args, engine, source, service, port, protocol)
    explanation = explain(engine, source, engine.endpoint(args.destination), port, protocol)
    if args.output == "json":
        emit_json(to_dict(explanation))
    else:
        sys.stdout.write(to_text(explanation))
    return 0


def _explain_service(
    args: argparse.Namespace,
    engine: Engine,
    source: Endpoint,
    service: str,
    port: int,
    protocol: Protocol,
) -> int:
    """Through a Service (``svc:NS/NAME`` or its ClusterIP), policies see each backend pod and
    its target port (rule 13)."""
    from labkit.engine.explain import explain
    from labkit.engine.explain.render import to_dict, to_text
    from labkit.engine.services import resolve_service_target

    backends = resolve_service_target(engine.inventory, service, port, protocol)
    results = [
        (pod, number, explain(engine, source, pod, number, protocol)) for pod, number in backends
    ]
    if args.output == "json":
        emit_json(
            {
                "service": service,
                "port": port,
                "protocol": protocol.value,
                "backends": [
                    {"pod": pod.key, "port": number, "explanation": to_dict(expl)}
                    for pod, number, expl in results
                ],
            }
        )
        return 0
    if not results:
        sys.stdout.write(
            f"service {service} has no backend for {port}/{protocol.value}: its selector matches "
            "no pod of its namespace (or a named targetPort resolves on none), so the "
            "connection fails before any policy applies\n"
        )
        return 0
    sys.stdout.write(
        f"{args.source} -> service {service} {port}/{protocol.value}: policies see the backend "
        "pod and its target port, never the Service\n\n"
    )
    for pod, number, expl in results:
        sys.stdout.write(f"== backend {pod.key}, port {number}/{protocol.value}\n")
        sys.stdout.write(to_text(expl) + "\n")
    return 0
