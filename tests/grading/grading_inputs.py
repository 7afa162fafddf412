"""Inputs shared by the submission, world and hostile-input tests: manifests, notebooks and
the lab world they are graded in."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import nbformat
from nbformat import v4

from labkit.cluster.topology import in_the_lab, topology_manifests
from labkit.model.loader import RawObject, load_text

ISOLATE = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: isolate, namespace: my-segment}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {}}]
"""

OPEN_TO_ALL = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open, namespace: my-segment}
spec:
  podSelector: {}
  ingress:
  - {}
"""

BAD_PROTOCOL = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad-protocol, namespace: my-segment}
spec:
  podSelector: {}
  ingress:
  - ports: [{protocol: tcp, port: 80}]
"""


@cache
def lab_world() -> tuple[RawObject, ...]:
    """The lab's objects as the grading CLI passes them (topology + kube-system)."""
    return tuple(in_the_lab(topology_manifests()))


def objects(text: str, file: str = "world.yaml") -> list[RawObject]:
    return load_text(text, file)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def answer_cell(source: str, cell_type: str = "raw", tags: tuple[str, ...] = ("answer",)) -> Any:
    """A notebook cell holding ``source``, tagged ``tags``."""
    make = {"raw": v4.new_raw_cell, "code": v4.new_code_cell, "markdown": v4.new_markdown_cell}
    return make[cell_type](source, metadata={"tags": list(tags)})


def write_notebook(path: Path, cells: list[Any], metadata: dict[str, Any] | None = None) -> Path:
    notebook = v4.new_notebook(cells=cells, metadata=metadata or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path
