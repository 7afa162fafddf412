"""NetworkPolicy manifests to :class:`NetworkPolicy`, with the API server's defaults.

Defaulting (``pkg/apis/networking/v1/defaults.go``), applied here once so evaluation never
sees a raw dict:

* ``policyTypes`` empty or absent: ``[Ingress]``, plus ``Egress`` when ``spec.egress`` holds at
  least one rule (``egress: []`` adds nothing).
* a port entry without ``protocol`` gets ``TCP``; ``port`` and ``endPort`` are never defaulted.
* ``podSelector`` absent or ``matchLabels: null``: the empty selector (every pod).

Input is expected to have passed :mod:`labkit.model.validation`; shapes that would still break
parsing raise :class:`ManifestError` with the field path.
"""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

from labkit.errors import ManifestError
from labkit.model.labels import LabelSelector, Operator, Requirement
from labkit.model.loader import RawObject
from labkit.model.policy import Direction, IPBlock, IPNetwork, NetworkPolicy, Peer, Rule
from labkit.model.ports import PolicyPort, Protocol


class _Ctx:
    def __init__(self, raw: RawObject) -> None:
        self.raw = raw

    def fail(self, field: str, message: str, hint: str = "") -> ManifestError:
        return ManifestError(
            message, file=self.raw.location, object=self.raw.title, field=field, hint=hint
        )


def _as_list(ctx: _Ctx, value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.fail(field, f"must be a list, got {type(value).__name__}", "write a YAML list")
    return value


def _as_dict(ctx: _Ctx, value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ctx.fail(field, f"must be a mapping, got {type(value).__name__}", "write key: value")
    return value


def parse_selector(ctx: _Ctx, value: Any, field: str) -> LabelSelector:
    data = _as_dict(ctx, value, field)
    labels = _as_dict(ctx, data.get("matchLabels"), f"{field}.matchLabels")
    pairs = tuple(sorted((str(k), "" if v is None else str(v)) for k, v in labels.items()))
    reqs: list[Requirement] = []
    for i, expr in enumerate(
        _as_list(ctx, data.get("matchExpressions"), f"{field}.matchExpressions")
    ):
        path = f"{field}.matchExpressions[{i}]"
        expr = _as_dict(ctx, expr, path)
        try:
            op = Operator(str(expr.get("operator")))
        except ValueError:
            raise ctx.fail(
                f"{path}.operator",
                "not a valid selector operator",
                "use In, NotIn, Exists or DoesNotExist",
            ) from None
        values = frozenset(str(v) for v in _as_list(ctx, expr.get("values"), f"{path}.values"))
        reqs.append(Requirement(str(expr.get("key", "")), op, values))
    return LabelSelector(pairs, tuple(reqs))


def _parse_port(ctx: _Ctx, value: Any, field: str) -> PolicyPort:
    data = _as_dict(ctx, value, field)
    proto_raw = data.get("protocol")
    try:
        protocol = Protocol.TCP if proto_raw is None else Protocol(proto_raw)
    except ValueError:
        raise ctx.fail(
            f"{field}.protocol", f"unsupported protocol {proto_raw!r}", "use TCP, UDP or SCTP"
        ) from None
    port = data.get("port")
    if (port is not None and not isinstance(port, (int, str))) or isinstance(port, bool):
        raise ctx.fail(f"{field}.port", "must be a number or a port name")
    end = data.get("endPort")
    if end is not None and (not isinstance(end, int) or isinstance(end, bool)):
        raise ctx.fail(f"{field}.endPort", "must be a number")
    return PolicyPort(protocol=protocol, port=port, end_port=end)


def _network(text: object) -> IPNetwork:
    """The network Kubernetes reads from a CIDR value: host bits masked, and the legacy forms
    that releases up to 1.35 accept (``010.0.0.0/8`` is ``10.0.0.0/8``) understood."""
    from labkit.model.validation.cidr import network_of

    value = str(text).strip()
    try:
        return ip_network(value, strict=False)
    except ValueError:
        legacy = network_of(value)
        if legacy is None:
            raise
        return ip_network(legacy, strict=False)


def _parse_ip_block(ctx: _Ctx, value: Any, field: str) -> IPBlock:
    data = _as_dict(ctx, value, field)
    cidr = data.get("cidr")
    try:
        network = _network(cidr)
    except ValueError:
        raise ctx.fail(
            f"{field}.cidr", f"{cidr!r} is not a CIDR", "write it like 10.0.0.0/24"
        ) from None
    excepts = []
    for i, ex in enumerate(_as_list(ctx, data.get("except"), f"{field}.except")):
        try:
            excepts.append(_network(ex))
        except ValueError:
            raise ctx.fail(f"{field}.except[{i}]", f"{ex!r} is not a CIDR") from None
    return IPBlock(network, tuple(excepts), raw=str(cidr))


def _parse_peer(ctx: _Ctx, value: Any, field: str) -> Peer:
    data = _as_dict(ctx, value, field)
    pod = data.get("podSelector")
    ns = data.get("namespaceSelector")
    block = data.get("ipBlock")
    return Peer(
        pod_selector=None if pod is None else parse_selector(ctx, pod, f"{field}.podSelector"),
        namespace_selector=(
            None if ns is None else parse_selector(ctx, ns, f"{field}.namespaceSelector")
        ),
        ip_block=None if block is None else _parse_ip_block(ctx, block, f"{field}.ipBlock"),
    )


def _parse_rules(ctx: _Ctx, value: Any, field: str, peer_key: str) -> tuple[Rule, ...]:
    rules = []
    for i, item in enumerate(_as_list(ctx, value, field)):
        path = f"{field}[{i}]"
        data = _as_dict(ctx, item, path)
        peers = tuple(
            _parse_peer(ctx, p, f"{path}.{peer_key}[{j}]")
            for j, p in enumerate(_as_list(ctx, data.get(peer_key), f"{path}.{peer_key}"))
        )
        ports = tuple(
            _parse_port(ctx, p, f"{path}.ports[{j}]")
            for j, p in enumerate(_as_list(ctx, data.get("ports"), f"{path}.ports"))
        )
        rules.append(Rule(peers, ports))
    return tuple(rules)


def default_policy_types(spec: dict[str, Any]) -> tuple[list[str], bool]:
    """``SetDefaults_NetworkPolicy``: returns ``(policyTypes, was_defaulted)``."""
    given = spec.get("policyTypes")
    if isinstance(given, list) and len(given) > 0:
        return [str(t) for t in given], False
    types = ["Ingress"]
    egress = spec.get("egress")
    if isinstance(egress, list) and len(egress) > 0:
        types.append("Egress")
    return types, True


def parse_network_policy(raw: RawObject) -> NetworkPolicy:
    ctx = _Ctx(raw)
    spec = _as_dict(ctx, raw.data.get("spec"), "spec")
    types, defaulted = default_policy_types(spec)
    try:
        directions = frozenset(Direction(t) for t in types)
    except ValueError:
        raise ctx.fail(
            "spec.policyTypes", f"unsupported value in {types}", "use Ingress and/or Egress"
        ) from None
    return NetworkPolicy(
        namespace=raw.namespace,
        name=raw.name or str(raw.metadata.get("generateName") or ""),
        pod_selector=parse_selector(ctx, spec.get("podSelector"), "spec.podSelector"),
        policy_types=directions,
        ingress=_parse_rules(ctx, spec.get("ingress"), "spec.ingress", "from"),
        egress=_parse_rules(ctx, spec.get("egress"), "spec.egress", "to"),
        policy_types_defaulted=defaulted,
        source=raw.location,
    )
