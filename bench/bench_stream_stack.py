"""meshc's CPU time on a workload of the size Stream takes minutes for (issue 17).

Stream 2.1.1 takes 10, 86 and 210 CPU s for 1, 3 and 4 stacked transformer layers on its
2x2 TPU-like machine (/work/shared/notes/peers.md, measured on a 2-core box like this one).
This compiles a 4-layer decoder of 0.54 GMAC per layer (hidden 512, 8 heads, a gated MLP
1408 wide, 160 tokens: 4 x 160 x 512^2 + 2 x 160^2 x 512 + 3 x 160 x 512 x 1408 MACs) on
meshc's twin of that machine (tests/fidelity/stream_tpu_like_quad_core.yaml), with the
default CP-SAT mapper, in a child process, and prints its CPU seconds against Stream's.
Goal: <= 0.05x Stream's 210 s. Stream's own stacked workload is not rebuilt here: its
figure is the notes' measurement, and the shapes match its per-layer MACs, not its graph.

    .venv/bin/python bench/bench_stream_stack.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _child import meshc_child

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / "tests" / "fidelity" / "stream_tpu_like_quad_core.yaml"
STREAM_CPU_S = 210.0  # 4 layers (notes/peers.md)
SPEC = """name: stream-stack-4
architecture:
  hidden: 512
  layers: 4
  heads: 8
  head_dim: 64
  intermediate: 1408
  vocab: 1000
  activation: silu
  norm: rmsnorm
"""
SEQ = 160


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "stack.yaml"
        spec.write_text(SPEC, encoding="utf-8")
        out = Path(tmp) / "out"
        run = meshc_child(["compile", str(spec), "--hw", str(TWIN), "--phase", "prefill",
                           "--seq", str(SEQ), "-o", str(out)])
    if run.error:
        raise SystemExit(f"meshc compile failed ({run.error})")
    cpu, wall = run.cpu_s, run.wall_s
    print(f"4-layer stack (0.54 GMAC/layer) on the TPU-like twin, prefill seq {SEQ}, cpsat:")
    print(f"  meshc {cpu:.2f} CPU s ({wall:.2f} s wall, {run.peak_mb:.0f} MB); "
          f"Stream {STREAM_CPU_S:.0f} CPU s; ratio {cpu / STREAM_CPU_S:.3f} (goal <= 0.05)")


if __name__ == "__main__":
    main()
