"""``labkit grade EXERCISE CLASS_DIR --gradebook grades.csv --report-dir DIR``: one row and one
HTML report per student, the class summary (page and figure), hostile folder names."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from labkit.cli.main import main
from labkit.cluster.grading_inputs import lab_world
from labkit.grading import Exercise, Grade, find_exercise, grade, read_submission, to_dict
from labkit.grading.gradebook import inert
from labkit.grading.privilege import LeastPrivilege
from labkit.grading.report import grade_table_html, privilege_note, summary_line

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exercises"
PROJECT_EXERCISES = Path(__file__).resolve().parents[2] / "exercises"
EXERCISE = FIXTURES / "fixture-isolate"
SOLUTION = EXERCISE / "instructor" / "solution"
WRONG = EXERCISE / "instructor" / "wrong" / "open-to-all" / "policy.yaml"
REQUIREMENT_IDS = [
    "inside-still-talks",
    "trusted-blocked",
    "untrusted-blocked-hidden",
    "egress-unchanged-hidden",
]


@pytest.fixture
def class_dir(tmp_path: Path) -> Path:
    """alice (the reference, a folder), bob (open to all, a file), carol (nothing), a folder
    named like a spreadsheet formula, a symlink and a stray file."""
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copytree(SOLUTION, folder / "alice")
    shutil.copy(WRONG, folder / "bob.yaml")
    (folder / "carol").mkdir()
    shutil.copytree(SOLUTION, folder / "=HYPERLINK(1)")
    os.symlink(SOLUTION, folder / "mallory")
    (folder / "notes.txt").write_text("not a submission")
    (folder / ".git").mkdir()
    return folder


def grade_class(
    capsys: pytest.CaptureFixture[str], class_dir: Path, tmp_path: Path, *extra: str
) -> tuple[int, str, str]:
    code = main(
        [
            "grade",
            str(EXERCISE),
            str(class_dir),
            "--gradebook",
            str(tmp_path / "grades.csv"),
            *extra,
        ]
    )
    out, err = capsys.readouterr()
    return code, out, err


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_gradebook_has_one_row_per_student_and_a_column_per_requirement(
    capsys: pytest.CaptureFixture[str], class_dir: Path, tmp_path: Path
) -> None:
    code, out, err = grade_class(capsys, class_dir, tmp_path)
    assert code == 0, err
    assert "graded 4 submissions" in out
    path = tmp_path / "grades.csv"
    header = path.read_text().splitlines()[0].split(",")
    assert header == [
        "student",
        "score",
        "max_score",
        *REQUIREMENT_IDS,
        "least_privilege",
        "excess_flows",
    ]
    rows = {row["student"]: row for row in read_csv(path)}
    assert set(rows) == {"alice", "bob", "carol", "'=HYPERLINK(1)"}
    assert rows["alice"]["score"] == rows["alice"]["max_score"] == "9"
    assert rows["alice"]["least_privilege"] == "2"
    assert rows["alice"]["excess_flows"] == "0"
    assert rows["bob"]["trusted-blocked"] == "0"
    assert int(rows["bob"]["excess_flows"]) > 0
    assert rows["carol"]["score"] == "0"
    assert "mallory: a symbolic link (never followed)" in err
    assert "notes.txt" in err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_reports_one_per_student_and_the_class_summary(
    capsys: pytest.CaptureFixture[str], class_dir: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    code, _, err = grade_class(capsys, class_dir, tmp_path, "--report-dir", str(reports))
    assert code == 0, err
    names = sorted(p.name for p in reports.iterdir())
    assert names == sorted(
        ["alice.html", "bob.html", "carol.html", "=HYPERLINK(1).html", "index.html", "summary.png"]
    )
    bob = (reports / "bob.html").read_text()
    assert "trusted-blocked" in bob and "is allowed but must be blocked" in bob
    assert (reports / "summary.png").read_bytes().startswith(b"\x89PNG")
    index = (reports / "index.html").read_text()
    assert '<img src="summary.png"' in index
    # trusted-blocked and untrusted-blocked-hidden are missed by bob and carol
    assert "<code>trusted-blocked</code>: 2 of 4" in index


def test_class_json_lists_every_student(
    capsys: pytest.CaptureFixture[str], class_dir: Path, tmp_path: Path
) -> None:
    code, out, _ = grade_class(capsys, class_dir, tmp_path, "-o", "json")
    assert code == 0
    data = json.loads(out)
    scores = {s["student"]: s["score"] for s in data["students"]}
    assert scores["alice"] == 9 and scores["carol"] == 0


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1+1", "'+1+1"),
        ("@cmd", "'@cmd"),
        ("-2", "-2"),
        ("-x", "'-x"),
        ("alice", "alice"),
        ("3.5", "3.5"),
    ],
)
def test_formula_like_cells_are_made_inert(cell: str, written: str) -> None:
    assert inert(cell) == written


@pytest.mark.parametrize(
    ("lp", "note"),
    [
        (LeastPrivilege(0, 30, 0.0, 2.0, gated=True), "counts only once every graded"),
        (LeastPrivilege(3, 30, 1.8, 2.0), "3 of 30 flows open beyond what the task needs"),
        (LeastPrivilege(0, 30, 2.0, 2.0), ""),
    ],
)
def test_the_report_says_why_least_privilege_points_are_missing(
    lp: LeastPrivilege, note: str
) -> None:
    said = privilege_note(lp)
    assert said.startswith(note) and bool(said) == bool(note)


def test_a_gated_least_privilege_share_is_explained_in_every_output() -> None:
    exercise = find_exercise("database-lockdown", PROJECT_EXERCISES)
    wrong = PROJECT_EXERCISES / "database-lockdown/instructor/wrong/egress-without-dns"
    grade = grade_submission(exercise, wrong)
    assert grade.least_privilege.gated and to_dict(grade)["least_privilege"]["gated"]
    assert "counts only once every graded requirement passes" in grade_table_html(grade)
    assert "counts only once" in summary_line(grade)


def grade_submission(exercise: Exercise, path: Path) -> Grade:
    return grade(exercise, read_submission(path), lab_world())
