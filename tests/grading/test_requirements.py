"""Requirement files parsed into data (labkit.grading.requirements): every kind, and every
mistake refused with the file, the requirement id and the field path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from grading_core_fixtures import write_yaml

from labkit.engine.portset import ALL, PortSet
from labkit.errors import RequirementsError
from labkit.grading.requirements import (
    RequirementSet,
    combine,
    load_requirements,
    parse_requirements,
)
from labkit.model.ports import Protocol

FULL_FILE: dict[str, Any] = {
    "requirements": [
        {
            "id": "inside",
            "description": "inside talks",
            "points": 2,
            "allowed": [{"from": "a/*", "to": "a/*", "ports": "any"}],
            "blocked": [{"from": "b/*", "to": "a/*", "ports": ["80/TCP", "53/UDP"]}],
        },
        {
            "id": "db-only",
            "description": "db accepts only web",
            "points": 3,
            "exactly": {"to": "a/db", "allow": [{"from": "a/web", "ports": "5432"}]},
        },
        {
            "id": "db-out",
            "description": "db talks only to web",
            "points": 1,
            "exactly": {"from": "a/db", "allow": []},
        },
        {
            "id": "rest",
            "description": "the rest is unchanged",
            "points": 1,
            "gate": ["db-only"],
            "unchanged": [{"from": "*", "to": "*", "except_to": "a/db"}],
        },
        {
            "id": "exists",
            "description": "a policy exists",
            "points": 0,
            "state": {"policy_in": "a"},
        },
    ],
    "externals": ["ip:8.8.8.8"],
}


def test_every_kind_is_parsed() -> None:
    reqs = parse_requirements(FULL_FILE, file="r.yaml")
    inside, db_only, db_out, rest, exists = reqs.requirements
    assert inside.allowed[0].ports == ALL
    assert inside.blocked[0].ports == PortSet.of(Protocol.TCP, 80, 80) | PortSet.of(
        Protocol.UDP, 53, 53
    )
    assert inside.blocked[0].field == "requirements[0].blocked[0]"
    assert db_only.exactly is not None and db_only.exactly.direction == "to"
    assert db_only.exactly.allow[0].ports == PortSet.of(Protocol.TCP, 5432, 5432)
    assert db_out.exactly is not None and db_out.exactly.direction == "from"
    assert db_out.exactly.allow == ()
    assert rest.gate == ("db-only",)
    assert rest.unchanged[0].ports == ALL
    assert rest.unchanged[0].except_destination is not None
    assert rest.unchanged[0].except_destination.text == "a/db"
    assert exists.state is not None and exists.state.policy_in == "a"
    assert [e.text for e in reqs.externals] == ["ip:8.8.8.8"]
    assert reqs.points == 7
    assert not any(r.hidden for r in reqs.requirements)


def _one(**fields: Any) -> dict[str, Any]:
    item = {"id": "r1", "description": "d", "points": 1, **fields}
    return {"requirements": [{k: v for k, v in item.items() if v is not None}]}


_FLOW = [{"from": "a/*", "to": "b/*", "ports": "80/TCP"}]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (_one(allowd=_FLOW), "requirements[0].allowd"),  # a typo is refused, not ignored
        (_one(), "requirements[0]"),  # no check at all
        (_one(allowed=_FLOW, exactly={"to": "a/db", "allow": []}), "requirements[0]"),
        (_one(allowed=_FLOW, description=None), "requirements[0].description"),
        (_one(allowed=_FLOW, points=-1), "requirements[0].points"),
        (_one(allowed=_FLOW, points="2"), "requirements[0].points"),
        (_one(allowed=[{"from": "a/*", "to": "b/*", "ports": "80/ICMP"}]), "allowed[0].ports"),
        (_one(allowed=[{"from": "a/*", "to": "b/*"}]), "allowed[0].ports"),
        (_one(blocked=[{"from": "my-segment", "to": "b/*", "ports": "any"}]), "blocked[0].from"),
        (_one(blocked=[{"from": "a/*", "to": "b/*", "ports": "any", "x": 1}]), "blocked[0].x"),
        (_one(exactly={"to": "a/db", "from": "a/web", "allow": []}), "requirements[0].exactly"),
        (_one(exactly={"to": "a/db", "allow": [{"to": "a/web", "ports": "80"}]}), "allow[0]"),
        (_one(exactly={"to": "a/db"}), "exactly.allow"),
        (_one(state={"policy_in": ""}), "state.policy_in"),
        (_one(allowed=_FLOW, gate="other"), "requirements[0].gate"),
        (_one(allowed=_FLOW, gate=["r1"]), "requirements[0].gate[0]"),
        ({"requirements": [], "extra": 1}, "extra"),
        ({"requirements": [], "externals": ["a/web"]}, "externals[0]"),
    ],
)
def test_mistakes_name_file_requirement_and_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(RequirementsError) as caught:
        parse_requirements(data, file="exercises/x/requirements.yaml")
    message = str(caught.value)
    assert "exercises/x/requirements.yaml" in message
    assert field in caught.value.field
    if data["requirements"] and isinstance(data["requirements"][0].get("id"), str):
        assert caught.value.requirement == "r1"
        assert "requirement r1" in message


def test_ids_are_unique_over_public_and_hidden() -> None:
    public = parse_requirements(_one(allowed=_FLOW), file="requirements.yaml")
    hidden = parse_requirements(
        _one(blocked=_FLOW), file="instructor/requirements.yaml", hidden=True
    )
    with pytest.raises(RequirementsError, match="used twice"):
        combine(public, hidden)


def test_public_may_not_be_gated_on_hidden() -> None:
    public = parse_requirements(_one(allowed=_FLOW, gate=["secret"]), file="requirements.yaml")
    hidden_data = {
        "requirements": [{"id": "secret", "description": "s", "points": 1, "blocked": _FLOW}]
    }
    hidden = parse_requirements(hidden_data, file="instructor/requirements.yaml", hidden=True)
    with pytest.raises(RequirementsError, match="hidden") as caught:
        combine(public, hidden)
    assert caught.value.field == "requirements[0].gate[0]"


def test_gates_must_name_a_requirement_once_combined() -> None:
    public = parse_requirements(_one(allowed=_FLOW, gate=["typo"]), file="requirements.yaml")
    with pytest.raises(RequirementsError, match="no requirement has id 'typo'"):
        combine(public, RequirementSet())


def test_hidden_may_be_gated_on_public() -> None:
    public = parse_requirements(_one(allowed=_FLOW), file="requirements.yaml")
    hidden_data = {
        "requirements": [
            {"id": "h", "description": "s", "points": 1, "gate": ["r1"], "blocked": _FLOW}
        ]
    }
    hidden = parse_requirements(hidden_data, file="instructor/requirements.yaml", hidden=True)
    combined = combine(public, hidden)
    assert [r.hidden for r in combined.requirements] == [False, True]
    assert [r.id for r in combined.public] == ["r1"]


def test_load_requirements_reads_a_file(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "requirements.yaml", FULL_FILE)
    reqs = load_requirements(path, hidden=True)
    assert reqs.ids() == ("inside", "db-only", "db-out", "rest", "exists")
    assert all(r.hidden and r.file == str(path) for r in reqs.requirements)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("requirements: [\n", "YAML"),
        ("requirements: []\nrequirements: []\n", "already defined"),  # duplicate key
        ("- 1\n", "mapping"),
        ("a: 1\n---\nb: 2\n", "2 YAML documents"),
    ],
)
def test_load_requirements_refuses_broken_files(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "requirements.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RequirementsError, match=match) as caught:
        load_requirements(path)
    assert str(path) in str(caught.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RequirementsError, match="cannot read"):
        load_requirements(tmp_path / "nope.yaml")
