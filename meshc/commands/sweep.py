"""`meshc sweep`: one compile per point of a grid, on a process pool or Ray, cached;
results.csv/json, report.md and plots in the output folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from meshc.errors import MeshcError

if TYPE_CHECKING:  # the command imports the studies only when it runs
    from meshc.studies.sweep import Sweep
    from meshc.studies.table import Table


def engine_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options `meshc sweep` and `meshc study` share."""
    from meshc.commands.quality import train_tokens_option
    from meshc.studies.engine import ENGINES, default_jobs

    for opt in reversed([
        click.option("--grid", "grid", multiple=True, metavar="KEY=V1,V2,...",
                     help="An axis of the grid (repeatable; points are the cartesian "
                          "product): a compile option (phase, batch, seq, kv_len, pipeline, "
                          "row_blocks, mapper, budget, seed, cold, parallel, objective), a "
                          "pass option (weights, acts, kv, group, grain), model, hw, "
                          "arch.FIELD (incl. arch.moe.experts, arch.mlp_mult) or hw.PATH (a "
                          "dotted path into the hardware YAML, e.g. "
                          "hw.hbm.stacks.0.bytes_per_s). parallel's values are separated by "
                          "';': --grid 'parallel=tp=2,pp=4;tp=8'."),
        click.option("--zip", "zipped", is_flag=True,
                     help="Pair the --grid lists (all of one length) instead of crossing them."),
        click.option("--pair", "paired", default="", metavar="KEY,KEY,...",
                     help="Pair these keys' lists (of one length) and cross them with the "
                          "rest: --pair hw,parallel gives each system its layout."),
        click.option("--jobs", "-j", type=click.IntRange(min=1), default=default_jobs(),
                     show_default="the cores", help="Points compiled at once."),
        click.option("--engine", type=click.Choice(ENGINES), default="local",
                     show_default=True, help="local: a process pool; ray: Ray tasks."),
        click.option("--ray-address", default=None,
                     help="An existing Ray cluster (default: a local Ray for the sweep)."),
        click.option("--cache", "cache_dir", type=click.Path(file_okay=False), default=None,
                     help="Cache folder [default: $XDG_CACHE_HOME/meshc/sweep]."),
        click.option("--no-cache", is_flag=True, help="Compile every point, store nothing."),
        click.option("--train-tokens", callback=train_tokens_option, metavar="N",
                     help="Tokens the models were pre-trained on, for the quality columns, "
                          "where meshc's table lacks them (e.g. 15e12)."),
        click.option("--quality", "quality_file", default="", metavar="FILE",
                     help="A YAML/JSON table of measured perplexities, used before the "
                          "shipped one."),
        click.option("--pareto", default="latency_s,pj_per_token", show_default=True,
                     help="Figures (comma-separated, smaller better except tokens_per_s and "
                          "compute_utilization) whose non-dominated points are marked."),
        click.option("-o", "--out", "out", default=None, type=click.Path(file_okay=False),
                     help="Output folder [default: sweep/ or study-NAME/]."),
        click.option("--force", is_flag=True,
                     help="Write into a folder that holds files meshc did not write."),
    ]):
        f = opt(f)
    return f


@click.command("sweep")
@click.argument("models", nargs=-1, required=True)
@click.option("--hw", "hws", multiple=True, default=("tpu-v6e-like",), show_default=True,
              help="Hardware: a chip or a system of chips, preset or YAML file (repeatable: "
                   "an axis). A system point compiles over its chips (--grid parallel=...).")
@engine_options
def sweep(models: tuple[str, ...], hws: tuple[str, ...], grid: tuple[str, ...], zipped: bool,
          paired: str, jobs: int, engine: str, ray_address: str | None, cache_dir: str | None,
          no_cache: bool, train_tokens: int | None, quality_file: str, pareto: str,
          out: str | None, force: bool) -> None:
    """Compile MODEL... on every point of a grid and tabulate, plot and rank the results."""
    from meshc.studies.grid import parse_grid
    from meshc.studies.sweep import Sweep

    s = Sweep(tuple(models), tuple(hws), parse_grid(grid, zipped, pair_keys(paired)),
              quality_inputs(train_tokens, quality_file))
    run_sweep(s, jobs=jobs, engine=engine, ray_address=ray_address, cache_dir=cache_dir,
              no_cache=no_cache, pareto=_names(pareto, "--pareto"), out=out or "sweep", force=force,
              title=f"Sweep of {', '.join(models)} on {', '.join(hws)}")


def pair_keys(text: str) -> tuple[str, ...]:
    """--pair's keys, each one the grid knows."""
    from meshc.studies.grid import check_key

    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    for k in keys:
        try:
            check_key(k)
        except MeshcError as e:
            raise MeshcError(e.message, where="--pair", hint=e.hint) from None
    return keys


def quality_inputs(train_tokens: int | None, quality_file: str) -> dict[str, Any]:
    """The quality options as a sweep's fixed settings (only those given: a sweep without
    them keeps its cache keys)."""
    if quality_file:
        from meshc.quality.tables import load_measured

        load_measured(quality_file)  # a bad table fails before any work
    return {k: v for k, v in (("train_tokens", train_tokens), ("quality_file", quality_file))
            if v}


def _names(text: str, option: str) -> tuple[str, ...]:
    """Comma-separated figure names, each one a sweep records."""
    from meshc.studies.run import MODEL_METRICS, PHASE_METRICS, SYSTEM_METRICS

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    known = {*PHASE_METRICS, *MODEL_METRICS, *SYSTEM_METRICS}
    for n in names:
        if n.split(".", 1)[-1] not in known and not n.split(".", 1)[-1].startswith(
                "energy_share."):
            raise MeshcError(f"no figure '{n}'", where=option,
                             hint=f"figures: {', '.join(sorted(known))}")
    return names


def run_sweep(s: Sweep, *, jobs: int, engine: str, ray_address: str | None,
              cache_dir: str | None, no_cache: bool, pareto: Sequence[str], out: str,
              force: bool, title: str, metrics: Sequence[str] | None = None,
              answer: Callable[[Table], str] | None = None) -> str:
    """Runs sweep `s` with a progress bar and writes its outputs into `out`; returns the
    written answer (or "")."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from meshc.commands.outdir import output_dir
    from meshc.studies import outputs
    from meshc.studies.cache import Cache, default_dir
    from meshc.studies.sweep import execute

    if ray_address and engine != "ray":
        raise MeshcError("--ray-address needs --engine ray")
    cache = Cache(None if no_cache else Path(cache_dir) if cache_dir else default_dir())
    n = len(s.full_grid().points())
    err = Console(stderr=True)
    failed = [0]
    with output_dir(out, force=force) as dest, Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task("points", total=n, failed=0)

        def on_point(_p: Any, outcome: dict[str, Any], _cached: bool) -> None:
            failed[0] += not outcome["ok"]
            bar.update(task, advance=1, failed=failed[0])

        res = execute(s, cache, jobs, engine, ray_address, on_point)
        text = answer(res.table) if answer and res.table.ok_rows() else ""
        dest.write(outputs.artifacts(res.table, s, metrics or outputs.DEFAULT_METRICS, pareto,
                                     title, text))
    console = Console()
    if text:
        console.print(text, highlight=False)
    console.print(f"{n} points: {n - failed[0]} compiled, {failed[0]} failed "
                  f"({n - res.computed} from the cache or refused up front); wrote {out}/ "
                  "(results.csv, results.json, report.md, plots/)", highlight=False)
    if res.internal:  # after the outputs are written: exit 70 names the first bug
        raise RuntimeError(f"{len(res.internal)} point(s) hit a bug in meshc, first: "
                           f"{res.internal[0]}")
    return text
