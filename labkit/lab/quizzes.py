"""Named quizzes: the banks in ``notebooks/quizzes/<bank>.yaml`` (:mod:`labkit.lab.quiz_bank`),
kept out of the notebooks, with answers only as salted digests. ``lab.quiz("04-egress-and-dns")``
shows a bank by name; ``ALIASES`` keeps older names working."""

from __future__ import annotations

from labkit.lab.quiz_bank import Bank, load_bank

ALIASES = {"start-here": "00-start-here"}


def bank(name: str) -> Bank:
    """The bank called ``name`` (or an alias of it)."""
    return load_bank(ALIASES.get(name, name))
