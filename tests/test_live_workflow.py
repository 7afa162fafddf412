"""The live workflow (.github/workflows/live.yml), `make live` and the live benchmark's
targets, read as files: the path filters cover everything the live comparison depends on,
the jobs cover every shape of the lab, the cluster starts before pytest, the benchmark fails
on a missed target, and every action is pinned by a full commit sha."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.live_probe import TARGETS, missed_targets

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
LIVE_TEXT = (WORKFLOWS / "live.yml").read_text(encoding="utf-8")
LIVE = yaml.safe_load(LIVE_TEXT)
TRIGGERS: dict[str, Any] = LIVE.get("on") or LIVE[True]  # PyYAML reads `on:` as true
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """GitHub's path filter glob: ``**`` any characters, ``*`` any but ``/``."""
    out = ""
    for part in re.split(r"(\*\*|\*)", pattern):
        out += {"**": ".*", "*": "[^/]*"}.get(part, re.escape(part))
    return re.compile(out + "$")


def filtered(path: str, event: str) -> bool:
    return any(glob_regex(p).match(path) for p in TRIGGERS[event]["paths"])


def run_lines() -> list[tuple[str, str]]:
    """``(job id, run text)`` of every step, in order."""
    return [
        (job_id, str(step.get("run", "")))
        for job_id, job in LIVE["jobs"].items()
        for step in job["steps"]
    ]


def job_text(job_id: str) -> str:
    job = LIVE["jobs"][job_id]
    return yaml.safe_dump(job.get("strategy", {})) + "\n".join(
        str(s.get("run", "")) for s in job["steps"]
    )


DEPENDS_ON = [
    "labkit/engine/matrix.py",
    "labkit/model/loader.py",
    "labkit/probe/jobs.py",
    "labkit/cluster/kind/cluster.py",
    "labkit/lab/__init__.py",
    "benchmarks/live_probe.py",
    "pyproject.toml",
    "constraints.txt",
    "Makefile",
    "clusters/calico/versions.yaml",
    "clusters/kind/labkit-3nodes.yaml",
    "clusters/topology/topology.yaml",
    "tests/live/test_kind_live.py",
    "tests/conftest.py",
    "notebooks/00-start-here.ipynb",
    ".github/workflows/live.yml",
]


@pytest.mark.parametrize("event", ["push", "pull_request"])
@pytest.mark.parametrize("path", DEPENDS_ON)
def test_path_filters_cover_what_the_live_comparison_depends_on(event: str, path: str) -> None:
    assert (ROOT / path).exists(), path
    assert filtered(path, event), f"{event}: a change to {path} would not run the live suite"


def first_party_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.split(".")[0] in ("labkit", "benchmarks")}


def module_file(module: str) -> str:
    base = ROOT / module.replace(".", "/")
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    assert path.exists(), module
    return str(path.relative_to(ROOT))


def test_every_module_the_live_tests_import_is_filtered() -> None:
    sources = [*sorted((ROOT / "tests" / "live").glob("*.py")), ROOT / "benchmarks/live_probe.py"]
    modules = set().union(*(first_party_imports(p) for p in sources))
    assert any(m.startswith("labkit.cluster") for m in modules)
    missing = sorted(f for f in map(module_file, modules) if not filtered(f, "pull_request"))
    assert missing == []


def test_unrelated_files_do_not_trigger_it() -> None:
    assert not filtered("README.md", "pull_request")
    assert not filtered("docs/notes.md", "push")


def test_jobs_cover_every_shape_of_the_lab() -> None:
    texts = {job_id: job_text(job_id) for job_id in LIVE["jobs"]}
    everything = "\n".join(texts.values())
    assert re.search(r"nodes: 1\b", everything) or "--nodes 1" in everything
    assert "manifest" in everything and "--calico" in everything
    offline = [t for t in texts.values() if "images save" in t and "images load" in t]
    assert offline, "no job carries the images through save/load"
    text = offline[0]
    assert text.index("images save") < text.index("prune") < text.index("images load")
    assert text.index("images load") < text.index("labkit -v up")
    assert "test_notebooks_live.py" in everything
    assert LIVE["on" if "on" in LIVE else True]["schedule"]


def test_the_cluster_starts_before_any_pytest_in_every_job() -> None:
    for job_id in LIVE["jobs"]:
        runs = [run for jid, run in run_lines() if jid == job_id]
        if not any("pytest" in r for r in runs):
            continue
        first_up = next(i for i, r in enumerate(runs) if "labkit -v up" in r)
        tests = [i for i, r in enumerate(runs) if "pytest" in r]
        assert tests and min(tests) > first_up, job_id


def test_the_benchmark_step_fails_on_a_missed_target() -> None:
    steps = [
        (job_id, step)
        for job_id, job in LIVE["jobs"].items()
        for step in job["steps"]
        if "benchmarks/live_probe.py" in str(step.get("run", ""))
    ]
    assert steps
    for _, step in steps:
        assert "--require-cluster" in step["run"]
        assert "|| true" not in step["run"] and not step.get("continue-on-error")


@pytest.mark.parametrize("workflow", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_every_action_is_pinned_by_a_full_commit_sha(workflow: Path) -> None:
    data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    uses = [
        str(step["uses"])
        for job in data["jobs"].values()
        for step in job.get("steps", [])
        if "uses" in step
    ]
    assert uses
    assert [u for u in uses if not SHA_PIN.match(u)] == []


def test_make_live_starts_the_cluster_before_pytest() -> None:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^live:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert recipe is not None
    commands = recipe.group(1).replace("\\\n", " ").splitlines()  # join continued lines
    up = next(i for i, line in enumerate(commands) if "labkit up --backend kind" in line)
    test = next(i for i, line in enumerate(commands) if "pytest" in line)
    assert up < test
    assert "LABKIT_LIVE_NODES" in commands[test] and "LABKIT_LIVE_CALICO" in commands[test]


def passes(seconds: float = 5.0, disagreements: int = 0, failed: int = 0) -> list[dict[str, Any]]:
    return [{"seconds": seconds, "disagreements": disagreements, "failed": failed}]


@pytest.mark.parametrize(
    ("figures", "missed"),
    [
        ({"warm_up_s": 2.0, "probe_passes": passes()}, []),
        ({"warm_up_s": 31.0, "probe_passes": passes()}, ["warm labkit up took 31.0 s"]),
        ({"cold_up_s": 1300.0, "probe_passes": passes()}, ["cold labkit up took 1300.0 s"]),
        ({"warm_up_s": 2.0, "probe_passes": passes(61.0)}, ["pass 1 took 61.0 s"]),
        ({"warm_up_s": 2.0, "probe_passes": passes(disagreements=2)}, ["2 cells disagree"]),
        ({"warm_up_s": 2.0, "probe_passes": passes(failed=1)}, ["1 probes failed"]),
        ({"warm_up_s": 2.0, "probe_passes": []}, ["no probe pass ran"]),
    ],
)
def test_live_benchmark_targets(figures: dict[str, object], missed: list[str]) -> None:
    found = missed_targets(figures, 1200.0)
    assert len(found) == len(missed)
    for text, want in zip(found, missed, strict=True):
        assert want in text
    assert TARGETS["disagreements"] == 0 and TARGETS["failed"] == 0


def test_a_job_checks_every_pinned_digest_against_its_registry() -> None:
    runs = [run for jid, run in run_lines() if jid == "digests"]
    assert any("verify_digests.py" in r for r in runs)
    script = (ROOT / ".github/workflows/verify_digests.py").read_text()
    assert "imagetools" in script and "image_pins" in script


def test_the_default_lab_shape_runs_on_the_default_calico_install() -> None:
    from labkit.cluster.kind.options import KindOptions

    assert f"{{nodes: 3, calico: {KindOptions().calico_mode}}}" in LIVE_TEXT


# -- workshop mode (issue 10) -------------------------------------------------------------------
WORKSHOP_FILES = ["tests/live/test_workshop_live.py", "benchmarks/workshop_load.py"]


@pytest.mark.parametrize("event", ["push", "pull_request"])
@pytest.mark.parametrize("path", WORKSHOP_FILES)
def test_path_filters_cover_the_workshop_tests_and_load_script(event: str, path: str) -> None:
    assert (ROOT / path).exists(), path
    assert filtered(path, event)


def test_workshop_job_runs_the_workshop_tests_then_the_load_script_on_3_nodes() -> None:
    job = LIVE["jobs"]["workshop"]
    runs = [str(step.get("run", "")) for step in job["steps"]]
    up = next(i for i, r in enumerate(runs) if "labkit -v up --backend kind --nodes 3" in r)
    tests = next(i for i, r in enumerate(runs) if "pytest -m live" in r)
    assert "tests/live/test_workshop_live.py" in runs[tests]
    load = next(i for i, r in enumerate(runs) if "benchmarks/workshop_load.py" in r)
    assert "--learners 50" in runs[load] and "--context kind-labkit" in runs[load]
    assert "workshop-load.json" in runs[load]
    assert up < tests < load
    assert any("make install" in r for r in runs[:up])
    assert job["env"]["LABKIT_LIVE"] == "1" and str(job["env"]["LABKIT_LIVE_NODES"]) == "3"


def test_workshop_job_pins_its_actions_as_the_other_jobs_and_keeps_the_figures() -> None:
    def pins(job_id: str) -> set[str]:
        return {str(s["uses"]) for s in LIVE["jobs"][job_id]["steps"] if "uses" in s}

    workshop = pins("workshop")
    assert workshop and all(SHA_PIN.match(u) for u in workshop)
    assert workshop <= pins("lab") | pins("digests") | pins("images-offline")
    upload = next(
        s for s in LIVE["jobs"]["workshop"]["steps"] if "upload-artifact" in str(s.get("uses"))
    )
    assert upload.get("if") == "always()"
    assert "workshop-load.json" in upload["with"]["path"]


def test_only_the_workshop_job_runs_the_workshop_live_tests() -> None:
    """Elsewhere, a pytest step names its test file or leaves the workshop's out."""
    for job_id, run in run_lines():
        if "pytest" not in run or job_id == "workshop":
            continue
        named = re.findall(r"(?<!=)tests/live/test_\w+\.py", run)
        assert named or "--ignore=tests/live/test_workshop_live.py" in run, job_id
        assert "tests/live/test_workshop_live.py" not in named, job_id


def test_the_operator_install_resolves_the_digests_versions_yaml_lacks() -> None:
    """Calico's operator install (Goldmane and Whisker for lesson 10) has images without a
    pinned digest: the job resolves them on first use, as a user would, rather than failing."""
    text = job_text("lab")
    up = next(
        line for line in text.splitlines() if "labkit -v up --backend kind --nodes ${{" in line
    )
    assert "matrix.calico == 'operator' && '--resolve-digests'" in up
