"""`meshc compile`: model and machine in; schedule, trace, programs, plots and report out."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click

from meshc.commands.model import model_options, request
from meshc.commands.quality import train_tokens_option
from meshc.errors import MeshcError
from meshc.result import CompileResult

DEFAULT_BACKENDS = "report,schedule,trace,program,plots"
TIMINGS = "timings.json"


@click.command("compile")
@model_options
@click.option("--hw", "hw", default="tpu-v6e-like", show_default=True,
              help="Hardware: a chip or a system of chips (preset name or YAML file).")
@click.option("--parallel", "parallel", default="", metavar="tp=N,pp=N,...|auto",
              help="Spread the model over a system's chips: tp, pp, ep, dp, mb (micro-"
                   "batches), mlp_tp; `auto` tries the degrees that fit (docs/systems.md).")
@click.option("--objective", type=click.Choice(["latency", "energy", "throughput"]),
              default="latency", show_default=True,
              help="What --parallel auto keeps: lowest decode latency, pJ/token, or most "
                   "tokens/s per chip.")
@click.option("--pipeline", default="default", show_default=True,
              help="Named pipeline: default, quantized, disaggregated.")
@click.option("-p", "--passes", default="", help="Explicit pass list (instead of --pipeline).")
@click.option("--pass-after", "pass_after", multiple=True, metavar="STEP=PASS",
              help="Add a pass (a plug-in's) to the named pipeline after its step STEP, "
                   "e.g. 'tile-grain=my-pass{k=v}'.")
@click.option("--pass-before", "pass_before", multiple=True, metavar="STEP=PASS",
              help="Add a pass to the named pipeline before its step STEP.")
@click.option("--row-blocks", type=click.IntRange(min=1), default=1, show_default=True,
              help="Cut prefill into N row blocks that pipeline across the regions "
                   "(split-rows); 1: whole ops.")
@click.option("--mapper", type=click.Choice(["cpsat", "heft"]), default="cpsat",
              show_default=True)
@click.option("--budget", type=float, default=0.5, show_default=True,
              help="CP-SAT deterministic time budget (a finite number > 0).")
@click.option("--seed", type=click.IntRange(min=0, max=2**31 - 1), default=0, show_default=True)
@click.option("--cold", is_flag=True,
              help="A single cold run: resident weights start off chip, each is loaded once "
                   "through the HBM ports before the first op that reads it, its time and "
                   "energy charged. Default: loaded at start-up and amortised (serving).")
@click.option("--train-tokens", callback=train_tokens_option, metavar="N",
              help="Tokens the model was pre-trained on (e.g. 15e12), for the quality "
                   "estimate of a model meshc's table lacks (docs/quality.md).")
@click.option("--quality", "quality_file", default="", metavar="FILE",
              help="A YAML/JSON table of measured perplexities, used before the shipped one.")
@click.option("--backend", "backends", default=DEFAULT_BACKENDS, show_default=True,
              help="Comma-separated backends to run.")
@click.option("-o", "--out", "out", default="out", show_default=True,
              type=click.Path(file_okay=False), help="Output folder.")
@click.option("--force", is_flag=True,
              help="Write into a folder that holds files meshc did not write (they are kept).")
def compile_(model: str, phase: str, batch: int, seq: int, kv_len: int, dims: tuple[str, ...],
             hw: str, parallel: str, objective: str, pipeline: str, passes: str, pass_after: tuple[str, ...],
             pass_before: tuple[str, ...], row_blocks: int, mapper: str, budget: float,
             seed: int, cold: bool, train_tokens: int | None, quality_file: str, backends: str,
             out: str, force: bool) -> None:
    """Compile MODEL for a machine and report simulated latency and energy."""
    from rich.console import Console

    from meshc.commands.outdir import output_dir
    from meshc.driver import CompileOptions, compile_model
    from meshc.hardware.load import is_system
    from meshc.registry import backend_names, get_backend

    if passes and row_blocks > 1:
        raise MeshcError("--row-blocks applies to a named pipeline, not to -p",
                         hint="add split-rows{parts=N} before tile-grain in the pass list")
    _named_pipeline_only(passes)
    if not hw.strip():
        raise MeshcError("names no hardware", where="--hw",
                         hint="a preset (`meshc hw list`) or a hardware YAML file")
    if not (math.isfinite(budget) and budget > 0):
        raise MeshcError(f"--budget must be a finite number of seconds > 0, got {budget}")
    names = [b.strip() for b in backends.split(",") if b.strip()]
    if not names:
        raise MeshcError("--backend names no backend",
                         hint=f"installed: {', '.join(backend_names())}")
    emitters = [(n, get_backend(n)) for n in names]  # fail on a bad name before the work
    inserts = tuple(_insert(where, a) for where, given in (("after", pass_after),
                                                          ("before", pass_before))
                    for a in given)
    opts = CompileOptions(pipeline=pipeline, passes=passes, mapper=mapper, budget=budget,
                          seed=seed, row_blocks=row_blocks, inserts=inserts, cold=cold,
                          train_tokens=train_tokens, quality_file=quality_file)
    req = request(model, phase, batch, seq, kv_len, dims)
    console = Console(stderr=True)
    if parallel or is_system(hw):
        from meshc.commands.system_compile import compile_on_system

        compile_on_system(req, hw, parallel or "tp=1", objective, opts, emitters, out, force)
        return
    with output_dir(out, force=force) as dest:  # refused before minutes of work, not after
        with console.status("compiling") as status:
            result = compile_model(req, hw, opts, progress=lambda msg: status.update(msg))
            artifacts = _emit(result, emitters, lambda n: status.update(f"backend {n}"))
        dest.write(artifacts)
    _summary(result, out)


def _named_pipeline_only(passes: str) -> None:
    """With -p the pass list is the user's whole pipeline: options that shape a named
    pipeline would be silently lost, so they are refused."""
    if not passes:
        return
    ctx = click.get_current_context()
    given = [f"--{n.replace('_', '-')}" for n in ("pipeline", "mapper", "budget", "seed",
                                                   "pass_after", "pass_before")
             if ctx.get_parameter_source(n) is click.core.ParameterSource.COMMANDLINE]
    if given:
        raise MeshcError(f"{', '.join(given)} shape a named pipeline and would be ignored "
                         "with -p", hint="write them in the pass list, e.g. "
                         "map-mesh{mapper=heft budget=2}, or drop -p")


def _insert(where: str, arg: str) -> tuple[str, str, str]:
    step, sep, new = arg.partition("=")
    if not sep or not step.strip() or not new.strip():
        raise MeshcError(f"'{arg}' is not STEP=PASS", where=f"--pass-{where}",
                         hint="e.g. --pass-after 'tile-grain=my-pass{k=v}'")
    return where, step.strip(), new.strip()


def _emit(result: CompileResult, emitters: list[tuple[str, Any]],
          say: Callable[[str], None]) -> dict[str, str | bytes]:
    """Every backend's artifacts, and timings.json: the wall-clock times, kept apart so that
    every other output is byte-identical from run to run."""
    from meshc.backends.base import json_text

    artifacts: dict[str, str | bytes] = {}
    for name, backend in emitters:
        say(name)
        for path, content in backend.emit(result).items():
            if path in artifacts or path == TIMINGS:
                raise MeshcError(f"backend '{name}' writes {path}, which another backend "
                                 "already wrote")
            artifacts[path] = content
    artifacts[TIMINGS] = json_text({
        "compile_s": round(result.compile_time_s, 3), "steps_s": dict(result.timings_s),
        "solve_s": {p.name: p.mapper.solve_time_s for p in result.phases}})
    return artifacts


def _summary(result: CompileResult, out: str) -> None:
    """A table that fits 80 columns: the figures people look at first."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from meshc.backends.base import hbm_bytes_per_s
    from meshc.backends.binding import phase_binding
    from meshc.backends.report import fmt_pj, fmt_s

    o = result.options
    t = Table(title=f"{result.model} on {result.hardware} ({result.mesh[0]}x{result.mesh[1]} "
                    f"cores), batch {o['batch']}, seq {o['seq']}, kv_len {o['kv_len']}",
              box=box.SIMPLE_HEAD)
    for col in ("phase", "latency", "tokens/s", "per token", "idle", "bound by", "sim/LB"):
        t.add_column(col, justify="right", no_wrap=True)
    for p in result.phases:
        ratio = p.latency_s / p.lower_bound_s if p.lower_bound_s else float("nan")
        t.add_row(p.name, fmt_s(p.latency_s), f"{p.tokens_per_s:,.0f}", fmt_pj(p.pj_per_token),
                  f"{p.idle_compute_fraction:.1%}",
                  phase_binding(p, hbm_bytes_per_s(result)).bound_by, f"{ratio:.2f}x")
    console = Console()
    console.print(t)
    console.print(f"weights: {result.weights_where}", highlight=False)
    for src, text in result.notes:
        console.print(f"note ({src}): {text}", highlight=False)
    dear = result.decode_over_prefill_cost_per_token
    if dear is not None:
        console.print(f"a decode token costs {dear:.1f}x the energy of a prefill token")
    console.print(f"wrote {out}/ (report.md, report.json, ...) in {result.compile_time_s:.1f} s")
