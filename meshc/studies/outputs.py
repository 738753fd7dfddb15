"""A sweep's output files as values (relative path -> content; the CLI writes them):
results.csv, results.json, report.md and plots/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshc.studies import plots
from meshc.studies.run import QUALITY_FIGURES
from meshc.studies.sweep import Sweep
from meshc.studies.table import Table, csv_text, json_text, with_pareto

DEFAULT_PARETO = ("latency_s", "pj_per_token")
DEFAULT_METRICS = ("latency_s", "tokens_per_s", "pj_per_token", "idle_compute_fraction",
                   "decode_over_prefill_cost_per_token", "tokens_per_s_per_chip")


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return {True: "yes", False: "no", None: ""}[v]
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_fmt(v).replace("|", "/") for v in r) + " |" for r in rows]
    return out


def metric_columns(table: Table, metrics: Sequence[str]) -> list[str]:
    """The columns of `metrics` that the table has (a bare name: each phase's)."""
    out: list[str] = []
    for m in metrics:
        cols = [m] if m in table.columns else [c for c in table.columns
                                                  if c.split(".", 1)[-1] == m]
        out += [c for c in cols if c not in out]
    return out


def report_md(table: Table, sweep: Sweep, cols: Sequence[str], pareto_cols: Sequence[str],
              title: str, answer: str = "") -> str:
    ok = table.ok_rows()
    lines = [f"# {title}", ""]
    if answer:
        lines += ["## Answer", "", *answer.splitlines(), ""]
    lines += [f"Models: {', '.join(sweep.models)}; hardware: {', '.join(sweep.hws)}.",
              f"{len(table.rows)} points, {len(ok)} compiled, {len(table.rows) - len(ok)} "
              "failed.", ""]
    paired = [k for k in sweep.full_grid().keys if k in sweep.grid.paired]
    how = " (zipped)" if sweep.grid.zipped else f" ({' and '.join(paired)} paired)" \
        if len(paired) > 1 else ""
    lines += [f"Grid{how}:", ""]
    lines += [f"- `{a.key}`: {', '.join(map(str, a.values))}" for a in sweep.full_grid().axes]
    lines += [f"- `{k}` = {v} (every point)" for k, v in sorted(sweep.fixed.items())] + [""]
    front = [r for r in table.rows if r.get("pareto")]
    if front:  # a front over perplexities is one per basis (table.front): show the basis
        shown = [*table.keys, *pareto_cols, *(["quality_basis"] if any(
            c in QUALITY_FIGURES for c in pareto_cols) else [])]
        lines += [f"## Pareto front ({', '.join(pareto_cols)})", ""]
        lines += [*_md_table(shown, [[r[k] for k in shown] for r in front]), ""]
    lines += ["## Results", ""]
    lines += [*_md_table([*table.keys, "ok", *cols],
                         [[r[k] for k in (*table.keys, "ok", *cols)] for r in table.rows]), ""]
    failed = [r for r in table.rows if not r["ok"]]
    if failed:
        lines += ["## Failed points", ""]
        lines += [f"- {', '.join(f'{k}={r[k]}' for k in table.keys) or 'the point'}: "
                  f"{r['reason']}" for r in failed] + [""]
    lines += ["Every figure per point is in results.csv and results.json; plots in plots/.", ""]
    return "\n".join(lines)


def artifacts(table: Table, sweep: Sweep, metrics: Sequence[str] = DEFAULT_METRICS,
              pareto: Sequence[str] = DEFAULT_PARETO, title: str = "Sweep",
              answer: str = "") -> dict[str, str | bytes]:
    """Every output file of a sweep (or a study, with its written answer)."""
    table, pareto_cols = with_pareto(table, pareto) if table.ok_rows() else (table, ())
    cols = metric_columns(table, metrics)
    extra = {"title": title, "answer": answer, "models": list(sweep.models),
             "hardware": list(sweep.hws), "fixed": dict(sorted(sweep.fixed.items())),
             "zipped": sweep.grid.zipped, "pareto_columns": list(pareto_cols),
             **({"paired": list(sweep.grid.paired)} if sweep.grid.paired else {})}
    out: dict[str, str | bytes] = {
        "results.csv": csv_text(table), "results.json": json_text(table, extra),
        "report.md": report_md(table, sweep, cols, pareto_cols, title, answer)}
    out.update(plots.plot_files(table, cols, pareto_cols))
    return out
