"""The notebooks' quiz questions, kept out of the notebooks so the answers are not in plain
sight of the cell that asks them. ``lab.quiz("start-here")`` shows a set by name."""

from __future__ import annotations

from labkit.errors import LabkitError
from labkit.lab.quiz import Question

START_HERE: tuple[Question, ...] = (
    Question(
        "No NetworkPolicy exists yet. Can untrusted/client open 80/TCP on my-segment/database?",
        (
            "No: namespaces keep out traffic that comes from other namespaces",
            "Yes: a pod that no policy selects accepts traffic from everywhere",
            "Only when both pods run on the same node",
        ),
        answer=1,
        why="Isolation begins only when a policy selects the pod; a namespace is no wall.",
        hints=(
            "Look at the matrix again: is any cell red?",
            "",
            "Pods reach each other across nodes; the node plays no part in policy.",
        ),
    ),
    Question(
        "A policy in my-segment selects the frontend pod and lists Ingress in its policyTypes. "
        "What changes for frontend?",
        (
            "Only connections that an ingress rule of a policy selecting it allows can reach it",
            "Every pod in my-segment becomes isolated",
            "Its own outgoing connections are blocked as well",
        ),
        answer=0,
        why="Ingress isolation is per pod and per direction; what may come in is the union of "
        "the ingress rules of every policy that selects the pod.",
        hints=(
            "",
            "Only the pods its podSelector matches are affected.",
            "Egress is isolated only when Egress is listed in policyTypes.",
        ),
    ),
)

QUIZZES: dict[str, tuple[Question, ...]] = {"start-here": START_HERE}


def questions(name: str) -> tuple[Question, ...]:
    try:
        return QUIZZES[name]
    except KeyError:
        raise LabkitError(f"no quiz named {name!r}; quizzes: {', '.join(QUIZZES)}") from None
