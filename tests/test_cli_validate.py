"""``labkit validate`` (and ``labkit matrix`` on invalid input): exit codes, JSON and text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from labkit.cli.main import main

GOOD = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: demo}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 80}]
"""

BAD = """\
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: demo}
spec:
  podSelector: {}
  ingress:
  - ports: [{protocol: tcp, port: 80}]
"""

HOST_BITS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: office, namespace: demo}
spec:
  podSelector: {}
  ingress:
  - from: [{ipBlock: {cidr: 10.0.0.5/24}}]
"""

BROKEN = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n   labels: {}\n"

KEYS = {"file", "object", "field", "type", "message", "hint"}


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_valid_manifest_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "-f", write(tmp_path, "good.yaml", GOOD)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("valid: 1 object (Kubernetes 1.36)")


def test_valid_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(
        capsys, "validate", "-f", write(tmp_path, "good.yaml", GOOD), "-o", "json"
    )
    assert code == 0
    assert data == {"valid": True, "errors": [], "warnings": []}


def test_invalid_json_names_file_object_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "bad.yaml", BAD)
    code, data = run_json(capsys, "validate", "-f", path, "-o", "json")
    assert code == 1
    assert data["valid"] is False and data["warnings"] == []
    (error,) = data["errors"]
    assert set(error) == KEYS
    assert error == {
        "file": f"{path}:4",
        "object": "NetworkPolicy demo/allow-web",
        "field": "spec.ingress[0].ports[0].protocol",
        "type": "Unsupported value",
        "message": 'spec.ingress[0].ports[0].protocol: Unsupported value: "tcp": supported '
        'values: "TCP", "UDP", "SCTP"',
        "hint": "protocol names are upper case: write TCP",
    }


def test_invalid_text_has_file_object_message_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "bad.yaml", BAD)
    code = main(["validate", "-f", path])
    out = capsys.readouterr().out
    assert code == 1
    assert (
        f"{path}:4: NetworkPolicy demo/allow-web: spec.ingress[0].ports[0].protocol: Unsupported "
        'value: "tcp"' in out
    )
    assert "    fix: protocol names are upper case: write TCP" in out
    assert out.rstrip().endswith(
        "invalid: 1 error in 2 objects (Kubernetes 1.36); nothing would be applied"
    )


def test_yaml_syntax_error_has_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = write(tmp_path, "broken.yaml", BROKEN)
    bad = write(tmp_path, "bad.yaml", BAD)
    code, data = run_json(capsys, "validate", "-f", broken, "-f", bad, "-o", "json")
    assert code == 1
    first, second = data["errors"]
    assert set(first) == KEYS
    assert first["file"] == f"{broken}:5:10"
    assert "YAML syntax error" in first["message"] and first["hint"]
    assert second["field"] == "spec.ingress[0].ports[0].protocol"


def test_yaml_syntax_error_in_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = write(tmp_path, "broken.yaml", BROKEN)
    code = main(["validate", "-f", broken])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith(f"{broken}:5:10: ")
    assert "\n    fix: " in out


def test_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "validate", "-f", str(tmp_path / "none.yaml"), "-o", "json")
    assert code == 1
    assert data["errors"][0]["file"] == str(tmp_path / "none.yaml")


def test_directory_of_manifests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", BAD)
    code, data = run_json(capsys, "validate", "-f", str(tmp_path), "-o", "json")
    assert code == 1
    assert [e["file"] for e in data["errors"]] == [f"{tmp_path / 'b.yaml'}:4"]


@pytest.mark.parametrize(
    ("version", "code", "errors", "warnings"),
    [("1.36", 1, 1, 0), ("1.35", 0, 0, 1), ("v1.34.2", 0, 0, 1)],
)
def test_kubernetes_version(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    version: str,
    code: int,
    errors: int,
    warnings: int,
) -> None:
    path = write(tmp_path, "host.yaml", HOST_BITS)
    got, data = run_json(
        capsys, "validate", "-f", path, "-o", "json", "--kubernetes-version", version
    )
    assert got == code
    assert (len(data["errors"]), len(data["warnings"])) == (errors, warnings)
    for issue in data["errors"] + data["warnings"]:
        assert issue["field"] == "spec.ingress[0].from[0].ipBlock.cidr" and set(issue) == KEYS


def test_warnings_in_text_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "host.yaml", HOST_BITS)
    code = main(["validate", "-f", path, "--kubernetes-version", "1.35"])
    out = capsys.readouterr().out
    assert code == 0
    assert "warning: " in out and "is ambiguous in this context" in out
    assert "valid: 1 object (Kubernetes 1.35), 1 warning" in out


def test_bad_version_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "good.yaml", GOOD)
    assert main(["validate", "-f", path, "--kubernetes-version", "latest"]) == 1
    assert "not a Kubernetes version" in capsys.readouterr().err


def test_matrix_reports_invalid_input_in_the_same_json_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "bad.yaml", BAD)
    code, data = run_json(capsys, "matrix", "-f", path, "-o", "json")
    _, expected = (
        main(["validate", "-f", path, "-o", "json"]),
        json.loads(capsys.readouterr().out),
    )
    assert code == 1
    assert data == expected


def test_matrix_reports_broken_yaml_in_the_same_json_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = write(tmp_path, "broken.yaml", BROKEN)
    code, data = run_json(capsys, "matrix", "-f", broken, "-o", "json")
    assert code == 1
    assert data["valid"] is False and data["warnings"] == []
    (error,) = data["errors"]
    assert set(error) == KEYS and error["file"] == f"{broken}:5:10"


def test_matrix_reports_broken_yaml_in_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = write(tmp_path, "broken.yaml", BROKEN)
    assert main(["matrix", "-f", broken]) == 1
    err = capsys.readouterr().err
    assert f"{broken}:5:10: " in err and "fix: " in err


@pytest.mark.parametrize(
    "argv",
    [
        ["audit"],
        ["explain", "--from", "demo/a", "--to", "demo/b", "--port", "80"],
        ["matrix"],
    ],
    ids=["audit", "explain", "matrix"],
)
def test_commands_that_apply_nothing_never_say_nothing_was_applied(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only ``apply`` applies: the others say what the API server would do."""
    path = write(tmp_path, "bad.yaml", BAD)
    assert main([argv[0], "-f", path, *argv[1:]]) == 1
    err = capsys.readouterr().err
    assert "1 validation error: the API server would reject these objects:" in err
    assert "Unsupported value" in err and "nothing was applied" not in err


def test_a_duplicated_json_key_is_an_error_not_a_wider_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``podSelector`` twice: json keeps the last (``{}``, every pod); labkit refuses it."""
    text = json.dumps(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "p", "namespace": "demo"},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}}},
        },
        indent=2,
    ).replace('"spec": {', '"spec": {\n    "podSelector": {},', 1)
    path = write(tmp_path, "policy.json", text)
    code, data = run_json(capsys, "validate", "-f", path, "-o", "json")
    assert code == 1
    (error,) = data["errors"]
    assert error["file"] == f"{path}:10:5" and error["type"] == "Syntax error"
    assert 'key "podSelector" appears twice in one object (first at line 9)' in error["message"]
