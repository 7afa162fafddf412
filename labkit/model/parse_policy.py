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

from functools import lru_cache
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


# Values of the expected type are used as they are; anything else goes through _as_dict and
# _as_list, which turn null into empty and fail on a wrong type. Field paths are only built for
# those calls, as they are only read in error messages.
def parse_selector(ctx: _Ctx, value: Any, field: str) -> LabelSelector:
    data = value if type(value) is dict else _as_dict(ctx, value, field)
    labels = data.get("matchLabels")
    pairs: tuple[tuple[str, str], ...] = ()
    if labels is not None:
        if type(labels) is not dict:
            labels = _as_dict(ctx, labels, f"{field}.matchLabels")
        pairs = tuple(sorted((str(k), "" if v is None else str(v)) for k, v in labels.items()))
    exprs = data.get("matchExpressions")
    if exprs is None:
        return LabelSelector(pairs, ())
    if type(exprs) is not list:
        exprs = _as_list(ctx, exprs, f"{field}.matchExpressions")
    reqs: list[Requirement] = []
    for i, expr in enumerate(exprs):
        if type(expr) is not dict:
            expr = _as_dict(ctx, expr, f"{field}.matchExpressions[{i}]")
        operator = str(expr.get("operator"))
        try:
            op = _OPERATORS.get(operator) or Operator(operator)
        except ValueError:
            raise ctx.fail(
                f"{field}.matchExpressions[{i}].operator",
                "not a valid selector operator",
                "use In, NotIn, Exists or DoesNotExist",
            ) from None
        values = expr.get("values")
        if type(values) is not list:
            values = _as_list(ctx, values, f"{field}.matchExpressions[{i}].values")
        reqs.append(Requirement(str(expr.get("key", "")), op, frozenset(str(v) for v in values)))
    return LabelSelector(pairs, tuple(reqs))


_OPERATORS = {op.value: op for op in Operator}
_PORTS: dict[tuple[str, int | str | None, int | None], PolicyPort] = {}
"""Policy ports already built (immutable, and policies repeat the same few)."""


def _parse_port(ctx: _Ctx, value: Any, rule_path: str, j: int) -> PolicyPort:
    data = value if type(value) is dict else _as_dict(ctx, value, f"{rule_path}.ports[{j}]")
    proto_raw = data.get("protocol")
    port = data.get("port")
    end = data.get("endPort")
    if (
        (proto_raw is None or type(proto_raw) is str)
        and (port is None or type(port) in (int, str))
        and (end is None or type(end) is int)
    ):
        key = ("TCP" if proto_raw is None else proto_raw, port, end)
        known = _PORTS.get(key)
        if known is None:
            known = _policy_port(ctx, proto_raw, port, end, f"{rule_path}.ports[{j}]")
            if len(_PORTS) >= 1024:
                _PORTS.clear()
            _PORTS[key] = known
        return known
    return _policy_port(ctx, proto_raw, port, end, f"{rule_path}.ports[{j}]")


def _policy_port(ctx: _Ctx, proto_raw: Any, port: Any, end: Any, field: str) -> PolicyPort:
    try:
        protocol = Protocol.TCP if proto_raw is None else Protocol(proto_raw)
    except ValueError:
        raise ctx.fail(
            f"{field}.protocol", f"unsupported protocol {proto_raw!r}", "use TCP, UDP or SCTP"
        ) from None
    if (port is not None and not isinstance(port, (int, str))) or isinstance(port, bool):
        raise ctx.fail(f"{field}.port", "must be a number or a port name")
    if end is not None and (not isinstance(end, int) or isinstance(end, bool)):
        raise ctx.fail(f"{field}.endPort", "must be a number")
    return PolicyPort(protocol=protocol, port=port, end_port=end)


def _network(text: object) -> IPNetwork:
    """The network Kubernetes reads from a CIDR value: host bits masked, and the legacy forms
    that releases up to 1.35 accept (``010.0.0.0/8`` is ``10.0.0.0/8``) understood."""
    return _network_of_text(str(text).strip())


@lru_cache(maxsize=1024)
def _network_of_text(value: str) -> IPNetwork:
    """:func:`_network` of a stripped string, cached: networks are immutable values, and policies
    repeat the same CIDRs."""
    from labkit.model.validation.cidr import network_of

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
    data = value if type(value) is dict else _as_dict(ctx, value, field)
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
    for i, item in enumerate(value if type(value) is list else _as_list(ctx, value, field)):
        path = f"{field}[{i}]"
        data = item if type(item) is dict else _as_dict(ctx, item, path)
        peers_raw = data.get(peer_key)
        if type(peers_raw) is not list:
            peers_raw = _as_list(ctx, peers_raw, f"{path}.{peer_key}")
        peers = tuple(
            _parse_peer(ctx, p, f"{path}.{peer_key}[{j}]") for j, p in enumerate(peers_raw)
        )
        ports_raw = data.get("ports")
        if type(ports_raw) is not list:
            ports_raw = _as_list(ctx, ports_raw, f"{path}.ports")
        ports = tuple(_parse_port(ctx, p, path, j) for j, p in enumerate(ports_raw))
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
