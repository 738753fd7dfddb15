"""The `plots` backend: PNG figures in plots/.

* `plots/gantt_<phase>.png`: what each core runs over time, coloured by op class; above
  `MAX_BARS` bars, nearby bars of one class on one core are merged (the title says so);
* `plots/utilization.png`: a mesh heatmap per phase of busy time over latency per core;
* `plots/energy.png`: energy per token of each phase, stacked by component;
* `plots/roofline.png`: every op at (FLOP per HBM byte, achieved FLOP/s) under the roofs
  of the chip's peak and its HBM bandwidth; ops that read nothing from HBM sit at the
  right edge.

matplotlib is imported only when `emit` runs (listing backends stays fast), through its
object API and the Agg canvas (no pyplot, no global state), at a fixed DPI and with no
metadata in the files, so that emitting twice gives byte-identical PNGs.
"""

from __future__ import annotations

import io
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from meshc.backends.base import Artifacts, core_key, hbm_bytes_per_s
from meshc.result import ENERGY_COMPONENTS, CompileResult, PhaseResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
MAX_BARS = 5000
RC = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7,
      "xtick.labelsize": 7, "ytick.labelsize": 7, "font.family": "DejaVu Sans",
      "path.simplify": True, "agg.path.chunksize": 10000}
COMPONENT_COLORS = {"mac": "#4c72b0", "vector": "#55a868", "transcendental": "#8172b2",
                    "sram": "#ccb974", "noc": "#64b5cd", "hbm": "#c44e52", "static": "#8c8c8c"}


def plot_files(result: CompileResult) -> list[tuple[str, str]]:
    """(title, relative path) of every figure this backend writes for `result`."""
    out = [(f"Gantt: {p.name}", f"plots/gantt_{p.name}.png") for p in result.phases]
    if result.phases:
        out += [("Core utilisation", "plots/utilization.png"),
                ("Energy per token", "plots/energy.png"),
                ("Roofline", "plots/roofline.png")]
    return out


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight",
                pad_inches=0.1)
    return buf.getvalue()


def _class_colors(classes: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return {c: cmap(i % 20) for i, c in enumerate(sorted(classes))}


Bar = tuple[float, float, dict[str, float]]  # start, end, seconds of each op class


def _dominant(bar: Bar) -> str:
    return max(sorted(bar[2]), key=lambda c: bar[2][c])


def _coarsen(bars: list[Bar], gap: float, any_class: bool) -> list[Bar]:
    """Merges consecutive bars of one core that are at most `gap` apart: only those of one
    class, or any (then the merged bar takes the class that fills most of it)."""
    out: list[Bar] = []
    for s, e, by in bars:
        if out and s - out[-1][1] <= gap and (any_class or _dominant(out[-1]) == _dominant(
                (s, e, by))):
            ps, pe, pby = out[-1]
            merged = dict(pby)
            for c, d in by.items():
                merged[c] = merged.get(c, 0.0) + d
            out[-1] = (ps, max(pe, e), merged)
        else:
            out.append((s, e, by))
    return out


def gantt_bars(p: PhaseResult, max_bars: int = MAX_BARS
               ) -> tuple[dict[tuple[int, int], list[Bar]], float]:
    """Bars per core in seconds, in time order, and the gap below which neighbours were
    merged to stay under `max_bars` (0: every op on every core is its own bar). Merging
    first joins neighbours of one class, then, if that is not enough, any neighbours."""
    bars: dict[tuple[int, int], list[Bar]] = defaultdict(list)
    for o in p.ops:
        for core in o.cores:
            bars[core].append((o.start_s, o.end_s, {o.op_class: o.end_s - o.start_s}))
    for v in bars.values():
        v.sort(key=lambda b: (b[0], b[1], sorted(b[2])))
    span = max(p.latency_s, max((o.end_s for o in p.ops), default=0.0))
    gap = 0.0
    count = sum(map(len, bars.values()))
    while count > max_bars and span > 0 and gap <= span:
        gap = span / 5000 if gap == 0 else gap * 4
        for any_class in (False, True):
            bars = {k: _coarsen(v, gap, any_class) for k, v in bars.items()}
            count = sum(map(len, bars.values()))
            if count <= max_bars:
                break
    return dict(bars), gap


def _gantt(result: CompileResult, p: PhaseResult) -> bytes:
    import numpy as np
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows, cols = result.mesh
    n = rows * cols
    bars, gap = gantt_bars(p)
    colors = _class_colors(sorted({c for bs in bars.values() for b in bs for c in b[2]}))
    height = min(12.0, max(2.5, 0.16 * n + 1.4))
    fig = Figure(figsize=(10, height))
    ax = fig.add_subplot()
    scale, unit = _time_unit(p.latency_s)
    by_class: dict[str, list[Any]] = defaultdict(list)
    for (r, c), core_bars in sorted(bars.items()):
        y = r * cols + c
        for b in core_bars:
            by_class[_dominant(b)].append((b[0] * scale, b[1] * scale, y))
    for cls in sorted(by_class):
        a = np.asarray(by_class[cls], dtype=float)
        x0, x1, y = a[:, 0], a[:, 1], a[:, 2]
        verts = np.stack([np.stack([x0, y - 0.4], 1), np.stack([x1, y - 0.4], 1),
                          np.stack([x1, y + 0.4], 1), np.stack([x0, y + 0.4], 1)], 1)
        ax.add_collection(PolyCollection(verts, facecolors=[colors[cls]], edgecolors="none"))
    ax.set_xlim(0, max(p.latency_s * scale, 1e-12))
    ax.set_ylim(n - 0.5, -0.5)
    step = max(1, n // 32)
    ax.set_yticks(range(0, n, step))
    ax.set_yticklabels([core_key(divmod(i, cols)) for i in range(0, n, step)])
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_ylabel("core (r,c)")
    title = f"{result.model} {p.name}: {len(p.ops)} ops on {rows}x{cols} cores"
    if gap:
        title += f" (bars closer than {gap * scale:.3g} {unit} merged)"
    ax.set_title(title)
    ax.legend(handles=[Patch(color=colors[c], label=c) for c in sorted(colors)],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _png(fig)


def _time_unit(seconds: float) -> tuple[float, str]:
    for scale, unit in ((1.0, "s"), (1e3, "ms"), (1e6, "µs")):
        if seconds * scale >= 1:
            return scale, unit
    return 1e9, "ns"


def _utilization(result: CompileResult) -> bytes:
    import numpy as np
    from matplotlib.figure import Figure

    rows, cols = result.mesh
    ps = result.phases
    fig = Figure(figsize=(3.6 * len(ps) + 0.8, 3.4))
    axes = fig.subplots(1, len(ps), squeeze=False)[0]
    im = None
    for ax, p in zip(axes, ps, strict=True):
        grid = np.zeros((rows, cols))
        for r in range(rows):
            for c in range(cols):
                busy = p.core_busy_s.get(core_key((r, c)), 0.0)
                grid[r, c] = busy / p.latency_s if p.latency_s > 0 else 0.0
        im = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest")
        if rows * cols <= 64:
            for r in range(rows):
                for c in range(cols):
                    ax.text(c, r, f"{grid[r, c]:.0%}", ha="center", va="center", fontsize=7,
                            color="white" if grid[r, c] < 0.6 else "black")
        ax.set_title(f"{p.name}: mean {grid.mean():.1%} busy")
        ax.set_xticks(range(0, cols, max(1, cols // 16)))
        ax.set_yticks(range(0, rows, max(1, rows // 16)))
        ax.set_xlabel("column")
        if ax is axes[0]:
            ax.set_ylabel("row")
    if im is not None:
        fig.colorbar(im, ax=list(axes), label="busy / latency", shrink=0.9)
    return _png(fig)


def _energy(result: CompileResult) -> bytes:
    import numpy as np
    from matplotlib.figure import Figure

    ps = result.phases
    fig = Figure(figsize=(2.2 + 1.6 * len(ps), 4.0))
    ax = fig.add_subplot()
    x = np.arange(len(ps))
    top = max((p.pj_per_token for p in ps), default=0.0)
    scale, unit = next(((s, u) for s, u in ((1e12, "J"), (1e9, "mJ"), (1e6, "µJ"), (1e3, "nJ"))
                        if top >= s), (1.0, "pJ"))
    bottom = np.zeros(len(ps))
    for k in ENERGY_COMPONENTS:
        v = np.array([p.energy_breakdown_pj.get(k, 0.0) / p.tokens / scale for p in ps])
        ax.bar(x, v, 0.6, bottom=bottom, label=k, color=COMPONENT_COLORS[k])
        bottom += v
    for i, total in enumerate(bottom):
        ax.text(i, total, f"{total:.3g} {unit}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x)
    ax.set_xticklabels([p.name for p in ps])
    ax.set_ylabel(f"energy per token ({unit})")
    ax.set_title(f"{result.model}: where the energy goes")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _png(fig)


def roofline_points(p: PhaseResult) -> tuple[list[tuple[float, float, str]],
                                              list[tuple[float, str]]]:
    """(FLOP per HBM byte, achieved FLOP/s, block) of the ops that read or write HBM, and
    (achieved FLOP/s, block) of those that do not. Ops with no FLOPs or no time are left
    out (a roofline cannot place them)."""
    with_hbm, without = [], []
    for o in p.ops:
        dur = o.end_s - o.start_s
        if o.flops <= 0 or dur <= 0:
            continue
        nbytes = o.hbm_read_bytes + o.hbm_write_bytes
        if nbytes > 0:
            with_hbm.append((o.flops / nbytes, o.flops / dur, o.block))
        else:
            without.append((o.flops / dur, o.block))
    return with_hbm, without


def _roofline(result: CompileResult) -> bytes:
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    bw = hbm_bytes_per_s(result)
    ps = result.phases
    points = {p.name: roofline_points(p) for p in ps}
    peaks = sorted({p.peak_flops for p in ps if p.peak_flops > 0})
    xs = [x for w, _ in points.values() for x, _, _ in w]
    ridge = [pk / bw for pk in peaks] if bw else []
    lo = min([*xs, *ridge, 1.0]) / 4
    hi = max([*xs, *ridge, 1.0]) * 8
    edge = hi / 2  # where ops with no HBM traffic are drawn
    fig = Figure(figsize=(7.5, 4.8))
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")
    grid = np.geomspace(lo, hi, 256)
    for pk in peaks:
        roof = np.minimum(pk, grid * bw) if bw else np.full_like(grid, pk)
        ax.plot(grid, roof, color="black", lw=1.2)
        knee = pk / bw if bw else lo
        ax.text(knee, pk * 1.3, f"peak {pk / 1e12:.4g} TFLOP/s", va="bottom", ha="left",
                fontsize=7)
    markers = ["o", "s", "^", "D", "v"]
    blocks = sorted({b for w, wo in points.values() for b in [x[2] for x in w] +
                     [x[1] for x in wo]})
    block_colors = {b: c for b, c in zip(blocks, ["#4c72b0", "#dd8452", "#55a868", "#c44e52",
                                                   "#8172b2", "#937860"] * 4, strict=False)}
    handles = []
    for i, p in enumerate(ps):
        w, wo = points[p.name]
        m = markers[i % len(markers)]
        for b in blocks:
            sel = [(x, y) for x, y, bb in w if bb == b]
            if sel:
                a = np.asarray(sel)
                ax.scatter(a[:, 0], a[:, 1], s=10, marker=m, color=block_colors[b],
                           alpha=0.6, linewidths=0)
            sel2 = [y for y, bb in wo if bb == b]
            if sel2:
                ax.scatter(np.full(len(sel2), edge), sel2, s=14, marker=">",
                           color=block_colors[b], alpha=0.6, linewidths=0)
        handles.append(Line2D([], [], ls="", marker=m, color="gray", label=p.name))
    handles += [Line2D([], [], ls="", marker="o", color=block_colors[b], label=b) for b in blocks]
    if any(wo for _, wo in points.values()):
        handles.append(Line2D([], [], ls="", marker=">", color="gray",
                              label="no HBM traffic"))
    ax.set_xlim(lo, hi)
    ys = [y for w, wo in points.values() for y in [x[1] for x in w] + [x[0] for x in wo]]
    ymax = max([*ys, *peaks, 1.0]) * 3
    ymin = max(min([*ys, ymax / 1e6]) / 3, ymax / 1e9)
    ax.set_ylim(ymin, ymax)
    ax.set_xlabel("arithmetic intensity (FLOP per HBM byte)")
    ax.set_ylabel("achieved FLOP/s")
    ax.set_title(f"{result.model} on {result.hardware}: roofline"
                 + (f" (HBM {bw / 1e9:.4g} GB/s)" if bw else ""))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _png(fig)


class PlotsBackend:
    """plots/*.png: Gantt per phase, utilisation heatmap, energy breakdown, roofline."""

    name = "plots"

    def emit(self, result: CompileResult) -> Artifacts:
        import matplotlib

        if not result.phases:
            return {}
        out: Artifacts = {}
        with matplotlib.rc_context(RC):
            for p in result.phases:
                out[f"plots/gantt_{p.name}.png"] = _gantt(result, p)
            out["plots/utilization.png"] = _utilization(result)
            out["plots/energy.png"] = _energy(result)
            out["plots/roofline.png"] = _roofline(result)
        assert sorted(out) == sorted(path for _, path in plot_files(result))
        return out
