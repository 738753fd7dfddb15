"""CPU time and peak memory of `meshc compile` on whole models, outputs included (a
benchmark, not a test).

Each case runs the CLI in its own process, writing every output into a temporary folder;
the figures are that process's CPU seconds (user + sys: the machine is shared, so wall time
is not comparable between runs) and its peak RSS.
Goals (issue 17): llama3-70b on mesh-16x16, both phases, and llama3-8b on mesh-8x8 at seq
32768, prefill only: each under 12 s and 1 GB. Earlier goals (issue 6): llama3-8b both
phases on mesh-8x8 under 10 s; llama3-70b on tpu-v6e-like under 60 s; `--row-blocks 4` cuts
prefill into 4 row blocks (split-rows).
Run: .venv/bin/python bench/bench_compile.py [--mapper heft|cpsat] [--only TEXT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from meshc.hardware import preset_names

CASES: list[tuple[str, str, tuple[str, ...]]] = [
    ("llama3-70b", "mesh-16x16", ()),
    ("llama3-8b", "mesh-8x8", ("--seq", "32768", "--phase", "prefill")),
    ("llama3-8b", "mesh-8x8", ()),
    ("llama3-70b", "tpu-v6e-like", ()),
    ("llama3-8b", "mesh-8x8", ("--row-blocks", "4")),
]


def run_case(model: str, hw: str, extra: tuple[str, ...], mapper: str) -> str:
    """One table row: CPU s, wall s, peak RSS and latencies, or why the compile failed."""
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryFile("w+") as err:
        cmd = [sys.executable, "-m", "meshc", "compile", model, "--hw", hw, "--mapper",
               mapper, *extra, "-o", out]
        t0 = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own CPU time and peak RSS
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        if child.returncode != 0:
            err.seek(0)
            last = (err.read().strip().splitlines() or [""])[-1]
            return f"exit {child.returncode}: {last[:160]}"
        phases = json.loads((Path(out) / "report.json").read_text())["phases"]
    ms = {name: f"{p['latency_s'] * 1e3:.3f}" for name, p in phases.items()}
    return (f"{usage.ru_utime + usage.ru_stime:8.2f} {wall:8.2f} {usage.ru_maxrss / 1024:9.0f} "
            f"{ms.get('prefill', '-'):>11s} {ms.get('decode', '-'):>10s}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mapper", default="cpsat", choices=["cpsat", "heft"])
    ap.add_argument("--only", default="", help="run the cases whose label contains this")
    args = ap.parse_args()
    print(f"{'case':52s} {'CPU s':>8s} {'wall s':>8s} {'peak MB':>9s} {'prefill ms':>11s} "
          f"{'decode ms':>10s}")
    for model, hw, extra in CASES:
        label = " ".join((model, hw, *extra))
        if args.only not in label:
            continue
        if hw not in preset_names():
            print(f"{label:52s} (no such preset: skipped)")
            continue
        print(f"{label:52s} {run_case(model, hw, extra, args.mapper)}", flush=True)


if __name__ == "__main__":
    main()
