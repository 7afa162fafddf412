"""labkit's exception hierarchy.

Every error a user can cause ends in a :class:`LabkitError` subclass whose message says what
failed, where (file, object, field path) and how to fix it. Nothing else should escape the
public API; the property tests hold the parser, validator and engine to that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class LabkitError(Exception):
    """Base class of every error labkit raises on purpose."""


@dataclass(frozen=True)
class Issue:
    """One validation finding, in the Kubernetes API server's terms.

    ``field`` is the API server's field path (``spec.ingress[0].ports[0].protocol``), ``type``
    its error type (``Invalid value``, ``Unsupported value``, ``Required value``,
    ``Forbidden``), ``value`` the offending value when the type shows one, ``detail`` the API
    server's detail text, and ``hint`` our sentence on how to fix it.
    """

    file: str
    object: str
    field: str
    type: str
    detail: str = ""
    value: str | int | None = None
    show_value: bool = False
    hint: str = ""
    severity: str = "error"

    @property
    def message(self) -> str:
        """The API server's StatusCause text: ``field: Type: value: detail``."""
        body = self.type
        if self.show_value:
            body += ": " + format_go_value(self.value)
        if self.detail:
            body += ": " + self.detail
        return f"{self.field}: {body}" if self.field else body

    def as_dict(self) -> dict[str, str]:
        return {
            "file": self.file,
            "object": self.object,
            "field": self.field,
            "type": self.type,
            "message": self.message,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.object) if part)
        text = f"{where}: {self.message}" if where else self.message
        return f"{text}\n    fix: {self.hint}" if self.hint else text


def format_go_value(value: object) -> str:
    """Format a bad value as Go's ``%q``/``%d`` would in an API server message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    text = str(value)
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class ManifestError(LabkitError):
    """A manifest could not be read: bad YAML/JSON, a file that is missing, a wrong shape."""

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        line: int | None = None,
        column: int | None = None,
        object: str = "",
        field: str = "",
        hint: str = "",
        error_type: str = "",
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.object = object
        self.field = field
        self.hint = hint
        self.detail = message
        lowered = message.lower()
        if error_type:
            self.error_type = error_type
        elif field:
            self.error_type = "Invalid value"
        elif "syntax" in lowered or "yaml" in lowered or "json" in lowered:
            self.error_type = "Syntax error"
        elif "no such file" in lowered:
            self.error_type = "Not found"
        else:
            self.error_type = "Invalid manifest"
        where = file
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        parts = [p for p in (where, object, field) if p]
        text = ": ".join([*parts, message])
        if hint:
            text += f"\n    fix: {hint}"
        super().__init__(text)

    def as_issue(self) -> Issue:
        file = self.file
        if self.line is not None:
            file += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return Issue(
            file=file,
            object=self.object,
            field=self.field,
            type=self.error_type,
            detail=self.detail,
            hint=self.hint,
        )


class ValidationFailed(LabkitError):
    """One or more objects would be rejected by the API server (what was done about it,
    e.g. "nothing was applied", is for the caller to say: ``audit`` applies nothing)."""

    def __init__(self, issues: Sequence[Issue], warnings: Sequence[Issue] = ()) -> None:
        self.issues = tuple(issues)
        self.warnings = tuple(warnings)
        count = len(self.issues)
        lines = [
            f"{count} validation error{'s' if count != 1 else ''}: "
            "the API server would reject these objects:"
        ]
        lines += [f"  {issue}" for issue in self.issues]
        super().__init__("\n".join(lines))


class UnknownPeer(LabkitError):
    """A peer named on the command line or in a notebook does not exist."""


class EvaluationError(LabkitError):
    """The engine was asked something it cannot answer (a bad port, protocol or peer)."""


class ProbeError(LabkitError):
    """A connectivity probe could not be set up or run."""


class MissingExtra(LabkitError):
    """A feature needs a package of the ``lab`` extra (pandas, matplotlib, ipywidgets,
    kubernetes, JupyterLab) that is not installed; see :mod:`labkit.extras`."""


class ClusterError(LabkitError):
    """A cluster operation failed."""


class PrerequisiteMissing(ClusterError):
    """Docker, kind or kubectl is missing or unusable."""


class ClusterNotReady(ClusterError):
    """The cluster exists but some part of it is not ready (names what, and how to fix)."""


class LabNotUp(ClusterError):
    """No lab cluster is up (never started, or stopped with ``labkit down``)."""


class LabFolderError(ClusterError):
    """The lab folder (``LABKIT_HOME``) or a file in it cannot be used (not a folder,
    no permission, a symbolic link where labkit will not follow one)."""


class CommandFailed(ClusterError):
    """A subprocess (kind, kubectl, docker) exited non-zero or timed out."""

    def __init__(
        self,
        command: Sequence[str],
        returncode: int | None,
        stderr: str,
        hint: str = "",
        *,
        timed_out: bool = False,
    ) -> None:
        self.command = tuple(command)
        self.returncode = returncode
        self.stderr = stderr
        self.hint = hint
        self.timed_out = timed_out
        shown = " ".join(self.command)
        head = (
            f"`{shown}` timed out"
            if timed_out
            else f"`{shown}` failed with exit status {returncode}"
        )
        text = head
        if stderr.strip():
            text += ":\n    " + "\n    ".join(stderr.strip().splitlines()[-15:])
        if hint:
            text += f"\n    fix: {hint}"
        super().__init__(text)


class GradingError(LabkitError):
    """An exercise spec or a submission could not be read or graded."""


class RequirementsError(GradingError):
    """A requirements file (or an exercise's ``exercise.yaml``) is wrong: the message names
    the file, the requirement id and the field path, and says how to fix it."""

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        requirement: str = "",
        field: str = "",
        hint: str = "",
    ) -> None:
        self.file = file
        self.requirement = requirement
        self.field = field
        self.hint = hint
        parts = [p for p in (file, f"requirement {requirement}" if requirement else "", field) if p]
        text = ": ".join([*parts, message])
        super().__init__(f"{text}\n    fix: {hint}" if hint else text)
