"""The sweep engine's figures (a benchmark, not a test).

A 48-point sweep of llama3-8b on tpu-v6e-like (batch x pipeline x kv_len): CPU seconds per
point, wall with 1 and 2 jobs (goal, issue 14: 2 jobs >= 1.7x faster), a cached rerun
(goal: < 3 s for all 48) and the Ray engine's overhead against the pool. Every run's table
must be the same (checked). Outputs (plots, report) are built but not written.
Run: .venv/bin/python bench/bench_sweep.py [--mapper heft|cpsat] [--no-ray]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from meshc.studies.cache import Cache
from meshc.studies.grid import parse_grid
from meshc.studies.outputs import artifacts
from meshc.studies.sweep import Results, Sweep, execute

GRID = ["batch=1,4,16,64", "pipeline=default,quantized,disaggregated",
        "kv_len=512,2048,4096,8192"]


def timed(sweep: Sweep, cache: Cache, jobs: int, engine: str = "local"
          ) -> tuple[float, Results, dict[str, str | bytes]]:
    """Wall seconds of the points (outputs excluded: `plots_s` prints their cost once)."""
    start = time.perf_counter()
    res = execute(sweep, cache, jobs, engine)
    wall = time.perf_counter() - start
    return wall, res, artifacts(res.table, sweep)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mapper", default="heft", choices=["cpsat", "heft"])
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    sweep = Sweep(("llama3-8b",), ("tpu-v6e-like",), parse_grid(GRID),
                  {"mapper": args.mapper})
    n = len(sweep.full_grid().points())
    with tempfile.TemporaryDirectory() as tmp:
        cache = Cache(Path(tmp))
        wall1, res1, files1 = timed(sweep, cache, 1)
        ok = len(res1.table.ok_rows())
        print(f"{n} points ({ok} compiled, {n - ok} refused: do not fit), mapper {args.mapper}")
        print(f"CPU per point (compile + simulate, or refusal): {res1.cpu_s / max(res1.computed, 1):.2f} s")
        print(f"1 job:         {wall1:7.1f} s wall")
        start = time.perf_counter()
        artifacts(res1.table, sweep)
        print(f"outputs (csv, json, report, plots): {time.perf_counter() - start:.1f} s")
        wall2, _, files2 = timed(sweep, Cache(None), 2)
        print(f"2 jobs:        {wall2:7.1f} s wall ({wall1 / wall2:.2f}x; goal >= 1.7x)")
        wallc, resc, filesc = timed(sweep, cache, 2)
        print(f"cached rerun:  {wallc:7.1f} s wall ({resc.computed} compiled; goal < 3 s)")
        same = files1 == files2 == filesc
        if not args.no_ray:
            wallr, _, filesr = timed(sweep, Cache(None), 2, "ray")
            print(f"ray, 2 CPUs:   {wallr:7.1f} s wall (overhead against the pool: "
                  f"{wallr - wall2:+.1f} s)")
            same = same and filesr == files1
    print(f"outputs byte-identical across runs: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":  # the pool's workers import this module: run only as a script
    main()
