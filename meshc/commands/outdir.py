"""The output folder of `meshc compile -o DIR`: meshc never deletes or overwrites a file it
did not write.

A folder meshc writes holds a marker, `.meshc-output` (JSON), listing the files meshc put
there. The rules:
- a missing or empty folder is meshc's to write;
- a folder with a marker is a previous output: meshc replaces the files the marker lists
  and removes those it no longer writes; every other file stays;
- any other non-empty folder is refused unless `force`, and then meshc writes its files
  beside the user's (overwriting only files of the same names) and keeps everything else.

Writes are crash-safe: files are staged in `DIR/.meshc-staging-PID/` and moved into place
one `os.replace` at a time (each file is whole, old or new, at every moment); the marker
is written first as `writing` (so a killed run still marks every file it may have put
there) and last as `complete`. A lock on the folder (flock) keeps two meshc runs from
writing into one folder at once: the second is refused up front.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from meshc.errors import MeshcError

MARKER = ".meshc-output"
STAGING_PREFIX = ".meshc-staging-"


@dataclass
class OutputDir:
    """A locked output folder, checked before any work is done."""

    path: Path
    fd: int
    previous: frozenset[str]  # files the marker listed (a previous meshc output)
    foreign_ok: bool  # force: the folder holds files meshc did not write
    created: bool

    def write(self, artifacts: Mapping[str, str | bytes]) -> None:
        """Writes `artifacts` (relative path -> content) and the marker."""
        new = {_safe_rel(rel) for rel in artifacts}
        clash = sorted(rel for rel in new - self.previous
                       if os.path.lexists(self.path / rel) and not self.foreign_ok)
        if clash:
            raise MeshcError(f"would overwrite {clash[0]}, which meshc did not write",
                             file=str(self.path), hint="use --force to overwrite it, or "
                             "another -o folder")
        for rel in new:
            _check_inside(self.path, rel)
        staging = self.path / f"{STAGING_PREFIX}{os.getpid()}"
        try:
            _write_marker(self.path, "writing", self.previous | new)
            shutil.rmtree(staging, ignore_errors=True)
            for rel, content in sorted(artifacts.items()):
                p = staging / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, bytes):
                    p.write_bytes(content)
                else:
                    p.write_text(content, encoding="utf-8")
            for rel in sorted(new):
                (self.path / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / rel, self.path / rel)
            for rel in sorted(self.previous - new):
                _remove(self.path, rel)
            _write_marker(self.path, "complete", new)
        except OSError as e:
            raise MeshcError(f"cannot write outputs: {e.strerror or e}",
                             file=str(self.path)) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def output_dir(directory: str, force: bool = False) -> Iterator[OutputDir]:
    """Checks and locks the output folder before the work; on failure, a folder this call
    created and left empty is removed again."""
    path = Path(directory)
    if os.path.lexists(path) and not path.is_dir():
        raise MeshcError("exists and is not a folder", file=directory,
                         hint="name a folder for the outputs with -o")
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise MeshcError(f"cannot create the output folder: {e.strerror or e}",
                         file=directory) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise MeshcError("another meshc is writing into this folder", file=directory,
                                 hint="wait for it, or use another -o folder") from None
            raise
        previous = _read_marker(path)
        foreign = sorted(n for n in os.listdir(path)
                         if n != MARKER and not n.startswith(STAGING_PREFIX))
        if previous is None and foreign and not force:
            raise MeshcError(
                f"the folder holds files meshc did not write ({_some(foreign)})",
                file=directory, hint="use an empty or new -o folder, or --force to write "
                "meshc's files beside them (nothing else is touched)")
        for name in os.listdir(path):  # staging left by a killed run
            if name.startswith(STAGING_PREFIX):
                shutil.rmtree(path / name, ignore_errors=True)
        yield OutputDir(path, fd, frozenset(previous or ()), force, created)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                path.rmdir()  # only if still empty
        raise
    finally:
        os.close(fd)


def _read_marker(path: Path) -> frozenset[str] | None:
    """The files a previous meshc output lists; None when the folder has no marker. A
    damaged marker still marks the folder as meshc's, but lists nothing to remove."""
    m = path / MARKER
    if not m.is_file() or m.is_symlink():
        return None
    try:
        data = json.loads(m.read_text(encoding="utf-8"))
        files = data.get("files", []) if isinstance(data, dict) else []
        return frozenset(f for f in files if isinstance(f, str) and _is_safe_rel(f))
    except (OSError, UnicodeDecodeError, ValueError):
        return frozenset()


def _write_marker(path: Path, state: str, files: frozenset[str] | set[str]) -> None:
    from importlib.metadata import version

    text = json.dumps({"written_by": "meshc", "version": version("meshc"), "state": state,
                       "files": sorted(files)}, indent=1) + "\n"
    tmp = path / f"{MARKER}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path / MARKER)


def _is_safe_rel(rel: str) -> bool:
    p = Path(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and p.parts[0] != MARKER


def _safe_rel(rel: str) -> str:
    if not _is_safe_rel(rel):
        raise MeshcError(f"a backend asked to write '{rel}', outside the output folder")
    return rel


def _check_inside(root: Path, rel: str) -> None:
    """No folder on the way to an output may be a link out of the output folder."""
    p = root
    for part in Path(rel).parts[:-1]:
        p = p / part
        if p.is_symlink() or (p.exists() and not p.is_dir()):
            raise MeshcError(f"{p.relative_to(root)} is a link or a file, not a folder",
                             file=str(root), hint="remove it or use another -o folder")


def _remove(root: Path, rel: str) -> None:
    """Removes a file meshc wrote before and no longer writes, and folders it empties."""
    p = root / rel
    with contextlib.suppress(FileNotFoundError):
        if p.is_symlink() or p.is_file():
            p.unlink()
    for parent in p.parents:
        if parent == root or root not in parent.parents:
            break
        try:
            parent.rmdir()
        except OSError:
            break


def _some(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
