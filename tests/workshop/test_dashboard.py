"""The instructor's dashboard: the learners x checks grid from each learner's lab (through the
grader's own evaluation), stuck learners, common wrong answers, pod health, and the CLI views."""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from labkit.cluster.topology import LAB_NAMESPACES
from labkit.cluster.workshop.learner import LearnerCluster
from labkit.cluster.workshop.observe import LearnerState, learner_states
from labkit.cluster.workshop.progress_events import Event, learner_log
from labkit.grading.dashboard import (
    FAIL,
    PASS,
    TOP,
    build_dashboard,
    dashboard_html,
    dashboard_json,
    dashboard_text,
    status_json,
)
from labkit.grading.requirements import RequirementSet, load_requirements

ROOT = Path(__file__).resolve().parents[2]
LESSON = "01-namespaces"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
WRONG_POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: segment-wall, namespace: my-segment}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {name: trusted}}
"""


def solution(lesson: str, answer: str) -> str:
    """The YAML of one answer cell of ``notebooks/solutions/<lesson>.yaml``."""
    cells = yaml.safe_load((ROOT / "notebooks" / "solutions" / f"{lesson}.yaml").read_text())
    found = re.search(r'"""(.*?)"""', cells[answer], re.S)
    assert found, f"{lesson} {answer}: no YAML in the answer cell"
    return found.group(1)


def requirements() -> dict[str, RequirementSet]:
    folder = ROOT / "notebooks" / "requirements"
    return {p.stem: load_requirements(p) for p in sorted(folder.glob("*.yaml"))}


def events_at(host, ws, learner: str, *events: Event) -> None:  # type: ignore[no-untyped-def]
    log = learner_log(host, ws.space(learner), schedule=None)
    for e in events:
        log.add(e)
    log.flush()


def ev(minutes_ago: float, **fields: object) -> Event:
    values: dict[str, object] = {
        "time": NOW - timedelta(minutes=minutes_ago),
        "kind": "check",
        "lesson": LESSON,
        "item": "inside-reaches-my-segment",
        "passed": False,
    }
    values.update(fields)
    return Event(**values)  # type: ignore[arg-type]


@pytest.fixture
def three(workshop):  # type: ignore[no-untyped-def]
    """alice solved lesson 1, bob made the tutorial's mistake, carol did nothing, dave lost
    a pod; alice and bob published events."""
    host, ws = workshop(["alice", "bob", "carol", "dave"])
    LearnerCluster(host, ws, "alice").apply(solution(LESSON, "01-segment-wall"))
    LearnerCluster(host, ws, "bob").apply(WRONG_POLICY)
    assert host.delete("Pod", ws.space("dave").real("my-segment"), "frontend")
    events_at(
        host,
        ws,
        "alice",
        ev(30, wrong_cells=("untrusted/client -> my-segment/frontend 80/TCP (predicted blocked)",)),
        ev(25, passed=True),
    )
    events_at(
        host,
        ws,
        "bob",
        ev(3, wrong_cells=("untrusted/client -> my-segment/frontend 80/TCP (predicted blocked)",)),
        ev(2, wrong_cells=("untrusted/client -> my-segment/frontend 80/TCP (predicted blocked)",)),
        ev(
            1,
            kind="apply",
            lesson="",
            item="p.yaml",
            messages=("spec.podSelector: Required value",),
        ),
        ev(1, kind="quiz", item="q1", detail="option 2"),
    )
    return host, ws


def test_states_read_each_learner_in_logical_names(three) -> None:  # type: ignore[no-untyped-def]
    host, ws = three
    states = {s.learner: s for s in learner_states(host, ws)}
    assert list(states) == ["alice", "bob", "carol", "dave"]
    alice, dave, carol = states["alice"], states["dave"], states["carol"]
    assert alice.namespaces == ws.space("alice").real_namespaces
    assert [p.key for p in alice.inventory.policies] == ["my-segment/segment-wall"]
    assert carol.inventory.policies == ()
    own = LearnerCluster(host, ws, "alice").inventory()  # the learner's own view
    assert (alice.inventory.pods, alice.inventory.policies) == (own.pods, own.policies)
    # plus the kube-system Namespace (the lesson checks' world has it; a learner cannot read it)
    assert {n.name for n in alice.inventory.namespaces} == {n.name for n in own.namespaces} | {
        "kube-system"
    }
    assert (alice.pods_ready, alice.pods_total) == (9, 9)
    assert (dave.pods_ready, dave.pods_total) == (8, 9)
    assert dave.not_ready == ("my-segment/frontend: missing",)
    assert alice.last_activity == NOW - timedelta(minutes=25)
    assert carol.events == () and carol.last_activity is None


def test_grid_runs_each_lab_through_the_lesson_requirements(three) -> None:  # type: ignore[no-untyped-def]
    from labkit.cluster.grading_inputs import lab_world
    from labkit.grading import check, read_submission
    from labkit.lab.lesson_check import lesson_exercise

    host, ws = three
    board = build_dashboard(learner_states(host, ws), requirements(), now=NOW, stuck_minutes=10)
    keys = [f"{LESSON}:inside-reaches-my-segment", f"{LESSON}:outside-stays-out"]
    assert [board.result("alice", k) for k in keys] == [True, True]
    assert [board.result("bob", k) for k in keys] == [False, False]
    assert [board.result("carol", k) for k in keys] == [False, False]
    # one mechanism: the same verdicts as the learner's self-check of the same policy
    exercise = lesson_exercise(ROOT / "notebooks" / "requirements" / f"{LESSON}.yaml")
    for learner, text in (("alice", solution(LESSON, "01-segment-wall")), ("bob", WRONG_POLICY)):
        path = host.home / f"{learner}.yaml"
        path.write_text(text)
        grade = check(exercise, read_submission(path), lab_world())
        assert [board.result(learner, f"{LESSON}:{r.id}") for r in grade.requirements] == [
            r.passed for r in grade.requirements
        ]
    every = [c.key for c in board.checks]
    assert len(every) == sum(len(rs.requirements) for rs in requirements().values())
    alice, carol = board.row("alice"), board.row("carol")
    assert alice.checks_passed >= carol.checks_passed + 2  # lesson 1 and more
    assert None not in alice.results  # every requirement is evaluable in a learner's world
    # a pod the requirement names is gone: "?" with the reason, not a crash
    assert board.result("dave", keys[0]) is None
    assert any("my-segment/frontend" in p for p in board.row("dave").problems)


def test_stuck_learners(three) -> None:  # type: ignore[no-untyped-def]
    host, ws = three
    states = learner_states(host, ws)
    board = build_dashboard(states, {}, now=NOW, stuck_minutes=10)
    assert [r.learner for r in board.stuck] == ["alice", "carol", "dave"]  # 25 min ago, never
    later = build_dashboard(states, {}, now=NOW + timedelta(minutes=9), stuck_minutes=10)
    assert [r.learner for r in later.stuck] == ["alice", "carol", "dave"]
    much_later = build_dashboard(states, {}, now=NOW + timedelta(minutes=12), stuck_minutes=10)
    assert [r.learner for r in much_later.stuck] == ["alice", "bob", "carol", "dave"]
    patient = build_dashboard(states, {}, now=NOW, stuck_minutes=60)
    assert [r.learner for r in patient.stuck] == ["carol", "dave"]


def test_common_wrong_answers_grouped_by_cell_and_by_message(three) -> None:  # type: ignore[no-untyped-def]
    host, ws = three
    board = build_dashboard(learner_states(host, ws), {}, now=NOW, stuck_minutes=10)
    top = board.wrong_cells[0]
    assert top.answer == "untrusted/client -> my-segment/frontend 80/TCP (predicted blocked)"
    assert (top.learners, top.attempts, top.names) == (2, 3, ("alice", "bob"))
    assert top.where == f"{LESSON} inside-reaches-my-segment"
    quiz = [a for a in board.wrong_cells if a.answer == "option 2"]
    assert quiz and quiz[0].where == f"{LESSON} q1" and quiz[0].learners == 1
    assert [(m.answer, m.learners) for m in board.wrong_messages] == [
        ("spec.podSelector: Required value", 1)
    ]


def fake_state(name: str, events: tuple[Event, ...]) -> LearnerState:
    from labkit.model.inventory import Inventory

    return LearnerState(
        name, (), Inventory(), 0, 0, (), events, events[-1].time if events else None
    )


def test_wrong_answers_keep_the_top_ten_most_learners_first() -> None:
    states = [
        fake_state(f"l{n}", tuple(ev(1, wrong_cells=(f"cell-{k}",)) for k in range(n + 1)))
        for n in range(15)
    ]
    board = build_dashboard(states, {}, now=NOW, stuck_minutes=10)
    assert len(board.wrong_cells) == TOP
    assert [a.answer for a in board.wrong_cells[:3]] == ["cell-0", "cell-1", "cell-2"]
    assert [a.learners for a in board.wrong_cells[:3]] == [15, 14, 13]
    passed = build_dashboard(
        [fake_state("x", (ev(1, passed=True, wrong_cells=("c",)),))], {}, now=NOW
    )
    assert passed.wrong_cells == ()  # a passed attempt is no wrong answer


def test_renderers(three) -> None:  # type: ignore[no-untyped-def]
    host, ws = three
    board = build_dashboard(
        learner_states(host, ws), requirements(), now=NOW, stuck_minutes=10, workshop="ws1"
    )
    text = dashboard_text(board)
    assert "legend:" in text and "stuck (3): alice, carol, dave" in text
    assert "dave     8/9" in text and "my-segment/frontend: missing" in text
    page = dashboard_html(board)
    assert page.count('<tr><td class="name">') == 4
    assert "Legend" in page and PASS in page and FAIL in page  # marks, never colour alone
    data = dashboard_json(board)
    json.dumps(data)
    alice = data["learners"][0]
    assert alice["results"][f"{LESSON}:outside-stays-out"] is True
    assert data["stuck"] == ["alice", "carol", "dave"]
    assert data["wrong_messages"][0]["answer"] == "spec.podSelector: Required value"


def test_html_escapes_what_learners_control() -> None:
    state = fake_state("x", (ev(1, kind="quiz", item="q", detail="<script>alert(1)</script>"),))
    page = dashboard_html(build_dashboard([state], {}, now=NOW))
    assert "<script>" not in page and "&lt;script&gt;" in page


def args(**values: object) -> argparse.Namespace:
    base: dict[str, object] = {"workshop_id": "ws1", "context": None, "output": "text"}
    base.update(values)
    return argparse.Namespace(**base)


def test_status_json_shape(three, capsys) -> None:  # type: ignore[no-untyped-def]
    from labkit.cli import workshop_views

    host, ws = three
    assert workshop_views.status(args(output="json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"workshop", "learners"} and data["workshop"] == "ws1"
    assert [set(entry) for entry in data["learners"]] == [
        {"name", "namespaces", "ready", "checks_passed", "last_activity"}
    ] * 4
    alice, bob, carol, dave = data["learners"]
    assert alice["name"] == "alice" and alice["namespaces"] == list(
        ws.space("alice").real_namespaces
    )
    assert (alice["ready"], bob["ready"], dave["ready"]) == ("9/9", "9/9", "8/9")
    assert alice["checks_passed"] >= carol["checks_passed"] + 2
    assert alice["last_activity"] == (NOW - timedelta(minutes=25)).isoformat()
    assert carol["last_activity"] is None
    board = build_dashboard(learner_states(host, ws), requirements(), now=NOW, workshop="ws1")
    assert status_json(board)["learners"] == data["learners"]


def test_status_and_dashboard_text(three, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from labkit.cli import workshop_views

    assert workshop_views.status(args()) == 0
    out = capsys.readouterr().out
    assert "workshop ws1: 4 learners" in out and "dave" in out and "8/9" in out
    page = tmp_path / "dash.html"
    assert workshop_views.dashboard(args(stuck_minutes=60 * 24 * 365 * 10, html=str(page))) == 0
    out = capsys.readouterr().out
    assert "stuck (2): carol, dave" in out  # a long --stuck-minutes: only who never did anything
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert workshop_views.dashboard(args(output="json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["workshop"] == "ws1" and len(data["learners"]) == 4


def test_an_unknown_workshop_says_how_to_create_it(lab_home) -> None:  # type: ignore[no-untyped-def]
    from labkit.cli import workshop_views
    from labkit.errors import LabkitError

    with pytest.raises(LabkitError, match="workshop init --id nope"):
        workshop_views.status(args(workshop_id="nope"))


def provision_many(
    home: Path, names: list[str], solved: list[str], wrong: list[str], active: list[str]
):  # type: ignore[no-untyped-def]
    """200 learners in one provision batch (a learner's apply rewrites the whole simulated
    store, so 50 of them would take minutes): the topology, the solution or the mistake as
    each learner's policy, and published events."""
    from labkit.cluster.workshop.host import SimulatedHost
    from labkit.cluster.workshop.ops import plan_objects
    from labkit.cluster.workshop.progress_events import progress_configmap
    from labkit.model.loader import RawObject, load_text
    from labkit.model.wall import WallFlavour
    from labkit.model.workshop import LEARNER_KINDS, Learner, Workshop

    ws = Workshop("ws1", tuple(Learner(n) for n in names), LAB_NAMESPACES)
    # what `workshop init` applies, rendered by its own plan (no import of a conftest)
    plan = plan_objects(ws, WallFlavour.CALICO, hub_namespace_exists=False)
    raws = [RawObject(d, "<workshop init>") for d in plan.all()]
    for names_, text in ((solved, solution(LESSON, "01-segment-wall")), (wrong, WRONG_POLICY)):
        for name in names_:
            space = ws.space(name)
            raws += [space.to_real_object(o, allowed_kinds=LEARNER_KINDS) for o in load_text(text)]
    for name in active:
        raws.append(
            progress_configmap(ws.space(name), [ev(1, wrong_cells=("a -> b 80/TCP",))], NOW)
        )
    host = SimulatedHost.create("ws1", home, fresh=True)
    host.provision(raws)
    return host, ws


@pytest.mark.slow
def test_dashboard_of_200_learners(lab_home: Path) -> None:
    names = [f"l{n:03d}" for n in range(200)]
    solved = names[::7]
    wrong = [n for n in names[3::11] if n not in solved]
    host, ws = provision_many(lab_home, names, solved, wrong, names[::5])
    states = learner_states(host, ws)
    board = build_dashboard(states, requirements(), now=NOW, stuck_minutes=10)
    assert [r.learner for r in board.rows] == names
    key = f"{LESSON}:outside-stays-out"
    assert {r.learner for r in board.rows if board.result(r.learner, key)} == set(solved)
    assert {len(s.inventory.policies) for s in states if s.learner in wrong} == {1}
    assert all(r.pods_ready == r.pods_total == 9 for r in board.rows)
    assert {r.learner for r in board.stuck} == set(names) - set(names[::5])
    assert board.wrong_cells[0].learners == len(names[::5])
    html = dashboard_html(board)
    assert html.count('<td class="name">') == 200
