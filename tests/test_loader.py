"""Reading manifests (``labkit.model.loader``) and building the inventory from them
(``labkit.model.inventory``, ``workloads``, ``ipam``)."""

from __future__ import annotations

import json
import logging
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from labkit.errors import ManifestError
from labkit.model.inventory import Inventory, build_inventory
from labkit.model.ipam import IPPlan
from labkit.model.loader import load_paths, load_text
from labkit.model.objects import NAMESPACE_NAME_LABEL
from labkit.model.ports import ContainerPort, Protocol
from labkit.model.pyyaml_reader import MAX_EXPANDED_NODES
from labkit.model.workloads import CALICO_IP_ANNOTATION, MAX_WORKLOAD_PODS


def pod_yaml(name: str, namespace: str | None = "x", **extra: str) -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    body = f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}{ns}}}\n"
    return body + "".join(f"{k}: {v}\n" for k, v in extra.items())


def inventory(text: str, **kw: object) -> Inventory:
    return build_inventory(load_text(text), **kw)  # type: ignore[arg-type]


# -- documents, files, directories -----------------------------------------------------------
def test_multi_document_yaml_keeps_order_and_lines() -> None:
    text = "# a comment\n---\n" + pod_yaml("a") + "---\n" + pod_yaml("b") + "---\n" + pod_yaml("c")
    objects = load_text(text, "pods.yaml")
    assert [o.name for o in objects] == ["a", "b", "c"]
    assert [o.line for o in objects] == [2, 6, 10]
    assert [o.document for o in objects] == [0, 1, 2]
    assert objects[1].location == "pods.yaml:6"
    assert objects[1].title == "Pod x/b"


def test_first_document_without_separator_is_line_one() -> None:
    objects = load_text(pod_yaml("a") + "---\n" + pod_yaml("b"))
    assert [o.line for o in objects] == [1, 4]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty-text"),
        pytest.param("# only a comment\n", id="comment-only"),
        pytest.param("---\n---\n...\n", id="empty-documents"),
    ],
)
def test_empty_documents_are_skipped(text: str) -> None:
    assert load_text(text) == []


def test_empty_documents_between_objects() -> None:
    text = "---\n" + pod_yaml("a") + "---\n---\n# nothing\n---\n" + pod_yaml("b") + "---\n"
    objects = load_text(text)
    assert [(o.name, o.line) for o in objects] == [("a", 1), ("b", 8)]


def test_json_object_and_json_file(tmp_path: Path) -> None:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j", "namespace": "x"}}
    assert [o.name for o in load_text(json.dumps(obj, indent=2))] == ["j"]
    path = tmp_path / "pod.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    objects = load_paths([path])
    assert [(o.name, o.file, o.line) for o in objects] == [("j", str(path), 1)]


def test_flow_yaml_that_looks_like_json() -> None:
    """Text starting with ``{`` that is not JSON is read as YAML (flow style)."""
    objects = load_text("{apiVersion: v1, kind: Pod, metadata: {name: f}}")
    assert [o.name for o in objects] == ["f"]


def test_directories_are_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "b" / "2.yaml").write_text(pod_yaml("b2"))
    (tmp_path / "a" / "deep" / "1.yml").write_text(pod_yaml("a1"))
    (tmp_path / "a" / "0.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a0"}})
    )
    (tmp_path / "a" / "notes.txt").write_text("kind: Pod\nmetadata: {name: ignored}\n")
    (tmp_path / "README.md").write_text("# not a manifest\n")
    objects = load_paths([tmp_path])
    assert [o.name for o in objects] == ["a0", "a1", "b2"]
    assert objects[1].file.endswith(str(Path("a", "deep", "1.yml")))


def test_several_paths_files_and_directories(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.yaml").write_text(pod_yaml("in-dir"))
    single = tmp_path / "single.yaml"
    single.write_text(pod_yaml("single"))
    assert [o.name for o in load_paths([single, tmp_path / "d"])] == ["single", "in-dir"]


def test_empty_directory_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert load_paths([tmp_path]) == []
    assert "holds no .yaml, .yml or .json files" in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "apiVersion: v1\nkind: List\nitems:\n- {kind: Pod, metadata: {name: a}}\n"
            "- {kind: Namespace, metadata: {name: n}}\n",
            id="list",
        ),
        pytest.param(
            "kind: List\nitems:\n- {kind: Pod, metadata: {name: a}}\n"
            "- kind: List\n  items: [{kind: Namespace, metadata: {name: n}}]\n",
            id="nested-list",
        ),
        pytest.param(
            "kind: PodList\nitems: [{kind: Pod, metadata: {name: a}}]\n---\n"
            "kind: List\nitems: [{kind: Namespace, metadata: {name: n}}]\n",
            id="typed-list",
        ),
    ],
)
def test_kind_list_is_expanded(text: str) -> None:
    objects = load_text(text)
    assert [(o.kind, o.name) for o in objects] == [("Pod", "a"), ("Namespace", "n")]


def test_empty_list_and_null_items() -> None:
    assert load_text("kind: List\nitems: []\n") == []
    assert load_text("kind: List\nitems:\n") == []


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("- a\n- b\n", "document 1 is a list, not a mapping", id="document-is-list"),
        pytest.param(
            "just a string\n", "document 1 is a string, not a mapping", id="document-is-scalar"
        ),
        pytest.param("kind: List\nitems: 5\n", "items must be a list", id="items-not-list"),
        pytest.param(
            "kind: List\nitems: [1]\n",
            r"items\[0\]: an item is an integer, not a mapping",
            id="item-not-object",
        ),
    ],
)
def test_wrong_shapes_are_manifest_errors(text: str, match: str) -> None:
    with pytest.raises(ManifestError, match=match):
        load_text(text, "bad.yaml")


# -- errors: where and how to fix -----------------------------------------------------------
def test_yaml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(pod_yaml("a") + "---\nkind: Pod\nmetadata:\n  name: b\n\tlabels: {}\n")
    with pytest.raises(ManifestError) as info:
        load_paths([path])
    err = info.value
    assert (err.file, err.line, err.column) == (str(path), 8, 1)
    assert str(err).startswith(f"{path}:8:1: YAML syntax error")
    assert "fix:" in str(err)
    assert err.as_issue().file == f"{path}:8:1"


def test_unclosed_flow_mapping_points_at_the_problem() -> None:
    with pytest.raises(ManifestError) as info:
        load_text("kind: Pod\nmetadata: {name: a\n", "m.yaml")
    assert info.value.file == "m.yaml" and info.value.line == 3


def test_json_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "kind": "Pod",\n  "metadata": {"name": "a",}\n}\n')
    with pytest.raises(ManifestError) as info:
        load_paths([path])
    assert (info.value.line, info.value.column) == (3, 28)
    assert "JSON syntax error" in str(info.value)


def test_missing_file_is_a_manifest_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ManifestError, match="no such file or directory") as info:
        load_paths([missing])
    assert info.value.file == str(missing)
    assert "fix:" in str(info.value)


def test_non_utf8_file_is_a_manifest_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"kind: Pod\nmetadata: {name: caf\xe9}\n")
    with pytest.raises(ManifestError, match="not UTF-8 text: byte 0xe9") as info:
        load_paths([path])
    assert (info.value.line, info.value.column) == (2, 21)
    assert info.value.error_type == "Invalid encoding"
    assert "Not found" not in str(info.value.as_issue())


@pytest.mark.parametrize(
    ("text", "file", "match"),
    [
        pytest.param("a: 2001-02-30\n", "x.yaml", "day is out of range", id="impossible-date"),
        pytest.param("a: !!int x\n", "x.yaml", "cannot be read", id="bad-int-tag"),
        pytest.param("a: " + "1" * 5000 + "\n", "x.yaml", "digits", id="huge-int-yaml"),
        pytest.param('{"a": ' + "1" * 5000 + "}", "x.json", "digits", id="huge-int-json"),
        pytest.param('{"a":' * 5000 + "1" + "}" * 5000, "x.json", "JSON", id="deep-json"),
        pytest.param("[" * 5000 + "]" * 5000, "x.yaml", "nesting depth", id="deep-yaml"),
        pytest.param("a: \ud800\n", "x.yaml", "cannot be read", id="lone-surrogate"),
        pytest.param("a: \x00\n", "x.yaml", "control characters", id="nul-byte"),
        pytest.param("a: &x [*x]\n", "x.yaml", "cycle", id="alias-cycle"),
        pytest.param("a: &x {b: {c: *x}}\n", "x.yaml", "cycle", id="alias-cycle-deep"),
        pytest.param("a: *nope\n", "x.yaml", "undefined alias", id="undefined-alias"),
        pytest.param("!!python/object:os.system x\n", "x.yaml", "constructor", id="unsafe-tag"),
    ],
)
def test_hostile_text_is_a_manifest_error(text: str, file: str, match: str) -> None:
    """No input makes the loader raise anything but :class:`ManifestError`."""
    with pytest.raises(ManifestError, match=match) as info:
        load_text(text, file)
    assert info.value.file == file


def test_shared_aliases_are_fine_but_alias_bombs_are_refused() -> None:
    objects = load_text("kind: Pod\nmetadata: {name: a, labels: &l {x: y}}\nextra: [*l, *l]\n")
    assert objects[0].data["extra"] == [{"x": "y"}, {"x": "y"}]
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(ManifestError, match=str(MAX_EXPANDED_NODES)):
        load_text("\n".join(levels) + "\n")


# -- the inventory --------------------------------------------------------------------------
def test_unknown_kinds_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    text = (
        pod_yaml("a")
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: x}\n"
        + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: x}\n"
        + "---\nmetadata: {name: kindless}\n"
    )
    with caplog.at_level(logging.WARNING):
        inv = build_inventory(load_text(text, "mixed.yaml"))
    assert [p.key for p in inv.pods] == ["x/a"]
    assert len(inv.warnings) == 3
    assert "mixed.yaml:4: skipped ConfigMap x/cm" in inv.warnings[0]
    assert "'Secret'" in inv.warnings[1]
    assert "'(none)'" in inv.warnings[2]
    assert "labkit does not model kind 'ConfigMap'" in caplog.text


def test_implicit_namespaces_get_the_name_label() -> None:
    text = (
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: declared, labels: {team: a}}\n---\n"
        + pod_yaml("a", namespace="referenced")
    )
    inv = inventory(text, extra_namespaces=["asked-for"])
    by_name = {ns.name: ns for ns in inv.namespaces}
    assert sorted(by_name) == ["asked-for", "declared", "referenced"]
    assert by_name["declared"].label_map == {"team": "a", NAMESPACE_NAME_LABEL: "declared"}
    assert not by_name["declared"].implicit
    assert by_name["referenced"].label_map == {NAMESPACE_NAME_LABEL: "referenced"}
    assert by_name["referenced"].implicit


def test_metadata_name_label_cannot_be_overridden() -> None:
    """The API server always sets kubernetes.io/metadata.name to the namespace's name."""
    text = (
        "apiVersion: v1\nkind: Namespace\n"
        "metadata: {name: real, labels: {kubernetes.io/metadata.name: fake}}\n"
    )
    assert inventory(text).namespace("real").label_map == {NAMESPACE_NAME_LABEL: "real"}


@pytest.mark.parametrize(
    "metadata",
    ["{name: a}", "{name: a, namespace: ''}", "{name: a, namespace: null}"],
)
def test_namespace_defaults_to_default(metadata: str) -> None:
    inv = inventory(f"apiVersion: v1\nkind: Pod\nmetadata: {metadata}\n")
    assert [p.key for p in inv.pods] == ["default/a"]
    assert [ns.name for ns in inv.namespaces] == ["default"]


def test_policy_namespace_defaults_to_default() -> None:
    inv = inventory("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n")
    assert [p.key for p in inv.policies] == ["default/p"]


def _workload(kind: str, spec: str) -> str:
    return (
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: w, namespace: x}}\nspec:\n"
        f"{spec}"
        "  template:\n    metadata: {labels: {app: w}}\n    spec:\n      containers:\n"
        "      - name: c\n        image: i\n        ports:\n"
        "        - {name: http, containerPort: 8080}\n"
        "        - {name: dns, containerPort: 53, protocol: UDP}\n"
        "        - {containerPort: 9000, protocol: SCTP}\n"
    )


@pytest.mark.parametrize(
    ("kind", "spec", "names"),
    [
        pytest.param("Deployment", "  replicas: 3\n", ["w-0", "w-1", "w-2"], id="deployment"),
        pytest.param("Deployment", "", ["w-0"], id="deployment-replicas-default-1"),
        pytest.param("Deployment", "  replicas: null\n", ["w-0"], id="deployment-replicas-null"),
        pytest.param("Deployment", "  replicas: 0\n", [], id="deployment-scaled-to-zero"),
        pytest.param("ReplicaSet", "  replicas: 2\n", ["w-0", "w-1"], id="replicaset"),
        pytest.param("StatefulSet", "  replicas: 2\n", ["w-0", "w-1"], id="statefulset"),
        pytest.param("DaemonSet", "", ["w-0"], id="daemonset-one-pod-offline"),
        pytest.param("Job", "", ["w-0"], id="job-parallelism-default-1"),
        pytest.param("Job", "  parallelism: 4\n", ["w-0", "w-1", "w-2", "w-3"], id="job"),
        pytest.param(
            "Job", "  parallelism: 4\n  completions: 2\n", ["w-0", "w-1"], id="job-completions"
        ),
    ],
)
def test_workloads_become_pods(kind: str, spec: str, names: list[str]) -> None:
    inv = inventory(_workload(kind, spec))
    assert [p.name for p in inv.pods] == names
    for pod in inv.pods:
        assert pod.namespace == "x"
        assert pod.label_map["app"] == "w"  # plus its controller's labels (test_pod_semantics)
        assert pod.workload == f"{kind}/w"
        assert pod.ports == (
            ContainerPort(8080, Protocol.TCP, "http"),
            ContainerPort(53, Protocol.UDP, "dns"),
            ContainerPort(9000, Protocol.SCTP, ""),
        )
        assert pod.named_port("dns", Protocol.UDP) == 53
        assert pod.named_port("dns", Protocol.TCP) is None
    if names:
        assert inv.pod("x/w") == inv.pods[0]  # a workload name finds its first pod


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        pytest.param("  replicas: -1\n", "invalid value -1", id="negative"),
        pytest.param("  replicas: two\n", "invalid value 'two'", id="not-a-number"),
        pytest.param(f"  replicas: {MAX_WORKLOAD_PODS + 1}\n", "more than labkit", id="huge"),
    ],
)
def test_bad_replicas_are_manifest_errors(spec: str, match: str) -> None:
    with pytest.raises(ManifestError, match=match) as info:
        inventory(_workload("Deployment", spec))
    assert info.value.field == "spec.replicas"
    assert info.value.object == "Deployment x/w"


def test_container_port_errors_name_the_field() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n"
        "  - name: c\n    ports: [{containerPort: 80}, {containerPort: 70000}]\n"
    )
    with pytest.raises(ManifestError) as info:
        inventory(text)
    assert info.value.field == "spec.containers[0].ports[1].containerPort"
    bad_proto = text.replace("{containerPort: 70000}", "{containerPort: 81, protocol: ICMP}")
    with pytest.raises(ManifestError, match="ICMP"):
        inventory(bad_proto)


def test_duplicate_pod_later_wins_with_warning() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {v: '1'}}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {v: '2'}}\n"
    )
    inv = inventory(text)
    assert [(p.key, p.label_map) for p in inv.pods] == [("x/a", {"v": "2"})]
    assert any("declared again" in w for w in inv.warnings)


# -- addresses --------------------------------------------------------------------------------
def _pods(names: list[str], namespace: str = "x") -> str:
    return "---\n".join(pod_yaml(n, namespace) for n in names)


def test_ips_are_deterministic() -> None:
    names = [f"p{i}" for i in range(40)]
    first = {p.key: p.ip for p in inventory(_pods(names)).pods}
    second = {p.key: p.ip for p in inventory(_pods(list(reversed(names)))).pods}
    assert first == second
    assert len(set(first.values())) == len(first)
    pool = ip_network("192.168.128.0/17")  # the lab's default pool (labkit.model.ippools)
    assert all(ip in pool and ip not in (pool[0], pool[-1]) for ip in first.values())


@pytest.mark.parametrize("added", ["p-new", "a-first", "zz-last", "p20x"])
def test_adding_a_pod_moves_no_other_pod(added: str) -> None:
    names = [f"p{i}" for i in range(40)]
    before = {p.key: p.ip for p in inventory(_pods(names)).pods}
    after = {p.key: p.ip for p in inventory(_pods([*names, added])).pods}
    assert {k: after[k] for k in before} == before
    assert after[f"x/{added}"] not in before.values()


def test_explicit_pod_ip_and_calico_annotation_are_kept() -> None:
    text = (
        pod_yaml("fixed", status="{podIP: 10.244.7.7}")
        + "---\n"
        + "apiVersion: v1\nkind: Pod\nmetadata:\n  name: pinned\n  namespace: x\n"
        + f"  annotations: {{{CALICO_IP_ANNOTATION}: '[\"192.168.1.10\"]'}}\n"
        + "---\n"
        + pod_yaml("v6", status="{podIP: 'fd00::7'}")
        + "---\n"
        + _pods([f"free{i}" for i in range(20)])
    )
    inv = inventory(text, ip_plan=IPPlan("10.244.7.0/24"))
    ips = {p.name: p.ip for p in inv.pods}
    assert ips["fixed"] == ip_address("10.244.7.7")
    assert ips["pinned"] == ip_address("192.168.1.10")
    assert ips["v6"] == ip_address("fd00::7")


def test_allocation_avoids_explicit_addresses() -> None:
    # a /29 has six host addresses: one is taken explicitly, five pods get the rest
    text = pod_yaml("fixed", status="{podIP: 10.1.0.3}") + "---\n" + _pods(list("abcde"))
    inv = inventory(text, ip_plan=IPPlan("10.1.0.0/29"))
    ips = sorted(int(p.ip) for p in inv.pods if p.ip is not None)
    assert ips == [int(ip_address("10.1.0.0")) + k for k in range(1, 7)]


def test_full_pool_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError, match=r"no free address|is full"):
        inventory(_pods(list("abcdefg")), ip_plan=IPPlan("10.1.0.0/29"))


def test_namespace_pools() -> None:
    plan = IPPlan(
        "192.168.128.0/17",
        namespace_cidrs=(("branch-office", "192.168.1.0/24"), ("backup-site", "192.168.2.0/24")),
    )
    text = (
        _pods(["client"], "branch-office")
        + "---\n"
        + _pods(["server"], "backup-site")
        + "---\n"
        + _pods(["web"], "my-segment")
    )
    ips = {p.key: p.ip for p in inventory(text, ip_plan=plan).pods}
    assert ips["branch-office/client"] in ip_network("192.168.1.0/24")
    assert ips["backup-site/server"] in ip_network("192.168.2.0/24")
    assert ips["my-segment/web"] in ip_network("192.168.128.0/17")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param(pod_yaml("a", status="{podIP: 10.0.0.300}"), "not an IP address", id="ip"),
        pytest.param(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n"
            f"  annotations: {{{CALICO_IP_ANNOTATION}: '[\"nope\"]'}}\n",
            "not an IP address",
            id="calico-annotation",
        ),
    ],
)
def test_bad_pod_addresses_are_manifest_errors(text: str, match: str) -> None:
    with pytest.raises(ManifestError, match=match):
        inventory(text)


def test_bad_pod_cidr_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError, match="--pod-cidr"):
        inventory(pod_yaml("a"), ip_plan=IPPlan("not-a-cidr"))


@pytest.mark.parametrize(
    "raw", ["tree", "tree/", "./tree", "tree//a", "tree/./a", "tree/a/..", "tree/A.yaml"]
)
def test_files_are_found_and_spelled_as_pathlib_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    """The loader walks directories with ``os`` (faster to import); the files, their order
    (by path components: ``a/b.yaml`` before ``a.d/x.yaml``) and their spelling in messages
    are those of ``sorted(Path(raw).rglob("*"))``, symbolic links to directories not followed."""
    from labkit.model.loader import MANIFEST_SUFFIXES, iter_manifest_files

    root = tmp_path / "tree"
    for name in ["a/b.yaml", "a.d/x.yaml", "a/c.YML", "a/.h.json", "a/z.txt", "b/.yaml", "A.yaml"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text('{"kind": "Namespace", "metadata": {"name": "x"}}\n')
    (root / "link").symlink_to(root / "a", target_is_directory=True)
    (root / "l.yaml").symlink_to(root / "a" / "b.yaml")
    monkeypatch.chdir(tmp_path)
    path = Path(raw)
    if path.is_dir():
        want = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES
        )
    else:
        want = [path]
    assert list(iter_manifest_files([raw])) == want
    assert [o.file for o in load_paths([raw])] == [str(p) for p in want]
