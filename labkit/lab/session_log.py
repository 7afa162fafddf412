"""Say why the lab's backend runs once, not twice.

``lifecycle.up`` logs the reason for an automatic choice as a warning, which is right in a
terminal (``labkit up`` prints nothing else about it) but in a notebook shows a red box above
the session, whose own box already says the same. :func:`held_warnings` holds a logger's
warnings during the call, and :func:`release` emits again every one but the reason the
session shows, so no other warning is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class _Hold(logging.Filter):
    """Keeps the records of WARNING and above instead of letting them through."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        self.records.append(record)
        return False


@contextmanager
def held_warnings(logger_name: str) -> Iterator[list[logging.LogRecord]]:
    """Hold the warnings ``logger_name`` logs inside the ``with`` block; the list fills as
    they come. Pass it to :func:`release` afterwards."""
    logger = logging.getLogger(logger_name)
    hold = _Hold()
    logger.addFilter(hold)
    try:
        yield hold.records
    finally:
        logger.removeFilter(hold)


def release(records: list[logging.LogRecord], shown: str = "") -> None:
    """Emit the held ``records`` again, except those whose message is ``shown`` (the reason
    the notebook displays already)."""
    for record in records:
        if shown and record.getMessage().strip() == shown.strip():
            continue
        logging.getLogger(record.name).handle(record)
