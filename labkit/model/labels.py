"""Label selectors, matched exactly as Kubernetes matches them.

Kubernetes (``apimachinery/pkg/labels/selector.go``, ``LabelSelectorAsSelector``):

* ``matchLabels`` and ``matchExpressions`` are ANDed; an empty selector ``{}`` matches
  everything (``labels.Everything()``).
* ``In``: the key is present and its value is one of ``values``.
* ``NotIn``: the key is absent, or its value is not one of ``values`` (an absent key
  matches: conformance rule 5; cyclonus gets this wrong).
* ``Exists`` / ``DoesNotExist``: the key is present / absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Operator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` entry."""

    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator is Operator.IN:
            return present and labels[self.key] in self.values
        if self.operator is Operator.NOT_IN:
            return not present or labels[self.key] not in self.values
        if self.operator is Operator.EXISTS:
            return present
        return not present

    def __str__(self) -> str:
        if self.operator is Operator.EXISTS:
            return self.key
        if self.operator is Operator.DOES_NOT_EXIST:
            return f"!{self.key}"
        op = "in" if self.operator is Operator.IN else "notin"
        return f"{self.key} {op} ({','.join(sorted(self.values))})"


@dataclass(frozen=True)
class LabelSelector:
    """A ``metav1.LabelSelector``; the empty selector matches every object."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        return all(req.matches(labels) for req in self.match_expressions)

    def keys(self) -> frozenset[str]:
        """Label keys this selector reads."""
        return frozenset(k for k, _ in self.match_labels) | frozenset(
            r.key for r in self.match_expressions
        )

    def __str__(self) -> str:
        """kubectl's rendering: ``role=frontend,tier in (a,b)``; ``<none>`` when empty."""
        parts = [f"{k}={v}" for k, v in self.match_labels]
        parts += [str(r) for r in self.match_expressions]
        return ",".join(parts) if parts else "<none>"

    def describe(self, what: str) -> str:
        """Words for a learner: ``pods with role=frontend`` or ``every pod``."""
        if self.is_empty:
            return f"every {what}"
        return f"{what}s with {self}"


EVERYTHING = LabelSelector()
