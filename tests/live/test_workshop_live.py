"""Workshop mode on the kind + Calico lab cluster (marked ``live``; skipped, as every live
test, without LABKIT_LIVE=1, Docker, kind and kubectl: see tests/conftest.py).

The kind cluster is started BEFORE pytest (``labkit up --backend kind --nodes 3``, as the
``workshop`` job of .github/workflows/live.yml and ``make workshop-live`` do); these tests
only attach to it. Every step is a ``kubectl`` or ``labkit`` command line, each run by one
small helper below, with ``KUBECONFIG`` set to the kind cluster's own kubeconfig (labkit
never writes ``~/.kube/config``).

In order:

1. ``labkit workshop init --id ws1`` for 5 learners, then ``labkit workshop doctor --id ws1``;
2. ``kubectl auth can-i --as=system:serviceaccount:jhub:labkit-alice`` over the verbs the
   learner Role grants and those it must not;
3. relabelling (``labkit.dev/*``) and re-pooling a namespace are refused by the
   ValidatingAdmissionPolicy, while an ordinary label (what the lessons do) is accepted;
4. the learner image: ``python:3.11-slim`` with labkit's wheel (built here by ``pip wheel``)
   and the ``lab`` extra pip-installed, and no kubectl, built with the container engine and
   loaded into kind (``kind load image-archive``); one pod per learner in the hub namespace,
   running as the learner's ServiceAccount, exactly as KubeSpawner's hook runs a notebook;
5. in alice's pod, a reduced notebook 00 (``lab.up()``, the lab's pods, the probe matrix
   against the engine's prediction, a policy applied with logical names) and a probe to
   bob's pod (blocked by the wall); then notebook 00 itself, run by ``jupyter execute``;
6. the 5 learners apply the same policies and see the same logical matrices;
7. ``labkit workshop teardown --id ws1`` refuses without ``--confirm``, then removes exactly
   ws1: a ws2 sentinel (a namespace labelled ``labkit.dev/workshop=ws2`` and a ConfigMap)
   survives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from labkit.cluster.kind.cluster import KindCluster, KindOptions
from labkit.cluster.topology import LAB_PODS
from labkit.errors import ClusterNotReady

pytestmark = [pytest.mark.live, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
LABKIT = str(Path(sys.executable).with_name("labkit"))
WORKSHOP = "ws1"
OTHER = "ws2"
HUB = "jhub"
LEARNERS = ("alice", "bob", "carol", "dave", "erin")
IMAGE = "labkit-learner:live"
CONTEXT = KindOptions().context
POLICIES = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: my-segment}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: frontend-to-backend, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: backend}}
  ingress:
    - from: [{podSelector: {matchLabels: {role: frontend}}}]
      ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: trusted-to-database, namespace: my-segment}
spec:
  podSelector: {matchLabels: {role: database}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: trusted}}}]
"""

# The learner's side, run with `python -` in a learner pod: notebook 00 reduced to what it
# proves (lab.up() finds the workshop, the nine lab pods in logical names, kube-system
# readable, the probe matrix equals the engine's prediction) plus a policy applied with
# logical names, and optionally one probe at an address (another learner's pod).
LEARNER_SCRIPT = textwrap.dedent(
    """\
    import json, os
    import labkit.lab as lab
    from labkit.probe.jobs import Outcome, ProbeSpec

    LAB = ["my-segment", "trusted", "untrusted", "branch-office", "backup-site", "legacy-dc"]
    PROBES = (ProbeSpec(80), ProbeSpec.parse("81/UDP"))
    lab.up()
    cluster = lab.cluster()
    inventory = cluster.inventory()
    pods = [p.key for p in inventory.pods if p.namespace in LAB]
    dns = [p.key for p in inventory.pods
           if p.namespace == "kube-system" and dict(p.labels).get("k8s-app") == "kube-dns"]
    out = {"backend": lab.status().backend, "pods": sorted(pods), "dns_pods": len(dns)}

    def matrices():
        peers = [p for p in %(order)r if p in pods]
        seen = cluster.probe_matrix(PROBES, peers=peers)
        want = cluster.predicted_matrix(PROBES, peers=peers)
        return {
            "peers": peers,
            "cells": {str(t.probe): [[c.value for c in row] for row in t.cells] for t in seen},
            "failed": [f"{t.probe} {s} -> {d}: {t.details[i][j]}"
                       for t in seen for i, s in enumerate(t.peers)
                       for j, d in enumerate(t.peers) if t.cells[i][j] is Outcome.FAILED],
            "disagreements": [f"{t.probe} {s} -> {d}: observed {o.value}, predicted {p.value}"
                              for t, w in zip(seen, want) for s, d, o, p in t.disagreements(w)],
        }

    if os.environ.get("STEP") == "before":
        out["before"] = matrices()
    lab.apply(%(policies)r)
    out["after"] = matrices()
    target = os.environ.get("PROBE_ADDRESS")
    if target:
        result = cluster.probe("my-segment/frontend", "ip:" + target, 80)
        out["probe_address"] = {"outcome": result.outcome.value, "detail": result.detail}
    print("@@result " + json.dumps(out))
    """
) % {"order": list(LAB_PODS), "policies": POLICIES}

DOCKERFILE = """\
# The image a JupyterHub would run, reduced: Python, labkit with the `lab` extra, the
# notebooks, no kubectl. By tag: a test image, never part of the lab.
FROM python:3.11-slim
COPY dist/ /opt/labkit-dist/
COPY constraints.txt /opt/constraints.txt
RUN pip install --no-cache-dir -c /opt/constraints.txt \\
        "$(ls /opt/labkit-dist/labkit-*.whl)[lab]" nbclient ipykernel \\
    && ! command -v kubectl
COPY notebooks/ /home/learner/notebooks/
ENV LABKIT_BACKEND=existing LABKIT_HOME=/tmp/labkit MPLBACKEND=Agg
WORKDIR /home/learner/notebooks
"""


# -- one helper per kind of step ------------------------------------------------------------
def run(
    argv: list[str], *, env: dict[str, str], stdin: str | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """One command line; its result (never raises on a non-zero exit)."""
    return subprocess.run(
        argv, env=env, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """``done``'s standard output; the test fails with the command and its output if it
    exited non-zero."""
    assert done.returncode == 0, (
        f"`{' '.join(done.args)}` exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


def kubectl(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return run(["kubectl", "--context", CONTEXT, *args], env=env, stdin=stdin, timeout=timeout)


def labkit(
    env: dict[str, str], *args: str, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return run([LABKIT, *args], env=env, timeout=timeout)


def account(learner: str) -> str:
    return f"system:serviceaccount:{HUB}:labkit-{learner}"


def can_i(env: dict[str, str], learner: str, *question: str) -> str:
    """``kubectl auth can-i QUESTION --as=<learner's ServiceAccount>``: ``yes`` or ``no``."""
    done = kubectl(env, "auth", "can-i", *question, f"--as={account(learner)}")
    assert done.returncode in (0, 1), done.stderr
    return done.stdout.strip()


def names(env: dict[str, str], kinds: str, selector: str, *scope: str) -> list[str]:
    """``kubectl get KINDS -l SELECTOR -o name`` (empty when the kind is not served)."""
    done = kubectl(env, "get", kinds, "-l", selector, "-o", "name", *scope)
    if done.returncode != 0 and "the server doesn't have a resource type" in done.stderr:
        return []
    return ok(done).split()


def in_pod(
    env: dict[str, str],
    learner: str,
    argv: list[str],
    *,
    extra: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """``kubectl exec`` into the learner's pod (the admin's exec: the pod itself runs as the
    learner's ServiceAccount, which is what labkit inside it uses)."""
    assignments = [f"{k}={v}" for k, v in (extra or {}).items()]
    return kubectl(
        env,
        "exec",
        "-i",
        "-n",
        HUB,
        f"labkit-learner-{learner}",
        "--",
        "env",
        *assignments,
        *argv,
        stdin=stdin,
        timeout=timeout,
    )


def learner_result(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = [x for x in ok(done).splitlines() if x.startswith("@@result ")]
    assert lines, f"the learner script printed no result:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(lines[-1].split(" ", 1)[1])
    return result


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    """The environment of every command: the kind cluster's kubeconfig and context."""
    options = KindOptions(nodes=int(os.environ.get("LABKIT_LIVE_NODES", "3")))
    try:
        KindCluster.attach(options)
    except ClusterNotReady as exc:
        pytest.fail(
            f"{exc}\nthe workshop live tests need the lab cluster started first: "
            f"`labkit up --backend kind --nodes {options.nodes}` (`make workshop-live` runs it)",
            pytrace=False,
        )
    return {**os.environ, "KUBECONFIG": str(options.kubeconfig)}


@pytest.fixture(scope="module")
def workshop(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Workshop ws1 of 5 learners, brought up once for the module (torn down by the last
    test; again here, with its confirmation, if a test failed before it)."""
    folder = tmp_path_factory.mktemp("workshop")
    learners = folder / "learners.txt"
    learners.write_text("# ws1 for the live tests\n" + "\n".join(LEARNERS) + "\n")
    ok(
        kubectl(
            env,
            "apply",
            "-f",
            "-",
            stdin=f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {HUB}}}\n",
        )
    )
    ok(
        labkit(
            env,
            "workshop",
            "init",
            "--id",
            WORKSHOP,
            "--learners",
            str(learners),
            "--context",
            CONTEXT,
            "--hub-namespace",
            HUB,
            "--hook-file",
            str(folder / "ws1-hook.py"),
        )
    )
    yield WORKSHOP
    if names(env, "namespaces", f"labkit.dev/workshop={WORKSHOP}"):
        labkit(env, "workshop", "teardown", "--id", WORKSHOP, "--confirm", WORKSHOP)


def build_learner_image(env: dict[str, str], folder: Path) -> None:
    """labkit's wheel (``pip wheel``, no dependencies), the notebooks and the constraints in
    a build context; the image built by the container engine kind uses and loaded into
    every kind node from an archive (works for Docker and Podman alike)."""
    from labkit.cluster.kind import provider

    tool = provider.detect().tool
    ok(
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "-w",
                str(folder / "dist"),
                str(ROOT),
            ],
            env=env,
        )
    )
    (folder / "constraints.txt").write_text((ROOT / "constraints.txt").read_text())
    (folder / "Dockerfile").write_text(DOCKERFILE)
    ok(run(["cp", "-r", str(ROOT / "notebooks"), str(folder / "notebooks")], env=env))
    ok(run([tool, "build", "-t", IMAGE, str(folder)], env=env, timeout=1200))
    archive = folder / "learner-image.tar"
    ok(run([tool, "save", "-o", str(archive), IMAGE], env=env))
    ok(run(["kind", "load", "image-archive", str(archive), "--name", KindOptions().name], env=env))


def learner_pod(learner: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"labkit-learner-{learner}",
                "namespace": HUB,
                "labels": {"app": "labkit-live-learner"},
            },
            "spec": {
                "serviceAccountName": f"labkit-{learner}",
                "automountServiceAccountToken": True,
                "containers": [
                    {
                        "name": "notebook",
                        "image": IMAGE,
                        "imagePullPolicy": "Never",
                        "command": ["sleep", "7200"],
                    }
                ],
            },
        }
    )


@pytest.fixture(scope="module")
def learner_pods(
    env: dict[str, str], workshop: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, ...]]:
    """One pod per learner, in the hub namespace, as that learner's ServiceAccount."""
    build_learner_image(env, tmp_path_factory.mktemp("learner-image"))
    for learner in LEARNERS:
        ok(kubectl(env, "apply", "-f", "-", stdin=learner_pod(learner)))
    ok(
        kubectl(
            env,
            "wait",
            "--for=condition=Ready",
            "pod",
            "-l",
            "app=labkit-live-learner",
            "-n",
            HUB,
            "--timeout=300s",
            timeout=330,
        )
    )
    yield LEARNERS
    kubectl(env, "delete", "pod", "-l", "app=labkit-live-learner", "-n", HUB, "--wait=false")


# -- the tests, in order --------------------------------------------------------------------
def test_init_gives_each_learner_the_lab_namespaces_and_doctor_passes(
    env: dict[str, str], workshop: str
) -> None:
    for learner in LEARNERS:
        found = names(
            env, "namespaces", f"labkit.dev/workshop={workshop},labkit.dev/learner={learner}"
        )
        assert sorted(found) == sorted(
            f"namespace/{workshop}-{learner}-{ns}"
            for ns in (
                "my-segment",
                "trusted",
                "untrusted",
                "branch-office",
                "backup-site",
                "legacy-dc",
            )
        )
        pods = ok(
            kubectl(
                env,
                "get",
                "pods",
                "-n",
                f"{workshop}-{learner}-my-segment",
                "-o",
                "jsonpath={.items[*].metadata.name}",
            )
        ).split()
        assert sorted(pods) == ["backend", "critical-app", "database", "frontend"]
    ok(labkit(env, "workshop", "doctor", "--id", workshop))


YES = [
    ("create", "networkpolicies", "-n", "ws1-alice-my-segment"),
    ("delete", "networkpolicies", "-n", "ws1-alice-trusted"),
    ("create", "pods", "--subresource=exec", "-n", "ws1-alice-my-segment"),
    ("get", "pods", "--subresource=exec", "-n", "ws1-alice-my-segment"),
    ("create", "services", "-n", "ws1-alice-untrusted"),
    ("get", "pods", "-n", "kube-system"),
    ("get", "services", "-n", "kube-system"),
    ("patch", "namespace/ws1-alice-trusted"),
]
NO = [
    ("create", "networkpolicies", "-n", "ws1-bob-my-segment"),
    ("create", "pods", "--subresource=exec", "-n", "ws1-bob-my-segment"),
    ("list", "namespaces"),
    ("list", "pods", "--all-namespaces"),
    ("list", "networkpolicies", "--all-namespaces"),
    ("create", "clusterroles"),
    ("patch", "namespace/ws1-bob-trusted"),
    ("create", "pods", "-n", "jhub"),
    ("get", "secrets", "-n", "ws1-alice-my-segment"),
    ("delete", "pods", "-n", "kube-system"),
]


@pytest.mark.parametrize("question", YES, ids=" ".join)
def test_alice_may(env: dict[str, str], workshop: str, question: tuple[str, ...]) -> None:
    assert can_i(env, "alice", *question) == "yes"


@pytest.mark.parametrize("question", NO, ids=" ".join)
def test_alice_may_not(env: dict[str, str], workshop: str, question: tuple[str, ...]) -> None:
    assert can_i(env, "alice", *question) == "no"


def test_relabelling_or_repooling_a_namespace_is_refused_by_admission(
    env: dict[str, str], workshop: str
) -> None:
    as_alice = f"--as={account('alice')}"
    refused = kubectl(
        env,
        "label",
        "namespace",
        "ws1-alice-trusted",
        "labkit.dev/learner=bob",
        "--overwrite",
        as_alice,
    )
    assert refused.returncode != 0
    assert "ValidatingAdmissionPolicy" in refused.stderr and "denied" in refused.stderr, (
        refused.stderr
    )
    pool = kubectl(
        env,
        "annotate",
        "namespace",
        "ws1-alice-branch-office",
        'cni.projectcalico.org/ipv4pools=["default-ipv4-ippool"]',
        "--overwrite",
        as_alice,
    )
    assert pool.returncode != 0 and "denied" in pool.stderr, pool.stderr
    labels = json.loads(
        ok(
            kubectl(
                env, "get", "namespace", "ws1-alice-trusted", "-o", "jsonpath={.metadata.labels}"
            )
        )
    )
    assert labels["labkit.dev/learner"] == "alice"
    # What the lessons do (label a namespace of one's own) is allowed: the refusal above is
    # the admission policy's, not a missing RBAC right.
    ok(
        kubectl(
            env, "label", "namespace", "ws1-alice-trusted", "team=blue", "--overwrite", as_alice
        )
    )
    ok(kubectl(env, "label", "namespace", "ws1-alice-trusted", "team-", as_alice))


def test_a_learner_pod_without_kubectl_sees_what_the_engine_predicts(
    env: dict[str, str], learner_pods: tuple[str, ...]
) -> None:
    assert in_pod(env, "alice", ["sh", "-c", "command -v kubectl"]).returncode != 0
    bob_client = ok(
        kubectl(
            env, "get", "pod", "client", "-n", "ws1-bob-trusted", "-o", "jsonpath={.status.podIP}"
        )
    ).strip()
    result = learner_result(
        in_pod(
            env,
            "alice",
            ["python", "-"],
            stdin=LEARNER_SCRIPT,
            extra={"STEP": "before", "PROBE_ADDRESS": bob_client},
        )
    )
    assert result["pods"] == sorted(LAB_PODS), "the learner sees her lab in logical names"
    assert result["dns_pods"] == 2
    for step in ("before", "after"):
        assert result[step]["failed"] == [], result[step]["failed"]
        assert result[step]["disagreements"] == [], result[step]["disagreements"]
    tcp = result["after"]["cells"]["80/TCP"]
    peers = result["after"]["peers"]
    cell = {(s, d): tcp[i][j] for i, s in enumerate(peers) for j, d in enumerate(peers)}
    assert cell["my-segment/frontend", "my-segment/backend"] == "allowed"
    assert cell["untrusted/client", "my-segment/backend"] == "blocked"
    assert cell["trusted/client", "my-segment/database"] == "allowed"
    # bob's trusted/client has no policy of its own: only the wall can block it.
    assert result["probe_address"]["outcome"] == "blocked", result["probe_address"]
    applied = names(
        env, "networkpolicies", "labkit.dev/learner=alice", "-n", "ws1-alice-my-segment"
    )
    assert len(applied) == 3
    assert (
        names(env, "networkpolicies", "labkit.dev/workshop=ws1", "-n", "ws1-bob-my-segment") == []
    )


def test_notebook_00_runs_in_the_learner_pod(
    env: dict[str, str], learner_pods: tuple[str, ...]
) -> None:
    done = in_pod(
        env, "alice", ["jupyter", "execute", "--timeout=600", "00-start-here.ipynb"], timeout=1200
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_five_learners_with_the_same_policies_see_the_same_logical_matrices(
    env: dict[str, str], learner_pods: tuple[str, ...]
) -> None:
    def one(learner: str) -> dict[str, Any]:
        return learner_result(in_pod(env, learner, ["python", "-"], stdin=LEARNER_SCRIPT))

    with ThreadPoolExecutor(max_workers=len(learner_pods)) as pool:
        seen = dict(zip(learner_pods, pool.map(one, learner_pods), strict=True))
    first = seen[learner_pods[0]]["after"]
    assert first["disagreements"] == [] and first["failed"] == []
    for learner, result in seen.items():
        assert result["pods"] == sorted(LAB_PODS), learner
        assert result["after"]["peers"] == first["peers"], learner
        assert result["after"]["cells"] == first["cells"], learner
        assert result["after"]["disagreements"] == [], (learner, result["after"])


def test_teardown_removes_exactly_ws1_and_a_ws2_sentinel_survives(
    env: dict[str, str], workshop: str
) -> None:
    sentinel = f"{OTHER}-sentinel"
    ok(
        kubectl(
            env,
            "apply",
            "-f",
            "-",
            stdin=json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "List",
                    "items": [
                        {
                            "apiVersion": "v1",
                            "kind": "Namespace",
                            "metadata": {
                                "name": sentinel,
                                "labels": {
                                    "labkit.dev/workshop": OTHER,
                                    "labkit.dev/learner": "zoe",
                                    "labkit.dev/managed": "true",
                                },
                            },
                        },
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {
                                "name": "keep-me",
                                "namespace": sentinel,
                                "labels": {
                                    "labkit.dev/workshop": OTHER,
                                    "labkit.dev/managed": "true",
                                },
                            },
                            "data": {"why": "workshop ws2 is not ws1"},
                        },
                    ],
                }
            ),
        )
    )
    try:
        refused = labkit(env, "workshop", "teardown", "--id", workshop)
        assert refused.returncode != 0
        assert len(names(env, "namespaces", f"labkit.dev/workshop={workshop}")) >= 30
        ok(labkit(env, "workshop", "teardown", "--id", workshop, "--confirm", workshop))
        kubectl(
            env,
            "wait",
            "--for=delete",
            "namespace",
            "-l",
            f"labkit.dev/workshop={workshop}",
            "--timeout=300s",
            timeout=330,
        )
        selector = f"labkit.dev/workshop={workshop}"
        assert names(env, "namespaces", selector) == []
        assert (
            names(env, "serviceaccounts,configmaps,roles,rolebindings", selector, "-n", HUB) == []
        )
        cluster_scoped = (
            "clusterroles,clusterrolebindings,validatingadmissionpolicies,"
            "validatingadmissionpolicybindings"
        )
        assert names(env, cluster_scoped, selector) == []
        assert names(env, "globalnetworkpolicies.crd.projectcalico.org", selector) == []
        assert names(env, "namespaces", f"labkit.dev/workshop={OTHER}") == [f"namespace/{sentinel}"]
        kept = ok(
            kubectl(
                env, "get", "configmap", "keep-me", "-n", sentinel, "-o", "jsonpath={.data.why}"
            )
        )
        assert kept == "workshop ws2 is not ws1"
        assert ok(kubectl(env, "get", "namespace", HUB, "-o", "name")).strip() == f"namespace/{HUB}"
    finally:
        kubectl(env, "delete", "namespace", sentinel, "--wait=false")
