"""Audit a set of policies for gaps and mistakes, in the order a learner should fix them.

:func:`audit` runs every check of :mod:`labkit.engine.audit.checks`,
:mod:`labkit.engine.audit.rules` and :mod:`labkit.engine.audit.shadow` over an :class:`Inventory` and returns the findings sorted
by severity, code, object and field (deterministic for equal inputs). Codes, severities and
the handling of system and unmanaged namespaces are documented in
:mod:`labkit.engine.audit.model`; :data:`CODES` lists every code with one line on what it
means. Rendering lives in :mod:`labkit.engine.audit.render`.
"""

from __future__ import annotations

from labkit.engine.audit.checks import (
    check_default_deny,
    check_defaulted_types,
    check_egress_dns,
    check_ignored_rules,
    check_selects_nothing,
)
from labkit.engine.audit.model import CODES, SEVERITIES, SEVERITY_RANK, AuditContext, Finding
from labkit.engine.audit.rules import check_rules
from labkit.engine.audit.shadow import check_shadowed
from labkit.model.inventory import Inventory

__all__ = ["CODES", "SEVERITIES", "Finding", "at_or_above", "audit"]

CHECKS = (
    check_default_deny,
    check_selects_nothing,
    check_ignored_rules,
    check_defaulted_types,
    check_rules,
    check_egress_dns,
    check_shadowed,
)


def audit(inventory: Inventory) -> list[Finding]:
    """Every finding for ``inventory``, most severe first."""
    ctx = AuditContext(inventory)
    findings = {finding for check in CHECKS for finding in check(ctx)}
    return sorted(findings, key=Finding.sort_key)


def at_or_above(findings: list[Finding], threshold: str) -> list[Finding]:
    """Findings whose severity is ``threshold`` or worse (``high`` > ``medium`` > ...)."""
    if threshold not in SEVERITY_RANK:
        raise ValueError(f"severity {threshold!r} is not one of {', '.join(SEVERITIES)}")
    limit = SEVERITY_RANK[threshold]
    return [f for f in findings if SEVERITY_RANK[f.severity] <= limit]
