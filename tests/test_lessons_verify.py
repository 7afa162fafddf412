"""``labkit lessons verify``: every lesson, headless, with its solutions and its starters.

The first test runs the real lessons on the simulated backend, as ``make test`` does, and
holds the whole run to the issue's budget (90 s on a 2-core machine). The others run small
made-up lessons in a temporary notebooks folder, to show that a failing solution, a starter
that passes, or a missing reference answer each make the command fail.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from labkit.cli.main import main
from labkit.cluster.lessons_verify import (
    RunOutcome,
    find_lessons,
    starter_counts,
    with_solutions,
)
from labkit.errors import LabkitError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BUDGET_SECONDS = 90.0


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["lessons", "verify", "-o", "json", *args])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    report["_problems"] = captured.err  # what went wrong, for the assertion messages
    return code, report


def _assert_shape(report: dict[str, Any]) -> None:
    assert set(report) - {"_problems"} == {"lessons", "seconds"}
    assert isinstance(report["seconds"], int | float)
    for entry in report["lessons"]:
        assert set(entry) == {"lesson", "solutions", "starters", "seconds"}
        for mode in ("solutions", "starters"):
            assert set(entry[mode]) == {"passed", "failed"}
            assert all(isinstance(entry[mode][k], int) for k in ("passed", "failed"))
        assert isinstance(entry["seconds"], int | float)


def _fails(entry: dict[str, Any]) -> bool:
    return bool(entry["solutions"]["failed"] > 0 or entry["starters"]["passed"] > 0)


@pytest.mark.slow
def test_every_lesson_verifies_on_the_simulated_backend(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    code, report = _verify(capsys, "--backend", "simulated")
    elapsed = time.monotonic() - started
    print(f"labkit lessons verify: {len(report['lessons'])} lessons in {elapsed:.1f} s")
    _assert_shape(report)
    lessons = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    assert [entry["lesson"] for entry in report["lessons"]] == lessons
    assert "00-start-here" in lessons
    assert code == (1 if any(_fails(e) for e in report["lessons"]) else 0)
    failing = {e["lesson"]: (e["solutions"], e["starters"]) for e in report["lessons"] if _fails(e)}
    assert not failing, f"lessons failing verification: {failing}\n{report['_problems']}"
    assert code == 0
    for entry in report["lessons"]:
        assert entry["solutions"]["passed"] >= 1, f"{entry['lesson']} records no check"
        if (NOTEBOOKS / "requirements" / f"{entry['lesson']}.yaml").is_file():
            assert entry["starters"]["failed"] >= 1, f"{entry['lesson']}: starter checks nothing"
    assert elapsed <= BUDGET_SECONDS, f"lessons verify took {elapsed:.1f} s (budget 90 s)"


# -- made-up lessons --------------------------------------------------------------------------

SETUP = """\
import os
from labkit.lab import progress_store
fresh_home = not progress_store.progress_path().exists()
answers_file = os.environ.get("LABKIT_LESSON_ANSWERS")
"""
RECORD = """\
progress_store.record_check("{lesson}:task", answer)
progress_store.record_check("check:fresh-home", fresh_home)
if answers_file:
    progress_store.record_check("check:answers-file", os.path.isfile(answers_file))
else:
    progress_store.record_check("{lesson}:answers-file-named", False)
"""


def _lesson(
    folder: Path, name: str, starter: str, solution: str | None, *, requirements: bool = True
) -> None:
    answer = nbformat.v4.new_code_cell(starter)
    answer.metadata["tags"] = ["answer"]
    answer.metadata["labkit"] = {"answer": "task"}
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"# {name}"),
            nbformat.v4.new_code_cell(SETUP),
            answer,
            nbformat.v4.new_code_cell(RECORD.format(lesson=name)),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    nbformat.write(nb, folder / f"{name}.ipynb")
    if requirements:  # only its presence matters here: the checks are recorded directly
        (folder / "requirements").mkdir(exist_ok=True)
        (folder / "requirements" / f"{name}.yaml").write_text("requirements: []\n")
    if solution is not None:
        (folder / "solutions").mkdir(exist_ok=True)
        (folder / "solutions" / f"{name}.yaml").write_text(
            yaml.safe_dump({"task": solution}), encoding="utf-8"
        )


@pytest.fixture(scope="module")
def made_up(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("notebooks")
    _lesson(folder, "01-good", "answer = False", "answer = True\n")
    _lesson(folder, "02-wrong-solution", "answer = False", "answer = 1 == 2\n")
    _lesson(folder, "03-starter-passes", "answer = True", "answer = True\n")
    _lesson(folder, "04-no-solution", "answer = False", None)
    _lesson(folder, "05-no-requirements", "answer = True", "answer = True\n", requirements=False)
    return folder


def test_each_kind_of_broken_lesson_fails_verification(
    made_up: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _verify(capsys, "--notebooks-dir", str(made_up), "--jobs", "2")
    _assert_shape(report)
    got = {e["lesson"]: (e["solutions"], e["starters"]) for e in report["lessons"]}
    # solutions: fresh lab folder, answers file named and task solved; starters: the task
    # and the answers-file check fail (the fresh-home check is not the lesson's)
    solved, unsolved = {"passed": 3, "failed": 0}, {"passed": 0, "failed": 2}
    assert got["01-good"] == (solved, unsolved)
    assert got["02-wrong-solution"] == ({"passed": 2, "failed": 1}, unsolved)
    assert got["03-starter-passes"] == (solved, {"passed": 1, "failed": 1})
    # no solutions file: no answers file is named, the starter ran as the solution, and the
    # missing reference answer counts as a failure of its own
    assert got["04-no-solution"] == ({"passed": 1, "failed": 3}, unsolved)
    # no requirement file: no check a starter could pass, so no starter run
    assert got["05-no-requirements"] == (solved, {"passed": 0, "failed": 0})
    assert code == 1


def test_only_one_good_lesson_passes(made_up: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _verify(capsys, "--notebooks-dir", str(made_up), "--only", "01")
    assert [e["lesson"] for e in report["lessons"]] == ["01-good"]
    assert code == 0
    assert main(["lessons", "verify", "--notebooks-dir", str(made_up), "--only", "01"]) == 0
    assert "all lessons verified" in capsys.readouterr().out


def test_only_names_an_unknown_lesson(made_up: Path) -> None:
    with pytest.raises(LabkitError, match="no such lesson"):
        find_lessons(made_up, ["99"])
    assert main(["lessons", "verify", "--notebooks-dir", str(made_up), "--only", "99"]) == 1


def test_answer_cells_take_the_reference_answers() -> None:
    cell = nbformat.v4.new_code_cell("starter")
    cell.metadata["labkit"] = {"answer": "a"}
    other = nbformat.v4.new_code_cell("starter too")
    other.metadata["labkit"] = {"answer": "b"}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), cell, other])
    solved, missing = with_solutions(nb, {"a": "solved\n", "prediction:k": [[True]]})
    assert [c.source for c in solved.cells] == ["x = 1", "solved", "starter too"]
    assert missing == ("b",)
    assert nb.cells[1].source == "starter"  # the committed notebook is left alone


def test_starter_counts_only_the_lessons_requirement_checks() -> None:
    outcome = RunOutcome(
        {"05-x:a": False, "05-x:b": True, "prediction:p": True, "check:a->b:80/TCP": True}
    )
    counts = starter_counts(outcome, "05-x")
    assert (counts.passed, counts.failed) == (1, 1)
    assert counts.problems == ("passes with the starter answer: 05-x:b",)
