"""``labkit workshop init`` (labkit.cluster.workshop.ops.init_workshop): a simulated workshop
of three learners, its labels and walls, the learners' views; the refusals (a bad learners
file, IP pools too small, a cluster without a wall API, a failing canary or wall check) leave
nothing behind; a dry run writes nothing; a real cluster (fake kubectl) gets every object
labelled, each batch dry-run first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes import (
    FakeTools,
    applied_items,
    fake_tools,
    kubectl_host,
    learners_file,
    listing,
    served,
)

from labkit.cluster.simulated import SimulatedRunner
from labkit.cluster.topology import LAB_PODS
from labkit.cluster.workshop import ops
from labkit.cluster.workshop.doctor import ScopedSimulated, WorkshopCheck
from labkit.cluster.workshop.host import SimulatedHost, workshop_folder
from labkit.cluster.workshop.learner import LearnerCluster
from labkit.model.objects import MANAGED_LABEL
from labkit.model.workshop import (
    LEARNER_LABEL,
    LOGICAL_LABEL,
    WALL_LABEL,
    WORKSHOP_LABEL,
    WorkshopError,
)
from labkit.probe.jobs import Job, Outcome, ProbeSpec

__all__ = ["fake_tools"]  # the fixture

LEARNERS = ["alice", "bob", "carol"]
BASE = {("Namespace", "", n) for n in ("default", "kube-system", "kube-public", "kube-node-lease")}


def init(home: Path, folder: Path, names: list[str], **kwargs: Any) -> ops.InitResult:
    path = learners_file(folder, names)
    options = ops.InitOptions(
        "ws1", path, simulated=True, home=home, hook_file=folder / "hook.py", **kwargs
    )
    return ops.init_workshop(options)


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def test_init_of_three_learners_builds_every_lab_walled_off(lab_home: Path, tmp_path: Path) -> None:
    result = init(lab_home, tmp_path, LEARNERS)
    assert [x.name for x in result.workshop.learners] == LEARNERS
    assert all(c.ok for c in result.checks) and len(result.checks) == 5
    host = SimulatedHost.open("ws1", lab_home)
    stored = [e["object"] for e in host.entries()]
    # every object labkit created carries the workshop label; only the shared tier does not
    for obj in stored:
        key = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if key in BASE or (
            obj["metadata"].get("namespace") == "kube-system" and obj["kind"] == "Pod"
        ):
            continue
        labels = labels_of(obj)
        assert labels.get(MANAGED_LABEL) == "true", key
        if obj["kind"] == "Tier":
            assert labels.get(WALL_LABEL) == "true"
            continue
        assert labels.get(WORKSHOP_LABEL) == "ws1", key
    for name in LEARNERS:
        space = result.workshop.space(name)
        namespaces = {
            o["metadata"]["name"]: labels_of(o)
            for o in stored
            if o["kind"] == "Namespace" and labels_of(o).get(LEARNER_LABEL) == name
        }
        assert set(namespaces) == set(space.real_namespaces)
        assert all(v[WORKSHOP_LABEL] == "ws1" for v in namespaces.values())
        assert namespaces[space.real("trusted")][LOGICAL_LABEL] == "trusted"
        mine = [o for o in stored if o["metadata"].get("namespace") in space.real_namespaces]
        assert mine and all(labels_of(o).get(LEARNER_LABEL) == name for o in mine)
    walls = host.selected(f"{WALL_LABEL}=true,{WORKSHOP_LABEL}=ws1", ("GlobalNetworkPolicy",))
    assert sorted(k[2] for k in walls) == sorted(
        f"labkit-ws1-{x}" for x in [*LEARNERS, "doctor-a", "doctor-b"]
    )
    # the canary ran in ws1-canary, which stays (labelled) without its pods
    canary = [o for o in stored if o["metadata"].get("namespace") == "ws1-canary"]
    assert canary == []
    assert ("Namespace", "", "ws1-canary") in {
        (o["kind"], "", o["metadata"]["name"]) for o in stored if o["kind"] == "Namespace"
    }
    assert "labkit-canary" not in {o["metadata"]["name"] for o in stored}
    # the learners' views work: logical names, the topology's pods, probes as in a lab
    alice = LearnerCluster(host, result.workshop, "alice")
    assert sorted(p.key for p in alice.pods() if p.namespace != "kube-system") == sorted(LAB_PODS)
    assert alice.probe("trusted/client", "my-segment/frontend").outcome is Outcome.ALLOWED
    across = Job("ws1-alice-trusted/client", "ws1-bob-my-segment/frontend", ProbeSpec(80))
    assert host.runner().run([across])[0].outcome is Outcome.BLOCKED
    # the hook and the record
    hook = (tmp_path / "hook.py").read_text(encoding="utf-8")
    assert result.hook_file == tmp_path / "hook.py"
    assert "labkit_pre_spawn_hook" in hook and "'labkit-carol'" in hook
    record = json.loads((workshop_folder("ws1", lab_home) / "workshop.json").read_text())
    assert record["simulated"] is True and record["context"] is None
    assert record["flavour"] == "projectcalico.org/v3"
    assert [name for name, _ in record["learners"]] == LEARNERS
    assert [step for step, _ in result.timings] == [
        "render",
        "shared objects",
        "canary and wall",
        "learners",
        "total",
    ]


def test_init_again_is_idempotent_and_adds_the_new_learners(lab_home: Path, tmp_path: Path) -> None:
    init(lab_home, tmp_path, ["alice", "bob"])
    host = SimulatedHost.open("ws1", lab_home)
    before = {e["object"]["metadata"]["name"]: e for e in host.entries()}
    result = init(lab_home, tmp_path, ["bob", "dave"])
    assert [x.name for x in result.workshop.learners] == ["alice", "bob", "dave"]
    assert result.added == ("dave",)
    after = {e["object"]["metadata"]["name"]: e for e in host.entries()}
    assert after["ws1-alice-trusted"] == before["ws1-alice-trusted"]
    assert "ws1-dave-trusted" in after and "labkit-ws1-dave" in after
    data = host.workshop_data()
    assert data is not None and set(json.loads(data[1]["learners"])) == {"alice", "bob", "dave"}


def test_a_bad_learners_file_names_every_line_and_creates_nothing(
    lab_home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "people.txt"
    path.write_text("alice\nBob\nx y z\ncanary\nalice\n", encoding="utf-8")
    options = ops.InitOptions("ws1", path, simulated=True, home=lab_home)
    with pytest.raises(WorkshopError) as caught:
        ops.init_workshop(options)
    text = str(caught.value)
    for line in (2, 3, 4, 5):
        assert f"{path}:{line}:" in text
    assert f"{path}:1:" not in text and "fix:" in text
    assert not lab_home.exists()


def test_learners_beyond_the_ip_pools_are_refused_before_anything_is_applied(
    lab_home: Path, tmp_path: Path
) -> None:
    names = [f"l{i:03d}" for i in range(300)]  # the lab's /24 pools hold 254 each
    with pytest.raises(WorkshopError) as caught:
        init(lab_home, tmp_path, names)
    text = str(caught.value)
    assert "too small" in text and "at most" in text and "nothing was applied" in text
    assert not workshop_folder("ws1", lab_home).exists()
    assert not (tmp_path / "hook.py").exists()


def _stored(home: Path) -> list[dict[str, Any]]:
    return [e["object"] for e in SimulatedHost.open("ws1", home).entries()]


def test_a_failing_wall_check_refuses_and_leaves_nothing_behind(
    lab_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import labkit.model.wall as wall

    real = wall.render_wall

    def no_wall(workshop: str, learner: str, flavour: Any) -> dict[str, Any]:
        doc = real(workshop, learner, flavour)
        doc["metadata"]["labels"].pop(WALL_LABEL)  # not a wall any more: nothing blocks
        return doc

    monkeypatch.setattr(wall, "render_wall", no_wall)
    with pytest.raises(WorkshopError) as caught:
        init(lab_home, tmp_path, LEARNERS)
    text = str(caught.value)
    assert "failed the safety checks" in text and "doctor-b-wall -> ws1-doctor-a-wall" in text
    assert "removed again" in text
    assert not SimulatedHost("ws1", lab_home).exists()
    assert not (workshop_folder("ws1", lab_home) / "workshop.json").exists()
    assert not (tmp_path / "hook.py").exists()


def test_a_cluster_that_ignores_policy_is_refused(
    lab_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        ScopedSimulated, "runner", lambda self: SimulatedRunner(self.inventory(), enforce=False)
    )
    with pytest.raises(WorkshopError) as caught:
        init(lab_home, tmp_path, LEARNERS)
    assert "canary in ws1-canary: NOT enforced" in str(caught.value)
    assert not SimulatedHost("ws1", lab_home).exists()


def test_a_failed_check_on_a_running_workshop_keeps_it(
    lab_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init(lab_home, tmp_path, ["alice"])
    before = _stored(lab_home)
    monkeypatch.setattr(
        ScopedSimulated, "runner", lambda self: SimulatedRunner(self.inventory(), enforce=False)
    )
    with pytest.raises(WorkshopError) as caught:
        init(lab_home, tmp_path, ["alice", "bob"])
    assert "left as it was" in str(caught.value)
    after = _stored(lab_home)
    assert [o["metadata"]["name"] for o in after] == [o["metadata"]["name"] for o in before]


def test_a_simulated_dry_run_writes_nothing(lab_home: Path, tmp_path: Path) -> None:
    result = init(lab_home, tmp_path, LEARNERS, dry_run=True)
    assert result.dry_run and result.hook_file is None
    assert result.counts["Namespace"] == 1 + 1 + 2 + 6 * 3  # hub, canary, doctor, learners
    assert result.counts["GlobalNetworkPolicy"] == 5 and result.counts["Tier"] == 1
    assert result.counts["Pod"] == 9 * 3 + 4
    assert "ws1-carol-legacy-dc" in result.namespaces
    assert not lab_home.exists() and not (tmp_path / "hook.py").exists()


# -- a real cluster, through the fake kubectl ----------------------------------------------------
CALICO = {"projectcalico.org/v3": ["globalnetworkpolicies", "tiers"]}


def fake_cluster(fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch, api: Any) -> None:
    served(fake_tools, api)
    fake_tools.add("kubectl", match=["get", "namespaces", "--field-selector"], stdout=listing())
    fake_tools.add("kubectl", match=["get", "configmaps", "labkit-workshop"], stdout="")
    fake_tools.add("kubectl", match=["get", "-f", "-"], stdout=listing())
    fake_tools.add("kubectl", match=["apply", "--server-side"], stdout="")
    monkeypatch.setattr(ops, "attach", lambda context: kubectl_host(fake_tools, context))


def real_init(tmp_path: Path, **kwargs: Any) -> ops.InitResult:
    path = learners_file(tmp_path, ["alice", "bob"])
    options = ops.InitOptions(
        "ws1", path, context="kind-workshop", hook_file=tmp_path / "hook.py", **kwargs
    )
    return ops.init_workshop(options)


def test_a_real_init_labels_every_object_and_dry_runs_each_batch(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_cluster(fake_tools, monkeypatch, CALICO)
    ok = [WorkshopCheck("canary", True, "enforced")]
    monkeypatch.setattr(ops, "safety_checks", lambda *args, **kwargs: ok)
    result = real_init(tmp_path)
    assert result.flavour == "projectcalico.org/v3"
    applies = applied_items(fake_tools.calls("kubectl"))
    assert applies and all(items for _, items in applies)
    real = [items for dry, items in applies if not dry]
    dry = [items for dry, items in applies if dry]
    assert real == dry  # every batch was dry-run first, as it was then applied
    every = [item for items in real for item in items]
    assert len(every) == sum(result.counts.values())
    learners = {"ws1-alice-", "ws1-bob-"}
    for item in every:
        labels = labels_of(item)
        assert labels.get(MANAGED_LABEL) == "true", item["metadata"]
        if item["kind"] == "Tier":
            assert labels[WALL_LABEL] == "true"
            continue
        assert labels.get(WORKSHOP_LABEL) == "ws1", item["metadata"]
        name = item["metadata"].get("namespace") or item["metadata"]["name"]
        if any(name.startswith(p) for p in learners):
            assert labels.get(LEARNER_LABEL) in ("alice", "bob"), item["metadata"]
    record = json.loads((workshop_folder("ws1") / "workshop.json").read_text())
    assert record["context"] == "kind-workshop" and record["simulated"] is False


def test_a_real_dry_run_makes_no_write_call(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_cluster(fake_tools, monkeypatch, CALICO)
    result = real_init(tmp_path, dry_run=True)
    assert result.dry_run and result.counts["Namespace"] == 1 + 1 + 2 + 12
    argvs = [c.argv for c in fake_tools.calls("kubectl")]
    assert argvs, "the dry run reads the cluster"
    for argv in argvs:
        assert not {"apply", "delete", "label", "create", "patch"} & set(argv), argv
    assert not (tmp_path / "hook.py").exists()


def test_a_cluster_without_a_wall_api_is_refused_before_any_write(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_cluster(fake_tools, monkeypatch, {})
    with pytest.raises(WorkshopError) as caught:
        real_init(tmp_path)
    assert "serves none of the APIs" in str(caught.value)
    assert not [c for c in fake_tools.calls("kubectl") if "apply" in c.argv]


def test_a_cluster_older_than_kubernetes_1_30_is_refused_before_any_write(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_cluster(fake_tools, monkeypatch, CALICO)

    def old_cluster(context: str) -> Any:
        host = kubectl_host(fake_tools, context)
        host.cluster.kubernetes_version = "1.29"
        return host

    monkeypatch.setattr(ops, "attach", old_cluster)
    with pytest.raises(WorkshopError) as caught:
        real_init(tmp_path)
    assert "Kubernetes 1.29" in str(caught.value) and "1.30 or newer" in str(caught.value)
    assert not [c for c in fake_tools.calls("kubectl") if "apply" in c.argv]


def test_a_hub_namespace_serving_another_workshop_is_refused(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from labkit.model.workshop import Learner, Workshop
    from labkit.model.workshop_objects import workshop_objects

    other = Workshop("ws0", (Learner("zoe"),), ("my-segment",), "jhub")
    config = next(
        d for d in workshop_objects(other, hub_namespace_exists=True) if d["kind"] == "ConfigMap"
    )
    # the first matching rule answers: this one before fake_cluster's empty ConfigMap
    fake_tools.add(
        "kubectl", match=["get", "configmaps", "labkit-workshop"], stdout=json.dumps(config)
    )
    fake_cluster(fake_tools, monkeypatch, CALICO)
    monkeypatch.setattr(ops, "safety_checks", lambda *args, **kwargs: pytest.fail("too far"))
    with pytest.raises(WorkshopError) as caught:
        real_init(tmp_path)
    assert "already serves workshop ws0" in str(caught.value) and "--hub-namespace" in str(
        caught.value
    )
    assert not [c for c in fake_tools.calls("kubectl") if "apply" in c.argv]


def test_hub_users_stay_off_the_cluster_and_survive_a_rerun(lab_home: Path, tmp_path: Path) -> None:
    """The ConfigMap every learner can read names no JupyterHub user; the instructor's record
    keeps them, so a re-run with a shorter learners file still maps bob's hub user."""
    init(lab_home, tmp_path, ["alice", "bob bob@example.org"])
    host = SimulatedHost.open("ws1", lab_home)
    data = host.workshop_data()
    assert data is not None and "bob@example.org" not in json.dumps(data[1])
    result = init(lab_home, tmp_path, ["carol"])
    assert [(x.name, x.user) for x in result.workshop.learners] == [
        ("alice", "alice"),
        ("bob", "bob@example.org"),
        ("carol", "carol"),
    ]
    hook = (tmp_path / "hook.py").read_text(encoding="utf-8")
    assert "'bob@example.org': 'labkit-bob'" in hook
