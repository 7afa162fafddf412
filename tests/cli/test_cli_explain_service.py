"""`labkit explain --to svc:NS/NAME`: policies see each backend pod on its target port
(conformance rule 13), never the Service port."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.cli.main import main

WORLD = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.10
  selector: {app: web}
  ports: [{port: 8080, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, namespace: shop, labels: {app: web}}
spec: {containers: [{name: web, image: agnhost, ports: [{name: http, containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, namespace: shop, labels: {app: web}}
spec: {containers: [{name: web, image: agnhost, ports: [{name: http, containerPort: 8000}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other}
spec: {containers: [{name: c, image: agnhost}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-80, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - ports: [{port: 80}]
"""


@pytest.fixture
def world(tmp_path: Path) -> str:
    path = tmp_path / "world.yaml"
    path.write_text(WORLD)
    return str(path)


def test_each_backend_is_judged_on_its_own_target_port(
    world: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["explain", "-f", world, "--from", "other/client", "--to", "svc:shop/web"]
    assert main([*args, "--port", "8080", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    verdicts = {b["pod"]: (b["port"], b["explanation"]["allowed"]) for b in data["backends"]}
    # the named targetPort resolves to 80 on web-a (allowed) and 8000 on web-b (denied)
    assert verdicts == {"shop/web-a": (80, True), "shop/web-b": (8000, False)}

    assert main([*args, "--port", "8080"]) == 0
    out = capsys.readouterr().out
    assert "== backend shop/web-a, port 80/TCP" in out
    assert "== backend shop/web-b, port 8000/TCP" in out


def test_a_port_the_service_does_not_declare_is_an_error(
    world: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["explain", "-f", world, "--from", "other/client", "--to", "svc:shop/web", "--port", "80"]
    )
    assert code == 1
    assert "declares: 8080/TCP" in capsys.readouterr().err


@pytest.mark.parametrize("destination", ["10.96.0.10", "ip:10.96.0.10"])
def test_a_cluster_ip_is_the_service(
    world: str, destination: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ClusterIP is rewritten to a backend before policy (rule 13): the same verdicts as
    svc:NS/NAME, never an address that an ipBlock could match."""
    args = ["explain", "-f", world, "--from", "other/client", "--port", "8080", "-o", "json"]
    assert main([*args, "--to", "svc:shop/web"]) == 0
    by_name = json.loads(capsys.readouterr().out)
    assert main([*args, "--to", destination]) == 0
    by_address = json.loads(capsys.readouterr().out)
    assert by_address == by_name
    assert [b["pod"] for b in by_address["backends"]] == ["shop/web-a", "shop/web-b"]
