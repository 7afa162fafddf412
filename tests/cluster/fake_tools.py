"""Fake command-line tools (docker, kind, kubectl, podman) for tests of command lines and
error handling. Each fake is a small Python script put on a PATH that holds nothing else; it
records its argv and stdin, then answers from rules: the first rule whose ``match`` strings
all occur in the argv wins; a call no rule matches exits 99 (so a test sees stray calls).
These fakes check what labkit *asks*; they prove nothing about a real cluster."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SCRIPT = """#!{python} -SE
import json, os, sys, time
name = os.path.basename(sys.argv[0])
root = {root!r}
stdin = "" if sys.stdin is None or sys.stdin.closed else sys.stdin.read()
with open(os.path.join(root, "calls.jsonl"), "a") as log:
    log.write(json.dumps({{"tool": name, "argv": sys.argv[1:], "stdin": stdin}}) + "\\n")
with open(os.path.join(root, "rules.json")) as fh:
    rules = json.load(fh).get(name, [])
for rule in rules:
    if all(any(m == a or m in a for a in sys.argv[1:]) for m in rule.get("match", [])) and \
            all(t in stdin for t in rule.get("stdin", [])):
        time.sleep(rule.get("sleep", 0))
        sys.stdout.write(rule.get("stdout", ""))
        sys.stderr.write(rule.get("stderr", ""))
        sys.exit(rule.get("exit", 0))
sys.stderr.write("fake " + name + ": no rule for " + " ".join(sys.argv[1:]) + "\\n")
sys.exit(99)
"""


@dataclass
class Call:
    tool: str
    argv: list[str]
    stdin: str

    @property
    def line(self) -> str:
        return " ".join([self.tool, *self.argv])


@dataclass
class FakeTools:
    root: Path
    rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def add(
        self,
        tool: str,
        *,
        match: Sequence[str] = (),
        stdin: Sequence[str] = (),
        stdout: str | dict[str, Any] = "",
        stderr: str = "",
        exit: int = 0,
        sleep: float = 0.0,
    ) -> None:
        """Answer calls of ``tool`` whose argv contains every string of ``match`` (as an
        argument or part of one) and whose stdin contains every string of ``stdin``."""
        if not isinstance(stdout, str):
            stdout = json.dumps(stdout)
        path = self.bin / tool
        if not path.exists():
            path.write_text(SCRIPT.format(python=sys.executable, root=str(self.root)))
            path.chmod(0o755)
        self.rules.setdefault(tool, []).append(
            {
                "match": list(match),
                "stdin": list(stdin),
                "stdout": stdout,
                "stderr": stderr,
                "exit": exit,
                "sleep": sleep,
            }
        )
        (self.root / "rules.json").write_text(json.dumps(self.rules))

    def calls(self, tool: str | None = None) -> list[Call]:
        log = self.root / "calls.jsonl"
        if not log.exists():
            return []
        found = [Call(**json.loads(line)) for line in log.read_text().splitlines()]
        return [c for c in found if tool is None or c.tool == tool]


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeTools:
    """A PATH with only the fakes this test adds (real docker/kind/kubectl are hidden)."""
    tools = FakeTools(tmp_path / "fake")
    tools.bin.mkdir(parents=True)
    (tools.root / "rules.json").write_text("{}")
    monkeypatch.setenv("PATH", str(tools.bin))
    monkeypatch.delenv("KIND_EXPERIMENTAL_PROVIDER", raising=False)
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    return tools
