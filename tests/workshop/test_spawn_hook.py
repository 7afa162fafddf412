"""The JupyterHub pre-spawn hook `labkit workshop init` writes out, run as JupyterHub runs a
config file: exec()-ed with a config object ``c``, its hook then called with a spawner."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from labkit.cluster.topology import LAB_NAMESPACES
from labkit.model.workshop import Learner, Workshop
from labkit.model.workshop_objects import spawn_hook

WS = Workshop(
    "ws1",
    (Learner("alice"), Learner("bob", "bob@example.org"), Learner("carol", "o'neil\"x")),
    LAB_NAMESPACES,
)


def load(workshop: Workshop = WS, with_config: bool = True) -> dict[str, Any]:
    """The namespace the hook file leaves behind (JupyterHub's config loader provides ``c``)."""
    scope: dict[str, Any] = {}
    if with_config:
        scope["c"] = SimpleNamespace(KubeSpawner=SimpleNamespace())
    exec(compile(spawn_hook(workshop), "labkit-ws1.py", "exec"), scope)
    return scope


def spawner(user: str, namespace: str = "jhub") -> SimpleNamespace:
    return SimpleNamespace(user=SimpleNamespace(name=user), namespace=namespace)


def test_the_hook_is_registered_with_kubespawner() -> None:
    scope = load()
    assert scope["c"].KubeSpawner.pre_spawn_hook is scope["labkit_pre_spawn_hook"]


def test_without_a_config_object_the_file_only_defines_the_hook() -> None:
    scope = load(with_config=False)
    assert callable(scope["labkit_pre_spawn_hook"])
    assert "c" not in scope


@pytest.mark.parametrize(
    ("user", "account"),
    [("alice", "labkit-alice"), ("bob@example.org", "labkit-bob"), ("o'neil\"x", "labkit-carol")],
)
def test_a_learner_gets_their_service_account_and_token(user: str, account: str) -> None:
    pod = spawner(user)
    load()["labkit_pre_spawn_hook"](pod)
    assert pod.service_account == account
    assert pod.automount_service_account_token is True


@pytest.mark.parametrize("user", ["mallory", "bob", "carol", "ALICE"])
def test_a_hub_user_who_is_not_a_learner_is_refused(user: str) -> None:
    pod = spawner(user)
    with pytest.raises(Exception, match="is not a learner of labkit workshop ws1") as error:
        load()["labkit_pre_spawn_hook"](pod)
    assert repr(user) in str(error.value)
    assert not hasattr(pod, "service_account")


def test_a_pod_outside_the_hub_namespace_is_refused() -> None:
    pod = spawner("alice", namespace="jupyter-alice")
    with pytest.raises(Exception, match="'jhub'"):
        load()["labkit_pre_spawn_hook"](pod)
    assert not hasattr(pod, "service_account")


def test_the_mapping_is_a_literal_and_follows_the_hub_namespace() -> None:
    other = Workshop("ws2", (Learner("dan"),), ("a",), "hub2")
    text = spawn_hook(other)
    assert "LABKIT_SERVICE_ACCOUNTS = {\n    'dan': 'labkit-dan',\n}" in text
    assert "import" not in text  # nothing to install or import in the hub
    pod = spawner("dan", namespace="hub2")
    load(other)["labkit_pre_spawn_hook"](pod)
    assert pod.service_account == "labkit-dan"
