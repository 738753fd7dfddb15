"""Start-up cost of the command line: CPU seconds (user + sys of a fresh process, best of
N) of `meshc --help` and `meshc hw cost`, and which heavy libraries each one imports.
Goal (issue 17): both well under 0.3 s; `--help` imports none of the heavy libraries and
`hw cost` only those its cost model needs (pydantic, yaml, numpy).

    .venv/bin/python bench/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys

HEAVY = ("xdsl", "ortools", "numpy", "matplotlib", "onnx", "pydantic", "yaml", "networkx",
         "rich")
COMMANDS = {
    "meshc --help": ["--help"],
    "meshc hw cost": ["hw", "cost", "tpu-v6e-like", "--gemm", "1024,1024,1024"],
    "meshc limits": ["limits"],
}
# Runs the command in-process and prints the heavy top-level packages it imported.
_PROBE = """
import sys
from meshc.cli import main
try:
    main(sys.argv[1:], prog_name="meshc")
except SystemExit:
    pass
heavy = {heavy!r}
print(",".join(sorted(h for h in heavy if h in sys.modules)), file=sys.stderr)
"""


def cpu_seconds(argv: list[str]) -> float:
    """User + sys CPU seconds of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_imports(args: list[str]) -> str:
    probe = _PROBE.format(heavy=HEAVY)
    run = subprocess.run([sys.executable, "-c", probe, *args], check=True, text=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    interpreter = min(cpu_seconds([sys.executable, "-c", "pass"]) for _ in range(runs))
    print(f"{'python -c pass':16s} {interpreter:6.3f} s CPU (best of {runs})")
    for name, args in COMMANDS.items():
        best = min(cpu_seconds([sys.executable, "-m", "meshc", *args]) for _ in range(runs))
        print(f"{name:16s} {best:6.3f} s CPU (best of {runs})  imports: "
              f"{heavy_imports(args) or '-'}")



if __name__ == "__main__":
    main()
