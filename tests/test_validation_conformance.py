"""The validator against every case of ``../shared/conformance/validation-cases.json``.

* ``valid``: no error (and the warning the notes announce, where they announce one);
* ``invalid``: the API server's exact messages in its order where the case gives them, the
  field paths and error types in order always;
* ``version_dependent``: both sides of every version split, at the boundary and one release
  beyond it;
* ``defaults``: :func:`default_policy_spec` against the defaulted object, and validation runs on
  the defaulted object;
* ``update_cases``: labkit validates creates; the spec errors an update case expects are also
  create errors of the new object.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conformance_data import require_shared, validation_cases

from labkit.errors import Issue
from labkit.model.loader import RawObject
from labkit.model.parse_policy import default_policy_types
from labkit.model.validation import default_policy_spec, validate_objects, validate_policy

DATA = validation_cases() or {}
VALID = DATA.get("valid", [])
INVALID = DATA.get("invalid", [])
VERSIONED = DATA.get("version_dependent", [])
DEFAULTS = DATA.get("defaults", [])
UPDATES = DATA.get("update_cases", [])


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in cases]


def _validate(policy: dict[str, Any], version: str = "1.36") -> tuple[list[Issue], list[Issue]]:
    return validate_objects([RawObject(policy, "case.yaml")], kubernetes_version=version)


def test_the_cases_are_there() -> None:
    require_shared()
    assert len(VALID) >= 11
    assert len(INVALID) >= 42
    assert len(VERSIONED) >= 2
    assert len(DEFAULTS) >= 8


@pytest.mark.parametrize("case", VALID, ids=_ids(VALID))
def test_valid_case_has_no_error(case: dict[str, Any]) -> None:
    require_shared()
    errors, warnings = _validate(case["policy"])
    assert [e.message for e in errors] == []
    assert validate_policy(case["policy"]) == []
    if "RFC 5952" in case.get("notes", ""):
        assert any("should be in RFC 5952 canonical format" in w.message for w in warnings)
        assert all(w.severity == "warning" for w in warnings)


@pytest.mark.parametrize("case", INVALID, ids=_ids(INVALID))
def test_invalid_case_matches_the_api_server(case: dict[str, Any]) -> None:
    require_shared()
    errors = validate_policy(case["policy"], file="case.yaml")
    assert [(e.field, e.type) for e in errors] == list(
        zip(case["expected_error_fields"], case["expected_error_types"], strict=True)
    )
    if "expected_errors" in case:
        assert [e.message for e in errors] == [x["message"] for x in case["expected_errors"]]
        assert [e.detail for e in errors] == [x["detail"] for x in case["expected_errors"]]
    for error in errors:
        assert error.severity == "error"
        assert error.hint, f"{error.message} has no hint"
        assert error.file == "case.yaml"
        assert error.object.startswith("NetworkPolicy ")


def _versions(label: str) -> list[str]:
    """The releases to test for an outcome key: the boundary and one release beyond it."""
    match = re.match(r"\s*(<=|>=)\s*1\.(\d+)", label)
    assert match, f"cannot read the version range {label!r}"
    minor = int(match.group(2))
    beyond = minor - 1 if match.group(1) == "<=" else minor + 1
    return [f"1.{minor}", f"1.{beyond}"]


VERSION_ROWS = [
    pytest.param(case, label, version, id=f"{case['id']}@{version}")
    for case in VERSIONED
    for label in case["outcome_by_version"]
    for version in _versions(label)
]


@pytest.mark.parametrize(("case", "label", "version"), VERSION_ROWS)
def test_version_dependent_case(case: dict[str, Any], label: str, version: str) -> None:
    require_shared()
    outcome = case["outcome_by_version"][label]
    errors, warnings = _validate(case["policy"], version)
    if outcome["valid"]:
        assert [e.message for e in errors] == []
        if str(outcome.get("warning", "")).startswith("yes"):
            assert warnings and all(w.severity == "warning" for w in warnings)
        return
    assert [(e.field, e.type) for e in errors] == list(
        zip(outcome["expected_error_fields"], outcome["expected_error_types"], strict=True)
    )
    if "expected_errors" in outcome:
        assert [e.message for e in errors] == [x["message"] for x in outcome["expected_errors"]]
    assert warnings == []


@pytest.mark.parametrize("case", DEFAULTS, ids=[c["note"][:50] for c in DEFAULTS])
def test_defaulting(case: dict[str, Any]) -> None:
    require_shared()
    assert default_policy_spec(case["input"]) == case["defaulted"]
    if not case["input"].get("policyTypes"):
        types, defaulted = default_policy_types(case["input"])
        assert defaulted and types == case["defaulted"]["policyTypes"]


@pytest.mark.parametrize("case", DEFAULTS, ids=[c["note"][:50] for c in DEFAULTS])
def test_validation_runs_on_the_defaulted_object(case: dict[str, Any]) -> None:
    require_shared()
    meta = {"name": "foo", "namespace": "bar"}

    def messages(spec: dict[str, Any]) -> list[str]:
        policy = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta,
            "spec": spec,
        }
        return [e.message for e in validate_policy(policy)]

    assert messages(case["input"]) == messages(case["defaulted"])


def test_an_empty_protocol_is_not_defaulted_and_is_rejected() -> None:
    require_shared()
    (case,) = [c for c in DEFAULTS if '""' in c["note"]]
    policy = {"kind": "NetworkPolicy", "metadata": {"name": "foo"}, "spec": case["input"]}
    assert [e.message for e in validate_policy(policy)] == [
        'spec.ingress[0].ports[0].protocol: Unsupported value: "": supported values: "TCP", '
        '"UDP", "SCTP"'
    ]


SPEC_UPDATE_ERRORS = [
    c
    for c in UPDATES
    if not c["valid"] and all(f.startswith("spec.") for f in c["expected_error_fields"])
]


@pytest.mark.parametrize("case", SPEC_UPDATE_ERRORS, ids=_ids(SPEC_UPDATE_ERRORS))
def test_spec_errors_of_update_cases_are_create_errors_too(case: dict[str, Any]) -> None:
    require_shared()
    errors = validate_policy(case["policy"])
    assert [(e.field, e.type) for e in errors] == list(
        zip(case["expected_error_fields"], case["expected_error_types"], strict=True)
    )
