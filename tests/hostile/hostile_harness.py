"""Runs `meshc` on one hostile input in a forked child, under CPU, memory and wall caps.

The pytest process has imported meshc already, so a forked child runs a case in
milliseconds instead of the second a fresh interpreter costs. The child gets the case's
folder as cwd, /dev/null as stdin and temp files as stdout/stderr; it behaves like the
`meshc` console script (an escaping exception prints a traceback and exits 1).
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import select
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

MEM_CAP = 3 << 30  # bytes of address space
CPU_CAP = 20  # seconds
WALL_CAP = 25.0  # seconds; a run that blocks (on a FIFO, say) uses no CPU


@dataclass(frozen=True)
class Run:
    code: int  # exit code; -N when killed by signal N
    stdout: str
    stderr: str
    cpu_s: float
    peak_rss: int  # bytes
    timed_out: bool

    @property
    def cap(self) -> str | None:
        """Which cap the run hit, if any: a hit cap is never a pass."""
        if self.timed_out:
            return "wall-clock timeout"
        if self.code in (-signal.SIGXCPU, -signal.SIGKILL):
            return "CPU-time cap"
        if "MemoryError" in self.stderr or "Cannot allocate memory" in self.stderr:
            return "memory cap"
        if self.code < 0:
            return f"killed by signal {-self.code}"
        return None

    def describe(self) -> str:
        lines = [ln for ln in self.stderr.splitlines() if ln.strip()]
        shown = lines[:1] + lines[-1:] if len(lines) > 1 else lines
        return (f"exit {self.code} ({self.cap or 'no cap hit'}), {self.cpu_s:.2f} s CPU; "
                f"stderr: {' ... '.join(ln[:300] for ln in shown)!r}")


def run_in_child(fn: Callable[[], int | None], cwd: Path, *, mem: int = MEM_CAP,
                 cpu: int = CPU_CAP, wall: float = WALL_CAP) -> Run:
    """Runs `fn` in a forked child with the caps; its return value is the exit code."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            _child(fn, cwd, out.fileno(), err.fileno(), mem, cpu)
        status, usage, timed_out = _wait(pid, wall)
        out.seek(0)
        err.seek(0)
        return Run(
            code=os.waitstatus_to_exitcode(status),
            stdout=out.read().decode("utf-8", "backslashreplace"),
            stderr=err.read().decode("utf-8", "backslashreplace"),
            cpu_s=usage.ru_utime + usage.ru_stime,
            peak_rss=usage.ru_maxrss * 1024,
            timed_out=timed_out,
        )


def run_meshc(argv: Sequence[str], cwd: Path, *, wall: float = WALL_CAP) -> Run:
    """`meshc ARGV` as the console script would run it, in `cwd`."""

    def main() -> int:
        from meshc.cli import main as cli

        with contextlib.suppress(ImportError, AttributeError):
            from meshc import limits

            limits.reset()  # the parent (another test) may have raised a limit
        cli.main(args=list(argv), prog_name="meshc", standalone_mode=True)
        return 0

    return run_in_child(main, cwd, wall=wall)


def _child(fn: Callable[[], int | None], cwd: Path, out: int, err: int, mem: int,
           cpu: int) -> None:  # pragma: no cover - runs in the child only
    code = 1
    try:
        os.dup2(out, 1)
        os.dup2(err, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        # pytest replaced sys.stdout/err with its capture objects: point them at fds 1 and 2
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                      errors="backslashreplace", write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                      errors="backslashreplace", write_through=True)
        for key in [k for k in os.environ if k.startswith("MESHC_")]:
            del os.environ[key]
        os.environ.update(COLUMNS="100", TERM="dumb")
        os.chdir(cwd)
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
        result = fn()
        code = 0 if result is None else result
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:  # sys.exit("message"), as Python does it
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:
        # What the interpreter does with an uncaught exception: a traceback and exit 1.
        with contextlib.suppress(BaseException):
            traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code & 0xFF)


def _wait(pid: int, wall: float) -> tuple[int, resource.struct_rusage, bool]:
    """Waits for the child at most `wall` seconds, then kills it."""
    timed_out = False
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = -1
    if fd >= 0:
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            if not poller.poll(wall * 1000):
                timed_out = True
                os.kill(pid, signal.SIGKILL)
        finally:
            os.close(fd)
    else:  # no pidfd: poll the child's status
        deadline = time.monotonic() + wall
        while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if time.monotonic() > deadline:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.005)
    _, status, usage = os.wait4(pid, 0)
    return status, usage, timed_out
