"""Label selectors and their misses in words a learner understands.

Shared by :mod:`labkit.engine.explain` and :mod:`labkit.engine.audit`. The matching itself is
:meth:`labkit.model.labels.LabelSelector.matches` (Kubernetes semantics: ``matchLabels`` and
``matchExpressions`` are ANDed, ``NotIn``/``DoesNotExist`` match an absent key); this module
only says, for a selector that does not match, which requirement failed and what the object
carries instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from labkit.model.labels import LabelSelector, Operator, Requirement


def labels_text(labels: Mapping[str, str]) -> str:
    """``a=b, c=d`` in key order; ``no labels`` for none."""
    if not labels:
        return "no labels"
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _has_only(labels: Mapping[str, str]) -> str:
    return "has no labels" if not labels else f"has only {labels_text(labels)}"


def _values(req: Requirement) -> str:
    return ",".join(sorted(req.values))


def requirement_miss(req: Requirement, labels: Mapping[str, str], kind: str, who: str) -> str:
    """Why ``req`` does not match ``labels`` (call only when it does not)."""
    key = req.key
    if req.operator is Operator.IN:
        need = f"needs {kind} label {key} in ({_values(req)})"
    elif req.operator is Operator.NOT_IN:
        return (
            f"needs {kind} label {key} not in ({_values(req)}), but {who} has {key}={labels[key]}"
        )
    elif req.operator is Operator.EXISTS:
        need = f"needs {kind} label {key} (any value)"
    else:
        return f"needs {kind} without label {key}, but {who} has {key}={labels[key]}"
    if key in labels:
        return f"{need}, but {who} has {key}={labels[key]}"
    return f"{need}, and {who} {_has_only(labels)}"


def selector_misses(
    selector: LabelSelector, labels: Mapping[str, str], kind: str, who: str
) -> list[str]:
    """One sentence per requirement of ``selector`` that ``labels`` fails (empty: it matches).

    ``kind`` is ``pod`` or ``namespace``; ``who`` names the object (``namespace trusted``).
    """
    out: list[str] = []
    for key, value in selector.match_labels:
        if key not in labels:
            out.append(f"needs {kind} label {key}={value}, and {who} {_has_only(labels)}")
        elif labels[key] != value:
            out.append(f"needs {kind} label {key}={value}, but {who} has {key}={labels[key]}")
    for req in selector.match_expressions:
        if not req.matches(labels):
            out.append(requirement_miss(req, labels, kind, who))
    return out


def required_keys(selector: LabelSelector) -> list[str]:
    """Keys an object must carry to match: ``matchLabels``, ``In`` and ``Exists``.

    ``NotIn`` and ``DoesNotExist`` also match objects without the key, so they are left out.
    """
    keys = [k for k, _ in selector.match_labels]
    keys += [
        r.key for r in selector.match_expressions if r.operator in (Operator.IN, Operator.EXISTS)
    ]
    return sorted(set(keys))


def missing_keys(selector: LabelSelector, carried: Iterable[str]) -> list[str]:
    """Required keys of ``selector`` that no object in ``carried`` has."""
    have = set(carried)
    return [k for k in required_keys(selector) if k not in have]


def required_value(selector: LabelSelector, key: str) -> str | None:
    """The single value ``selector`` requires for ``key`` (``matchLabels`` or a one-value
    ``In``), or ``None``."""
    for k, v in selector.match_labels:
        if k == key:
            return v
    for req in selector.match_expressions:
        if req.key == key and req.operator is Operator.IN and len(req.values) == 1:
            return next(iter(req.values))
    return None
