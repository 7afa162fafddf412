"""Golden files under tests/golden/: compared by default, rewritten with --update-goldens."""

from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def check_golden(relative: str, text: str, update: bool) -> None:
    """Compare ``text`` with ``tests/golden/<relative>``; rewrite it when ``update``."""
    path = GOLDEN / relative
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"{path} is missing: run `pytest --update-goldens`, then review it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"output differs from {path}; if the change is intended, run `pytest --update-goldens` "
        "and review the diff"
    )
