"""labkit's PyYAML reader builds exactly what PyYAML's safe loader builds.

``labkit.model.pyyaml_reader`` memoises tag resolution and builds plain documents by a direct
walk over PyYAML's nodes with PyYAML's own scalar constructors (reading YAML is most of
``labkit matrix``'s time: 51 ms instead of 88 ms on the 500 x 100 benchmark input). These rows hold it to
``yaml.CSafeLoader``: same values, same types, same sharing of aliased nodes, same errors, and
the generic path for everything unusual (merge keys, timestamps, binary, sets, explicit tags).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from labkit.model import pyyaml_reader

ROOT = Path(__file__).resolve().parents[1]
REFERENCE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def same_values(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down, key order included (``1 == 1.0 == True``
    is not enough; NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(
            same_values(k1, k2) and same_values(a[k1], b[k2]) for k1, k2 in zip(a, b, strict=True)
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_values(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:
        return b != b
    return bool(a == b)


DOCUMENTS = [
    "a: 1\nb: two\nc: [1, 2.5, -3, 0x1f, 0o17, 1_000, 190:20:30]\n",
    "t: [yes, no, on, off, true, False, TRUE, y, n]\n",
    "n: [~, null, Null, '', \"\"]\nempty:\n",
    "f: [.inf, -.Inf, .nan, 1e3, 6.8523015e+5, 685.230_15e+03, 3.]\n",
    "s: ['123', \"0x10\", !!str 42, !!int '7', !!float '1', plain text, 'quoted: yes']\n",
    "when: 2001-12-14t21:59:43.10-05:00\nday: 2002-12-14\n",
    "bin: !!binary aGVsbG8=\n",
    "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n",
    "list: &l [1, 2]\nagain: *l\n",
    "set: !!set {a, b}\n",
    "omap: !!omap [a: 1, b: 2]\n",
    "pairs: !!pairs [a: 1, a: 2]\n",
    "1: int key\n2.5: float key\ntrue: bool key\n~: null key\n",
    "? [a, b]\n: unhashable\n",
    # duplicate keys differ on purpose: see tests/test_loader_duplicate_keys.py
    "=: value key\n",
    "---\nkind: A\n---\nkind: B\n...\n---\n# only a comment\n",
    "deep: " + "[" * 50 + "]" * 50 + "\n",
    "x: !custom 1\n",
    "multi: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
    "unicode: 'caf\\u00e9 \u2713'\nescaped: \"tab\\tnewline\\n\"\n",
    "seq_of_maps:\n- {a: 1}\n- b: [x, {c: d}]\n",
    "spec:\n  podSelector: {}\n  ingress:\n  - from: []\n    ports: [{port: 80, protocol: TCP}]\n",
]


def _run(text: str, loader_cls: Any) -> tuple[str, Any]:
    try:
        return "ok", list(yaml.load_all(text, Loader=loader_cls))
    except Exception as exc:  # the same failure is part of "the same result"
        return "error", (type(exc).__name__, str(exc))


@pytest.mark.parametrize("text", DOCUMENTS)
def test_same_as_pyyaml_safe_loader(text: str) -> None:
    status, got = _run(text, pyyaml_reader._Loader)
    want_status, want = _run(text, REFERENCE)
    assert status == want_status
    assert same_values(got, want), (got, want)


def test_aliases_share_one_object_like_pyyaml() -> None:
    (doc,) = yaml.load_all(
        "a: &x [1, 2]\nb: *x\nc: &m {k: v}\nd: *m\n", Loader=pyyaml_reader._Loader
    )
    assert doc["a"] is doc["b"]
    assert doc["c"] is doc["d"]


def test_recursive_alias_builds_the_same_cycle() -> None:
    (doc,) = yaml.load_all("a: &x [1, *x]\n", Loader=pyyaml_reader._Loader)
    assert doc["a"][1] is doc["a"]


def test_generated_clusters_load_identically() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    synth = importlib.import_module("benchmarks.synth")
    objects = synth.generate(synth.Spec(pods=60, policies=20, seed=5))
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump_all(objects, Dumper=dumper, sort_keys=False)
    status, got = _run(text, pyyaml_reader._Loader)
    assert status == "ok"
    assert same_values(got, objects)
    assert same_values(got, _run(text, REFERENCE)[1])
