"""The kubectl command behind each notebook step, shown beside the step.

The lab's facade does things for the learner (bring the lab up, apply manifests, probe every
pair); this module says how the same thing is done by hand on a real cluster, so the habit
carries over to ``kubectl``. Every function returns plain command strings, quoted for a POSIX
shell; :func:`for_step` maps a facade step to its commands.

Probes use agnhost's ``connect`` subcommand (``/agnhost connect HOST:PORT --timeout=DURATION
--protocol=tcp|udp|sctp``), as the live probe runner runs it, with its default 2 s timeout.
Exit status 0 means connected; otherwise it prints ``TIMEOUT``, ``REFUSED``, ``DNS``, ``OTHER``
or ``UNKNOWN`` on stderr. For UDP it sends a payload and waits for the answer of the
``netexec`` UDP server every lab pod runs.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from labkit.errors import LabkitError
from labkit.model.ports import Protocol

MANAGED_SELECTOR = "labkit.dev/managed=true"
"""The label every lab object carries (see ``labkit.cluster.backend.LAB_LABEL``)."""

PROBE_CONTAINER = "web"
"""The container of every lab pod that holds the ``/agnhost`` binary used for probes."""

_RESOURCES = {
    "namespace": "namespace",
    "namespaces": "namespace",
    "ns": "namespace",
    "pod": "pod",
    "pods": "pod",
    "po": "pod",
    "service": "service",
    "services": "service",
    "svc": "service",
    "networkpolicy": "networkpolicy",
    "networkpolicies": "networkpolicy",
    "netpol": "networkpolicy",
    "node": "node",
    "nodes": "node",
}


def resource(kind: str) -> str:
    """kubectl's resource name for a kind (``NetworkPolicy`` -> ``networkpolicy``)."""
    name = _RESOURCES.get(kind.strip().lower())
    if name is None:
        raise LabkitError(
            f"kubectl resource {kind!r} is not one the lab uses; use one of: "
            + ", ".join(sorted(set(_RESOURCES.values())))
        )
    return name


_PLURALS = {
    "namespace": "namespaces",
    "pod": "pods",
    "service": "services",
    "networkpolicy": "networkpolicies",
    "node": "nodes",
}


@dataclass(frozen=True)
class RealNames:
    """A workshop learner's names for the commands shown: the learner writes logical names
    (``trusted``) but kubectl must be given the real ones (``ws1-alice-trusted``), and a
    learner may not list across namespaces, so ``-A`` becomes a loop over its namespaces."""

    namespace: Callable[[str], str]
    peer: Callable[[str], str]
    namespaces: tuple[str, ...]


_names: RealNames | None = None


def use_real_names(names: RealNames | None) -> None:
    """Show commands in a workshop learner's real names (``None``: as written)."""
    global _names
    _names = names


def _real(namespace: str) -> str:
    return _names.namespace(namespace) if _names is not None else namespace


def command(*args: str) -> str:
    """``kubectl`` with ``args``, each quoted for a POSIX shell when needed. For a workshop
    learner, ``-A`` becomes a loop over the learner's own namespaces."""
    if _names is not None and "-A" in args:
        rest = [a for a in args if a != "-A"]
        loop = " ".join(shlex.quote(n) for n in _names.namespaces)
        return f'for ns in {loop}; do {shlex.join(["kubectl", *rest])} -n "$ns"; done'
    return shlex.join(["kubectl", *args])


def _namespace_args(namespace: str | None, all_namespaces: bool = False) -> list[str]:
    if all_namespaces:
        return ["-A"]
    return ["-n", _real(namespace)] if namespace else []


def apply(path: str | Path, namespace: str | None = None) -> str:
    """``kubectl apply -f PATH``: create or update the objects of a manifest."""
    return command("apply", *_namespace_args(namespace), "-f", str(path))


def get(
    kind: str,
    name: str | None = None,
    *,
    namespace: str | None = None,
    all_namespaces: bool = False,
    selector: str | None = None,
    output: str | None = None,
    show_labels: bool = False,
) -> str:
    """``kubectl get KIND [NAME]`` with the usual options."""
    args = ["get", resource(kind) if name else _PLURALS[resource(kind)]]
    if name:
        args.append(_real(name) if resource(kind) == "namespace" else name)
    args += _namespace_args(namespace, all_namespaces and not name)
    if selector:
        args += ["-l", selector]
    if output:
        args += ["-o", output]
    if show_labels:
        args.append("--show-labels")
    return command(*args)


def describe(kind: str, name: str, namespace: str | None = None) -> str:
    """``kubectl describe KIND NAME -n NAMESPACE``."""
    shown = _real(name) if resource(kind) == "namespace" else name
    return command("describe", resource(kind), shown, *_namespace_args(namespace))


def label(
    kind: str, name: str, labels: Mapping[str, str | None], namespace: str | None = None
) -> str:
    """``kubectl label KIND NAME k=v k2-``: set labels, or remove them (value ``None``).

    ``--overwrite`` is added when a label is set, because kubectl refuses to change an
    existing label's value without it.
    """
    if not labels:
        raise LabkitError("kubectl label needs at least one label to set or remove")
    changes = [f"{k}-" if v is None else f"{k}={v}" for k, v in labels.items()]
    shown = _real(name) if resource(kind) == "namespace" else name
    args = ["label", resource(kind), shown, *_namespace_args(namespace), *changes]
    if any(v is not None for v in labels.values()):
        args.append("--overwrite")
    return command(*args)


def connect(
    src: str,
    dst: str,
    port: int,
    protocol: Protocol | str = Protocol.TCP,
    *,
    timeout: str = "2s",
    container: str = PROBE_CONTAINER,
) -> str:
    """The probe of one pair: exec into ``src`` (``namespace/pod``) and connect to ``dst`` (the
    destination pod's address, or a DNS name) with agnhost."""
    namespace, sep, pod = src.partition("/")
    if not sep or not namespace or not pod:
        raise LabkitError(f"probe source {src!r} must be NAMESPACE/POD, e.g. trusted/client")
    try:
        proto = Protocol(str(protocol).upper())
    except ValueError:
        raise LabkitError(f"protocol {protocol!r} is not one of TCP, UDP, SCTP") from None
    try:
        host = f"[{dst}]" if ip_address(dst).version == 6 else dst
    except ValueError:
        host = _names.peer(dst) if _names is not None else dst
    return command(
        "exec",
        "-n",
        _real(namespace),
        pod,
        "-c",
        container,
        "--",
        "/agnhost",
        "connect",
        f"{host}:{port}",
        f"--timeout={timeout}",
        f"--protocol={proto.value.lower()}",
    )


@dataclass(frozen=True)
class Commands:
    """The kubectl equivalent of one facade step (shown beside it in a notebook)."""

    step: str
    lines: tuple[str, ...]
    note: str = ""

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def _repr_html_(self) -> str:
        from labkit.lab.render import commands_html

        return commands_html(self)


def _up() -> tuple[str, ...]:
    if _names is not None:  # a workshop learner may not list nodes
        return (get("pods", all_namespaces=True, selector=MANAGED_SELECTOR, output="wide"),)
    return (
        get("nodes", output="wide"),
        get("pods", all_namespaces=True, selector=MANAGED_SELECTOR, output="wide"),
    )


def _topology() -> tuple[str, ...]:
    namespaces = (
        command("get", "namespaces", *_names.namespaces, "--show-labels")
        if _names is not None  # a learner reads its own namespaces by name, never lists them
        else get("namespaces", selector=MANAGED_SELECTOR, show_labels=True)
    )
    return (
        namespaces,
        get(
            "pods",
            all_namespaces=True,
            selector=MANAGED_SELECTOR,
            output="wide",
            show_labels=True,
        ),
    )


def _apply(path: str | Path = "FILE.yaml") -> tuple[str, ...]:
    return (apply(path),)


def _policies(namespace: str | None = None, name: str | None = None) -> tuple[str, ...]:
    if name:
        return (describe("networkpolicy", name, namespace),)
    return (get("networkpolicy", namespace=namespace, all_namespaces=namespace is None),)


def _probe(
    src: str = "trusted/client",
    dst: str = "DST_POD_IP",
    port: int = 80,
    protocol: Protocol | str = Protocol.TCP,
) -> tuple[str, ...]:
    return (connect(src, dst, port, protocol),)


def _explain(namespace: str | None = None) -> tuple[str, ...]:
    return (
        get("networkpolicy", namespace=namespace, all_namespaces=namespace is None),
        command("describe", "networkpolicy", *_namespace_args(namespace, namespace is None)),
        get(
            "pods",
            namespace=namespace,
            all_namespaces=namespace is None,
            show_labels=True,
        ),
    )


def _audit() -> tuple[str, ...]:
    return (get("networkpolicy", all_namespaces=True, output="yaml"),)


def _label(
    kind: str = "pod",
    name: str = "NAME",
    labels: Mapping[str, str | None] | None = None,
    namespace: str | None = None,
) -> tuple[str, ...]:
    return (label(kind, name, labels or {"KEY": "VALUE"}, namespace),)


_STEPS: dict[str, tuple[Callable[..., tuple[str, ...]], str]] = {
    "up": (_up, "nodes and lab pods of the running cluster"),
    "topology": (_topology, "namespaces and pods with their labels and addresses"),
    "apply": (_apply, "create or update objects from a manifest"),
    "policies": (_policies, "list NetworkPolicies, or describe one"),
    "probe": (_probe, "one probe, as the matrix runs it for every ordered pair"),
    "explain": (_explain, "the policies and labels an explanation is built from"),
    "audit": (_audit, "every NetworkPolicy, to read them all"),
    "label": (_label, "set or remove labels"),
}
STEPS: tuple[str, ...] = tuple(_STEPS)
"""The facade steps that have a kubectl equivalent."""


def for_step(step: str, *args: Any, **kwargs: Any) -> Commands:
    """The kubectl commands for facade step ``step`` (one of :data:`STEPS`)."""
    try:
        build, note = _STEPS[step]
    except KeyError:
        raise LabkitError(
            f"no kubectl equivalent is known for step {step!r}; steps: {', '.join(STEPS)}"
        ) from None
    return Commands(step, build(*args, **kwargs), note)
