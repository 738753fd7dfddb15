"""Time to cost one million GEMM tiles (cycles + energy) on one core type. Goal: < 1 s.

    .venv/bin/python bench/bench_cost.py
"""

from __future__ import annotations

import time

import numpy as np

from meshc.hardware import load_hardware
from meshc.hardware.cost import gemm_cycles, gemm_energy_pj

N_TILES = 1_000_000


def main() -> None:
    rng = np.random.default_rng(0)
    m, k, n = (rng.integers(1, 1024, N_TILES) for _ in range(3))
    for preset, core in (("mesh-4x4", "mlp"), ("mesh-4x4", "attention"),
                         ("tpu-v6e-like", "mxu"), ("h100-like", "sm")):
        hw = load_hardware(preset)
        ct = hw.core_types[core]
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            cycles = gemm_cycles(m, k, n, ct, "bf16")
            energy = gemm_energy_pj(m, k, n, ct, "bf16", hw)
            best = min(best, time.perf_counter() - t)
        total_pj = sum(float(v.sum()) for v in energy.values())
        print(f"{preset:14s} {core:10s} {ct.dataflow:18s} {N_TILES:,} tiles: "
              f"{best:.3f} s (cycles + energy; {int(cycles.sum()):.3e} cycles, "
              f"{total_pj:.3e} pJ)  goal < 1 s")


if __name__ == "__main__":
    main()
