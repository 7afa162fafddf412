"""Benchmark: a policy edit in a lesson, until the two 9x9 heatmaps are redrawn.

Run from the project root::

    .venv/bin/python benchmarks/lab_latency.py [--repeat 20] [--matplotlib]

On the simulated backend (in a temporary lab folder) it times, per repeat, what a lesson
cell does after the learner edits a policy: ``lab.apply`` of the edited policy (alternating
between two versions so every repeat changes something), ``lab.predicted_matrix()`` and
``lab.probe_matrix()`` (9x9 each), and the HTML the notebook displays for both. It prints
the median and worst milliseconds of the whole step and of the drawing alone (target: at
most 100 ms). ``--matplotlib`` also times the static matplotlib heatmaps for comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: database-from-backend, namespace: my-segment}}
spec:
  podSelector: {{matchLabels: {{role: database}}}}
  policyTypes: [Ingress]
  ingress:
  - from: [{{podSelector: {{matchLabels: {{role: {role}}}}}}}]
    ports: [{{port: 80}}]
"""


def _millis(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--matplotlib", action="store_true", help="time the static figures too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["LABKIT_HOME"] = home
        os.environ["LABKIT_BACKEND"] = "simulated"
        import labkit.lab as lab

        lab.up()
        totals: list[float] = []
        applying: list[float] = []
        evaluating: list[float] = []
        drawing: list[float] = []
        for k in range(args.repeat + 1):
            start = time.perf_counter()
            lab.apply(POLICY.format(role="backend" if k % 2 else "frontend"))
            applied = time.perf_counter()
            predicted, observed = lab.predicted_matrix(), lab.probe_matrix()
            evaluated = time.perf_counter()
            html = predicted._repr_html_() + observed._repr_html_()
            if k:  # the first round warms imports and caches
                applying.append((applied - start) * 1000)
                evaluating.append((evaluated - applied) * 1000)
                drawing.append(_millis(evaluated))
                totals.append(_millis(start))
        assert "<svg" in html and len(predicted[0].peers) == 9
        print(
            f"edit -> two 9x9 heatmaps redrawn: median {statistics.median(totals):.1f} ms, "
            f"worst {max(totals):.1f} ms ({args.repeat} edits; target <= 100 ms)"
        )
        print(
            f"  medians: apply {statistics.median(applying):.1f} ms, predict + probe "
            f"{statistics.median(evaluating):.1f} ms, drawing (SVG) "
            f"{statistics.median(drawing):.1f} ms"
        )
        if args.matplotlib:
            from labkit.lab.heatmap import heatmap
            from labkit.lab.render import figure_html

            start = time.perf_counter()
            for table in (predicted[0], observed[0]):
                figure_html(heatmap(table))
            print(f"  the same two heatmaps with matplotlib: {_millis(start):.1f} ms")


if __name__ == "__main__":
    main()
