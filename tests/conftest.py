"""Shared test options: golden files, the live marker and hypothesis's profile."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["lab_session"]  # the `session` fixture: a simulated lab of its own

settings.register_profile(
    "labkit",
    derandomize=True,  # the same examples on every run: a failure is reproducible, never flaky
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("labkit")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite golden files under tests/golden/ from the current output",
    )


def live_skip_reason() -> str | None:
    """Why live tests cannot run here, or None when they can."""
    if os.environ.get("LABKIT_LIVE") != "1":
        return (
            "live test: needs a real cluster; set LABKIT_LIVE=1 on a machine with a Docker "
            "engine, kind and kubectl (this machine has no Docker engine)"
        )
    missing = [tool for tool in ("docker", "kind", "kubectl") if shutil.which(tool) is None]
    if missing:
        return f"live test: LABKIT_LIVE=1 but {', '.join(missing)} not on PATH"
    return None


def _explain_empty_conformance_sets(items: list[pytest.Item]) -> None:
    """Tests parametrised over ../shared/conformance cases have no cases when ../shared is
    absent; say why instead of pytest's 'got empty parameter set'."""
    from conformance_data import CONFORMANCE, SKIP_REASON

    if CONFORMANCE.is_dir():
        return
    for item in items:
        for mark in item.iter_markers("skip"):
            if "empty parameter set" in str(mark.kwargs.get("reason", "")):
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON), append=False)
                break


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _explain_empty_conformance_sets(items)
    reason = live_skip_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))
