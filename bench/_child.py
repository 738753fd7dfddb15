"""One `meshc` command in a process of its own, measured: what the benchmarks time.

    run = meshc_child(["compile", "gpt2", "--hw", "mesh-4x4", "-o", out])
    run.cpu_s, run.wall_s, run.peak_mb, run.error   # error: "" or the exit and last line
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class ChildRun:
    cpu_s: float  # user + sys of the child alone
    wall_s: float
    peak_mb: float  # its peak resident set
    error: str  # "" when it exited 0, else "exit N: <its last stderr line>"


def meshc_child(args: list[str]) -> ChildRun:
    """Runs `python -m meshc ARGS`, stdout discarded, and measures it."""
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "meshc", *args],
                                 stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own CPU time and peak RSS
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        error = ""
        if code != 0:
            err.seek(0)
            error = f"exit {code}: {(err.read().strip().splitlines() or [''])[-1][:160]}"
    return ChildRun(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, error)
