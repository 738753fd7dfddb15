"""`meshc study NAME` (a named sweep and its written answer) and `meshc study list`."""

from __future__ import annotations

import click

from meshc.commands.sweep import _names, engine_options, pair_keys, quality_inputs, run_sweep


@click.command("study")
@click.argument("name")
@click.option("--model", "models", multiple=True,
              help="Model(s) instead of the study's default (repeatable: an axis).")
@click.option("--hw", "hws", multiple=True,
              help="Hardware instead of the study's default (repeatable: an axis).")
@engine_options
def study(name: str, models: tuple[str, ...], hws: tuple[str, ...], grid: tuple[str, ...],
          zipped: bool, paired: str, jobs: int, engine: str, ray_address: str | None,
          cache_dir: str | None, no_cache: bool, train_tokens: int | None, quality_file: str,
          pareto: str, out: str | None, force: bool) -> None:
    """Run the study NAME (`meshc study list` shows them); --grid overrides its axes."""
    from meshc.studies.grid import Grid, parse_axis
    from meshc.studies.study import get_study, study_names
    from meshc.studies.sweep import Sweep

    if name == "list":
        for n in study_names():
            click.echo(f"{n:16s} {get_study(n).question}")
        return
    st = get_study(name)
    base = Grid(tuple(parse_axis(a) for a in st.grid), st.zipped or zipped,
                (*st.paired, *pair_keys(paired)))
    sweep = Sweep(models or st.models, hws or st.hws,
                  base.override(parse_axis(a) for a in grid),
                  {**st.fixed, **quality_inputs(train_tokens, quality_file)})
    if st.expand is not None:
        sweep = st.expand(sweep)
    source = click.get_current_context().get_parameter_source("pareto")
    chosen = _names(pareto, "--pareto") if source is click.core.ParameterSource.COMMANDLINE \
        else st.pareto
    run_sweep(sweep, jobs=jobs, engine=engine, ray_address=ray_address, cache_dir=cache_dir,
              no_cache=no_cache, pareto=chosen, out=out or f"study-{name}", force=force,
              title=f"Study {name}: {st.question}", metrics=st.metrics, answer=st.answer)
