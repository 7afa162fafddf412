"""Issues whose bad value the API server prints otherwise than
:func:`~labkit.errors.format_go_value` does."""

from __future__ import annotations

from dataclasses import dataclass

from labkit.errors import Issue


@dataclass(frozen=True)
class RenderedIssue(Issue):
    """An :class:`Issue` whose bad value is printed exactly as the API server prints it.

    Used when :func:`labkit.errors.format_go_value` would print it differently: maps, selectors
    and lists (JSON from 1.34, Go ``%#v`` before), named string types from 1.34 (JSON), and
    strings with characters that Go's ``%q`` escapes. ``detail`` stays the API server's detail.
    """

    rendered: str = ""

    @property
    def message(self) -> str:
        body = self.type
        if self.rendered:
            body += ": " + self.rendered
        if self.detail:
            body += ": " + self.detail
        return f"{self.field}: {body}" if self.field else body
