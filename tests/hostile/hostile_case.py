"""A hostile-input case as data, how its files are laid out, and what its run must show.

A case's folder has `work/` (the cwd of the run) and whatever else the case puts beside
it (`secret/`, say). Every file of the folder is hashed before and after the run; only
the declared output folder may change.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hostile_harness import Run

USER_ERROR = "user-error"  # exit 2, one line on stderr naming the file/option and place
OK = "ok"  # exit 0
EITHER = "ok-or-user-error"  # exit 0, or exit 2 as a user error


@dataclass(frozen=True)
class Fifo:
    """A named pipe: opening it for reading blocks, so a run that opens it times out."""


@dataclass(frozen=True)
class Link:
    target: str  # may be absolute (a device), relative, or part of a loop


@dataclass(frozen=True)
class Dir:
    """An empty directory."""


# bytes/str are written as is; a callable gets the case's work folder and returns bytes.
Content = bytes | str | Fifo | Link | Dir | Callable[[Path], bytes]


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    expect: str
    files: Mapping[str, Content] = field(default_factory=dict)  # paths relative to work/
    mentions: tuple[str, ...] = ()  # user-error: the stderr line contains every one ("a|b": either)
    out: str | None = None  # output folder (relative to work/) that the run may change
    keep: tuple[str, ...] = ()  # files inside `out` that must survive unchanged
    produces: tuple[str, ...] = ()  # ok: files that must exist afterwards
    before: tuple[tuple[str, ...], ...] = ()  # meshc runs that must succeed first
    later_files: Mapping[str, Content] = field(default_factory=dict)  # written after `before`
    wall: float = 25.0


def materialize(files: Mapping[str, Content], work: Path) -> None:
    for rel, content in files.items():
        path = Path(os.path.normpath(work / rel))
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Fifo):
            os.mkfifo(path)
        elif isinstance(content, Link):
            os.symlink(content.target, path)
        elif isinstance(content, Dir):
            path.mkdir(exist_ok=True)
        elif isinstance(content, str):
            path.write_bytes(content.encode("utf-8"))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content(work))


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under `root` by relative path: type, mode and content hash. Never opens
    anything but regular files (a FIFO would block)."""
    found: dict[str, tuple[object, ...]] = {}

    def walk(d: Path) -> None:
        for entry in sorted(os.scandir(d), key=lambda e: e.name):
            rel = os.path.relpath(entry.path, root)
            st = entry.stat(follow_symlinks=False)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(entry.path))
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", mode)
                walk(Path(entry.path))
            elif stat.S_ISREG(st.st_mode):
                found[rel] = ("file", mode, hashlib.sha256(Path(entry.path).read_bytes()).hexdigest())
            else:
                found[rel] = ("special", stat.S_IFMT(st.st_mode), mode)

    walk(root)
    return found


def changed(before: Mapping[str, tuple[object, ...]], after: Mapping[str, tuple[object, ...]],
            case: Case) -> list[str]:
    """Paths that changed, appeared or vanished outside the case's output folder (and the
    files inside it the case says to keep)."""
    out = os.path.normpath(f"work/{case.out}") if case.out is not None else None
    kept = {os.path.normpath(f"work/{case.out}/{k}") for k in case.keep}

    def guarded(rel: str) -> bool:
        if rel in kept or out is None:
            return True
        return not (rel == out or rel.startswith(out + os.sep))

    paths = sorted(set(before) | set(after))
    return [p for p in paths if guarded(p) and before.get(p) != after.get(p)]


def problems(case: Case, run: Run) -> list[str]:
    """What is wrong with `run` as the result of `case`; empty when it passes."""
    found: list[str] = []
    if run.cap:
        return [f"hit the {run.cap}"]
    if "Traceback" in run.stderr or "Traceback" in run.stdout:
        found.append("printed a traceback")
    if run.code == 70:
        found.append("exit 70 (meshc bug) on hostile input")
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    expect = case.expect
    if expect == EITHER:
        expect = OK if run.code == 0 else USER_ERROR
    if expect == OK:
        if run.code != 0:
            found.append(f"expected exit 0, got {run.code}")
    elif expect == USER_ERROR:
        if run.code != 2:
            found.append(f"expected exit 2, got {run.code}")
        if len(lines) != 1:
            found.append(f"expected one line on stderr, got {len(lines)}")
        text = " ".join(lines)
        # "a|b": either spelling will do
        found += [f"stderr does not mention {m!r}" for m in case.mentions
                  if not any(alt in text for alt in m.split("|"))]
    else:
        raise ValueError(f"unknown expectation {case.expect!r}")
    return found


def run_case(case: Case, root: Path) -> tuple[Run, list[str]]:
    """Lays out the case under `root`, runs it and returns the run and what is wrong."""
    from hostile_harness import run_meshc

    work = root / "work"
    work.mkdir(parents=True)
    materialize(case.files, work)
    for argv in case.before:
        first = run_meshc(argv, work)
        if first.code != 0 or first.cap:
            return first, [f"setup run `meshc {' '.join(argv)}` failed: {first.describe()}"]
    materialize(case.later_files, work)
    hashes = snapshot(root)
    run = run_meshc(case.argv, work, wall=case.wall)
    found = problems(case, run)
    found += [f"touched {p} outside the output folder" for p in changed(hashes, snapshot(root), case)]
    if run.code == 0:
        found += [f"did not write {p}" for p in case.produces if not (work / p).exists()]
    return run, found
