"""``--resolve-digests``: Calico images whose pin has ``digest: null`` pulled by tag on the host,
the digest the registry served recorded in the lab folder (trusted on first use) and used by
the install. Fake docker/kubectl only: these tests check what labkit asks and records; they
prove nothing about a real registry (see tests/cluster/fake_tools.py)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import yaml
from fake_tools import FakeTools
from test_doctor_checks import host
from test_kind_preflight import Recorder, tools

from labkit.cli.main import main
from labkit.cluster.address_plan import load_address_plan
from labkit.cluster.kind import calico, images
from labkit.cluster.kind.options import KindOptions
from labkit.cluster.kind.pins import (
    RecordedDigest,
    load_pins,
    load_recorded_digests,
    record_digests,
    with_recorded_digests,
)
from labkit.cluster.kind.preflight import preflight
from labkit.cluster.kubectl import Kubectl
from labkit.cluster.labdir import calico_digests_path, cluster_record_path
from labkit.cluster.paths import clusters_dir
from labkit.errors import ClusterError

RELEASE = load_pins().calico_release("v3.32.1")
MISSING = [p.tag_ref for p in RELEASE.missing_digests("operator")]
OPERATOR = KindOptions(calico_mode="operator")


def digest_of(tag_ref: str) -> str:
    """A made-up digest per image (fakes only; no registry was asked)."""
    return "sha256:" + format(MISSING.index(tag_ref) + 0xABC0, "064x")


def registry(fake: FakeTools, *, failing: str = "", no_digests: str = "") -> None:
    """A fake docker that pulls every missing image by tag, printing its digest as Docker
    does, and lists it in RepoDigests (``failing``: that pull fails; ``no_digests``: that
    image has no repository digest)."""
    fake.add("docker", match=["version", "--format"], stdout="x86_64\n")
    for ref in MISSING:
        repo = ref.rsplit(":", 1)[0]
        tag = ref.rsplit(":", 1)[1]
        if ref == failing:
            fake.add(
                "docker",
                match=["pull", ref],
                exit=1,
                stderr=f"Error response from daemon: manifest for {ref} not found: manifest "
                "unknown\n",
            )
            continue
        fake.add(
            "docker",
            match=["pull", ref],
            stdout=f"{tag}: Pulling from {repo.split('/', 1)[1]}\nDigest: {digest_of(ref)}\n"
            f"Status: Downloaded newer image for {ref}\n{ref}\n",
        )
        fake.add(
            "docker",
            match=["{{json .RepoDigests}}", ref],
            stdout="[]\n" if ref == no_digests else json.dumps([f"{repo}@{digest_of(ref)}"]),
        )


def test_the_operator_install_lacks_digests_today() -> None:
    """What the opt-in is for: the pins of versions.yaml leave these without a digest."""
    assert "quay.io/calico/goldmane:v3.32.1" in MISSING
    assert "quay.io/calico/whisker-backend:v3.32.1" in MISSING
    assert RELEASE.operator_image in MISSING
    assert RELEASE.missing_digests("manifest") == ()


def test_resolution_pulls_by_tag_records_each_digest_and_fills_the_release(
    fake_tools: FakeTools,
) -> None:
    registry(fake_tools)
    result = images.ensure_digests(RELEASE, "operator", Recorder(), resolve=True)
    pulls = [c.argv for c in fake_tools.calls("docker") if c.argv[0] == "pull"]
    assert pulls == [["pull", "--platform", "linux/amd64", ref] for ref in MISSING]
    assert result.release.missing_digests("operator") == ()
    assert [e.tag_ref for e in result.resolved] == MISSING and result.reused == ()
    path = calico_digests_path()
    assert result.path == path and path.name == "calico-digests.json"
    assert path.parent == cluster_record_path().parent  # beside cluster.json
    data = json.loads(path.read_text())
    assert "TRUSTED ON FIRST USE" in data["about"]
    entry = data["images"]["quay.io/calico/goldmane:v3.32.1"]
    assert entry["digest"] == digest_of("quay.io/calico/goldmane:v3.32.1")
    assert entry["resolved_at"].endswith("+00:00")
    assert "docker pull --platform linux/amd64 quay.io/calico/goldmane:v3.32.1" in entry["how"]
    assert "Digest:" in entry["how"] and "RepoDigests" in entry["how"]
    pin = result.release.pin_for("quay.io/calico/whisker:v3.32.1")
    assert pin is not None and not pin.verified


def test_the_install_deploys_the_resolved_images_by_digest(
    fake_tools: FakeTools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry(fake_tools)
    images.ensure_digests(RELEASE, "operator", Recorder(), resolve=True)
    fake_tools.add("kubectl")
    crds = tmp_path / "crds.yaml"
    crds.write_text("{}\n")
    operator = tmp_path / "tigera-operator.yaml"
    operator.write_text(
        yaml.safe_dump_all(
            [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "tigera-operator", "namespace": "tigera-operator"},
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [
                                    {"name": "tigera-operator", "image": RELEASE.operator_image}
                                ]
                            }
                        }
                    },
                }
            ]
        )
    )
    files = {"crds": crds, "operator": operator}
    monkeypatch.setattr(calico, "fetch_manifest", lambda pin, cache, download=None: files[pin.role])
    calico.install(
        Kubectl(None, "kind-labkit"), RELEASE, "operator", load_address_plan(), Recorder()
    )
    applied = [c.stdin for c in fake_tools.calls("kubectl") if '"ImageSet"' in c.stdin]
    assert len(applied) == 1
    listed = {i["image"]: i["digest"] for i in json.loads(applied[0])["items"][0]["spec"]["images"]}
    assert listed["calico/goldmane"] == digest_of("quay.io/calico/goldmane:v3.32.1")
    assert listed["calico/whisker-backend"] == digest_of("quay.io/calico/whisker-backend:v3.32.1")
    assert listed["calico/node"] == RELEASE.pin_for("quay.io/calico/node:v3.32.1").digest  # type: ignore[union-attr]
    rewritten = yaml.safe_load(
        (calico.release_cache(RELEASE) / "tigera-operator.labkit.yaml").read_text()
    )
    image = rewritten["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{RELEASE.operator_image}@{digest_of(RELEASE.operator_image)}"


def test_a_failed_pull_names_the_image_and_the_images_command(fake_tools: FakeTools) -> None:
    broken = "quay.io/calico/goldmane:v3.32.1"
    registry(fake_tools, failing=broken)
    with pytest.raises(ClusterError) as err:
        images.ensure_digests(RELEASE, "operator", Recorder(), resolve=True)
    text = str(err.value)
    assert f"cannot resolve the digest of {broken}" in text and "manifest unknown" in text
    assert "fix: " in text
    assert "labkit images pull --calico-mode operator --resolve-digests" in text
    # the digests resolved before the failure are kept; the broken one is not recorded
    recorded = load_recorded_digests()
    assert broken not in recorded
    assert set(recorded) == set(MISSING[: MISSING.index(broken)])


def test_a_pulled_image_without_a_repository_digest_is_refused(fake_tools: FakeTools) -> None:
    fake_tools.add("docker", match=["version", "--format"], stdout="x86_64\n")
    ref = MISSING[0]
    fake_tools.add("docker", match=["pull", ref], stdout=f"{ref}\n")  # no Digest: line
    fake_tools.add("docker", match=["{{json .RepoDigests}}", ref], stdout="[]\n")
    with pytest.raises(ClusterError) as err:
        images.ensure_digests(RELEASE, "operator", Recorder(), resolve=True)
    assert f"{ref}: cannot tell which digest the registry served" in str(err.value)
    assert "labkit images pull --calico-mode operator --resolve-digests" in str(err.value)
    assert not calico_digests_path().exists()


def test_podman_takes_the_index_digest_not_the_platform_manifests(fake_tools: FakeTools) -> None:
    """Podman prints no digest when it pulls; its RepoDigests lists the index digest and the
    digest of the platform manifest it stored (its .Digest): the index digest is kept."""
    ref = "quay.io/calico/typha:v3.32.1"
    index, platform = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    fake_tools.add(
        "podman",
        match=["{{json .RepoDigests}}", ref],
        stdout=json.dumps([f"quay.io/calico/typha@{platform}", f"quay.io/calico/typha@{index}"]),
    )
    fake_tools.add("podman", match=["{{.Digest}}", ref], stdout=platform + "\n")
    digest, how = images.served_digest("podman", ref, "Writing manifest to image destination\n")
    assert digest == index and "not the platform manifest's" in how


def test_without_the_flag_nothing_is_resolved_and_up_refuses_naming_it(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    tools(fake_tools)
    proc, cgroup = host(tmp_path)
    with pytest.raises(ClusterError) as err:
        preflight(OPERATOR, Recorder(), proc_root=proc, cgroup_root=cgroup)
    text = str(err.value)
    assert "no digest pinned for" in text and "quay.io/calico/goldmane:v3.32.1" in text
    assert "labkit up --calico operator --resolve-digests" in text
    assert "trusting the registry on first use" in text
    assert fake_tools.calls() == []
    assert not calico_digests_path().exists()
    result = images.ensure_digests(RELEASE, "operator", Recorder(), resolve=False)
    assert result.resolved == () and result.release.missing_digests("operator")
    assert fake_tools.calls() == []


def test_preflight_with_the_flag_resolves_after_the_host_checks(
    fake_tools: FakeTools, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tools(fake_tools)
    registry(fake_tools)
    proc, cgroup = host(tmp_path)
    options = KindOptions(calico_mode="operator", resolve_digests=True)
    with caplog.at_level(logging.WARNING):
        preflight(options, Recorder(), proc_root=proc, cgroup_root=cgroup)
    ran = [c.line for c in fake_tools.calls()]
    first_pull = next(i for i, line in enumerate(ran) if line.startswith("docker pull"))
    assert first_pull > ran.index("kind version")
    assert set(load_recorded_digests()) == set(MISSING)
    assert "TRUSTED ON FIRST USE" in caplog.text
    goldmane = "quay.io/calico/goldmane:v3.32.1"
    assert f"{goldmane}: {{digest: {digest_of(goldmane)}, verified: false" in caplog.text


def test_a_later_up_reuses_the_recorded_digests_and_says_so(
    fake_tools: FakeTools, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry(fake_tools)
    images.ensure_digests(RELEASE, "operator", Recorder(), resolve=True)
    pulls_before = len([c for c in fake_tools.calls("docker") if c.argv[0] == "pull"])
    tools(fake_tools)
    proc, cgroup = host(tmp_path)
    progress = Recorder()
    with caplog.at_level(logging.WARNING):
        preflight(OPERATOR, progress, proc_root=proc, cgroup_root=cgroup)  # no flag
    assert len([c for c in fake_tools.calls("docker") if c.argv[0] == "pull"]) == pulls_before
    assert "by an earlier --resolve-digests: TRUSTED ON FIRST USE" in caplog.text
    assert str(calico_digests_path()) in caplog.text
    assert any("trusted on first use" in line for line in progress.lines)
    again = images.ensure_digests(RELEASE, "operator", Recorder(), resolve=True)
    assert again.resolved == () and {e.tag_ref for e in again.reused} == set(MISSING)
    assert len([c for c in fake_tools.calls("docker") if c.argv[0] == "pull"]) == pulls_before


def test_a_digest_pinned_in_the_repository_wins_over_a_recorded_one(
    fake_tools: FakeTools, caplog: pytest.LogCaptureFixture
) -> None:
    node = "quay.io/calico/node:v3.32.1"
    record_digests([RecordedDigest(node, "sha256:" + "9" * 64, "2026-01-01T00:00:00+00:00", "x")])
    with caplog.at_level(logging.WARNING):
        filled, used = with_recorded_digests(RELEASE)
    assert used == () and filled.pin_for(node) == RELEASE.pin_for(node)
    assert "using the pin" in caplog.text


def test_a_damaged_record_says_to_delete_it(fake_tools: FakeTools) -> None:
    path = calico_digests_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ClusterError, match=r"is damaged(.|\n)*    fix: delete it"):
        load_recorded_digests()


def test_the_printed_yaml_lines_pin_the_digests_when_pasted(
    fake_tools: FakeTools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry(fake_tools)
    result = images.ensure_digests(RELEASE, "operator", Recorder(), resolve=True)
    lines = result.yaml_lines()
    assert len(lines) == len(MISSING)
    goldmane = next(line for line in lines if "calico/goldmane" in line)
    assert goldmane == (
        "        quay.io/calico/goldmane:v3.32.1: {digest: "
        f"{digest_of('quay.io/calico/goldmane:v3.32.1')}, verified: false, modes: [operator]}}"
    )
    clusters = tmp_path / "clusters"
    shutil.copytree(clusters_dir(), clusters)
    versions = clusters / "calico" / "versions.yaml"
    text = versions.read_text()
    for line in lines:
        key = line.split(": {", 1)[0]
        old = key + ": {digest: null, verified: false, modes: [operator]}"
        assert old in text, old
        text = text.replace(old, line, 1)
    versions.write_text(text)
    monkeypatch.setenv("LABKIT_CLUSTERS_DIR", str(clusters))
    pasted = load_pins(versions).calico_release("v3.32.1")
    assert pasted.require_digests("operator")
    assert all(not p.verified for p in pasted.pins("operator") if p.tag_ref in MISSING)


def test_cli_prints_the_warning_and_the_lines_then_pulls_by_digest(
    fake_tools: FakeTools, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    registry(fake_tools)
    fake_tools.add("docker", match=["pull"])  # the other lab images
    fake_tools.add("docker", match=["info"], stdout={"CgroupVersion": "2"})
    monkeypatch.setattr(images, "cache_manifests", lambda release, progress: [])
    assert main(["images", "pull", "--calico-mode", "operator", "--resolve-digests"]) == 0
    by_digest = f"quay.io/calico/goldmane:v3.32.1@{digest_of('quay.io/calico/goldmane:v3.32.1')}"
    assert ["pull", "--platform", "linux/amd64", by_digest] in [
        c.argv for c in fake_tools.calls("docker")
    ]
    err = capsys.readouterr().err
    assert "TRUSTED ON FIRST USE" in err and "NOT pinned in" in err
    assert "quay.io/calico/goldmane:v3.32.1: {digest: sha256:" in err
    assert set(load_recorded_digests()) == set(MISSING)


def test_cli_refuses_the_flag_with_another_backend(
    fake_tools: FakeTools, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up", "--backend", "simulated", "--resolve-digests"]) == 1
    err = capsys.readouterr().err
    assert "--resolve-digests pulls the Calico images of the kind backend" in err
    assert fake_tools.calls() == []


def test_cli_dry_run_lists_what_would_be_resolved_and_pulls_nothing(
    fake_tools: FakeTools, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.cluster import lifecycle

    monkeypatch.setattr(lifecycle, "up", lambda *a, **k: "plan")
    assert main(["up", "--calico", "operator", "--resolve-digests", "--dry-run"]) == 0
    out = capsys.readouterr()
    assert "would pull by tag and record" in out.err and "quay.io/calico/goldmane" in out.err
    assert fake_tools.calls() == []
