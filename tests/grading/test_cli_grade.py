"""``labkit check``, ``labkit grade`` and ``labkit exercises list``: the stable contract of the
issue (JSON keys, exit statuses) on a small fixture exercise, and ``--live`` on the simulated
backend."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from labkit.cli.main import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exercises"
EXERCISE = FIXTURES / "fixture-isolate"
SOLUTION = EXERCISE / "instructor" / "solution"
WRONG = EXERCISE / "instructor" / "wrong" / "open-to-all"
HIDDEN_IDS = {"untrusted-blocked-hidden", "egress-unchanged-hidden"}

GRADE_KEYS = {
    "exercise",
    "score",
    "max_score",
    "requirements",
    "least_privilege",
    "rejected",
    "errors",
}
REQUIREMENT_KEYS = {"id", "description", "hidden", "points", "max_points", "passed", "feedback"}


@pytest.fixture(autouse=True)
def fixture_exercises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LABKIT_EXERCISES_DIR", str(FIXTURES))
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "lab"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "-o", "json")
    assert code == 0, err
    return json.loads(out)


def test_exercises_list_json_is_id_title_max_score(capsys: pytest.CaptureFixture[str]) -> None:
    listed = run_json(capsys, "exercises", "list")
    spec = yaml.safe_load((EXERCISE / "exercise.yaml").read_text())
    assert listed == [{"id": "fixture-isolate", "title": spec["title"], "max_score": 9.0}]


def test_grade_json_has_the_issue_keys_and_full_marks_for_the_solution(
    capsys: pytest.CaptureFixture[str],
) -> None:
    graded = run_json(capsys, "grade", "fixture-isolate", str(SOLUTION))
    assert set(graded) == GRADE_KEYS
    assert all(set(r) == REQUIREMENT_KEYS for r in graded["requirements"])
    assert {"excess_flows", "score"} <= set(graded["least_privilege"])
    assert graded["score"] == graded["max_score"] == 9.0
    assert {r["id"] for r in graded["requirements"] if r["hidden"]} == HIDDEN_IDS


def test_a_wrong_variant_scores_less_with_its_misses_named_and_exit_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = yaml.safe_load((WRONG / "expected.yaml").read_text())
    graded = run_json(capsys, "grade", str(EXERCISE), str(WRONG / "policy.yaml"))
    assert graded["score"] < graded["max_score"]
    missed = {r["id"] for r in graded["requirements"] if not r["passed"]}
    assert set(expected["misses"]) <= missed
    hidden_miss = next(r for r in graded["requirements"] if r["id"] == "untrusted-blocked-hidden")
    assert hidden_miss["feedback"].startswith("a hidden check failed")
    assert "untrusted/client" not in hidden_miss["feedback"]
    public_miss = next(r for r in graded["requirements"] if r["id"] == "trusted-blocked")
    assert "trusted/client -> my-segment/" in public_miss["feedback"]


def test_check_shows_public_requirements_only_and_never_all_passed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    checked = run_json(capsys, "check", "fixture-isolate", str(SOLUTION))
    assert {r["id"] for r in checked["requirements"]} == {"inside-still-talks", "trusted-blocked"}
    code, out, _ = run(capsys, "check", "fixture-isolate", str(SOLUTION))
    assert code == 0
    assert out.rstrip().endswith("2 of 2 public checks pass; hidden checks run only when graded")
    hidden = yaml.safe_load((EXERCISE / "instructor" / "requirements.yaml").read_text())
    for req in hidden["requirements"]:
        assert req["id"] not in out and req["description"] not in out
    assert "all tests passed" not in out.lower()


def test_check_text_gives_feedback_for_a_miss(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "fixture-isolate", str(WRONG))
    assert code == 0
    assert "[MISS] trusted-blocked" in out
    assert "is allowed but must be blocked" in out
    assert "1 of 2 public checks pass" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["grade", "no-such-exercise", str(SOLUTION)],
        ["check", "no-such-exercise", str(SOLUTION)],
        ["grade", "fixture-isolate", "/no/such/submission"],
        ["check", "fixture-isolate", "/no/such/submission"],
        ["grade", "fixture-isolate", str(SOLUTION), "--report-dir", "reports"],
        ["grade", "fixture-isolate", "/no/such/class", "--gradebook", "grades.csv"],
        ["grade", "fixture-isolate", str(SOLUTION), "--exercises-dir", "/no/such/dir"],
        ["exercises", "release"],
        ["exercises", "list", "somewhere"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")


def test_an_empty_submission_is_graded_zero_with_exit_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    graded = run_json(capsys, "grade", "fixture-isolate", str(empty))
    assert graded["score"] == 0
    assert graded["least_privilege"]["score"] == 0


def test_table_output_lists_every_requirement(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "grade", "fixture-isolate", str(WRONG), "-o", "table")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["REQUIREMENT", "HIDDEN", "POINTS", "PASSED"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:-1]}
    assert rows["trusted-blocked"] == ["no", "0/3", "no"]
    assert rows["untrusted-blocked-hidden"] == ["yes", "0/3", "no"]
    assert "least-privilege" in rows


def test_html_output_escapes_what_the_submission_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "submission"
    shutil.copytree(SOLUTION, folder)
    (folder / "<img src=x onerror=alert(1)>.txt").write_text("hello")
    code, out, _ = run(capsys, "grade", "fixture-isolate", str(folder), "-o", "html")
    assert code == 0
    assert out.startswith("<!DOCTYPE html>")
    assert "<img src=x" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in out


# -- --live, on the simulated backend ----------------------------------------------------------
@pytest.fixture
def simulated_lab() -> None:
    from labkit.cluster.lifecycle import up

    up("simulated")


def test_live_applies_to_the_lab_and_agrees_on_the_simulated_backend(
    capsys: pytest.CaptureFixture[str], simulated_lab: None
) -> None:
    from labkit.cluster.lifecycle import connect

    connect().apply(WRONG / "policy.yaml")  # a leftover: the reset removes it
    graded = run_json(capsys, "grade", "fixture-isolate", str(SOLUTION), "--live")
    live = graded["live"]
    assert live["backend"] == "simulated"
    assert live["applied"] == ["NetworkPolicy my-segment/isolate"]
    assert live["probes"] == 9 * 8 * 3
    assert live["agrees"] is True and live["disagreements"] == []
    policies = {p.key for p in connect().policies()}
    assert policies == {"my-segment/isolate"}
    assert graded["score"] == graded["max_score"]


def test_live_reports_where_the_probes_disagree_with_the_engine(
    capsys: pytest.CaptureFixture[str], simulated_lab: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.cluster.simulated import SimulatedCluster, SimulatedRunner
    from labkit.probe.jobs import Job, Outcome, Result

    class Flaky(SimulatedRunner):
        """A CNI that lets trusted/client through to my-segment/database on 80/TCP."""

        def run(self, jobs: Any) -> list[Result]:
            results = super().run(jobs)
            return [
                Result(r.job, Outcome.ALLOWED, "connected") if _flipped(r.job) else r
                for r in results
            ]

    def _flipped(job: Job) -> bool:
        return (job.src, job.dst, str(job.probe)) == (
            "trusted/client",
            "my-segment/database",
            "80/TCP",
        )

    monkeypatch.setattr(SimulatedCluster, "runner", lambda self: Flaky(self.inventory()))
    code, out, _ = run(capsys, "grade", "fixture-isolate", str(SOLUTION), "--live")
    assert code == 0
    assert "1 disagree with the engine" in out
    assert (
        "trusted/client -> my-segment/database on 80/TCP: probed allowed, engine says blocked"
        in out
    )


def test_with_live_the_probes_decide_the_ports_they_tried(
    capsys: pytest.CaptureFixture[str], simulated_lab: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CNI that lets one blocked flow through costs the requirement that forbids it, with
    feedback saying the cluster, not the policies, decided; the engine alone gives full marks."""
    from labkit.cluster.simulated import SimulatedCluster, SimulatedRunner
    from labkit.probe.jobs import Outcome, Result

    leak = ("trusted/client", "my-segment/database", "80/TCP")

    class Leaky(SimulatedRunner):
        def run(self, jobs: Any) -> list[Result]:
            return [
                Result(r.job, Outcome.ALLOWED, "connected")
                if (r.job.src, r.job.dst, str(r.job.probe)) == leak
                else r
                for r in super().run(jobs)
            ]

    offline = run_json(capsys, "grade", "fixture-isolate", str(SOLUTION))
    assert offline["score"] == offline["max_score"]
    monkeypatch.setattr(SimulatedCluster, "runner", lambda self: Leaky(self.inventory()))
    graded = run_json(capsys, "grade", "fixture-isolate", str(SOLUTION), "--live")
    assert graded["score"] < graded["max_score"]
    by_id = {r["id"]: r for r in graded["requirements"]}
    assert not by_id["trusted-blocked"]["passed"]
    feedback = by_id["trusted-blocked"]["feedback"]
    assert feedback.startswith("trusted/client -> my-segment/database on 80/TCP is allowed")
    assert "observed by a probe on the lab cluster" in feedback
