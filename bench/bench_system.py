"""CPU time and peak memory of system compiles, `meshc compile --hw SYSTEM --parallel ...`
(a benchmark, not a test).

Each case runs the CLI in its own process, writing every output (report, schedule, trace,
programs and plots of each distinct chip module) into a temporary folder; the figures are
that process's CPU seconds (user + sys: the machine is shared, so wall time is not
comparable between runs) and its peak RSS, then each phase's latency and tokens/s from the
report and how many chip modules were mapped (identical stages are mapped once).
Goal (issue 16): llama3-70b on tpu-v6e-256 with tp=8, pp=32, mb=32, batch 32, both phases,
under 60 s on 2 cores. The groq case is `--parallel auto`: every layout that fits is
compiled with HEFT, then the winner again with --mapper.
Run: .venv/bin/python bench/bench_system.py [--mapper heft|cpsat] [--only TEXT]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _child import meshc_child

from meshc.parallel.degrees import KEYS

GOAL_S = 60.0  # llama3-70b on tpu-v6e-256, the figure (CPU s)

CASES: list[tuple[str, str, tuple[str, ...]]] = [
    ("llama3-70b", "tpu-v6e-256", ("--parallel", "tp=8,pp=32,mb=32", "--batch", "32")),
    ("llama3-70b", "groq-like-576", ("--parallel", "auto", "--pipeline", "quantized",
                                     "--phase", "decode")),
    ("deepseek-v3", "tpu-v6e-256", ("--parallel", "tp=8,ep=32", "--batch", "32")),
    ("deepseek-v3", "tpu-v6e-256", ("--parallel", "tp=4,ep=16,pp=4,mb=4", "--batch", "64")),
]


def run_case(model: str, hw: str, extra: tuple[str, ...], mapper: str) -> str:
    """One table row: CPU s, wall s, peak RSS, chip modules, per phase latency and
    tokens/s, or why the compile failed."""
    with tempfile.TemporaryDirectory() as out:
        run = meshc_child(["compile", model, "--hw", hw, "--mapper", mapper, *extra, "-o", out])
        if run.error:
            return run.error
        report = json.loads((Path(out) / "report.json").read_text())
        modules = sum(1 for _ in (Path(out) / "chips").iterdir())
    cpu, wall, mb = run.cpu_s, run.wall_s, run.peak_mb
    degrees = report["parallel"]
    par = ",".join(f"{k}={degrees[k]}" for k in KEYS if degrees.get(k, 1) != 1) or "tp=1"
    phases = "; ".join(f"{name} {p['latency_s'] * 1e3:.3f} ms {p['tokens_per_s']:,.0f} tok/s"
                       for name in ("prefill", "decode")
                       if (p := report["phases"].get(name)) is not None)
    return f"{cpu:8.2f} {wall:8.2f} {mb:9.0f} {modules:8d}  {par}: {phases}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mapper", default="cpsat", choices=["cpsat", "heft"])
    ap.add_argument("--only", default="", help="run the cases whose label contains this")
    args = ap.parse_args()
    print(f"goal: the first case under {GOAL_S:.0f} CPU s; mapper {args.mapper}")
    print(f"{'case':72s} {'CPU s':>8s} {'wall s':>8s} {'peak MB':>9s} {'modules':>8s}  "
          "degrees: per phase latency, tokens/s")
    for model, hw, extra in CASES:
        label = " ".join((model, hw, *extra))
        if args.only not in label:
            continue
        print(f"{label:72s} {run_case(model, hw, extra, args.mapper)}", flush=True)


if __name__ == "__main__":
    main()
