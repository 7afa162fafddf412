"""Benchmark: grade 200 generated submissions of one exercise in one batch.

Run from the project root::

    .venv/bin/python benchmarks/grading.py [--exercise isolate-namespace] [--count 200]
                                           [--seed 8] [--json out.json]

It writes a class folder under ``benchmarks/.work/grading/<exercise>/`` (gitignored): one
student folder per submission, drawn (seeded) from the exercise's reference solution, its
wrong variants, an empty submission and generated NetworkPolicies in ``my-segment`` (random
pod selectors by role, random peers by namespace or role, random ports and protocols, some
egress). Then it times one whole ``labkit grade EXERCISE CLASS_DIR --gradebook grades.csv``
process (target: at most 20 s on a 2-core machine) and reports its peak memory (the child's
maximum resident set size, ``getrusage(RUSAGE_CHILDREN)``).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "grading"
TARGET_SECONDS = 20.0

ROLES = ("frontend", "backend", "database", "critical-app")
NAMESPACES = ("my-segment", "trusted", "untrusted", "branch-office", "backup-site", "legacy-dc")
PORTS = ((80, "TCP"), (81, "UDP"), (9090, "TCP"), (53, "UDP"), (53, "TCP"), (5432, "TCP"))


def random_peer(rng: random.Random) -> dict[str, Any]:
    choice = rng.randrange(4)
    if choice == 0:
        return {"podSelector": {"matchLabels": {"role": rng.choice(ROLES)}}}
    namespace = {"matchLabels": {"kubernetes.io/metadata.name": rng.choice(NAMESPACES)}}
    if choice == 1:
        return {"namespaceSelector": namespace}
    if choice == 2:
        return {"namespaceSelector": namespace, "podSelector": {}}
    return {"ipBlock": {"cidr": "192.168.0.0/16", "except": ["192.168.10.0/24"]}}


def random_rule(rng: random.Random, direction: str) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if rng.random() < 0.8:
        rule["from" if direction == "ingress" else "to"] = [
            random_peer(rng) for _ in range(rng.randint(1, 2))
        ]
    if rng.random() < 0.7:
        rule["ports"] = [
            {"port": port, "protocol": protocol}
            for port, protocol in rng.sample(PORTS, rng.randint(1, 3))
        ]
    return rule


def random_policy(rng: random.Random, index: int) -> dict[str, Any]:
    selector = {} if rng.random() < 0.4 else {"matchLabels": {"role": rng.choice(ROLES)}}
    spec: dict[str, Any] = {"podSelector": selector, "policyTypes": ["Ingress"]}
    spec["ingress"] = [random_rule(rng, "ingress") for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.3:
        spec["policyTypes"].append("Egress")
        spec["egress"] = [random_rule(rng, "egress") for _ in range(rng.randint(0, 2))]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"generated-{index}", "namespace": "my-segment"},
        "spec": spec,
    }


def write_class(exercise: Path, count: int, seed: int) -> Path:
    """The class folder: ``count`` student folders (seeded)."""
    rng = random.Random(seed)
    folder = WORK / exercise.name / "class"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    given = [exercise / "instructor" / "solution"]
    given += sorted(p for p in (exercise / "instructor" / "wrong").glob("*") if p.is_dir())
    for number in range(count):
        student = folder / f"student-{number:03d}"
        kind = number % 4
        if kind == 0 and given:
            shutil.copytree(given[number // 4 % len(given)], student)
            (student / "expected.yaml").unlink(missing_ok=True)
        elif kind == 1 and number % 20 == 1:
            student.mkdir()  # an empty submission
        else:
            student.mkdir()
            policies = [random_policy(rng, i) for i in range(rng.randint(1, 4))]
            (student / "answer.yaml").write_text(yaml.safe_dump_all(policies, sort_keys=False))
    return folder


def run(exercise: Path, class_dir: Path) -> dict[str, Any]:
    gradebook = class_dir.parent / "grades.csv"
    labkit = Path(sys.executable).with_name("labkit")
    argv = [str(labkit), "grade", str(exercise), str(class_dir), "--gradebook", str(gradebook)]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"labkit grade failed ({done.returncode}):\n{done.stderr}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with gradebook.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    scores = [float(r["score"]) for r in rows]
    return {
        "exercise": exercise.name,
        "submissions": len(rows),
        "seconds": round(seconds, 2),
        "per_submission_ms": round(1000 * seconds / max(1, len(rows)), 1),
        "peak_memory_mib": round(peak_kib / 1024, 1),
        "target_seconds": TARGET_SECONDS,
        "within_target": seconds <= TARGET_SECONDS,
        "full_marks": sum(1 for r in rows if r["score"] == r["max_score"]),
        "mean_score": round(sum(scores) / max(1, len(scores)), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", default="isolate-namespace")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--json", type=Path, metavar="FILE")
    args = parser.parse_args()
    exercise = ROOT / "exercises" / args.exercise
    if not (exercise / "exercise.yaml").is_file():
        raise SystemExit(f"no exercise {args.exercise} under {ROOT / 'exercises'}")
    class_dir = write_class(exercise, args.count, args.seed)
    figures = run(exercise, class_dir)
    print(
        f"graded {figures['submissions']} submissions of {figures['exercise']} in one batch: "
        f"{figures['seconds']} s ({figures['per_submission_ms']} ms each; target <= "
        f"{TARGET_SECONDS:g} s: {'met' if figures['within_target'] else 'MISSED'}), "
        f"peak memory {figures['peak_memory_mib']} MiB; {figures['full_marks']} full marks, "
        f"mean score {figures['mean_score']}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["within_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
