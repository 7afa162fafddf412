"""The block reader builds exactly what PyYAML's safe loader builds, or leaves the text to it.

``labkit.model.block_yaml`` reads plain block manifests without PyYAML. Every row holds it to
``yaml.safe_load_all``: where it answers, the documents are equal value for value and type
for type; where the text is beyond it (or broken), it must answer ``None`` so that PyYAML
reads it and reports the error.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml_equality import same_values

from labkit.model.block_yaml import parse_block_documents
from labkit.model.loader import load_text

ROOT = Path(__file__).resolve().parents[1]
REFERENCE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _pyyaml(text: str) -> tuple[str, Any]:
    try:
        return "ok", list(yaml.load_all(text, Loader=REFERENCE))
    except Exception as exc:  # any failure: the block reader must not answer
        return "error", type(exc).__name__


def _document_lines(text: str) -> list[int]:
    """The line of each document's ``---`` (1 for an implicit first one), from PyYAML."""
    events = yaml.parse(text, Loader=REFERENCE)
    return [
        e.start_mark.line + 1 if e.explicit else 1
        for e in events
        if isinstance(e, yaml.DocumentStartEvent)
    ]


def _check(text: str) -> bool:
    """Assert the reader agrees with PyYAML; return whether it answered."""
    got = parse_block_documents(text)
    status, want = _pyyaml(text)
    if got is None:
        return False
    assert status == "ok", f"block reader answered where PyYAML fails ({want}):\n{text}"
    docs, lines = got
    assert same_values(docs, want), (docs, want, text)
    assert lines == _document_lines(text), (lines, text)
    return True


READ = [
    "",
    "# only a comment\n",
    "a: 1\n",
    "a: 1",
    "---\n",
    "---\n---\n",
    "a: 1\n---\n",
    "---\na: 1\n---\nb: 2\n",
    "# head\n---\nkind: Pod\n",
    "---\n# only a comment\n",
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    app: web\n",
    "a:\n- x\n- y\nb: 1\n",
    "a:\n  - x\n  - y\nb: 1\n",
    "- a: 1\n  b: 2\n- c: 3\n",
    "-   a: 1\n    b: 2\n",
    "- a:\n  - x\n- b\n",
    "- a:\n- x\n",
    "-\n- x\n",
    "-\n  a: 1\n",
    "-\n  - x\n",
    "a:\n  b:\n    c:\n      d: deep\n  e: up\n",
    "a:\nb:\n",
    "a: # a comment\n  b: 1\n",
    "a: x # a comment\n",
    "a: x#y\n",
    "a: 'it''s'\nb: \"double\"\nc: ''\nd: \"\"\n",
    "a: 'x # not a comment'\n",
    "a: {}\nb: []\n",
    "a:    spaced\nb:   1\n",
    "a: 1   \nb: 2  \n",
    "  a: 1\n  b: 2\n",
    "image: registry.k8s.io/e2e-test-images/agnhost:2.66.1\n",
    "url: http://example.com:8080/path?q=1\n",
    "cidr: 10.0.0.0/8\nip: 10.244.0.2\nhash: 5d78c9869d\n",
    "t: [yes]\n".replace("[yes]", "yes"),
    "bools: {}\n".replace("{}", "on") + "b: Off\nc: TRUE\nd: no\ne: y\nf: n\n",
    "nulls: ~\nb: null\nc: Null\nd: NULL\ne: nil\n",
    "ints: 0\nb: -5\nc: +7\nd: 80\ne: 65535\n",
    "a: 0800\nb: 09\n",  # no octal digits: strings in YAML 1.1
    "words: NULLs\nb: truely\nc: yesterday\nd: onboarding\n",
    "80: http\ntrue: yes\n~: nothing\n",
    "a::\n",
    "a: b:c\n",
    "a: -x\nb: -1\n",
    "a: x[0]\nb: '{curly}'\nc: a,b\n",
    "my key: spaced key\n",
    "a: 'x: y'\n",
    "key with: 'quoted # value'\n",
    "'quoted key': 1\n\"double: key\": 2\n'ON': []\n",
    "- 'a': 1\n  'b c': 2\n",
    "- 1\n- two\n- ~\n- 'three'\n",
    "list:\n- nested\n",
    "- - x\n  - y\n- z\n",
    "a:\n- - x\n  -   - y\n      - z\n- -\n",
    "- -\n    a: 1\n",
    "k" * 1024 + ": 1\n",  # the longest key PyYAML accepts
    "- " * 200 + "x\n",  # nesting the loader's PyYAML path builds too
]


@pytest.mark.parametrize("text", READ)
def test_reads_plain_block_yaml_as_pyyaml_does(text: str) -> None:
    assert _check(text), f"expected the block reader to read:\n{text}"


LEFT_TO_PYYAML = [
    "a: 1.5\n",  # a float
    "a: 1.36\n",  # a version read as a float
    "a: 010\n",  # octal
    "a: 0x1f\n",
    "a: 1_000\n",
    "a: 190:20:30\n",  # sexagesimal
    "a: .inf\n",
    "a: 2001-12-14\n",  # a timestamp
    "<<: {a: 1}\n",
    "=: x\n",
    "a: &anchor 1\nb: *anchor\n",
    "a: !!str 1\n",
    "a: |\n  text\n",
    "a: >\n  text\n",
    "a: [1, 2]\n",
    "a: {b: 1}\n",
    "a: hello\n  world\n",  # a scalar continued on the next line
    "a: 'one\n  two'\n",
    'a: "tab\\t"\n',
    "a:\tb\n",
    "a: 1\r\nb: 2\r\n",
    "a: caf\u00e9\n",
    "a: 1\na: 2\n",  # a duplicate key: PyYAML's path reports both lines
    "%YAML 1.1\n---\na: 1\n",
    "--- a: 1\n",
    "a: 1\n...\n",
    "'it''s': 1\n",  # a quote inside a quoted key
    "? complex\n: key\n",
    "a: b: c\n",
    "a: -\n",
    "just a scalar\n",
    "a: 1\n  b: 2\n",  # bad indentation
    "a:\n  b: 1\n c: 2\n",
    "a:\n  - x\n  b: 1\n",
    "- x\na: 1\n",
    "a: 1\n- x\n",
    "a: 'unterminated\n",
    'a: "unterminated\n',
    "a: 'x' trailing\n",
    "a: @reserved\n",
    "a: %percent\n",
    "a: `tick\n",
    "a: 1" + "0" * 4500 + "\n",
    "k" * 1025 + ": 1\n",  # a key longer than 1024 characters: PyYAML refuses it
    "x: 1\n" + "k" * 1025 + ": 1\n",
    "- " + "k" * 1025 + ": 1\n",
    "'" + "k" * 1023 + "': 1\n",
    "k" * 1022 + "   : 1\n",
    "- " * 1000 + "x\n",  # libyaml refuses more than 1000 levels
    "".join(" " * i + "k:\n" for i in range(1000)) + " " * 1000 + "v: 1\n",
    "- " * 201 + "x\n",  # deep enough to exhaust the recursion of the loader's PyYAML path
]


@pytest.mark.parametrize("text", LEFT_TO_PYYAML)
def test_leaves_everything_else_to_pyyaml(text: str) -> None:
    assert parse_block_documents(text) is None


def test_a_lowered_integer_digit_limit_sends_long_integers_to_pyyaml() -> None:
    """``int()`` refuses more digits than ``sys.set_int_max_str_digits()`` allows: the reader
    steps aside instead of raising (PyYAML's path then reports the value)."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        assert parse_block_documents("a: 1" + "0" * 1000 + "\n") is None
    finally:
        sys.set_int_max_str_digits(limit)


def test_document_lines_are_those_of_their_separators() -> None:
    text = "# head\n---\na: 1\n\n---\n\nb: 2\n---\n"
    got = parse_block_documents(text)
    assert got is not None
    assert got == ([{"a": 1}, {"b": 2}, None], [2, 5, 8])
    implicit = parse_block_documents("\n# c\na: 1\n---\nb: 2\n")
    assert implicit == ([{"a": 1}, {"b": 2}], [1, 4])


def test_loader_gives_the_same_objects_and_lines_either_way() -> None:
    """The loader's answer does not depend on which reader read the file."""
    plain = "a: 1\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n"
    fancy = plain.replace("a: 1", "a: &x 1\nb: *x")
    assert parse_block_documents(plain) is not None
    assert parse_block_documents(fancy) is None
    for text in (plain, fancy):
        first, obj = load_text(text, "f.yaml")
        assert first.line == 1
        assert obj.data == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
        assert obj.line == (2 if text is plain else 3)


# ---- generated documents -------------------------------------------------------------

SCALARS = st.one_of(
    st.sampled_from(
        [
            "yes",
            "No",
            "on",
            "OFF",
            "true",
            "y",
            "n",
            "~",
            "null",
            "nil",
            "",
            " ",
            "0",
            "00",
            "0800",
            "010",
            "-1",
            "+1",
            "1_000",
            "1.5",
            "1e3",
            ".5",
            ".inf",
            "1:30",
            "10.0.0.0/8",
            "10.244.0.2",
            "2001-12-14",
            "5d78c9869d",
            "a: b",
            "a #b",
            "a#b",
            "#x",
            "-x",
            "- x",
            "'q'",
            '"q"',
            "it's",
            "x: ",
            "[a]",
            "{a}",
            "*x",
            "&x",
            "!x",
            "|",
            ">",
            "%x",
            "@x",
            "=",
            "<<",
            "TCP",
            "UDP",
            "SCTP",
            "kube-dns",
            "k8s-app",
            "http://a:8/b",
        ]
    ),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.none(),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
)
KEYS = st.one_of(
    st.sampled_from(["a", "b", "name", "ports", "on", "yes", "80", "~", "x y", "k:v"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=8),
    st.integers(0, 100),
)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    docs=st.lists(TREES, min_size=1, max_size=3),
    indent=st.sampled_from([2, 4]),
    style=st.sampled_from(["block", "indented"]),
)
def test_generated_documents_agree_with_pyyaml(docs: list[Any], indent: int, style: str) -> None:
    dumper: Any = yaml.SafeDumper
    if style == "indented":

        class Indented(yaml.SafeDumper):
            def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
                return super().increase_indent(flow, False)

        dumper = Indented
    text = yaml.dump_all(
        docs, Dumper=dumper, default_flow_style=False, indent=indent, explicit_start=True
    )
    _check(text)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PLAIN_KEYS = st.builds(
    str.__add__, st.sampled_from(_LETTERS), st.text(_LETTERS + "0123456789./-", max_size=10)
)
PLAIN_TREES = st.recursive(
    st.one_of(
        PLAIN_KEYS,
        st.integers(-1000, 10**9),
        st.booleans(),
        st.none(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(PLAIN_KEYS, inner, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(
    docs=st.lists(
        st.dictionaries(PLAIN_KEYS, PLAIN_TREES, min_size=1, max_size=6), min_size=1, max_size=3
    ),
    indent=st.sampled_from([2, 3, 4]),
)
def test_plain_manifests_are_read_without_pyyaml(docs: list[Any], indent: int) -> None:
    """What manifests are made of (names, numbers, booleans, nesting) always takes the fast
    path, with the same answer."""
    text = yaml.dump_all(
        docs, Dumper=yaml.SafeDumper, default_flow_style=False, indent=indent, explicit_start=True
    )
    assert _check(text), text


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_mutated_manifests_never_disagree(data: st.DataObject) -> None:
    """Broken or odd edits of a manifest: the reader agrees with PyYAML or steps aside."""
    base = (ROOT / "clusters" / "topology" / "topology.yaml").read_text(encoding="utf-8")
    lines = base.split("\n")[:60]
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["del", "dup", "indent", "dedent", "insert", "cut"]))
        if op == "del":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = " " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][1:]
        elif op == "insert":
            at = data.draw(st.integers(0, len(lines[i])))
            piece = data.draw(st.sampled_from([": ", "#", " #", "- ", "'", '"', "---", ":", " "]))
            lines[i] = lines[i][:at] + piece + lines[i][at:]
        else:
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))]
        if not lines:
            lines = [""]
    _check("\n".join(lines))


def _generated_cluster_text() -> str:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    synth = importlib.import_module("benchmarks.synth")
    objects = synth.generate(synth.Spec(pods=60, policies=20, seed=5))
    return str(yaml.dump_all(objects, Dumper=yaml.SafeDumper, sort_keys=False))


def test_generated_clusters_take_the_fast_path() -> None:
    """The benchmark's manifests (what ``kubectl get -o yaml`` looks like) need no PyYAML."""
    assert _check(_generated_cluster_text())


def test_project_manifests_agree() -> None:
    """Every YAML file of the project: read identically, or left to PyYAML."""
    files = [
        p
        for p in sorted(ROOT.rglob("*.y*ml"))
        if not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
    ]
    read = sum(_check(p.read_text(encoding="utf-8")) for p in files)
    assert files and read, "the block reader read none of the project's YAML files"
