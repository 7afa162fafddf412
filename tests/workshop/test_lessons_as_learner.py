"""The lessons run under nbclient as a learner of a simulated workshop (issue 10).

The first test is ``labkit lessons verify --workshop``: every lesson, with its reference
answers and with its starters, each run in a fresh kernel as learner
:data:`~labkit.cluster.lessons_verify.LEARNER` of a fresh simulated workshop (two learners,
made by ``labkit workshop init --simulated``'s own code) in the run's lab folder. The same
assertions as the single-user run (tests/test_lessons_verify.py). The others pin down what the
lessons need from a learner's lab: a private simulated lab for lesson 7, kube-system in the
graded world for lesson 8, the learner's own flow records for lesson 10.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import labkit.lab as lab
from labkit.cli.main import main
from labkit.cluster import lessons_verify
from labkit.cluster.lessons_verify import LEARNER, NEIGHBOUR, WORKSHOP_ID, verify_lessons
from labkit.cluster.simulated import SimulatedCluster
from labkit.cluster.workshop.learner import LearnerCluster
from labkit.errors import ClusterError, LabkitError
from labkit.model.workshop import learner_problem

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
BUDGET_SECONDS = 120.0


@pytest.mark.slow
def test_every_lesson_verifies_as_a_workshop_learner() -> None:
    started = time.monotonic()
    report = verify_lessons(NOTEBOOKS, workshop=True)
    elapsed = time.monotonic() - started
    lessons = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    assert [r.lesson for r in report.lessons] == lessons
    problems = {
        r.lesson: (*r.solutions.problems, *r.starters.problems) for r in report.lessons if not r.ok
    }
    assert report.ok, f"lessons failing as a workshop learner: {problems}"
    for result in report.lessons:
        assert result.solutions.failed == 0
        assert result.starters.passed == 0
        assert result.solutions.passed >= 1, f"{result.lesson} records no check"
        if (NOTEBOOKS / "requirements" / f"{result.lesson}.yaml").is_file():
            assert result.starters.failed >= 1, f"{result.lesson}: starter checks nothing"
    assert report.workshop and f"as learner {LEARNER}" in report.to_text()
    assert elapsed <= BUDGET_SECONDS, f"took {elapsed:.1f} s (budget {BUDGET_SECONDS} s)"


def test_the_rehearsal_workshop_and_its_learner(tmp_path: Path) -> None:
    assert learner_problem(LEARNER, WORKSHOP_ID, ("branch-office",)) is None
    lessons_verify.provision_workshop(tmp_path)
    env = lessons_verify.kernel_env(tmp_path, "simulated", None, workshop=True)
    assert env["LABKIT_WORKSHOP"] == WORKSHOP_ID and env["LABKIT_LEARNER"] == LEARNER
    assert "LABKIT_WORKSHOP" not in lessons_verify.kernel_env(tmp_path, "simulated", None)
    from labkit.cluster.workshop.session import find_learner

    found = find_learner({"LABKIT_WORKSHOP": WORKSHOP_ID, "LABKIT_LEARNER": LEARNER}, tmp_path)
    assert isinstance(found, LearnerCluster)
    assert {x.name for x in found.workshop.learners} == {LEARNER, NEIGHBOUR}
    assert not found.missing_pods()
    with pytest.raises(LabkitError, match="--workshop"):
        verify_lessons(NOTEBOOKS, backend="kind", workshop=True)


def test_the_cli_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["lessons", "verify", "--workshop", "--only", "00", "-o", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [e["lesson"] for e in report["lessons"]] == ["00-start-here"]
    assert report["lessons"][0]["solutions"]["passed"] >= 1


# -- what the lessons need from a learner's lab --------------------------------------------------
def test_a_private_simulated_lab_and_back(workshop, learner_env) -> None:  # type: ignore[no-untyped-def]
    """Lesson 7: ``lab.up("simulated", cni="none")`` as a learner is a private lab in the
    learner's folder; ``lab.up("workshop")`` and ``lab.up()`` return to the workshop."""
    host, ws = workshop(["alice", "bob"])
    learner_env("ws1", "alice")
    lab.up()
    assert lab.status().backend == "workshop"
    lab.up("simulated", cni="none")
    private = lab.cluster()
    assert isinstance(private, SimulatedCluster) and private.cni == "none"
    folder = LearnerCluster(host, ws, "alice").folder
    assert private.state_path.is_relative_to(folder)
    assert lab.status().backend == "simulated"
    assert "does not enforce NetworkPolicy" in lab.status().canary
    learner_env("ws1", "bob")  # the record is alice's alone
    assert isinstance(lab.cluster(), LearnerCluster)
    learner_env("ws1", "alice")
    lab.up("workshop")
    assert isinstance(lab.cluster(), LearnerCluster) and lab.status().backend == "workshop"
    lab.up("simulated")
    assert isinstance(lab.cluster(), SimulatedCluster)
    lab.up()
    assert isinstance(lab.cluster(), LearnerCluster)
    with pytest.raises(ClusterError, match="not yours to start"):
        lab.up("kind")


def test_workshop_backend_needs_a_learner(lab_home) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClusterError, match="this process is no learner"):
        lab.up("workshop")


def test_the_learners_world_has_the_cluster_namespaces(workshop) -> None:  # type: ignore[no-untyped-def]
    """Lesson 8's DNS scenario names kube-system: the learner's view (and so the graded
    world) has the namespaces every cluster has, with their automatic label."""
    from labkit.cluster.grading_inputs import cluster_objects

    host, ws = workshop(["alice", "bob"])
    alice = LearnerCluster(host, ws, "alice")
    namespaces = {ns.name: ns.label_map for ns in alice.inventory().namespaces}
    assert namespaces["kube-system"] == {"kubernetes.io/metadata.name": "kube-system"}
    assert "default" in namespaces
    objects = cluster_objects(alice)
    assert {o.name for o in objects if o.kind == "Namespace"} >= {"kube-system", "my-segment"}
    labels = next(o for o in objects if o.name == "my-segment").metadata["labels"]
    assert not any(k in labels for k in ("labkit.dev/workshop", "labkit.dev/learner"))


def test_a_learners_probes_are_its_flows(workshop, learner_env) -> None:  # type: ignore[no-untyped-def]
    """Lesson 10: on a simulated workshop the learner's probes are recorded in logical names
    in the learner's folder; another learner sees none of them."""
    workshop(["alice", "bob"])
    learner_env("ws1", "alice")
    lab.up()
    lab.check("trusted/client", "my-segment/frontend", "80/TCP")
    flows = lab.flows()
    assert [(f.source, f.destination) for f in flows] == [("trusted/client", "my-segment/frontend")]
    assert "ws1-" not in str(flows.records)
    learner_env("ws1", "bob")
    assert len(lab.flows()) == 0


def test_a_live_learner_gets_no_cluster_wide_flows() -> None:
    from labkit.cluster.flows import learner_flows

    class Live:
        host = type("Host", (), {"live": True})()

    with pytest.raises(ClusterError, match="cluster-wide"):
        learner_flows(Live())  # type: ignore[arg-type]
