"""lab.up() says why its backend runs once: in the session box, not again as a warning
(notebook 00's red box), while every other warning still reaches the log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import labkit.lab as lab
from labkit.cluster import lifecycle
from labkit.lab.session_log import held_warnings, release

REASON = "Docker is not usable here (test), so labkit uses the simulated cluster."


def test_up_shows_the_automatic_choice_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "lab"))
    monkeypatch.delenv("LABKIT_BACKEND", raising=False)
    monkeypatch.setattr(lifecycle, "auto_choice", lambda: ("simulated", REASON))
    with caplog.at_level(logging.WARNING):
        session = lab.up()
    assert session.backend == "simulated"
    assert session.why == REASON
    assert REASON in session._repr_html_()
    assert [r for r in caplog.records if REASON in r.getMessage()] == []


def test_other_warnings_are_released(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("labkit.test.session_log")
    with caplog.at_level(logging.INFO), held_warnings(logger.name) as held:
        logger.warning("%s", REASON)
        logger.warning("the canary namespace could not be deleted")
        logger.info("kept as it comes")
    assert [r.getMessage() for r in caplog.records] == ["kept as it comes"]
    release(held, shown=REASON)
    assert [r.getMessage() for r in caplog.records] == [
        "kept as it comes",
        "the canary namespace could not be deleted",
    ]


def test_a_failed_up_keeps_every_warning(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("labkit.test.session_log")
    with caplog.at_level(logging.WARNING), held_warnings(logger.name) as held:
        logger.warning("%s", REASON)
    release(held)
    assert [r.getMessage() for r in caplog.records] == [REASON]
