"""The learner's progress store, as the notebook facade uses it.

The store itself is :mod:`labkit.cluster.learner_progress` (``<lab folder>/progress.json``;
the file's format is documented there): it sits beside the lab folder's other files so that
the CLI (``labkit progress``, ``labkit lessons verify``) reads it without the notebook extra.
"""

from __future__ import annotations

from labkit.cluster.learner_progress import (
    FILE_NAME,
    LEARNER_ENV,
    Progress,
    learner,
    load,
    progress_path,
    record_check,
    record_prediction,
    record_quietly,
    record_quiz,
)

__all__ = [
    "FILE_NAME",
    "LEARNER_ENV",
    "Progress",
    "learner",
    "load",
    "progress_path",
    "record_check",
    "record_prediction",
    "record_quietly",
    "record_quiz",
]
