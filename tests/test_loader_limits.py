"""Bounded, honest input: what the loader refuses, and that it says what happened.

Duplicate keys in JSON as in YAML, size and value-count limits refused before the input is
built, directories that cannot be listed, files that are not UTF-8 or not regular files, and
documents of the wrong type named in plain words. The time and memory these limits save are
measured by ``benchmarks/input_limits.py``; here only the behaviour is held.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from labkit.cli.main import main
from labkit.errors import ManifestError
from labkit.model.loader import (
    MAX_FILE_BYTES,
    MAX_TOTAL_BYTES,
    ReadBudget,
    load_paths,
    load_text,
)
from labkit.model.pyyaml_reader import MAX_NODES, node_bound

POLICY_JSON = """{
  "apiVersion": "networking.k8s.io/v1",
  "kind": "NetworkPolicy",
  "metadata": {"name": "allow-web", "namespace": "shop"},
  "spec": {
    "podSelector": {"matchLabels": {"app": "web"}},
    "ingress": [{}],
    "podSelector": {}
  }
}
"""


# -- duplicate keys ------------------------------------------------------------------------------
def test_a_json_key_written_twice_is_refused_with_both_places() -> None:
    """json keeps the last value: the second ``podSelector: {}`` would deny a whole namespace."""
    with pytest.raises(ManifestError) as info:
        load_text(POLICY_JSON, "policy.json")
    err = info.value
    assert (err.file, err.line, err.column) == ("policy.json", 8, 5)
    assert 'key "podSelector" appears twice in one object (first at line 6)' in err.detail
    assert "kubectl refuses" in err.hint


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        pytest.param('{"kind": "Pod", "kind": "Pod"}', "kind", 1, id="top-level-one-line"),
        pytest.param(
            '{"kind": "Pod",\n "metadata": {"labels": {"a": "1",\n "a": "2"}}}', "a", 3, id="nested"
        ),
        pytest.param('{"items": [{"x": 1, "x": 1}]}', "x", 1, id="inside-a-list"),
    ],
)
def test_json_duplicates_anywhere_are_refused(text: str, key: str, line: int) -> None:
    for file in ("x.json", "x.yaml"):  # a .yaml file holding JSON is read as JSON first
        with pytest.raises(ManifestError, match=f'key "{key}" appears twice') as info:
            load_text(text, file)
        assert info.value.line == line


def test_the_same_json_key_in_different_objects_is_fine() -> None:
    (obj,) = load_text('{"kind": "Pod", "metadata": {"name": "a", "labels": {"name": "x"}}}')
    assert obj.name == "a"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("when: 2024-01-01\nkind: Pod\nkind: Service\n", id="generic-path-date"),
        pytest.param("b: &b {x: 1}\nm: {<<: *b, y: 1, y: 2}\n", id="generic-path-merge"),
    ],
)
def test_yaml_duplicates_are_refused_also_on_pyyamls_generic_path(text: str) -> None:
    with pytest.raises(ManifestError, match="already defined at line"):
        load_text(text, "x.yaml")


def test_a_merge_key_may_be_overridden() -> None:
    (obj,) = load_text("kind: Pod\nb: &b {x: 1, y: 1}\nm: {<<: *b, y: 2}\n")
    assert obj.data["m"] == {"x": 1, "y": 2}


# -- size and value-count limits -----------------------------------------------------------------
def test_the_issues_50_mb_flow_list_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """50 MB of ``[1,1,...]`` once took 2.5 minutes and 7.4 GB."""
    path = tmp_path / "huge.yaml"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("items: [")
        chunk = "1," * 500_000
        while handle.tell() < 50 * 1024 * 1024:
            handle.write(chunk)
        handle.write("1]\n")
    with pytest.raises(
        ManifestError, match=r"file too large: 5\d\.\d MiB \(labkit reads files of up to 10 MiB\)"
    ) as info:
        load_paths([path])
    assert info.value.error_type == "Too large"
    assert "split it" in info.value.hint


def test_a_file_just_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: the size alone refuses it
    with pytest.raises(ManifestError, match="file too large"):
        load_paths([path])


def test_the_total_over_every_file_is_bounded(tmp_path: Path) -> None:
    files = []
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("kind: Pod\nmetadata: {name: x}\n" + "#" * 60 + "\n")
        files.append(tmp_path / name)
    size = (tmp_path / "a.yaml").stat().st_size
    assert len(load_paths(files, budget=ReadBudget(bytes_left=2 * size))) == 2
    with pytest.raises(ManifestError, match="takes the run past") as info:
        load_paths(files, budget=ReadBudget(bytes_left=2 * size - 1))
    assert info.value.file == str(tmp_path / "b.yaml")
    assert MAX_TOTAL_BYTES >= MAX_FILE_BYTES


def test_too_many_values_in_few_bytes_are_refused_before_they_are_built() -> None:
    """Under the byte limit, a flow list on one line still makes millions of nodes."""
    text = "kind: List\nitems: [" + "1," * (MAX_NODES + 10) + "1]\n"
    assert len(text) < MAX_FILE_BYTES
    with pytest.raises(ManifestError, match="too many YAML values") as info:
        load_text(text, "flow.yaml")
    assert info.value.line == 2


def test_the_value_count_is_over_the_whole_run(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("items: [" + "1," * 600 + "1]\n")
    assert len(load_paths([tmp_path], budget=ReadBudget(nodes_left=2000))) == 2
    with pytest.raises(ManifestError, match="too many YAML values") as info:
        load_paths([tmp_path], budget=ReadBudget(nodes_left=1000))
    assert info.value.file == str(tmp_path / "b.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "a: [1, 2, 3]\n",
        "- - - x\n",
        "{? , ? , }\n",
        "? a\n? b\n",
        "k: v\nl:\n- {a: 1, b: [x, y]}\n- *x\n",
        "---\n--- a\n...\n",
        "[:, :, :]\n",
    ],
)
def test_the_cheap_bound_is_an_upper_bound(text: str) -> None:
    import yaml

    events = (yaml.ScalarEvent, yaml.AliasEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)
    try:
        nodes = sum(isinstance(e, events) for e in yaml.parse(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        nodes = 0
    assert nodes <= node_bound(text)


# -- what cannot be read, said as it is -----------------------------------------------------------
def _refuse_listing(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """``directory`` cannot be listed, as with ``chmod 000`` for a user who is not root (this
    suite may run as root, who can list anything)."""
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) == str(directory):
            raise PermissionError(13, "Permission denied", str(directory))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_directory_is_an_error_not_zero_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "pod.yaml").write_text("kind: Pod\nmetadata: {name: a}\n")
    _refuse_listing(monkeypatch, locked)
    with pytest.raises(ManifestError, match="cannot read directory: Permission denied"):
        load_paths([tmp_path])
    assert main(["validate", "-f", str(locked)]) == 1
    out = capsys.readouterr().out
    assert "Cannot read" in out and "valid: 0 objects" not in out
    assert main(["matrix", "-f", str(locked)]) == 1
    assert "cannot read directory" in capsys.readouterr().err


def test_a_fifo_is_not_a_file_and_not_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ManifestError, match=r"a named pipe \(FIFO\), not a regular file") as info:
        load_paths([fifo])
    assert info.value.error_type == "Not a file"
    assert main(["validate", "-f", str(fifo)]) == 1
    out = capsys.readouterr().out
    assert "Not a file" in out and "Not found" not in out


def test_a_non_utf8_file_says_so_in_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"kind: Namespace\nmetadata: {name: caf\xe9}\n")
    assert main(["validate", "-f", str(path)]) == 1
    out = capsys.readouterr().out
    assert "latin1.yaml:2:" in out and "not UTF-8 text" in out and "Not found" not in out


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("5\n", "document 1 is an integer, not a mapping"),
        ("---\nkind: Pod\n---\n- a\n", "document 2 is a list, not a mapping"),
        ("hello\n", "document 1 is a string, not a mapping"),
        ("true\n", "document 1 is a boolean, not a mapping"),
        ("1.5\n", "document 1 is a number with a fraction, not a mapping"),
        ("2024-01-31\n", "document 1 is a date, not a mapping"),
        ("kind: List\nitems: [x]\n", "an item is a string, not a mapping"),
    ],
)
def test_wrong_document_types_are_named_in_words(text: str, said: str) -> None:
    with pytest.raises(ManifestError, match=said):
        load_text(text, "x.yaml")
