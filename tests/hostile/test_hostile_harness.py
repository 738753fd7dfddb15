"""The harness itself: exit codes, captured output, and caps reported as caps, never as passes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hostile_case import OK, USER_ERROR, Case, Fifo, changed, materialize, problems, snapshot
from hostile_harness import run_in_child, run_meshc


def test_exit_code_output_and_cwd(tmp_path: Path) -> None:
    def fn() -> int:
        print(os.getcwd())
        print("to stderr", file=sys.stderr)
        return 3 if sys.stdin.read() == "" else 4

    run = run_in_child(fn, tmp_path)
    assert (run.code, run.stdout.strip(), run.stderr.strip()) == (3, str(tmp_path), "to stderr")
    assert run.cap is None


def test_system_exit_and_exception(tmp_path: Path) -> None:
    assert run_in_child(lambda: sys.exit(2), tmp_path).code == 2
    run = run_in_child(lambda: 1 // 0, tmp_path)
    assert run.code == 1
    assert "Traceback" in run.stderr and "ZeroDivisionError" in run.stderr


def test_memory_cap_is_reported_not_passed(tmp_path: Path) -> None:
    def hog() -> int:
        block = bytearray(5 << 30)  # more than the 3 GB address-space cap
        return len(block) and 0

    run = run_in_child(hog, tmp_path)
    assert run.cap == "memory cap"
    assert problems(Case("m", (), OK), run) == ["hit the memory cap"]


def test_cpu_cap_is_reported(tmp_path: Path) -> None:
    def spin() -> int:
        while True:
            pass

    run = run_in_child(spin, tmp_path, cpu=1, wall=20)
    assert run.cap == "CPU-time cap"
    assert run.cpu_s >= 0.9


def test_blocking_open_hits_the_wall_clock(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    run = run_in_child(lambda: len((tmp_path / "pipe").read_bytes()), tmp_path, wall=0.5)
    assert run.timed_out and run.cap == "wall-clock timeout"
    assert problems(Case("f", (), USER_ERROR), run) == ["hit the wall-clock timeout"]


def test_meshc_runs_in_the_child(tmp_path: Path) -> None:
    run = run_meshc(["--version"], tmp_path)
    assert run.code == 0 and "meshc" in run.stdout and run.stderr == ""


def test_user_error_checks() -> None:
    from hostile_harness import Run

    def run(code: int, err: str) -> Run:
        return Run(code, "", err, 0.0, 0, False)

    case = Case("c", (), USER_ERROR, mentions=("bad.yaml", "mesh.rows"))
    assert problems(case, run(2, "meshc: error: bad.yaml: mesh.rows: must be positive\n")) == []
    assert "expected one line on stderr, got 2" in problems(case, run(2, "bad.yaml\nmesh.rows\n"))
    assert problems(case, run(2, "meshc: error: bad.yaml: wrong\n")) == [
        "stderr does not mention 'mesh.rows'"]
    assert "exit 70 (meshc bug) on hostile input" in problems(case, run(70, "bad.yaml mesh.rows"))
    assert "printed a traceback" in problems(Case("o", (), OK), run(0, "Traceback (most recent"))


def test_snapshot_guards_everything_but_the_output_folder(tmp_path: Path) -> None:
    work = tmp_path / "work"
    materialize({"a.txt": "a", "out/report.md": "old", "out/notes.txt": "mine",
                 "../secret/pipe": Fifo()}, work)
    case = Case("s", (), OK, out="out", keep=("notes.txt",))
    before = snapshot(tmp_path)  # must not block on the FIFO
    (work / "out" / "report.md").write_text("new")
    assert changed(before, snapshot(tmp_path), case) == []
    (work / "out" / "notes.txt").unlink()
    (work / "a.txt").write_text("b")
    assert changed(before, snapshot(tmp_path), case) == ["work/a.txt", "work/out/notes.txt"]
