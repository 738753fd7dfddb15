"""`meshc compile`: model and machine in; schedule, trace, programs, plots and report out."""

from __future__ import annotations

import click

from meshc.commands.model import model_options, request
from meshc.errors import MeshcError
from meshc.result import CompileResult

DEFAULT_BACKENDS = "report,schedule,trace,program,plots"


@click.command("compile")
@model_options
@click.option("--hw", "hw", default="tpu-v6e-like", show_default=True,
              help="Hardware preset name or YAML file.")
@click.option("--pipeline", default="default", show_default=True,
              help="Named pipeline: default, quantized, disaggregated.")
@click.option("-p", "--passes", default="", help="Explicit pass list (overrides --pipeline).")
@click.option("--row-blocks", type=click.IntRange(min=1), default=1, show_default=True,
              help="Cut prefill into N row blocks that pipeline across the regions "
                   "(split-rows); 1: whole ops.")
@click.option("--mapper", type=click.Choice(["cpsat", "heft"]), default="cpsat",
              show_default=True)
@click.option("--budget", type=float, default=0.5, show_default=True,
              help="CP-SAT deterministic time budget.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--backend", "backends", default=DEFAULT_BACKENDS, show_default=True,
              help="Comma-separated backends to run.")
@click.option("-o", "--out", "out", default="out", show_default=True,
              type=click.Path(file_okay=False), help="Output directory.")
def compile_(model: str, phase: str, batch: int, seq: int, kv_len: int, dims: tuple[str, ...],
             hw: str, pipeline: str, passes: str, row_blocks: int, mapper: str, budget: float,
             seed: int, backends: str, out: str) -> None:
    """Compile MODEL for a machine and report simulated latency and energy."""
    from rich.console import Console

    from meshc.commands.files import write_tree
    from meshc.driver import CompileOptions, compile_model
    from meshc.registry import get_backend

    if passes and row_blocks > 1:
        raise MeshcError("--row-blocks applies to a named pipeline, not to -p",
                         hint="add split-rows{parts=N} before tile-grain in the pass list")
    console = Console(stderr=True)
    names = [b.strip() for b in backends.split(",") if b.strip()]
    emitters = [(n, get_backend(n)) for n in names]  # fail on a bad name before the work
    opts = CompileOptions(pipeline=pipeline, passes=passes, mapper=mapper, budget=budget,
                          seed=seed, row_blocks=row_blocks)
    with console.status("compiling") as status:
        result = compile_model(request(model, phase, batch, seq, kv_len, dims), hw, opts,
                               progress=lambda msg: status.update(msg))
        artifacts: dict[str, str | bytes] = {}
        for name, backend in emitters:
            status.update(f"backend {name}")
            for path, content in backend.emit(result).items():
                if path in artifacts:
                    raise MeshcError(f"backend '{name}' writes {path}, which another backend "
                                     "already wrote")
                artifacts[path] = content
    write_tree(out, artifacts)
    _summary(result, out)


def _summary(result: CompileResult, out: str) -> None:
    """A table that fits 80 columns: the figures people look at first."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from meshc.backends.report import fmt_pj, fmt_s

    t = Table(title=f"{result.model} on {result.hardware} "
                    f"({result.mesh[0]}x{result.mesh[1]} cores)", box=box.SIMPLE_HEAD)
    for col in ("phase", "latency", "tokens/s", "per token", "util", "idle", "mapper",
                "sim/LB"):
        t.add_column(col, justify="right")
    for p in result.phases:
        ratio = p.latency_s / p.lower_bound_s if p.lower_bound_s else float("nan")
        t.add_row(p.name, fmt_s(p.latency_s), f"{p.tokens_per_s:,.0f}", fmt_pj(p.pj_per_token),
                  f"{p.compute_utilization:.1%}", f"{p.idle_compute_fraction:.1%}",
                  p.mapper.status.lower(), f"{ratio:.2f}x")
    console = Console()
    console.print(t)
    ratio = result.decode_over_prefill_cost_per_token
    if ratio is not None:
        console.print(f"a decode token costs {ratio:.1f}x the energy of a prefill token")
    console.print(f"wrote {out}/ (report.md, report.json, ...) in {result.compile_time_s:.1f} s")
