"""Benchmark: the instructor's dashboard of a simulated workshop of 200 learners.

Run from the project root::

    .venv/bin/python benchmarks/workshop_dashboard.py [--learners 200] [--repeat 5]

It provisions a simulated workshop in a temporary lab folder in one batch, as ``labkit
workshop init --simulated`` does (namespaces, RBAC, walls, the lab topology per learner),
with lesson 1's solution applied by every 7th learner, the tutorial's mistake by every 11th,
and published progress events (``labkit-progress`` ConfigMaps, 20 events each) for every 3rd.
Then it times, ``--repeat`` times, what ``labkit workshop dashboard`` does: gathering every
learner's state from the shared cluster (one read), building the dashboard against the 11
lesson requirement files, and rendering it as text, JSON and HTML; it prints the median and
worst seconds of each part and of the whole, beside the target (issue 10: at most 2 s for 200
learners here, 5 s on a real cluster). It never asserts: the figures are for the reader.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 2.0
WRONG = """
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


def _solution() -> str:
    import yaml

    cells = yaml.safe_load((ROOT / "notebooks/solutions/01-namespaces.yaml").read_text())
    found = re.search(r'"""(.*?)"""', cells["01-segment-wall"], re.S)
    assert found is not None
    return found.group(1)


def provision(home: Path, count: int) -> tuple[object, object]:
    """A simulated workshop of ``count`` learners, rendered by ``workshop init``'s own plan
    and provisioned in one batch, plus the solution, a mistake and progress events."""
    from labkit.cluster.topology import LAB_NAMESPACES
    from labkit.cluster.workshop.host import SimulatedHost
    from labkit.cluster.workshop.ops import plan_objects
    from labkit.cluster.workshop.progress_events import Event, progress_configmap
    from labkit.model.loader import RawObject, load_text
    from labkit.model.wall import WallFlavour
    from labkit.model.workshop import LEARNER_KINDS, Learner, Workshop

    names = [f"l{n:03d}" for n in range(count)]
    ws = Workshop("bench", tuple(Learner(n) for n in names), LAB_NAMESPACES)
    plan = plan_objects(ws, WallFlavour.CALICO, hub_namespace_exists=False)
    raws = [RawObject(d, "<init>") for d in plan.all()]
    solution, wrong = load_text(_solution()), load_text(WRONG)
    now = datetime.now(UTC)
    for n, name in enumerate(names):
        space = ws.space(name)
        mine = solution if n % 7 == 0 else wrong if n % 11 == 0 else []
        raws += [space.to_real_object(o, allowed_kinds=LEARNER_KINDS) for o in mine]
        if n % 3 == 0:
            events = [
                Event(
                    now - timedelta(minutes=20 - k),
                    "prediction" if k % 2 else "check",
                    "" if k % 2 else "01-namespaces",
                    f"item-{k % 4}",
                    k % 5 == 0,
                    wrong_cells=(f"untrusted/client -> my-segment/frontend 80/TCP #{k % 3}",),
                    messages=("spec.podSelector: Required value",) if k % 4 == 0 else (),
                )
                for k in range(20)
            ]
            raws.append(progress_configmap(space, events, now))
    host = SimulatedHost.create(ws.id, home, fresh=True)
    host.provision(raws)
    return host, ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labkit-bench-") as folder:
        home = Path(folder) / "lab"
        os.environ["LABKIT_HOME"] = str(home)
        from labkit.cluster.workshop.observe import learner_states, lesson_requirement_files
        from labkit.grading.dashboard import (
            build_dashboard,
            dashboard_html,
            dashboard_json,
            dashboard_text,
        )
        from labkit.grading.requirements import load_requirements

        start = time.perf_counter()
        host, ws = provision(home, options.learners)
        print(f"provisioned {options.learners} learners in {time.perf_counter() - start:.1f} s")
        times: dict[str, list[float]] = {"gather": [], "build": [], "render": [], "total": []}
        for _ in range(options.repeat):
            t0 = time.perf_counter()
            states = learner_states(host, ws)  # type: ignore[arg-type]
            t1 = time.perf_counter()
            requirements = {p.stem: load_requirements(p) for p in lesson_requirement_files()}
            board = build_dashboard(
                states, requirements, now=datetime.now(UTC), stuck_minutes=10, workshop="bench"
            )
            t2 = time.perf_counter()
            sizes = (
                len(dashboard_text(board)),
                len(json.dumps(dashboard_json(board))),
                len(dashboard_html(board)),
            )
            t3 = time.perf_counter()
            for key, value in (
                ("gather", t1 - t0),
                ("build", t2 - t1),
                ("render", t3 - t2),
                ("total", t3 - t0),
            ):
                times[key].append(value)
        print(
            f"{options.learners} learners x {len(board.checks)} checks; "
            f"stuck {len(board.stuck)}; text/json/html {sizes[0]}/{sizes[1]}/{sizes[2]} bytes"
        )
        for key, values in times.items():
            print(
                f"{key:>6}: median {statistics.median(values):.3f} s, "
                f"worst {max(values):.3f} s ({options.repeat} runs)"
            )
        median = statistics.median(times["total"])
        verdict = "within" if median <= TARGET_S else "OVER"
        print(f"target: <= {TARGET_S:.1f} s for 200 learners; median {median:.3f} s ({verdict})")


if __name__ == "__main__":
    main()
