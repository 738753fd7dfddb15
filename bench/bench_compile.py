"""Compile + simulate time and peak memory of whole models (a benchmark, not a test).

Goals (issue 6): llama3-8b both phases (seq 2048) on an 8x8 mesh under 10 s; llama3-70b on
tpu-v6e-like and on a 16x16 mesh under 60 s; peak memory under 2 GB.
The last case cuts prefill into 4 row blocks (split-rows, `--row-blocks 4`).
Run: .venv/bin/python bench/bench_compile.py [--mapper heft|cpsat]
"""

from __future__ import annotations

import argparse
import resource
import time

from meshc.driver import CompileOptions, compile_model
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest
from meshc.frontends.transformer import Shape
from meshc.hardware import preset_names

CASES = [("llama3-8b", "mesh-8x8", 1), ("llama3-70b", "tpu-v6e-like", 1),
         ("llama3-70b", "mesh-16x16", 1), ("llama3-8b", "mesh-8x8", 4)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mapper", default="cpsat", choices=["cpsat", "heft"])
    args = ap.parse_args()
    print(f"{'model':12s} {'hardware':14s} {'blocks':>6s} {'compile+sim s':>14s} "
          f"{'peak RSS MB':>12s} {'prefill ms':>11s} {'decode ms':>10s}")
    for model, hw, blocks in CASES:
        if hw not in preset_names():
            print(f"{model:12s} {hw:14s} (no such preset: skipped)")
            continue
        t0 = time.perf_counter()
        try:
            r = compile_model(ModelRequest(model, ("prefill", "decode"), Shape(1, 2048, 2048)),
                              hw, CompileOptions(mapper=args.mapper, row_blocks=blocks))
        except MeshcError as e:  # e.g. a 70B model does not fit one chip's HBM
            print(f"{model:12s} {hw:14s} does not fit ({time.perf_counter() - t0:.2f} s): {e}")
            continue
        dt = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{model:12s} {hw:14s} {blocks:6d} {dt:14.2f} {rss:12.0f} "
              f"{r.phase('prefill').latency_s * 1e3:11.3f} {r.phase('decode').latency_s * 1e3:10.3f}")


if __name__ == "__main__":
    main()
