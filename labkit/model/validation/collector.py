"""Collecting :class:`~labkit.errors.Issue` objects for one manifest object.

The API server works in two phases and so does labkit: *decoding* (a value of the wrong type,
an unknown field: the request is rejected before validation runs) and *validation* (the
``field.ErrorList`` of ``Validate...``). Decoding findings come first in the result, then the
validation errors in the order the API server emits them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labkit.errors import Issue, format_go_value
from labkit.model.loader import RawObject
from labkit.model.validation.messages import go_quote, named_string
from labkit.model.validation.version import KubeVersion

WARNING = "Warning"
UNKNOWN_FIELD = "Unknown field"


class Collector:
    """Accumulates the findings about one object (file, object title, target version)."""

    def __init__(self, file: str, obj: str, version: KubeVersion) -> None:
        self._file = file
        self._object = obj
        self._raw: RawObject | None = None
        self.version = version
        self.decoding: list[Issue] = []
        self.validation: list[Issue] = []
        self.warnings: list[Issue] = []

    @classmethod
    def for_object(cls, raw: RawObject, version: KubeVersion) -> Collector:
        """A collector for ``raw`` whose file and title are worked out at the first finding
        (most objects have none); ``raw.data`` must be a mapping."""
        col = cls("", "", version)
        col._raw = raw
        return col

    def _where(self) -> None:
        raw = self._raw
        if raw is not None:
            self._file, self._object, self._raw = raw.location, raw.title, None

    @property
    def file(self) -> str:
        self._where()
        return self._file

    @property
    def object(self) -> str:
        self._where()
        return self._object

    @property
    def json_values(self) -> bool:
        """Complex bad values are printed as JSON from Kubernetes 1.34 (else Go ``%#v``)."""
        return self.version.at_least(34)

    @property
    def errors(self) -> list[Issue]:
        return self.decoding + self.validation

    def _make(
        self,
        field: str,
        type_: str,
        detail: str,
        hint: str,
        *,
        value: str | int | None = None,
        rendered: str | None = None,
        severity: str = "error",
    ) -> Issue:
        """An issue; ``rendered`` is the bad value as the API server prints it (shown if set)."""
        plain = rendered is None or (value is not None and format_go_value(value) == rendered)
        issue = Issue(
            file=self.file,
            object=self.object,
            field=field,
            type=type_,
            detail=detail,
            value=value,
            show_value=rendered is not None,
            hint=hint,
            severity=severity,
        )
        if plain:
            return issue
        # imported at the first such issue: defining the dataclass costs ~0.3 ms at import, and
        # valid manifests never need it
        from labkit.model.validation.rendered import RenderedIssue

        return RenderedIssue(**{**vars(issue), "rendered": rendered or ""})

    @staticmethod
    def _render(value: str | int | bool) -> str:
        """Go's ``%q`` for strings, ``%v`` for integers and booleans."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        return go_quote(value)

    # validation phase -------------------------------------------------------------------
    def invalid(self, field: str, value: str | int | bool, detail: str, hint: str) -> None:
        """``field.Invalid`` with a string or integer bad value."""
        self.validation.append(
            self._make(
                field, "Invalid value", detail, hint, value=value, rendered=self._render(value)
            )
        )

    def invalid_rendered(self, field: str, rendered: str, detail: str, hint: str) -> None:
        """``field.Invalid`` with a complex bad value already printed the API server's way."""
        self.validation.append(
            self._make(field, "Invalid value", detail, hint, value=rendered, rendered=rendered)
        )

    def required(self, field: str, detail: str, hint: str) -> None:
        self.validation.append(self._make(field, "Required value", detail, hint))

    def forbidden(self, field: str, detail: str, hint: str) -> None:
        self.validation.append(self._make(field, "Forbidden", detail, hint))

    def too_long(self, field: str, detail: str, hint: str) -> None:
        """``field.TooLong``: the value is never shown ("<value omitted>")."""
        self.validation.append(self._make(field, "Too long", detail, hint))

    def duplicate(self, field: str, value: str, hint: str) -> None:
        self.validation.append(
            self._make(field, "Duplicate value", "", hint, value=value, rendered=go_quote(value))
        )

    def not_supported(self, field: str, value: str, supported: Sequence[str], hint: str) -> None:
        """``field.NotSupported`` for a value of a named string type (Protocol, PolicyType)."""
        detail = "supported values: " + ", ".join(go_quote(v) for v in supported)
        rendered = named_string(value, self.json_values)
        self.validation.append(
            self._make(field, "Unsupported value", detail, hint, value=value, rendered=rendered)
        )

    # decoding phase ---------------------------------------------------------------------
    def wrong_type(self, field: str, value: Any, expected: str, hint: str) -> None:
        """A value the API server cannot decode into the field's Go type."""
        detail = f"must be {expected}, not {kind_of(value)}"
        shown: str | int | None = None
        rendered: str | None = None
        if isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, (str, int)):
            shown, rendered = value, self._render(value)
        elif isinstance(value, float):
            rendered = repr(value)
        self.decoding.append(
            self._make(field, "Invalid value", detail, hint, value=shown, rendered=rendered)
        )

    def decode_error(self, field: str, value: str | int | None, detail: str, hint: str) -> None:
        rendered = None if value is None else self._render(value)
        self.decoding.append(
            self._make(field, "Invalid value", detail, hint, value=value, rendered=rendered)
        )

    def unknown_field(self, field: str, detail: str, hint: str) -> None:
        self.decoding.append(self._make(field, UNKNOWN_FIELD, detail, hint))

    def decode_required(self, field: str, detail: str, hint: str) -> None:
        self.decoding.append(self._make(field, "Required value", detail, hint))

    # warnings ---------------------------------------------------------------------------
    def warn(self, field: str, text: str, hint: str) -> None:
        self.warnings.append(self._make(field, WARNING, text, hint, severity="warning"))


def kind_of(value: object) -> str:
    """A YAML-ish name for a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"
