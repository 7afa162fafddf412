"""``labkit matrix``: the JSON contract, table and CSV output, and the exit status on bad input.

The JSON contract::

    {"peers": [...],
     "probes": [{"port": 80, "protocol": "TCP", "allowed": [[...], ...]}, ...],
     "connectivity": [[...], ...]}          # only when no --probe is given

``allowed[i][j]`` and ``connectivity[i][j]`` describe traffic from ``peers[i]`` to
``peers[j]``; both are ``null`` between two ``ip:`` peers (no policy speaks about that traffic).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from labkit.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


WORLD = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  containers:
  - {name: web, image: agnhost, ports: [{name: http, containerPort: 80}]}
status: {podIP: 10.1.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec:
  containers:
  - {name: db, image: agnhost, ports: [{name: sql, containerPort: 5432}]}
status: {podIP: 10.1.0.20}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: sql}]
"""
PEERS = ["shop/db", "shop/web", "ip:203.0.113.5", "ip:198.51.100.7"]
EXTERNAL_ARGS = ["--external", "203.0.113.5", "--external", "198.51.100.7"]


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "world.yaml"
    path.write_text(WORLD, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["matrix", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, *argv, "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


# -- JSON ------------------------------------------------------------------------------------
def test_json_connectivity_shape(capsys: pytest.CaptureFixture[str], manifest: Path) -> None:
    data = run_json(capsys, "-f", str(manifest), *EXTERNAL_ARGS)
    assert list(data) == ["peers", "probes", "connectivity"]
    assert data["peers"] == PEERS
    assert data["probes"] == []
    db, web, ext_a, ext_b = range(4)
    grid = data["connectivity"]
    assert len(grid) == 4 and all(len(row) == 4 for row in grid)
    assert grid[web][db] == "TCP 5432"  # from web to db: the policy's one port
    assert grid[db][web] == "All"  # web is not isolated
    assert grid[ext_a][db] == ""  # an address is not web
    assert grid[ext_a][web] == "All"
    assert grid[db][ext_b] == "All"
    assert grid[db][db] == "All"  # pod to itself: allowed by default
    assert grid[ext_a][ext_b] is None and grid[ext_b][ext_a] is None
    assert grid[ext_a][ext_a] is None


def test_json_probes_shape(capsys: pytest.CaptureFixture[str], manifest: Path) -> None:
    data = run_json(
        capsys, "-f", str(manifest), "--probe", "5432/TCP", "--probe", "80", *EXTERNAL_ARGS
    )
    assert list(data) == ["peers", "probes"]  # no connectivity when probes are given
    assert data["peers"] == PEERS
    sql, http = data["probes"]
    assert [list(p) for p in (sql, http)] == [["port", "protocol", "allowed"]] * 2
    assert (sql["port"], sql["protocol"], http["port"], http["protocol"]) == (
        5432,
        "TCP",
        80,
        "TCP",
    )
    db, web, ext_a, ext_b = range(4)
    assert sql["allowed"][web][db] is True
    assert http["allowed"][web][db] is False  # allowed[i][j] is from peers[i] to peers[j]
    assert http["allowed"][db][web] is True
    assert sql["allowed"][ext_a][db] is False
    assert sql["allowed"][ext_a][web] is True
    assert sql["allowed"][db][db] is True
    for probe in (sql, http):
        assert probe["allowed"][ext_a][ext_b] is None
        assert probe["allowed"][ext_b][ext_b] is None


def test_json_evaluate_self(capsys: pytest.CaptureFixture[str], manifest: Path) -> None:
    data = run_json(capsys, "-f", str(manifest), "--evaluate-self", "--probe", "5432")
    db = data["peers"].index("shop/db")
    assert data["probes"][0]["allowed"][db][db] is False


def test_json_without_externals(capsys: pytest.CaptureFixture[str], manifest: Path) -> None:
    data = run_json(capsys, "-f", str(manifest))
    assert data["peers"] == ["shop/db", "shop/web"]
    assert data["connectivity"] == [["All", "All"], ["TCP 5432", "All"]]


# -- table and CSV --------------------------------------------------------------------------
def test_table_output(capsys: pytest.CaptureFixture[str], manifest: Path) -> None:
    code, out, _ = run(capsys, "-f", str(manifest), *EXTERNAL_ARGS)
    assert code == 0
    assert "shop/web => shop/db : TCP 5432" in out
    assert "shop/db => shop/web : All" in out
    assert "ip:203.0.113.5 => shop/db" not in out
    # pairs with nothing allowed: the two addresses to shop/db (address pairs are n/a)
    assert "(2 ordered pairs have no allowed connection)" in out


def test_table_output_per_probe(capsys: pytest.CaptureFixture[str], manifest: Path) -> None:
    code, out, _ = run(capsys, "-f", str(manifest), "--probe", "80/TCP")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("probe 80/TCP")
    rows = {line.split("|")[0].strip(): line.split("|")[1].split() for line in lines if "|" in line}
    assert rows["shop/web"] == ["X", "."]  # to shop/db blocked, to itself allowed
    assert rows["shop/db"] == [".", "."]


def test_csv_output(capsys: pytest.CaptureFixture[str], manifest: Path) -> None:
    code, out, _ = run(capsys, "-f", str(manifest), "-o", "csv", *EXTERNAL_ARGS)
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["from\\to", *PEERS]
    assert rows[2] == ["shop/web", "TCP 5432", "All", "All", "All"]
    code, out, _ = run(
        capsys, "-f", str(manifest), "-o", "csv", "--probe", "80", "--probe", "53/udp"
    )
    assert code == 0
    assert out.count("# probe ") == 2 and "# probe 53/UDP" in out
    first = list(csv.reader(io.StringIO(out.split("# probe 53/UDP")[0])))
    assert first[1] == ["from\\to", "shop/db", "shop/web"]
    assert first[3] == ["shop/web", "blocked", "allowed"]


# -- bad input --------------------------------------------------------------------------------
INVALID = WORLD.replace("ports: [{port: sql}]", "ports: [{port: sql, protocol: ICMP}]")


def test_invalid_manifest_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "invalid.yaml"
    path.write_text(INVALID, encoding="utf-8")
    code, out, _ = run(capsys, "-f", str(path), "-o", "json")
    assert code == 1
    data = json.loads(out)
    assert "peers" not in data  # nothing was evaluated
    assert data["valid"] is False
    fields = [e["field"] for e in data["errors"]]
    assert "spec.ingress[0].ports[0].protocol" in fields
    assert all(e["file"].startswith(str(path)) for e in data["errors"])


def test_invalid_manifest_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "invalid.yaml"
    path.write_text(INVALID, encoding="utf-8")
    code, out, err = run(capsys, "-f", str(path))
    assert code == 1
    assert out == ""
    assert "spec.ingress[0].ports[0].protocol" in err and "ICMP" in err


def test_broken_yaml_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("kind: Pod\nmetadata:\n  name: a\n\tlabels: {}\n", encoding="utf-8")
    code, out, err = run(capsys, "-f", str(path))
    assert code == 1 and out == ""
    assert f"{path}:4:1" in err and "YAML syntax error" in err
    code, out, _ = run(capsys, "-f", str(path), "-o", "json")
    assert code == 1
    data = json.loads(out)
    assert "peers" not in data and data["valid"] is False
    assert [e["file"] for e in data["errors"]] == [f"{path}:4:1"]
    assert "YAML syntax error" in data["errors"][0]["message"]


def test_missing_file_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "-f", str(tmp_path / "nope.yaml"))
    assert code == 1
    assert "no such file or directory" in err


@pytest.mark.parametrize(
    ("probe", "message"),
    [
        ("80/ICMP", "protocol 'ICMP' is not one of TCP, UDP, SCTP"),
        ("http", "'http' is not a port"),
        ("0", "port 0 is out of range"),
        ("70000/TCP", "port 70000 is out of range"),
    ],
)
def test_bad_probe_exits_1(
    capsys: pytest.CaptureFixture[str], manifest: Path, probe: str, message: str
) -> None:
    code, out, err = run(capsys, "-f", str(manifest), "--probe", probe, "-o", "json")
    assert code == 1
    assert out == ""
    assert err.startswith("error: --probe:")
    assert message in err


def test_external_that_is_a_pod_address_exits_1(
    capsys: pytest.CaptureFixture[str], manifest: Path
) -> None:
    code, out, err = run(capsys, "-f", str(manifest), "--external", "10.1.0.20")
    assert code == 1 and out == ""
    assert "shop/db" in err


# -- the installed console script ----------------------------------------------------------
def test_console_script(manifest: Path) -> None:
    script = ROOT / ".venv" / "bin" / "labkit"
    if not script.exists():
        pytest.skip(f"{script} is missing: run `make install` first")
    proc = subprocess.run(
        [str(script), "matrix", "-f", str(manifest), "-o", "json", "--probe", "80", *EXTERNAL_ARGS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["peers"] == PEERS
    assert data["probes"][0]["allowed"][1][0] is False
