"""CPU time and peak memory of `meshc compile` on whole models, outputs included (a
benchmark, not a test).

Each case runs the CLI in its own process, writing every output into a temporary folder;
the figures are that process's CPU seconds (user + sys: the machine is shared, so wall time
is not comparable between runs) and its peak RSS.
Goals (issue 17): llama3-70b on mesh-16x16, both phases, and llama3-8b on mesh-8x8 at seq
32768, prefill only: each under 12 s and 1 GB. Earlier goals (issue 6): llama3-8b both
phases on mesh-8x8 under 10 s; llama3-70b on tpu-v6e-like under 60 s; `--row-blocks 4` cuts
prefill into 4 row blocks (split-rows), whose goals are < 12 s on mesh-8x8 and < 30 s on
h100-like. `before` columns: the same case at BEFORE_COMMIT (CPU s vary by about 10% between
runs on the shared machine).
Run: .venv/bin/python bench/bench_compile.py [--mapper heft|cpsat] [--only TEXT]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _child import meshc_child

from meshc.hardware import preset_names

CASES: list[tuple[str, str, tuple[str, ...]]] = [
    ("llama3-70b", "mesh-16x16", ()),
    ("llama3-8b", "mesh-8x8", ("--seq", "32768", "--phase", "prefill")),
    ("llama3-8b", "mesh-8x8", ()),
    ("llama3-70b", "tpu-v6e-like", ()),
    ("llama3-8b", "mesh-8x8", ("--row-blocks", "4")),
    ("llama3-8b", "h100-like", ("--row-blocks", "4")),
]
# CPU s and peak MB per case (cpsat) before issue 17's second part: the simulator, list
# scheduling and repeated windows made cheaper, every output byte kept
BEFORE_COMMIT = "be0aee1"  # the figures below; 519f679 -> this change: see its commit message
BEFORE: dict[str, tuple[float, float]] = {
    "llama3-70b mesh-16x16": (16.91, 715),
    "llama3-8b mesh-8x8 --seq 32768 --phase prefill": (4.50, 263),
    "llama3-8b mesh-8x8": (7.07, 288),
    "llama3-8b mesh-8x8 --row-blocks 4": (20.29, 372),
    "llama3-8b h100-like --row-blocks 4": (30.51, 493),
}


def run_case(model: str, hw: str, extra: tuple[str, ...], mapper: str) -> str:
    """One table row: CPU s, wall s, peak RSS and latencies, or why the compile failed."""
    with tempfile.TemporaryDirectory() as out:
        run = meshc_child(["compile", model, "--hw", hw, "--mapper", mapper, *extra, "-o", out])
        if run.error:
            return run.error
        phases = json.loads((Path(out) / "report.json").read_text())["phases"]
    ms = {name: f"{p['latency_s'] * 1e3:.3f}" for name, p in phases.items()}
    cpu, wall, mb = run.cpu_s, run.wall_s, run.peak_mb
    was = BEFORE.get(" ".join((model, hw, *extra))) if mapper == "cpsat" else None
    before = f"{was[0]:8.2f} {was[1]:9.0f}" if was else f"{'-':>8s} {'-':>9s}"
    return (f"{cpu:8.2f} {wall:8.2f} {mb:9.0f} {before} {ms.get('prefill', '-'):>11s} "
            f"{ms.get('decode', '-'):>10s}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mapper", default="cpsat", choices=["cpsat", "heft"])
    ap.add_argument("--only", default="", help="run the cases whose label contains this")
    args = ap.parse_args()
    print(f"before: CPU s and peak MB at {BEFORE_COMMIT}")
    print(f"{'case':52s} {'CPU s':>8s} {'wall s':>8s} {'peak MB':>9s} {'before':>8s} "
          f"{'before MB':>9s} {'prefill ms':>11s} {'decode ms':>10s}")
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
