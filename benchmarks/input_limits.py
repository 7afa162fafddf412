"""Time and peak memory of ``labkit validate`` on hostile and large input.

The loader refuses input past its limits before building it (``labkit.model.loader``:
10 MiB per file, 16 MiB per run; ``labkit.model.pyyaml_reader.MAX_NODES`` YAML values per
run). ``tests/test_loader_limits.py`` holds the behaviour; this script prints what it costs:
for each input, its size, the exit status, the wall time and the peak RSS of the whole
``labkit validate`` process, and the first line of its message.

    .venv/bin/python benchmarks/input_limits.py            # every input
    .venv/bin/python benchmarks/input_limits.py --keep     # keep the inputs under .work/

Before the limits, the first input (50 MB of ``[1,1,...]``) took 2.5 minutes and 7.4 GB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.synth import Spec, generate, write  # noqa: E402
from labkit.model.pyyaml_reader import MAX_NODES  # noqa: E402

LABKIT = ROOT / ".venv" / "bin" / "labkit"
GNU_TIME = Path("/usr/bin/time")
MIB = 1024 * 1024


@dataclass(frozen=True)
class Result:
    name: str
    size: int
    code: int
    seconds: float
    peak_mb: float
    message: str


def flow_list(path: Path, size: int) -> Path:
    """``items: [1,1,...]`` of about ``size`` bytes: the issue's input."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write("kind: List\nitems: [")
        chunk = "1," * 100_000
        while handle.tell() + len(chunk) < size:
            handle.write(chunk)
        handle.write("1]\n")
    return path


def flow_list_of(path: Path, values: int) -> Path:
    """A flow list of ``values`` integers: as many values as the limit lets through."""
    path.write_text("kind: Pod\nitems: [" + "1," * (values - 1) + "1]\n", encoding="utf-8")
    return path


def cluster(path: Path, pods: int, policies: int) -> Path:
    write(generate(Spec(pods=pods, policies=policies, seed=1)), path)
    return path


def run(name: str, target: Path) -> Result:
    """``labkit validate -f target`` once: exit status, wall time, peak RSS (GNU time when
    installed; else ``wait4``, an upper bound that includes this process's size)."""
    size = (
        sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
        if target.is_dir()
        else (target.stat().st_size)
    )
    with tempfile.TemporaryDirectory() as tmp:
        rss = Path(tmp) / "rss"
        cmd = [str(LABKIT), "validate", "-f", str(target)]
        if GNU_TIME.exists():
            cmd = [str(GNU_TIME), "-f", "%M", "-o", str(rss), *cmd]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out, _ = proc.communicate()
        seconds = time.perf_counter() - start
        peak_kb = float(rss.read_text().split()[-1]) if rss.exists() else 0.0
    text = out.decode("utf-8", "replace").strip()
    first = next((line for line in text.splitlines() if line.strip()), "")
    return Result(name, size, proc.returncode, seconds, peak_kb / 1024, first[:110])


INPUTS: Sequence[tuple[str, Callable[[Path], Path]]] = (
    ("50 MB flow list (the issue's)", lambda d: flow_list(d / "huge.yaml", 50 * MIB)),
    ("9 MiB flow list (past the value limit)", lambda d: flow_list(d / "flow.yaml", 9 * MIB)),
    (
        f"flow list of {MAX_NODES - 10:,} values (just under)",
        lambda d: flow_list_of(d / "under.yaml", MAX_NODES - 10),
    ),
    ("generated cluster 5000 x 1000", lambda d: cluster(d / "5000x1000", 5000, 1000)),
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the inputs under .work/")
    args = parser.parse_args(argv)
    if not LABKIT.exists():
        print(f"{LABKIT} is missing: run `make install` first", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="labkit-limits-"))
    try:
        results = [run(name, build(work)) for name, build in INPUTS]
    finally:
        if args.keep:
            kept = ROOT / "benchmarks" / ".work" / "input-limits"
            shutil.rmtree(kept, ignore_errors=True)
            shutil.move(str(work), kept)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("| input | MiB | exit | s | peak MB | message |\n|---|---:|---:|---:|---:|---|")
    for r in results:
        print(
            f"| {r.name} | {r.size / MIB:.1f} | {r.code} | {r.seconds:.2f} | {r.peak_mb:.0f} "
            f"| {r.message.replace(str(os.sep + 'tmp'), '/tmp')} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
