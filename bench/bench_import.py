"""Time to import, verify and print llama3-70b, both phases (a benchmark, not a test).

Goal (issue 2): under 2 s on the 2-core machine. Run: .venv/bin/python bench/bench_import.py
"""

from __future__ import annotations

import time

from meshc.frontends import ModelRequest, load_model
from meshc.frontends.transformer import Shape


def main() -> None:
    best: dict[str, float] = {}
    ops = 0
    for _ in range(3):
        t0 = time.perf_counter()
        module = load_model(ModelRequest("llama3-70b", ("prefill", "decode"), Shape(1, 2048, 2048)))
        t1 = time.perf_counter()
        module.verify()
        t2 = time.perf_counter()
        text = str(module)
        t3 = time.perf_counter()
        ops = sum(1 for _ in module.walk())
        for k, v in (("import", t1 - t0), ("verify", t2 - t1), ("print", t3 - t2), ("total", t3 - t0)):
            best[k] = min(best.get(k, v), v)
    print(f"llama3-70b prefill+decode: {ops} ops, {len(text) / 1e6:.1f} MB of IR text")
    for k, v in best.items():
        print(f"  {k:7s} {v:6.3f} s (best of 3)")


if __name__ == "__main__":
    main()
