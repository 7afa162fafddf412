"""Quiz banks as data: ``notebooks/quizzes/<bank>.yaml`` (format: notebooks/quizzes/README.md).

A bank is a mapping ``{salt: str, questions: [...]}``; each question has an ``id``, a ``type``
(``single``, ``multiple``, ``matrix`` for predict-the-matrix, ``yaml`` for fix-the-YAML), a
``prompt`` and ``answer``: the hex sha256 of ``"<salt>:<id>:<canonical answer>"``, never the
answer itself, so a learner's kernel can check an answer but cannot read it. Canonical
answers: ``single`` the option index (``1``); ``multiple`` the sorted indices joined by commas
(``0,2``); ``matrix`` one ``1``/``0`` string per row joined by ``/`` (``11/01``); ``yaml`` the
fixed YAML as compact sorted JSON. ``single``/``multiple`` options each carry ``text`` and
``feedback``; ``matrix``/``yaml`` carry ``feedback: {correct, wrong}``.

Authors make digests with ``python -m labkit.lab.quiz_bank digest BANK ID ANSWER`` and check a
bank with ``python -m labkit.lab.quiz_bank check BANK``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labkit.errors import LabkitError

KINDS = ("single", "multiple", "matrix", "yaml")
Matrix = Sequence[Sequence[bool]]


@dataclass(frozen=True)
class Option:
    text: str
    feedback: str


@dataclass(frozen=True)
class BankQuestion:
    """One question of a bank; ``answer`` is the salted digest of the canonical answer."""

    id: str
    kind: str
    prompt: str
    answer: str
    salt: str
    options: tuple[Option, ...] = ()
    rows: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    starter: str = ""
    correct_feedback: str = ""
    wrong_feedback: str = ""


@dataclass(frozen=True)
class Bank:
    name: str
    salt: str
    questions: tuple[BankQuestion, ...]


@dataclass(frozen=True)
class Verdict:
    """The outcome of one attempt: right or not, and the feedback to show."""

    correct: bool
    feedback: str


def digest(salt: str, question_id: str, canonical: str) -> str:
    """The stored form of an answer: ``sha256("<salt>:<id>:<canonical>")`` in hex."""
    return hashlib.sha256(f"{salt}:{question_id}:{canonical}".encode()).hexdigest()


def canonical_choices(chosen: Sequence[int]) -> str:
    return ",".join(str(i) for i in sorted(set(chosen)))


def canonical_matrix(matrix: Matrix) -> str:
    return "/".join("".join("1" if cell else "0" for cell in row) for row in matrix)


def canonical_yaml(text: str) -> str:
    """Fixed YAML as compact JSON with sorted keys (formatting and comments do not matter)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LabkitError(f"the YAML does not parse: {exc}") from None
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def answer_matches(question: BankQuestion, canonical: str) -> bool:
    found = digest(question.salt, question.id, canonical)
    return hmac.compare_digest(found, question.answer.lower())


def grade_choices(question: BankQuestion, chosen: Sequence[int]) -> Verdict:
    """Single or multiple choice: the feedback of every chosen option."""
    if question.kind not in ("single", "multiple"):
        raise LabkitError(f"question {question.id!r} is a {question.kind} question, not a choice")
    bad = [i for i in chosen if not 0 <= i < len(question.options)]
    if bad or not chosen or (question.kind == "single" and len(set(chosen)) != 1):
        raise LabkitError(
            f"question {question.id!r}: pick {'one option' if question.kind == 'single' else 'options'}"
            f" from 0 to {len(question.options) - 1}, not {list(chosen)}"
        )
    correct = answer_matches(question, canonical_choices(chosen))
    notes = " ".join(question.options[i].feedback for i in sorted(set(chosen)))
    return Verdict(correct, ("Correct. " if correct else "Not quite. ") + notes)


def grade_matrix(question: BankQuestion, matrix: Matrix) -> Verdict:
    shape = (len(question.rows), len(question.columns))
    if len(matrix) != shape[0] or any(len(row) != shape[1] for row in matrix):
        raise LabkitError(f"question {question.id!r}: give a {shape[0]}x{shape[1]} matrix")
    return _verdict(question, answer_matches(question, canonical_matrix(matrix)))


def grade_yaml(question: BankQuestion, text: str) -> Verdict:
    try:
        canonical = canonical_yaml(text)
    except LabkitError as exc:
        return Verdict(False, f"Not quite. {exc}")
    return _verdict(question, answer_matches(question, canonical))


def _verdict(question: BankQuestion, correct: bool) -> Verdict:
    if correct:
        return Verdict(True, f"Correct. {question.correct_feedback}".strip())
    return Verdict(False, f"Not quite. {question.wrong_feedback}".strip())


# -- loading ------------------------------------------------------------------------------------


def banks_dir() -> Path:
    """``notebooks/quizzes`` of the project (beside the lessons)."""
    from labkit.cluster.labdir import find_project

    root = find_project()
    if root is None:
        raise LabkitError("quiz banks not found: run labkit inside its project checkout")
    return root / "notebooks" / "quizzes"


def find_bank(name: str | Path) -> Path:
    given = Path(name)
    if given.suffix in (".yaml", ".yml") and given.is_file():
        return given
    path = banks_dir() / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in banks_dir().glob("*.yaml"))) or "none"
        raise LabkitError(f"no quiz bank {name!r} ({path} is missing); banks: {known}")
    return path


def load_bank(name: str | Path) -> Bank:
    path = find_bank(name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LabkitError(f"{path}: cannot read the quiz bank: {exc}") from None
    return parse_bank(data, name=path.stem, file=str(path))


def parse_bank(data: object, *, name: str, file: str) -> Bank:
    if not isinstance(data, dict) or not isinstance(data.get("salt"), str) or not data["salt"]:
        raise LabkitError(f"{file}: a quiz bank is a mapping with a non-empty 'salt' string")
    items = data.get("questions")
    if not isinstance(items, list) or not items:
        raise LabkitError(f"{file}: 'questions' must be a non-empty list")
    questions = tuple(
        _question(file, f"questions[{i}]", q, data["salt"]) for i, q in enumerate(items)
    )
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise LabkitError(f"{file}: question ids must be unique: {ids}")
    return Bank(name, data["salt"], questions)


def _text(file: str, where: str, item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LabkitError(f"{file}: {where}.{key} must be a non-empty string")
    return value


def _question(file: str, where: str, item: object, salt: str) -> BankQuestion:
    if not isinstance(item, dict):
        raise LabkitError(f"{file}: {where} must be a mapping")
    kind = item.get("type")
    if kind not in KINDS:
        raise LabkitError(f"{file}: {where}.type must be one of {', '.join(KINDS)}, not {kind!r}")
    qid, prompt = _text(file, where, item, "id"), _text(file, where, item, "prompt")
    answer = _text(file, where, item, "answer")
    if len(answer) != 64 or any(c not in "0123456789abcdefABCDEF" for c in answer):
        raise LabkitError(
            f"{file}: {where}.answer must be a sha256 hex digest (python -m labkit.lab.quiz_bank "
            "digest), never the answer itself"
        )
    base = BankQuestion(qid, str(kind), prompt, answer, salt)
    if kind in ("single", "multiple"):
        return _with_options(file, where, item, base)
    feedback = item.get("feedback")
    if not isinstance(feedback, dict):
        raise LabkitError(f"{file}: {where}.feedback must be a mapping {{correct, wrong}}")
    fields: dict[str, Any] = {
        "correct_feedback": _text(file, f"{where}.feedback", feedback, "correct"),
        "wrong_feedback": _text(file, f"{where}.feedback", feedback, "wrong"),
    }
    if kind == "matrix":
        fields["rows"] = _labels(file, f"{where}.rows", item.get("rows"))
        fields["columns"] = _labels(file, f"{where}.columns", item.get("columns"))
    else:
        fields["starter"] = _text(file, where, item, "starter")
    return BankQuestion(**{**base.__dict__, **fields})


def _with_options(file: str, where: str, item: dict[str, Any], base: BankQuestion) -> BankQuestion:
    raw = item.get("options")
    if not isinstance(raw, list) or len(raw) < 2:
        raise LabkitError(f"{file}: {where}.options must list at least two options")
    options = []
    for i, option in enumerate(raw):
        if not isinstance(option, dict):
            raise LabkitError(f"{file}: {where}.options[{i}] must be a mapping {{text, feedback}}")
        here = f"{where}.options[{i}]"
        options.append(
            Option(_text(file, here, option, "text"), _text(file, here, option, "feedback"))
        )
    return BankQuestion(**{**base.__dict__, "options": tuple(options)})


def _labels(file: str, where: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise LabkitError(f"{file}: {where} must be a non-empty list of peer names")
    return tuple(value)


# -- command line for bank authors ----------------------------------------------------------------


def _author_canonical(question: BankQuestion, answer: str) -> str:
    if question.kind == "yaml":
        return canonical_yaml(Path(answer).read_text(encoding="utf-8"))
    if question.kind == "matrix":
        return answer.strip()
    return canonical_choices([int(part) for part in answer.split(",")])


def main(argv: Sequence[str]) -> int:
    """``digest BANK ID ANSWER`` prints a digest; ``check BANK`` validates a bank."""
    if len(argv) == 2 and argv[0] == "check":
        bank = load_bank(argv[1])
        sys.stdout.write(f"{bank.name}: {len(bank.questions)} questions, valid\n")
        return 0
    if len(argv) == 4 and argv[0] == "digest":
        path = find_bank(argv[1])
        salt = str((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("salt", ""))
        items = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("questions") or []
        kind = next((q.get("type") for q in items if q.get("id") == argv[2]), None)
        if kind is None or not salt:
            sys.stderr.write(f"{path}: needs a salt and a question with id {argv[2]!r}\n")
            return 2
        probe = BankQuestion(argv[2], str(kind), "", "0" * 64, salt)
        sys.stdout.write(digest(salt, argv[2], _author_canonical(probe, argv[3])) + "\n")
        return 0
    sys.stderr.write("usage: python -m labkit.lab.quiz_bank digest BANK ID ANSWER | check BANK\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
