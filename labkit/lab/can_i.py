"""``lab.can_i``: may a user do this? yes or no, what decided it, and the kubectl command.

The answer comes from :func:`labkit.cluster.auth.can_i`: labkit's RBAC evaluation on the
simulated cluster and for a workshop learner (the learner's private RBAC sandbox),
``kubectl auth can-i`` on kind and an existing cluster.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.lab.kubectl import Commands
from labkit.lab.render import beside, definition_list

if TYPE_CHECKING:
    from labkit.cluster.auth import Answer


@dataclass(frozen=True)
class CanI:
    """The answer: ``allowed`` (``bool(answer)`` too), ``reason`` in words, and on the
    simulated cluster the ``binding``, ``role`` and ``rule`` that allowed it."""

    allowed: bool
    reason: str
    backend: str
    binding: str | None
    role: str | None
    rule: str | None
    commands: Commands
    notes: tuple[str, ...] = ()
    sandbox: str = ""
    """A workshop learner's RBAC sandbox the answer comes from (``""`` otherwise)."""

    @classmethod
    def from_answer(cls, answer: Answer) -> CanI:
        decision = answer.decision
        allowed_by = decision if decision is not None and decision.allowed else None
        return cls(
            allowed=answer.allowed,
            reason=answer.reason,
            backend=answer.backend,
            binding=allowed_by.binding.title if allowed_by and allowed_by.binding else None,
            role=allowed_by.role.title if allowed_by and allowed_by.role else None,
            rule=str(allowed_by.rule) if allowed_by and allowed_by.rule else None,
            commands=Commands("can-i", (answer.question.kubectl_command,)),
            notes=decision.problems if decision is not None else (),
            sandbox=answer.sandbox,
        )

    @property
    def answer(self) -> str:
        """``yes`` or ``no``, as kubectl prints it."""
        return "yes" if self.allowed else "no"

    def __bool__(self) -> bool:
        return self.allowed

    def rows(self) -> list[tuple[str, str]]:
        rows = [("answer", self.answer), ("decided by", self._decided_by())]
        rows += [
            (name, value)
            for name, value in (("binding", self.binding), ("role", self.role), ("rule", self.rule))
            if value
        ]
        if self.reason and not self.rule:
            rows.append(("why", self.reason))
        rows += [("note", note) for note in self.notes]
        return rows

    def _decided_by(self) -> str:
        if self.sandbox:
            from labkit.cluster.auth import SANDBOX_NOTE

            return f"{SANDBOX_NOTE}: {self.sandbox}"
        if self.backend == "simulated":
            return "labkit's RBAC evaluation (the simulated cluster)"
        return f"the API server of the {self.backend} cluster (kubectl auth can-i)"

    def __str__(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in self.rows())

    def _repr_html_(self) -> str:
        mark = "✔ yes" if self.allowed else "✘ no"
        head = f"<p><b>{html.escape(mark)}</b></p>"
        return beside(head + definition_list(self.rows()[1:]), self.commands)


def ask(
    verb: str,
    resource: str,
    *,
    namespace: str | None,
    as_user: str,
    as_groups: Sequence[str],
    subresource: str,
    cluster: Any,
) -> CanI:
    """Ask ``cluster`` (a :class:`~labkit.cluster.backend.LabCluster`)."""
    from labkit.cluster.auth import Question, can_i

    question = Question(verb, resource, namespace, as_user, tuple(as_groups), subresource)
    return CanI.from_answer(can_i(cluster, question))
