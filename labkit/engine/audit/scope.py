"""Narrowing audit findings to one namespace and a least severity (``lab.audit(namespace=,
min_severity=)``). A finding belongs to the namespace of the object it is about: its
``object`` is ``Kind NAMESPACE/NAME`` or, for a namespace itself, ``Namespace NAME``."""

from __future__ import annotations

from collections.abc import Sequence

from labkit.engine.audit.core import at_or_above
from labkit.engine.audit.model import Finding


def finding_namespace(finding: Finding) -> str | None:
    """The namespace the finding's object lives in (or is); ``None`` for cluster-wide."""
    kind, _, name = finding.object.partition(" ")
    if kind == "Namespace":
        return name or None
    namespace, slash, _ = name.partition("/")
    return namespace if slash else None


def narrowed(
    findings: Sequence[Finding], namespace: str | None = None, min_severity: str | None = None
) -> list[Finding]:
    """The findings about ``namespace`` (all when ``None``) of ``min_severity`` or worse."""
    kept = [f for f in findings if namespace is None or finding_namespace(f) == namespace]
    return at_or_above(kept, min_severity) if min_severity is not None else kept
