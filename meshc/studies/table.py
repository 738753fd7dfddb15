"""A sweep's results as a table: one row per point (its swept values, ok, reason, every
figure), Pareto fronts, and the CSV and JSON texts. Rows are in point order, so the
table never depends on the order points finished in."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from meshc.errors import MeshcError
from meshc.frontends.transformer import PHASES
from meshc.studies.run import QUALITY_FIGURES, metric_columns

# larger is better; the rest: smaller
MAXIMIZE = ("tokens_per_s", "tokens_per_s_per_chip", "compute_utilization")


@dataclass(frozen=True)
class Table:
    keys: tuple[str, ...]  # the swept keys
    columns: tuple[str, ...]  # keys, ok, reason, figures (and pareto)
    rows: tuple[dict[str, Any], ...]

    def ok_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["ok"]]

    def column(self, name: str) -> str:
        """A figure's column: `PHASE.METRIC` as given, else decode's (then prefill's) of a
        bare metric name; an unknown name is a MeshcError listing the figures."""
        if name in self.columns:
            return name
        for ph in ("decode", "prefill"):
            if f"{ph}.{name}" in self.columns:
                return f"{ph}.{name}"
        figures = sorted({c.split(".", 1)[-1] for c in self.columns[len(self.keys) + 2:]})
        raise MeshcError(f"no figure '{name}'", hint=f"figures: {', '.join(figures)}")


def build(keys: Sequence[str], results: Sequence[tuple[dict[str, Any], dict[str, Any]]]
          ) -> Table:
    """`results`: (swept values, stored outcome) per point, in point order."""
    phases = tuple(ph for ph in PHASES
                   if any(f"{ph}.latency_s" in o["metrics"] for _, o in results))
    system = any(f"{ph}.bottleneck" in o["metrics"] for ph in phases for _, o in results)
    columns = (*keys, "ok", "reason", *metric_columns(phases, system))
    rows = tuple({**{k: values.get(k) for k in keys}, "ok": o["ok"], "reason": o["reason"],
                  **{c: o["metrics"].get(c) for c in columns[len(keys) + 2:]}}
                 for values, o in results)
    return Table(tuple(keys), columns, rows)


def front(table: Table, cols: Sequence[str]) -> list[bool]:
    """Per row: true for an ok row no other row beats on every one of `cols` (at least as
    good on all, better on one). Perplexities on different bases (a law's estimate, a
    dataset measured) do not compare: with `loss` or `perplexity` among `cols`, a row
    competes only with rows of its own `quality_basis`."""
    sign = [-1.0 if c.split(".")[-1] in MAXIMIZE else 1.0 for c in cols]
    by_basis = any(c in QUALITY_FIGURES for c in cols)

    def vec(r: dict[str, Any]) -> tuple[float, ...] | None:
        vals = [r.get(c) for c in cols]
        if not r["ok"] or any(not isinstance(v, int | float) for v in vals):
            return None
        return tuple(s * float(v) for s, v in zip(sign, vals, strict=True))  # type: ignore[arg-type]

    def basis(r: dict[str, Any]) -> Any:
        return r.get("quality_basis") if by_basis else None

    vecs = [(vec(r), basis(r)) for r in table.rows]
    return [v is not None and not any(
        w is not None and b == g and w != v and all(x <= y for x, y in zip(w, v, strict=True))
        for w, b in vecs) for v, g in vecs]


def with_pareto(table: Table, metrics: Sequence[str]) -> tuple[Table, tuple[str, ...]]:
    """The table with a `pareto` column (`front` of `metrics`), and the columns used."""
    cols = tuple(table.column(m) for m in metrics)
    rows = tuple({**r, "pareto": f} for r, f in zip(table.rows, front(table, cols), strict=True))
    return Table(table.keys, (*table.columns, "pareto"), rows), cols


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def csv_text(table: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.columns)
    for r in table.rows:
        w.writerow([_cell(r.get(c)) for c in table.columns])
    return buf.getvalue()


def json_text(table: Table, extra: dict[str, Any]) -> str:
    data = {**extra, "keys": list(table.keys), "columns": list(table.columns),
            "rows": [{c: r.get(c) for c in table.columns} for r in table.rows]}
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"
