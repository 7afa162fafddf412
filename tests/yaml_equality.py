"""Equality for YAML readers' results: what ``tests/test_fast_yaml.py`` and
``tests/test_block_yaml.py`` hold labkit's readers to against PyYAML."""

from __future__ import annotations

from typing import Any


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
