"""Order of the live tests: the test that deletes the cluster (``test_down_*``) runs last,
after every other live test (the notebooks included) has used the cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    last = [
        item
        for item in items
        if item.name.startswith("test_down_") and Path(item.path).resolve().parent == HERE
    ]
    items[:] = [item for item in items if item not in last] + last
