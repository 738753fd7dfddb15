"""A sweep's figures as PNG bytes (relative path -> bytes; the CLI writes them): each
metric against each swept key that varies (one line per value of the other keys), a heatmap
per metric when two keys vary, and the Pareto front of two figures. PNGs carry no date or version
(backends/plots.py's `png_bytes`), so plotting twice gives the same bytes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshc.studies.run import QUALITY_FIGURES
from meshc.studies.table import Table, front

MAX_LINES = 12  # more lines than this in one plot are unreadable: the first ones are drawn


def _png(fig: Any) -> bytes:
    from meshc.backends.plots import png_bytes  # matplotlib only when a plot is drawn

    return png_bytes(fig)


def _figure() -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(6.4, 4.0))


def _positions(values: Sequence[Any]) -> tuple[list[float], list[str] | None]:
    """x positions of a key's values: the numbers themselves, or 0, 1, 2 ... with labels."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values], None
    return [float(i) for i in range(len(values))], [str(v) for v in values]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def against_key(table: Table, metric: str, key: str, varying: Sequence[str]) -> bytes:
    """`metric` against `key`, one line per combination of the other varying keys."""
    others = [k for k in varying if k != key]
    xs_all = list(dict.fromkeys(r[key] for r in table.rows))
    pos, labels = _positions(xs_all)
    where = dict(zip(map(repr, xs_all), pos, strict=True))
    lines: dict[tuple[Any, ...], list[tuple[float, float]]] = {}
    for r in table.ok_rows():
        if isinstance(r.get(metric), int | float):
            lines.setdefault(tuple(r[k] for k in others), []).append(
                (where[repr(r[key])], float(r[metric])))
    fig = _figure()
    ax = fig.add_subplot()
    for combo, pts in list(lines.items())[:MAX_LINES]:
        label = ", ".join(f"{k}={v}" for k, v in zip(others, combo, strict=True)) or None
        ax.plot(*zip(*sorted(pts), strict=True), marker="o", label=label)
    if labels:
        ax.set_xticks(pos, labels)
    elif min(pos) > 0 and max(pos) >= 16 * min(pos):  # batch 1..256: a log axis
        ax.set_xscale("log", base=2)
    ax.set_xlabel(key)
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    if others and lines:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def heatmap(table: Table, metric: str, keys: Sequence[str]) -> bytes:
    """`metric` over two keys as a heatmap with each cell's value written in it."""
    import numpy as np

    ky, kx = keys
    ys = list(dict.fromkeys(r[ky] for r in table.rows))
    xs = list(dict.fromkeys(r[kx] for r in table.rows))
    grid = np.full((len(ys), len(xs)), np.nan)
    for r in table.ok_rows():
        if isinstance(r.get(metric), int | float):
            grid[ys.index(r[ky]), xs.index(r[kx])] = float(r[metric])
    fig = _figure()
    ax = fig.add_subplot()
    im = ax.imshow(grid, aspect="auto", origin="lower", cmap="viridis")
    fig.colorbar(im, ax=ax, label=metric)
    ax.set_xticks(range(len(xs)), [str(x) for x in xs])
    ax.set_yticks(range(len(ys)), [str(y) for y in ys])
    ax.set_xlabel(kx)
    ax.set_ylabel(ky)
    for (i, j), v in np.ndenumerate(grid):
        failed = np.isnan(v)
        ax.text(j, i, "failed" if failed else f"{v:.3g}", ha="center", va="center",
                fontsize=7, color="black" if failed else "white")
    fig.tight_layout()
    return _png(fig)


def pareto(table: Table, cols: Sequence[str], flags: Sequence[bool]) -> bytes:
    """Every ok point on two figures, the non-dominated ones (`flags`) joined: one front
    per quality basis when a figure is a perplexity or a loss (table.front)."""
    by_basis = any(c in QUALITY_FIGURES for c in cols)
    fig = _figure()
    ax = fig.add_subplot()
    pts = [(float(r[cols[0]]), float(r[cols[1]]), f, r.get("quality_basis") if by_basis
            else None) for r, f in zip(table.rows, flags, strict=True)
           if r["ok"] and all(isinstance(r.get(c), int | float) for c in cols)]
    ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, color="#8c8c8c", label="points")
    fronts: dict[str, list[tuple[float, float]]] = {}
    for x, y, f, basis in pts:
        if f:
            fronts.setdefault(str(basis or ""), []).append((x, y))
    for basis, line in sorted(fronts.items()):
        ax.plot(*zip(*sorted(line), strict=True), marker="o",
                label=f"Pareto front ({basis})" if basis else "Pareto front",
                **({} if by_basis else {"color": "#c44e52"}))
    ax.set_xlabel(cols[0])
    ax.set_ylabel(cols[1])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def other_phase(table: Table, cols: Sequence[str]) -> tuple[str, tuple[str, ...]] | None:
    """The same figures for the other phase (decode <-> prefill), when they name one and
    the table has it: (that phase, its columns)."""
    for ph, other in (("decode", "prefill"), ("prefill", "decode")):
        if any(c.startswith(f"{ph}.") for c in cols):
            swapped = tuple(f"{other}.{c[len(ph) + 1:]}" if c.startswith(f"{ph}.") else c
                            for c in cols)
            return (other, swapped) if all(c in table.columns for c in swapped) else None
    return None


def _independent(keys: list[str], table: Table) -> list[str]:
    """`keys` less those that vary in step with an earlier one (paired, one value of each
    for one of the other: hw and its parallel layout): their plots would be the same."""
    out: list[str] = []
    for k in keys:
        if not any(len({(repr(r[j]), repr(r[k])) for r in table.rows})
                   == len({repr(r[j]) for r in table.rows})
                   == len({repr(r[k]) for r in table.rows}) for j in out):
            out.append(k)
    return out


def plot_files(table: Table, metrics: Sequence[str], pareto_cols: Sequence[str]
               ) -> dict[str, bytes]:
    """plots/METRIC_vs_KEY.png, plots/heatmap_METRIC.png, plots/pareto.png (and
    plots/pareto_PHASE.png, the same front for the other phase)."""
    out: dict[str, bytes] = {}
    if not table.ok_rows():
        return out
    varying = _independent([k for k in table.keys if len({repr(r[k]) for r in table.rows}) > 1],
                           table)
    for m in (m for m in metrics  # a figure in words (a bottleneck) has no axis
              if any(isinstance(r.get(m), int | float) for r in table.ok_rows())):
        for k in varying:
            out[f"plots/{_safe(m)}_vs_{_safe(k)}.png"] = against_key(table, m, k, varying)
        if len(varying) == 2:
            out[f"plots/heatmap_{_safe(m)}.png"] = heatmap(table, m, varying)
    if len(pareto_cols) == 2:
        flags = [bool(r.get("pareto")) for r in table.rows]
        out["plots/pareto.png"] = pareto(table, pareto_cols, flags)
        if (other := other_phase(table, pareto_cols)) is not None:
            out[f"plots/pareto_{other[0]}.png"] = pareto(table, other[1],
                                                        front(table, other[1]))
    return out
