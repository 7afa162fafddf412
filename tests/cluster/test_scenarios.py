"""Break-fix scenarios: each starts broken (its check fails), the fix makes it pass, on the
simulated backend, through the CLI and the notebook facade."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labkit.cli.main import main
from labkit.cluster import lifecycle, scenarios
from labkit.grading.scenario_check import check_scenario, scenario_requirements

NAMES = (
    "wrong-labels",
    "namespace-mismatch",
    "missing-dns-egress",
    "policy-in-wrong-namespace",
    "and-or-mistake",
    "cni-not-enforcing",
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    monkeypatch.delenv("LABKIT_BACKEND", raising=False)
    lifecycle.up("simulated")
    return tmp_path


def _policy(name: str) -> dict[str, Any]:
    return copy.deepcopy(dict(scenarios.load(name).objects[0]))


def _fix_wrong_labels() -> None:
    policy = _policy("wrong-labels")
    policy["spec"]["podSelector"] = {"matchLabels": {"role": "database"}}
    lifecycle.connect().apply(policy)


def _fix_namespace_mismatch() -> None:
    policy = _policy("namespace-mismatch")
    peer = policy["spec"]["ingress"][0]["from"][0]
    peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": "trusted"}}
    lifecycle.connect().apply(policy)


def _fix_missing_dns() -> None:
    policy = _policy("missing-dns-egress")
    policy["spec"]["egress"].append(
        {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                    },
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
    )
    lifecycle.connect().apply(policy)


def _fix_wrong_namespace() -> None:
    policy = _policy("policy-in-wrong-namespace")
    lab = lifecycle.connect()
    lab.delete("NetworkPolicy", "protect-database", "backup-site")
    policy["metadata"]["namespace"] = "my-segment"
    lab.apply(policy)


def _fix_and_or() -> None:
    policy = _policy("and-or-mistake")
    both = policy["spec"]["ingress"][0]["from"][0]
    policy["spec"]["ingress"][0]["from"] = [
        {"namespaceSelector": both["namespaceSelector"]},
        {"podSelector": both["podSelector"]},
    ]
    lifecycle.connect().apply(policy)


def _fix_cni() -> None:
    lifecycle.up("simulated", cni="calico")


FIXES: dict[str, Callable[[], None]] = {
    "wrong-labels": _fix_wrong_labels,
    "namespace-mismatch": _fix_namespace_mismatch,
    "missing-dns-egress": _fix_missing_dns,
    "policy-in-wrong-namespace": _fix_wrong_namespace,
    "and-or-mistake": _fix_and_or,
    "cni-not-enforcing": _fix_cni,
}


def _fixed(name: str) -> bool:
    spec = scenarios.load(name)
    inputs = scenarios.check_inputs(spec)
    grade = check_scenario(
        name,
        scenario_requirements(spec.requirements, str(spec.file)),
        inputs.broken,
        inputs.now,
        enforcement=inputs.enforcement,
    )
    return all(r.passed for r in grade.requirements)


def test_the_six_scenarios_are_listed() -> None:
    assert set(NAMES) <= set(scenarios.names())
    for name in NAMES:
        spec = scenarios.load(name)
        assert spec.story and spec.title and len(spec.hints) >= 2


@pytest.mark.parametrize("name", NAMES)
def test_scenario_fails_when_started_and_passes_once_fixed(home: Path, name: str) -> None:
    scenarios.start(scenarios.load(name))
    assert not _fixed(name)
    FIXES[name]()
    assert _fixed(name)


@pytest.mark.parametrize("name", NAMES)
def test_stop_restores_the_lab(home: Path, name: str) -> None:
    spec = scenarios.load(name)
    scenarios.start(spec)
    scenarios.stop(spec)
    lab = lifecycle.connect()
    assert not lab.inventory().policies
    assert getattr(lab, "cni", "calico") == "calico"


def test_cli_start_check_stop(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "start", "namespace-mismatch"]) == 0
    assert "Trusted, but turned away" in capsys.readouterr().out
    assert main(["scenario", "check", "namespace-mismatch"]) == 1
    assert "MISS" in capsys.readouterr().out
    _fix_namespace_mismatch()
    assert main(["scenario", "check", "namespace-mismatch", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["fixed"] is True
    assert main(["scenario", "stop", "namespace-mismatch"]) == 0


def test_cli_list_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "list", "-o", "json"]) == 0
    listed = {s["name"] for s in json.loads(capsys.readouterr().out)}
    assert set(NAMES) <= listed


def test_unknown_scenario_names_the_known_ones(home: Path) -> None:
    with pytest.raises(scenarios.ScenarioError, match="wrong-labels"):
        scenarios.load("no-such-scenario")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "other"}, "name"),
        ({"objects": "not a list"}, "objects"),
        ({"colour": "red"}, "colour"),
        ({"cni": "flannel"}, "cni"),
        ({"story": ""}, "story"),
    ],
)
def test_bad_scenario_file_names_the_field(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    data = {"name": "x", "title": "t", "story": "s", "requirements": {"requirements": []}}
    with pytest.raises(scenarios.ScenarioError, match=f"x.yaml: {field}"):
        scenarios.parse({**data, **change}, tmp_path / "x.yaml")


def test_facade_scenario_gives_one_more_hint_per_failed_check(home: Path) -> None:
    import labkit.lab as lab

    found = lab.scenario("and-or-mistake")
    assert "One dash too few" in found.start()
    hints = [found.check().hint for _ in range(3)]
    assert hints == list(found.spec.hints[:3])
    _fix_and_or()
    done = found.check()
    assert done.passed and not done.hint
    assert "stopped" in found.stop()


def test_cni_scenario_refuses_a_real_cluster(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Real:  # stands in for a kind cluster: not simulated
        name = "kind"

    monkeypatch.setattr(lifecycle, "connect", lambda: Real())
    with pytest.raises(scenarios.ScenarioError, match="simulated backend"):
        scenarios.start(scenarios.load("cni-not-enforcing"))
