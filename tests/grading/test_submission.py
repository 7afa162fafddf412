"""Reading a submission as data: files, folders and notebooks; errors as ``labkit validate``
gives them; what is rejected unread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grading_inputs import BAD_PROTOCOL, ISOLATE, OPEN_TO_ALL, answer_cell, write, write_notebook
from nbformat import v4

from labkit.cli.main import main
from labkit.errors import GradingError
from labkit.grading.submission import Rejected, Submission, read_submission

LIST_OF_TWO = """\
apiVersion: v1
kind: List
items:
- {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy,
   metadata: {name: a, namespace: my-segment}, spec: {podSelector: {}}}
- {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy,
   metadata: {name: b, namespace: my-segment}, spec: {podSelector: {}}}
"""


def titles(submission: Submission) -> list[str]:
    return [raw.title for raw in submission.objects]


def reasons(submission: Submission) -> dict[str, str]:
    return {Path(r.file).name: r.reason for r in submission.rejected}


def test_a_file_of_several_documents_and_a_list(tmp_path: Path) -> None:
    path = write(tmp_path / "answer.yaml", f"{ISOLATE}---\n{LIST_OF_TWO}")
    submission = read_submission(path)
    assert titles(submission) == [
        "NetworkPolicy my-segment/isolate",
        "NetworkPolicy my-segment/a",
        "NetworkPolicy my-segment/b",
    ]
    assert submission.rejected == () and submission.errors == ()


def test_a_folder_is_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    write(tmp_path / "b.yaml", OPEN_TO_ALL)
    write(tmp_path / "a" / "z.yml", ISOLATE)
    policy = json.dumps(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "from-json", "namespace": "my-segment"},
            "spec": {"podSelector": {}},
        }
    )
    write(tmp_path / "c.JSON", policy)
    submission = read_submission(tmp_path)
    assert titles(submission) == [
        "NetworkPolicy my-segment/isolate",
        "NetworkPolicy my-segment/open",
        "NetworkPolicy my-segment/from-json",
    ]


def test_errors_are_labkit_validates_and_the_valid_rest_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path / "bad.yaml", BAD_PROTOCOL)
    write(tmp_path / "good.yaml", ISOLATE)
    submission = read_submission(tmp_path)
    assert titles(submission) == ["NetworkPolicy my-segment/isolate"]
    assert main(["validate", "-f", str(bad), "-o", "json"]) == 1
    validate_errors = json.loads(capsys.readouterr().out)["errors"]
    assert list(submission.errors) == validate_errors
    assert submission.errors[0]["message"].startswith(
        "spec.ingress[0].ports[0].protocol: Unsupported value"
    )


def test_a_syntax_error_names_file_and_line_and_other_files_are_read(tmp_path: Path) -> None:
    write(tmp_path / "broken.yaml", "kind: NetworkPolicy\nmetadata: {name: x\n")
    write(tmp_path / "good.yaml", ISOLATE)
    submission = read_submission(tmp_path)
    assert titles(submission) == ["NetworkPolicy my-segment/isolate"]
    (error,) = submission.errors
    assert error["file"].startswith(str(tmp_path / "broken.yaml") + ":")
    assert error["type"] == "Syntax error"


def test_a_notebook_gives_its_answer_cells_only(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "isolate.ipynb",
        [
            v4.new_markdown_cell("# Isolate my-segment"),
            answer_cell(ISOLATE),
            v4.new_code_cell(OPEN_TO_ALL),  # not tagged: the learner's scratch, not graded
            answer_cell("%%writefile answer.yaml\n" + LIST_OF_TWO, cell_type="code"),
            answer_cell(OPEN_TO_ALL, tags=("scratch",)),
        ],
    )
    submission = read_submission(path)
    assert titles(submission) == [
        "NetworkPolicy my-segment/isolate",
        "NetworkPolicy my-segment/a",
        "NetworkPolicy my-segment/b",
    ]
    assert submission.objects[0].file == f"{path}[cell 2]"
    assert submission.rejected == () and submission.errors == ()


def test_errors_in_a_notebook_cell_name_the_cell_and_its_line(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "nb.ipynb",
        [
            answer_cell(
                "%%writefile answer.yaml\nkind: NetworkPolicy\nmetadata: {name: x\n", "code"
            ),
            answer_cell(BAD_PROTOCOL),
            answer_cell(ISOLATE),
        ],
    )
    submission = read_submission(path)
    assert titles(submission) == ["NetworkPolicy my-segment/isolate"]
    syntax, invalid = submission.errors
    assert syntax["file"].startswith(f"{path}[cell 1]:4:")  # lines of the cell, magic included
    assert syntax["type"] == "Syntax error"
    assert invalid["file"] == f"{path}[cell 2]:1"
    assert invalid["field"] == "spec.ingress[0].ports[0].protocol"


def test_a_notebook_without_an_answer_cell_says_how_to_tag_one(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "nb.ipynb", [v4.new_code_cell(ISOLATE)])
    submission = read_submission(path)
    assert submission.objects == ()
    (rejected,) = submission.rejected
    assert "no cell tagged 'answer'" in rejected.reason and "Tags" in rejected.reason


def test_a_file_that_is_no_notebook_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "nb.ipynb", "this is not JSON")
    submission = read_submission(path)
    (error,) = submission.errors
    assert error["type"] == "Invalid notebook"
    assert "not a Jupyter notebook" in error["message"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notes.txt", "not a manifest file: only .yaml, .yml, .json and .ipynb files are read"),
        ("README.md", "not a manifest file: only .yaml, .yml, .json and .ipynb files are read"),
        ("helper.py", "not a manifest file: helper.py is code"),
        ("run.sh", "not a manifest file: run.sh is code"),
        ("requirements.yaml", "requirements.yaml claims to be requirements or a grade"),
        ("Grade.JSON", "Grade.JSON claims to be requirements or a grade"),
    ],
)
def test_files_that_are_not_read(tmp_path: Path, name: str, expected: str) -> None:
    write(tmp_path / name, ISOLATE)
    submission = read_submission(tmp_path)
    assert submission.objects == ()
    assert reasons(submission)[name].startswith(expected)


def test_hidden_files_and_folders_are_not_read(tmp_path: Path) -> None:
    write_notebook(tmp_path / ".ipynb_checkpoints" / "nb-checkpoint.ipynb", [answer_cell(ISOLATE)])
    write(tmp_path / ".old.yaml", OPEN_TO_ALL)
    write(tmp_path / "answer.yaml", LIST_OF_TWO)
    submission = read_submission(tmp_path)
    assert titles(submission) == ["NetworkPolicy my-segment/a", "NetworkPolicy my-segment/b"]
    assert reasons(submission) == {
        ".ipynb_checkpoints": "hidden file or folder: not read",
        ".old.yaml": "hidden file or folder: not read",
    }


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(GradingError, match="no such file or folder"):
        read_submission(tmp_path / "nowhere")


def test_rejected_has_the_json_form_of_the_grade() -> None:
    assert Rejected("a.yaml", "Namespace x", "why").as_dict() == {
        "file": "a.yaml",
        "object": "Namespace x",
        "reason": "why",
    }
