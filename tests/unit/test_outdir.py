"""The output folder: never delete or overwrite what meshc did not write; crash-safe writes
(faults injected in a forked child: SIGKILL between two renames, SIGINT mid-write)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from meshc.commands import outdir
from meshc.commands.outdir import MARKER, output_dir
from meshc.errors import MeshcError

OLD = {"report.md": "old report\n", "plots/a.png": b"old-a", "gone.txt": "stale\n"}
NEW = {"report.md": "new report\n", "plots/a.png": b"new-a", "plots/b.png": b"new-b",
       "programs/decode/core_0_0.txt": "prog\n"}


def _write(path: Path, artifacts: dict[str, str | bytes], force: bool = False) -> None:
    with output_dir(str(path), force=force) as dest:
        dest.write(artifacts)


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


def _marker(path: Path) -> dict[str, object]:
    return json.loads((path / MARKER).read_text())


def test_new_folder_is_written_with_a_marker_and_normal_permissions(tmp_path: Path) -> None:
    out = tmp_path / "a" / "out"
    _write(out, NEW)
    assert _tree(out) == {**{k: v.encode() if isinstance(v, str) else v for k, v in NEW.items()},
                          MARKER: (out / MARKER).read_bytes()}
    assert _marker(out)["state"] == "complete"
    assert _marker(out)["files"] == sorted(NEW)
    umask = os.umask(0)
    os.umask(umask)
    assert (out.stat().st_mode & 0o777) == 0o777 & ~umask  # not mkdtemp's 0700


def test_a_folder_of_user_files_is_refused_and_untouched(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"precious")
    before = _tree(tmp_path)
    with pytest.raises(MeshcError, match=r"files meshc did not write \(model.onnx\).*--force"):
        _write(tmp_path, NEW)
    assert _tree(tmp_path) == before


def test_force_writes_beside_user_files_and_keeps_them(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"precious")
    _write(tmp_path, NEW, force=True)
    assert (tmp_path / "model.onnx").read_bytes() == b"precious"
    assert (tmp_path / "report.md").read_text() == "new report\n"
    assert "model.onnx" not in _marker(tmp_path)["files"]  # never claimed as meshc's


def test_rerun_replaces_meshc_files_removes_stale_ones_and_keeps_user_files(
        tmp_path: Path) -> None:
    _write(tmp_path, OLD)
    (tmp_path / "notes.txt").write_text("mine")
    _write(tmp_path, NEW)
    tree = _tree(tmp_path)
    assert "gone.txt" not in tree and tree["notes.txt"] == b"mine"
    assert tree["report.md"] == b"new report\n" and tree["plots/b.png"] == b"new-b"


def test_a_user_file_with_an_output_name_is_not_overwritten(tmp_path: Path) -> None:
    _write(tmp_path, {"report.md": "r"})
    (tmp_path / "trace.json").write_text("the user's own")
    with pytest.raises(MeshcError, match=r"would overwrite trace\.json"):
        _write(tmp_path, {"report.md": "r", "trace.json": "{}"})
    assert (tmp_path / "trace.json").read_text() == "the user's own"


def test_a_tampered_marker_cannot_delete_outside_the_folder(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "out"
    out.mkdir()
    (out / MARKER).write_text(json.dumps({"files": ["../victim.txt", str(victim), "ok.txt"]}))
    _write(out, {"report.md": "r"})
    assert victim.read_text() == "keep"


def test_a_link_out_of_the_folder_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    _write(out, {"report.md": "r"})
    (out / "plots").symlink_to(elsewhere)
    with pytest.raises(MeshcError, match="plots is a link"):
        _write(out, {"report.md": "r", "plots/a.png": b"x"})
    assert list(elsewhere.iterdir()) == []


def test_an_existing_file_is_not_an_output_folder(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_text("data")
    with pytest.raises(MeshcError, match="exists and is not a folder"):
        _write(f, NEW)
    assert f.read_text() == "data"


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path: Path) -> None:
    with output_dir(str(tmp_path / "o")) as first:
        with pytest.raises(MeshcError, match="another meshc is writing"):
            _write(tmp_path / "o", NEW)
        first.write(NEW)
    assert (tmp_path / "o" / "report.md").read_text() == "new report\n"


def test_a_failed_compile_leaves_no_folder_it_created(tmp_path: Path) -> None:
    with pytest.raises(MeshcError), output_dir(str(tmp_path / "o")):
        raise MeshcError("the compile failed")
    assert not (tmp_path / "o").exists()


def _in_child(fn: object) -> int:
    """Runs `fn` in a forked child; returns how it ended (exit code, or -signal)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            fn()  # type: ignore[operator]
            os._exit(0)
        except KeyboardInterrupt:
            os._exit(130)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_kill_between_renames_leaves_whole_files_and_a_marker_that_claims_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, OLD)
    (tmp_path / "mine.txt").write_text("mine")
    real_replace, calls = os.replace, []

    def replace_then_die(src: object, dst: object) -> None:
        real_replace(src, dst)  # type: ignore[arg-type]
        calls.append(dst)
        if len(calls) == 3:  # the "writing" marker, then two of the four files
            os.kill(os.getpid(), signal.SIGKILL)

    def child() -> None:
        monkeypatch.setattr(outdir.os, "replace", replace_then_die)
        _write(tmp_path, NEW)

    assert _in_child(child) == -signal.SIGKILL
    tree = _tree(tmp_path)
    for rel, content in tree.items():  # every file is whole: the old or the new version
        old, new = OLD.get(rel), NEW.get(rel)
        if rel.startswith(".meshc-staging-") or rel in (MARKER, "mine.txt"):
            continue
        assert content in {v.encode() if isinstance(v, str) else v
                           for v in (old, new) if v is not None}, rel
    assert _marker(tmp_path)["state"] == "writing"
    assert set(_marker(tmp_path)["files"]) == set(OLD) | set(NEW)  # type: ignore[arg-type]
    _write(tmp_path, NEW)  # the next run finishes the job and clears the staging left behind
    tree = _tree(tmp_path)
    assert set(tree) == set(NEW) | {MARKER, "mine.txt"}
    assert not any(p.name.startswith(".meshc-staging-") for p in tmp_path.iterdir())


def test_sigint_mid_write_leaves_no_staging_and_the_user_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "out").mkdir()
    _write(tmp_path / "out", OLD)
    real_write = Path.write_bytes

    def write_then_interrupt(self: Path, data: bytes) -> int:
        n = real_write(self, data)
        os.kill(os.getpid(), signal.SIGINT)  # Python raises KeyboardInterrupt here
        return n

    def child() -> None:
        monkeypatch.setattr(Path, "write_bytes", write_then_interrupt)
        _write(tmp_path / "out", NEW)

    assert _in_child(child) == 130
    out = tmp_path / "out"
    assert not any(p.name.startswith(".meshc-staging-") for p in out.iterdir())
    assert (out / "report.md").read_text() in ("old report\n", "new report\n")
    assert not any(p.name.startswith(".") and p.name != MARKER for p in tmp_path.iterdir())
