"""`meshc compile --hw SYSTEM [--parallel ...]`: a model over a system's chips.

Writes the system's report.json, report.md and trace.json at the top of the output folder,
and each distinct chip module's own outputs (the backends asked for) under
`chips/<group>.s<stage>/`; timings.json holds the wall-clock times.
"""

from __future__ import annotations

from typing import Any

from meshc.driver import CompileOptions
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest
from meshc.parallel.driver import SystemCompile

TIMINGS = "timings.json"


def compile_on_system(req: ModelRequest, hw: str, parallel: str, objective: str,
                      opts: CompileOptions, emitters: list[tuple[str, Any]], out: str,
                      force: bool) -> None:
    from rich.console import Console

    from meshc.commands.outdir import output_dir
    from meshc.hardware import load_hardware
    from meshc.hardware.load import is_system
    from meshc.hardware.system import load_system, system_of_one
    from meshc.parallel.degrees import parse_parallel
    from meshc.parallel.driver import compile_system
    from meshc.parallel.search import search

    system = load_system(hw) if is_system(hw) else system_of_one(load_hardware(hw))
    console = Console(stderr=True)
    with output_dir(out, force=force) as dest:
        with console.status("compiling") as status:
            def say(msg: str) -> None:
                status.update(msg)

            if parallel.strip() == "auto":
                sc = search(req, system, objective, opts, say)
            else:
                sc = compile_system(req, system, parse_parallel(parallel), opts, say)
            artifacts = system_artifacts(sc, emitters)
        dest.write(artifacts)
    _summary(sc, out, artifacts)


def system_artifacts(sc: SystemCompile, emitters: list[tuple[str, Any]]) -> dict[str, str | bytes]:
    """The system's files and, under chips/<name>/, each chip module's."""
    from meshc.backends.base import json_text
    from meshc.backends.system_report import system_artifacts as system_files

    art: dict[str, str | bytes] = dict(system_files(sc.result, (n for n, _ in emitters)))
    for chip in sc.chips:
        for name, backend in emitters:
            for path, content in backend.emit(chip.result).items():
                full = f"chips/{chip.name}/{path}"
                if full in art:
                    raise MeshcError(f"backend '{name}' writes {full}, which another backend "
                                     "already wrote")
                art[full] = content
    art[TIMINGS] = json_text({"compile_s": round(sc.compile_time_s, 3),
                              "steps_s": dict(sc.timings_s),
                              "chips_s": {c.name: round(c.result.compile_time_s, 3)
                                          for c in sc.chips}})
    return art


def _summary(sc: SystemCompile, out: str, written: dict[str, str | bytes]) -> None:
    """The figures people look at first, in 80 columns."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from meshc.backends.report import fmt_pj, fmt_s

    r = sc.result
    par = ",".join(f"{k}={v}" for k, v in r.parallel.items())
    t = Table(title=f"{r.model} on {r.system} ({par}), batch {r.options['batch']}",
              box=box.SIMPLE_HEAD)
    for col in ("phase", "latency", "tokens/s", "/chip", "per token", "links", "bound by"):
        t.add_column(col, justify="right", no_wrap=True)
    for p in r.phases:
        links = p.energy_pj.get("links", 0.0) / max(sum(p.energy_pj.values()), 1e-30)
        t.add_row(p.name, fmt_s(p.latency_s), f"{p.tokens_per_s:,.0f}",
                  f"{p.tokens_per_s_per_chip:,.0f}", fmt_pj(p.pj_per_token), f"{links:.1%}",
                  p.bottleneck)
    console = Console()
    console.print(t)
    for note in r.notes:
        console.print(f"note: {note}", highlight=False)
    top = sorted({p.split("/", 1)[0] + ("/" if "/" in p else "") for p in written})
    console.print(f"wrote {out}/ ({', '.join(top)}) in "
                  f"{sc.compile_time_s:.1f} s")
