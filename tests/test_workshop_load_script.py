"""benchmarks/workshop_load.py, run here against a simulated workshop (the live run needs a
cluster: the `workshop` job of .github/workflows/live.yml), and its /metrics reading."""

from __future__ import annotations

import json
import re

import pytest

from benchmarks import workshop_load as load

FAST = ["--simulated", "--learners", "3", "--duration", "2", "--matrix-every", "0.5",
        "--apply-every", "0.5", "--poll", "0.05"]  # fmt: skip


def test_simulated_run_prints_every_figure_beside_its_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert load.main(FAST) == 0
    out = capsys.readouterr().out
    assert out.startswith("workshop load: 3 learners for ")
    assert "simulated workshop" in out
    for figure, target in [
        ("bring-up", "<= 600 s"),
        ("exec p50 / p95", "none (context)"),
        ("apply-to-enforcement p50 / p95", "p95 <= 10 s"),
        ("live matrix p50 / p95", "p95 <= 15 s"),
        ("dashboard", "<= 5 s"),
    ]:
        line = next((x for x in out.splitlines() if x.startswith(figure)), None)
        assert line is not None, f"{figure} missing:\n{out}"
        assert line.rstrip().endswith(target), line
        if figure != "dashboard":
            assert re.search(r"\d+(\.\d+)? s", line.split("  ", 1)[1]), line
    assert "API server: read nothing: a simulated workshop has no API server" in out
    assert "errors" not in out


def test_simulated_run_as_json_measures_each_learner_and_agrees_with_the_engine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert load.main([*FAST, "-o", "json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["learners"] == 3 and figures["errors"] == []
    assert figures["bring_up_s"] is not None
    for key in ("exec", "apply_to_enforcement", "live_matrix"):
        assert figures[key]["count"] >= 3, key
        assert figures[key]["p50_s"] <= figures[key]["p95_s"]
    # each matrix is 9 execs (one per source), each enforcement check 2
    assert figures["exec"]["count"] >= 9 * figures["live_matrix"]["count"]
    assert figures["live_matrix"]["disagreements"] == 0
    assert figures["live_matrix"]["failed"] == 0
    assert figures["apply_to_enforcement"]["timeouts"] == 0
    assert figures["targets"] == load.TARGETS


def test_the_prediction_flips_the_cells_enforcement_waits_for() -> None:
    expected = load.predictions()
    for cell in load.FLIPPED:
        assert expected[False][cell].value == "allowed"
        assert expected[True][cell].value == "blocked"
    assert expected[True][load.KEPT].value == "allowed"


METRICS = """\
# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"} 12
apiserver_request_total{code="101",component="apiserver",group="",resource="pods",scope="resource",subresource="exec",verb="CONNECT",version="v1"} 30
apiserver_request_total{code="429",component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"} 2
apiserver_current_inflight_requests{request_kind="mutating"} 3
apiserver_current_inflight_requests{request_kind="readOnly"} 7
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="resource",subresource="exec",verb="CONNECT",version="v1"} 4
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="resource",subresource="log",verb="GET",version="v1"} 1
"""


def test_metrics_are_read_from_prometheus_text() -> None:
    totals = load.request_totals(METRICS)
    assert totals == {
        "all": 44.0,
        "exec": 30.0,
        "code_429": 2.0,
        "verb_LIST": 14.0,
        "verb_CONNECT": 30.0,
    }
    assert load.gauges(METRICS) == {
        "inflight_mutating": 3.0,
        "inflight_readOnly": 7.0,
        "longrunning_exec": 4.0,
    }


@pytest.mark.parametrize(
    ("values", "q", "want"),
    [([], 50, None), ([3.0], 95, 3.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0), ([*range(1, 21)], 95, 19)],
)
def test_percentile_is_nearest_rank(values: list[float], q: float, want: float | None) -> None:
    assert load.percentile(values, q) == want
