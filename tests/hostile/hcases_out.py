"""The output folder: a user's files are never lost, replaced or mixed with meshc's."""

from __future__ import annotations

from hostile_case import EITHER, OK, USER_ERROR, Case, Dir, Link
from hostile_gen import SMALL, SMALL_FILES, compile_fast

USER = {**SMALL_FILES, "results/thesis.tex": "\\section{Results}\n", "results/data.csv": "a,b\n1,2\n"}


def cases() -> list[Case]:
    run = compile_fast(SMALL, "-o", "out")
    mine = {"out/notes.txt": "my notes\n"}
    return [
        Case("out-user-dir-refused", compile_fast(SMALL, "-o", "results"), USER_ERROR, USER, ("results",)),
        Case("out-user-dir-force-keeps-files", compile_fast(SMALL, "-o", "results", "--force"), OK, USER,
             out="results", keep=("thesis.tex", "data.csv"), produces=("results/report.md",)),
        Case("out-dot-refused", compile_fast(SMALL, "-o", "."), USER_ERROR,
             {**SMALL_FILES, "notes.txt": "x\n", "model.yaml": "name: x\n"}, (".",)),
        Case("out-existing-file", compile_fast(SMALL, "-o", "report.txt"), USER_ERROR,
             {**SMALL_FILES, "report.txt": "keep me\n"}, ("report.txt",)),
        Case("out-symlink-to-user-dir", compile_fast(SMALL, "-o", "link"), USER_ERROR,
             {**SMALL_FILES, "../secret/keep.txt": "secret\n", "link": Link("../secret")}, ("link|secret",)),
        Case("out-empty-string", compile_fast(SMALL, "-o", ""), USER_ERROR, SMALL_FILES, ("-o|--out",)),
        Case("out-backend-empty", compile_fast(SMALL, "--backend", "", "-o", "out"), USER_ERROR,
             SMALL_FILES, ("--backend",), before=(run,)),
        Case("out-failed-run-keeps-old", compile_fast(SMALL, "-o", "out", "--hw", "missing.yaml"),
             USER_ERROR, SMALL_FILES, ("missing.yaml",), before=(run,)),
        Case("out-rerun-replaces", run, OK, SMALL_FILES, out="out", before=(run,),
             produces=("out/report.md",)),
        Case("out-rerun-keeps-user-file", run, EITHER, SMALL_FILES, ("out",), out="out", keep=("notes.txt",),
             before=(run,), later_files=mine),
        Case("out-rerun-force-keeps-user-file", (*run, "--force"), OK, SMALL_FILES, out="out",
             keep=("notes.txt",),
             before=(run,), later_files=mine, produces=("out/report.md",)),
        Case("out-empty-existing-dir", run, OK, {**SMALL_FILES, "out": Dir()}, out="out",
             produces=("out/report.md",)),
        Case("out-nested-missing", compile_fast(SMALL, "-o", "a/b/c"), OK, SMALL_FILES, out="a",
             produces=("a/b/c/report.md",)),
        Case("out-import-over-dir", ("import", "gpt2", "-o", "results"), USER_ERROR, USER, ("results",)),
    ]
