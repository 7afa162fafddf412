"""Renderers for audit findings: text for the terminal, plain data for JSON."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from labkit.engine.audit.model import SEVERITIES, Finding


def summary_line(findings: Sequence[Finding]) -> str:
    """``5 findings: 1 high, 2 medium, 1 low, 1 info`` (``no findings`` for none)."""
    if not findings:
        return "no findings"
    counts = Counter(f.severity for f in findings)
    parts = [f"{counts[s]} {s}" for s in SEVERITIES if counts[s]]
    noun = "finding" if len(findings) == 1 else "findings"
    return f"{len(findings)} {noun}: " + ", ".join(parts)


def to_text(findings: Sequence[Finding]) -> str:
    """One block per finding (severity, code, where, message, fix), then a summary line."""
    lines: list[str] = []
    for finding in findings:
        where = f"{finding.object} {finding.field}".strip()
        lines.append(f"{finding.severity.upper():<6} {finding.code}  {where}")
        lines.append(f"       {finding.message}")
        lines.append(f"       fix: {finding.fix}")
        lines.append("")
    lines.append(summary_line(findings))
    return "\n".join(lines) + "\n"


def to_dict(findings: Sequence[Finding]) -> dict[str, Any]:
    counts = Counter(f.severity for f in findings)
    return {
        "findings": [f.as_dict() for f in findings],
        "counts": {s: counts[s] for s in SEVERITIES},
    }
