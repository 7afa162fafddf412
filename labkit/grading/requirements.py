"""Requirement files (``requirements.yaml``) parsed into frozen dataclasses.

A requirement is behaviour, not a policy text: flows that must be ``allowed`` or ``blocked``
(peer and port expressions, :mod:`labkit.grading.peers`), an ``exactly`` list (the full
connectivity into or out of a target equals the listed union), flows that stay
``unchanged`` from the exercise's starting world, or a ``state`` check (a policy exists in a
namespace). Each has an id (unique over the public and hidden files together), a
description, points and an optional ``gate`` (ids that must pass for its points to count).

A requirement holds exactly one of ``allowed``, ``blocked``, ``exactly``, ``unchanged``,
``state`` (``allowed`` and ``blocked`` together are fine). Any mistake raises
:class:`labkit.errors.RequirementsError` naming the file, the requirement id and the field
path; nothing of a bad file is used. A public requirement may not be gated on a hidden one:
the learner's self-check could not evaluate it without revealing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from labkit.engine.portset import ALL, PortSet
from labkit.errors import ManifestError, RequirementsError
from labkit.grading.peers import PeerExpr, parse_peer, parse_ports

_T = TypeVar("_T")

CHECK_KINDS = ("allowed", "blocked", "exactly", "unchanged", "state")
_REQUIREMENT_KEYS = frozenset({"id", "description", "points", "gate", "hints", *CHECK_KINDS})
_FLOW_KEYS = frozenset({"from", "to", "ports"})
_UNCHANGED_KEYS = frozenset({"from", "to", "ports", "except_from", "except_to"})
MAX_REQUIREMENTS_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Flow:
    """Traffic from ``source`` to ``destination`` on ``ports``; ``field`` is where it is
    written (``requirements[0].allowed[1]``). ``except_*`` only in ``unchanged``."""

    source: PeerExpr
    destination: PeerExpr
    ports: PortSet
    field: str
    except_source: PeerExpr | None = None
    except_destination: PeerExpr | None = None


@dataclass(frozen=True)
class ExactEntry:
    """One ``allow`` entry of ``exactly``: the other side of the traffic and its ports."""

    peer: PeerExpr
    ports: PortSet
    field: str


@dataclass(frozen=True)
class Exactly:
    """The full connectivity into (``direction="to"``) or out of (``"from"``) ``target``
    equals, for every peer of the world, the union of the ``allow`` entries naming it."""

    target: PeerExpr
    direction: Literal["to", "from"]
    allow: tuple[ExactEntry, ...]
    field: str


@dataclass(frozen=True)
class State:
    """A NetworkPolicy exists in namespace ``policy_in``."""

    policy_in: str
    field: str


@dataclass(frozen=True)
class Requirement:
    """One requirement: its checks, points and gate; ``file`` and ``field``
    (``requirements[2]``) say where it is written, for errors; ``hidden`` when it comes from
    ``instructor/requirements.yaml``."""

    id: str
    description: str
    points: float
    hidden: bool
    file: str
    field: str
    gate: tuple[str, ...] = ()
    allowed: tuple[Flow, ...] = ()
    blocked: tuple[Flow, ...] = ()
    exactly: Exactly | None = None
    unchanged: tuple[Flow, ...] = ()
    state: State | None = None
    hints: tuple[str, ...] = ()
    """Escalating hints (vague, closer, specific) for lesson self-checks; grading ignores them."""


@dataclass(frozen=True)
class RequirementSet:
    """The requirements of one file (or public + hidden combined) and the extra external
    peers (``externals``) that ``exactly`` and ``unchanged`` also consider."""

    requirements: tuple[Requirement, ...] = ()
    externals: tuple[PeerExpr, ...] = ()

    @property
    def public(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if not r.hidden)

    @property
    def points(self) -> float:
        return sum(r.points for r in self.requirements)

    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.requirements)


class _Where:
    """The file and requirement a value is read from, for error messages."""

    def __init__(self, file: str, requirement: str = "") -> None:
        self.file = file
        self.requirement = requirement

    def fail(self, field: str, message: str, hint: str = "") -> RequirementsError:
        return RequirementsError(
            message, file=self.file, requirement=self.requirement, field=field, hint=hint
        )

    def parse(self, field: str, parser: Callable[[Any], _T], value: Any) -> _T:
        try:
            return parser(value)
        except ValueError as exc:
            raise self.fail(field, str(exc)) from None


def load_requirements(path: str | Path, *, hidden: bool = False) -> RequirementSet:
    """Read and parse a requirements file; a missing file is an error."""
    from labkit.model.pyyaml_reader import load_yaml_documents

    file = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_REQUIREMENTS_BYTES:
            raise RequirementsError(f"file too large ({size} bytes)", file=file)
        text = Path(path).read_text(encoding="utf-8")
        docs = load_yaml_documents(text, file)
    except (OSError, UnicodeError) as exc:
        raise RequirementsError(f"cannot read: {exc}", file=file) from None
    except ManifestError as exc:
        raise RequirementsError(str(exc), file=file) from None
    docs = [d for d in docs if d is not None]
    if len(docs) != 1:
        raise RequirementsError(
            f"holds {len(docs)} YAML documents", file=file, hint="write exactly one mapping"
        )
    return parse_requirements(docs[0], file=file, hidden=hidden)


def parse_requirements(data: object, *, file: str, hidden: bool = False) -> RequirementSet:
    """Parse the mapping of a requirements file (``requirements:`` and ``externals:``)."""
    where = _Where(file)
    if not isinstance(data, dict):
        raise where.fail("", "must be a mapping with a 'requirements' list")
    unknown = sorted(set(data) - {"requirements", "externals"})
    if unknown:
        raise where.fail(str(unknown[0]), "unknown key", "use 'requirements' and 'externals'")
    items = data.get("requirements") or []
    if not isinstance(items, list):
        raise where.fail("requirements", "must be a list")
    externals = data.get("externals") or []
    if not isinstance(externals, list):
        raise where.fail("externals", "must be a list of ip:ADDRESS")
    parsed_externals = tuple(
        _external(where, f"externals[{i}]", text) for i, text in enumerate(externals)
    )
    requirements = tuple(
        _requirement(file, f"requirements[{i}]", item, hidden) for i, item in enumerate(items)
    )
    result = RequirementSet(requirements, parsed_externals)
    check_references(result, complete=False)
    return result


def _external(where: _Where, field: str, text: object) -> PeerExpr:
    expr = where.parse(field, parse_peer, text)
    if expr.address is None:
        raise where.fail(field, f"{expr.text!r} is not an address", "write ip:ADDRESS")
    return expr


def _requirement(file: str, field: str, item: object, hidden: bool) -> Requirement:
    if not isinstance(item, dict):
        raise _Where(file).fail(field, "must be a mapping with id, description, points")
    rid = item.get("id")
    if not isinstance(rid, str) or not rid.strip():
        raise _Where(file).fail(f"{field}.id", "required: a non-empty string")
    where = _Where(file, rid)
    unknown = sorted(set(item) - _REQUIREMENT_KEYS)
    if unknown:
        raise where.fail(
            f"{field}.{unknown[0]}", "unknown key", "use " + ", ".join(sorted(_REQUIREMENT_KEYS))
        )
    kinds = [k for k in CHECK_KINDS if k in item]
    if not kinds or (len(kinds) > 1 and set(kinds) != {"allowed", "blocked"}):
        raise where.fail(
            field,
            f"has {', '.join(kinds) or 'no check'}",
            "give exactly one of allowed, blocked, exactly, unchanged, state "
            "(allowed and blocked together are fine)",
        )
    return Requirement(
        id=rid,
        description=_description(where, field, item.get("description")),
        points=_points(where, f"{field}.points", item.get("points")),
        hidden=hidden,
        file=file,
        field=field,
        gate=_gate(where, f"{field}.gate", item.get("gate")),
        allowed=_flows(where, f"{field}.allowed", item.get("allowed"), _FLOW_KEYS),
        blocked=_flows(where, f"{field}.blocked", item.get("blocked"), _FLOW_KEYS),
        exactly=_exactly(where, f"{field}.exactly", item.get("exactly")),
        unchanged=_flows(where, f"{field}.unchanged", item.get("unchanged"), _UNCHANGED_KEYS),
        state=_state(where, f"{field}.state", item.get("state")),
        hints=_hints(where, f"{field}.hints", item.get("hints")),
    )


def _hints(where: _Where, field: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise where.fail(field, "must be a list of hint sentences, vaguest first")
    return tuple(value)


def _description(where: _Where, field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.fail(f"{field}.description", "required: one sentence saying what is checked")
    return value.strip()


def _points(where: _Where, field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise where.fail(field, f"{value!r} is not a number >= 0", "write points: 2 (or 0)")
    return float(value)


def _gate(where: _Where, field: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.fail(field, "must be a list of requirement ids")
    return tuple(value)


def _flows(where: _Where, field: str, value: object, keys: frozenset[str]) -> tuple[Flow, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise where.fail(field, "must be a non-empty list of {from, to, ports}")
    return tuple(_flow(where, f"{field}[{i}]", item, keys) for i, item in enumerate(value))


def _flow(where: _Where, field: str, item: object, keys: frozenset[str]) -> Flow:
    if not isinstance(item, dict):
        raise where.fail(field, "must be a mapping {from, to, ports}")
    unknown = sorted(set(item) - keys)
    if unknown:
        raise where.fail(f"{field}.{unknown[0]}", "unknown key", "use " + ", ".join(sorted(keys)))
    for key in ("from", "to"):
        if key not in item:
            raise where.fail(f"{field}.{key}", "required: a peer expression (ns/pod, ns/*, *)")
    has_ports = "ports" in item
    if not has_ports and keys == _FLOW_KEYS:
        raise where.fail(f"{field}.ports", "required: 80/TCP, a list of ports, or any")
    return Flow(
        source=where.parse(f"{field}.from", parse_peer, item["from"]),
        destination=where.parse(f"{field}.to", parse_peer, item["to"]),
        ports=where.parse(f"{field}.ports", parse_ports, item["ports"]) if has_ports else ALL,
        field=field,
        except_source=_optional_peer(where, f"{field}.except_from", item.get("except_from")),
        except_destination=_optional_peer(where, f"{field}.except_to", item.get("except_to")),
    )


def _optional_peer(where: _Where, field: str, value: object) -> PeerExpr | None:
    return None if value is None else where.parse(field, parse_peer, value)


def _exactly(where: _Where, field: str, value: object) -> Exactly | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len({"to", "from"} & set(value)) != 1:
        raise where.fail(field, "must name one target", "write exactly: {to: ns/pod, allow: [...]}")
    unknown = sorted(set(value) - {"to", "from", "allow"})
    if unknown:
        raise where.fail(f"{field}.{unknown[0]}", "unknown key", "use to or from, and allow")
    direction: Literal["to", "from"] = "to" if "to" in value else "from"
    other = "from" if direction == "to" else "to"
    allow = value.get("allow")
    if not isinstance(allow, list):
        raise where.fail(f"{field}.allow", f"must be a list of {{{other}, ports}} (may be empty)")
    entries = tuple(
        _exact_entry(where, f"{field}.allow[{i}]", item, other) for i, item in enumerate(allow)
    )
    target = where.parse(f"{field}.{direction}", parse_peer, value[direction])
    return Exactly(target, direction, entries, field)


def _exact_entry(where: _Where, field: str, item: object, other: str) -> ExactEntry:
    if not isinstance(item, dict) or set(item) != {other, "ports"}:
        raise where.fail(field, f"must be a mapping {{{other}, ports}}")
    return ExactEntry(
        where.parse(f"{field}.{other}", parse_peer, item[other]),
        where.parse(f"{field}.ports", parse_ports, item["ports"]),
        field,
    )


def _state(where: _Where, field: str, value: object) -> State | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"policy_in"}:
        raise where.fail(field, "must be {policy_in: NAMESPACE}")
    namespace = value["policy_in"]
    if not isinstance(namespace, str) or not namespace:
        raise where.fail(f"{field}.policy_in", "must be a namespace name")
    return State(namespace, field)


def combine(public: RequirementSet, hidden: RequirementSet) -> RequirementSet:
    """Public and hidden requirements as one set; ids unique over both, gates resolved."""
    result = RequirementSet(
        (*public.requirements, *hidden.requirements),
        tuple(dict.fromkeys((*public.externals, *hidden.externals))),
    )
    check_references(result, complete=True)
    return result


def check_references(requirements: RequirementSet, *, complete: bool) -> None:
    """Ids are unique; public gates name no hidden requirement; when ``complete`` (public
    and hidden together) every gate names a known requirement."""
    seen: dict[str, Requirement] = {}
    for req in requirements.requirements:
        if req.id in seen:
            raise RequirementsError(
                f"id {req.id!r} is used twice (also {seen[req.id].file} {seen[req.id].field})",
                file=req.file,
                field=f"{req.field}.id",
                hint="ids must be unique over the public and hidden requirements",
            )
        seen[req.id] = req
    for req in requirements.requirements:
        _check_gate(req, req.gate, seen, complete)


def _check_gate(
    req: Requirement, gate: Iterable[str], known: dict[str, Requirement], complete: bool
) -> None:
    where = _Where(req.file, req.id)
    for i, gid in enumerate(gate):
        target = known.get(gid)
        if gid == req.id:
            raise where.fail(f"{req.field}.gate[{i}]", "a requirement cannot gate itself")
        if target is None and not complete:
            continue  # the other file may hold it: checked once both are combined
        if target is None:
            raise where.fail(f"{req.field}.gate[{i}]", f"no requirement has id {gid!r}")
        if target.hidden and not req.hidden:
            raise where.fail(
                f"{req.field}.gate[{i}]",
                f"a public requirement is gated on hidden {gid!r}",
                "gate public requirements on public ones only (the self-check cannot run "
                "hidden checks)",
            )
