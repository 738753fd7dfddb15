"""The `plots` backend: PNG figures in plots/.

* `plots/gantt_<phase>.png`: what each core runs over time, coloured by op class, with the
  start of every layer marked on a top axis; above
  `MAX_BARS` op-on-core bars it is a raster of `RASTER_BINS` time bins per core instead
  (each bin shows the class that fills most of it, faded by the core's idle share), which
  costs the same for 10 ops or 100,000;
* `plots/utilization.png`: a mesh heatmap per phase of busy time over latency per core;
* `plots/energy.png`: energy per token of each phase, stacked by component, one panel
  (and scale) per phase;
* `plots/roofline.png`: every op at (FLOP per HBM byte, achieved FLOP/s) under the roofs
  of the chip's peak and its HBM bandwidth, coloured by phase and shaped by block; ops
  that move no HBM bytes stand in a side panel (they have no arithmetic intensity).

matplotlib is imported only when `emit` runs (listing backends stays fast), through its
object API and the Agg canvas (no pyplot, no global state), at a fixed DPI and with no
metadata in the files, so that emitting twice gives byte-identical PNGs.
"""

from __future__ import annotations

import io
from collections import defaultdict
from typing import TYPE_CHECKING, Any, cast

from meshc.backends.base import Artifacts, core_key, gc_paused, hbm_bytes_per_s
from meshc.result import ENERGY_COMPONENTS, CompileResult, PhaseResult

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType
    from numpy.typing import ArrayLike

DPI = 100
MAX_BARS = 5000  # above this many op-on-core bars the Gantt is drawn as a raster
RASTER_BINS = 800  # time bins of the raster: about one per pixel column
RC: dict[RcKeyType, Any] = {  # keyed by matplotlib's Literal of rc names, as rc_context wants
    "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "font.family": "DejaVu Sans",
    "path.simplify": True, "agg.path.chunksize": 10000}
COMPONENT_COLORS = {"mac": "#4c72b0", "reg": "#dd8452", "vector": "#55a868",
                    "transcendental": "#8172b2", "sram": "#ccb974", "noc": "#64b5cd",
                    "hbm": "#c44e52", "static": "#8c8c8c"}


def plot_files(result: CompileResult) -> list[tuple[str, str]]:
    """(title, relative path) of every figure this backend writes for `result`."""
    out = [(f"Gantt: {p.name}", f"plots/gantt_{p.name}.png") for p in result.phases]
    if result.phases:
        out += [("Core utilisation", "plots/utilization.png"),
                ("Energy per token", "plots/energy.png"),
                ("Roofline", "plots/roofline.png")]
    return out


def png_bytes(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _margins(fig: Figure, left: float, right: float, top: float, bottom: float,
             wspace: float | None = None) -> None:
    """Fixed margins in inches (one draw per figure: no tight layout, which draws twice)."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h,
                        bottom=bottom / h, wspace=wspace)


def _class_colors(classes: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return {c: cmap(i % 20) for i, c in enumerate(sorted(classes))}


def gantt_bars(p: PhaseResult, cols: int, max_bars: int = MAX_BARS
               ) -> dict[str, list[tuple[int, float, float]]] | None:
    """(row, start_s, end_s) of every op on every core of its rectangle, by op class (row
    = r * cols + c); None when there are more than `max_bars` (then the Gantt is drawn as
    a raster, see `gantt_raster`)."""
    if sum(len(o.cores) for o in p.ops) > max_bars:
        return None
    bars: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for o in p.ops:
        for r, c in o.cores:
            bars[o.op_class].append((r * cols + c, o.start_s, o.end_s))
    return {k: sorted(v) for k, v in sorted(bars.items())}


def gantt_raster(p: PhaseResult, mesh: tuple[int, int], classes: list[str], n_bins: int,
                 span: float) -> tuple[Any, Any]:
    """The Gantt of a large phase as a (core row, time bin) grid: the index in `classes`
    of the op class that fills most of each bin (-1 when the core idles all of it) and the
    busy share of the bin. Costs a few numpy operations per op, however many cores."""
    import numpy as np

    rows, cols = mesh
    width = span / n_bins
    cover = np.zeros((rows * cols, n_bins, len(classes)), dtype=np.float32)
    k_of = {c: i for i, c in enumerate(classes)}
    edges = np.arange(n_bins + 1) * width
    for o in p.ops:
        if o.end_s <= o.start_s:
            continue
        b0 = min(n_bins - 1, int(o.start_s / width))
        b1 = min(n_bins - 1, int(o.end_s / width))
        cov = np.minimum(edges[b0 + 1:b1 + 2], o.end_s) - np.maximum(edges[b0:b1 + 1], o.start_s)
        idx = np.array([r * cols + c for r, c in o.cores])
        cover[idx[:, None], np.arange(b0, b1 + 1)[None, :], k_of[o.op_class]] += np.clip(
            cov, 0.0, None)[None, :]
    busy = np.clip(cover.sum(axis=2) / width, 0.0, 1.0)
    dominant = np.where(busy > 0, cover.argmax(axis=2), -1)
    return dominant, busy


def _gantt(result: CompileResult, p: PhaseResult) -> bytes:
    import numpy as np
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgba
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows, cols = result.mesh
    n = rows * cols
    classes = sorted({o.op_class for o in p.ops})
    colors = _class_colors(classes)
    height = min(12.0, max(2.5, 0.16 * n + 1.4))
    fig = Figure(figsize=(10, height))
    ax = fig.add_subplot()
    span = max(p.latency_s, max((o.end_s for o in p.ops), default=0.0), 1e-15)
    scale, unit = _time_unit(span)
    title = f"{result.model} {p.name}: {len(p.ops)} ops on {rows}x{cols} cores"
    bars = gantt_bars(p, cols)
    _margins(fig, 0.6, 1.4, 0.55 if bars is not None else 0.7, 0.45)
    if bars is not None:
        for cls, rects in bars.items():
            a = np.asarray(rects, dtype=float)
            y, x0, x1 = a[:, 0], a[:, 1] * scale, a[:, 2] * scale
            verts = np.stack([np.stack([x0, y - 0.4], 1), np.stack([x1, y - 0.4], 1),
                              np.stack([x1, y + 0.4], 1), np.stack([x0, y + 0.4], 1)], 1)
            # the stub wants a Sequence, but PolyCollection takes an (n, 4, 2) ndarray whole
            # (its fast path): a list of polygons would go the slow way
            ax.add_collection(PolyCollection(cast("Sequence[ArrayLike]", verts),
                                             facecolors=[colors[cls]], edgecolors="none"))
    else:
        dominant, busy = gantt_raster(p, result.mesh, classes, RASTER_BINS, span)
        palette = np.array([to_rgba(colors[c]) for c in classes] + [(1.0, 1.0, 1.0, 1.0)])
        rgba = palette[dominant]  # -1 picks the white of an idle bin
        rgba[..., :3] = 1.0 - (1.0 - rgba[..., :3]) * busy[..., None]  # fade by idle share
        ax.imshow(rgba, aspect="auto", interpolation="nearest",
                  extent=(0.0, span * scale, n - 0.5, -0.5))
        title += (f"\n{RASTER_BINS} time bins of {span * scale / RASTER_BINS:.3g} {unit}: the op "
                  "class that fills most of a bin, faded by the core's idle share")
    ax.set_xlim(0, span * scale)
    ax.set_ylim(n - 0.5, -0.5)
    _layer_marks(ax, p, scale)
    step = max(1, n // 32)
    ax.set_yticks(range(0, n, step))
    ax.set_yticklabels([core_key(divmod(i, cols)) for i in range(0, n, step)])
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_ylabel("core (r,c)")
    ax.set_title(title)
    ax.legend(handles=[Patch(color=colors[c], label=c) for c in classes],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return png_bytes(fig)


def layer_starts(p: PhaseResult) -> list[tuple[int, float]]:
    """(layer, the simulated start of its first op), in layer order."""
    first: dict[int, float] = {}
    for o in p.ops:
        if o.layer >= 0:
            first[o.layer] = min(first.get(o.layer, o.start_s), o.start_s)
    return sorted(first.items())


def _layer_marks(ax: Any, p: PhaseResult, scale: float) -> None:
    """A faint line where each layer starts and its number on a top axis: row blocks
    pipelining across layers show as layers that start before the previous one ends."""
    starts = layer_starts(p)
    if not starts:
        return
    for _, t in starts:
        ax.axvline(t * scale, color="black", lw=0.4, alpha=0.25)
    shown = starts[::max(1, len(starts) // 16)]
    top = ax.secondary_xaxis("top")
    top.set_xticks([t * scale for _, t in shown], labels=[f"L{layer}" for layer, _ in shown])
    top.tick_params(labelsize=6, length=2)


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
    fig = Figure(figsize=(3.3 * len(ps) + 1.2, 3.4))
    axes = fig.subplots(1, len(ps), squeeze=False)[0]
    _margins(fig, 0.5, 1.2, 0.35, 0.45, wspace=0.25)
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
        w, h = fig.get_size_inches()
        cax = fig.add_axes((1 - 0.95 / w, 0.45 / h, 0.12 / w, 1 - 0.8 / h))
        fig.colorbar(im, cax=cax, label="busy / latency")
    return png_bytes(fig)


def _energy_unit(pj: float) -> tuple[float, str]:
    return next(((s, u) for s, u in ((1e12, "J"), (1e9, "mJ"), (1e6, "µJ"), (1e3, "nJ"))
                 if pj >= s), (1.0, "pJ"))


def _energy(result: CompileResult) -> bytes:
    """One panel per phase, each on its own scale: decode's joules per token would flatten
    prefill's millijoules to nothing on one shared linear axis."""
    from matplotlib.figure import Figure

    ps = result.phases
    fig = Figure(figsize=(1.2 + 1.9 * len(ps), 4.0))
    axes = fig.subplots(1, len(ps), squeeze=False)[0]
    _margins(fig, 0.75, 1.25, 0.55, 0.35, wspace=0.9)
    for ax, p in zip(axes, ps, strict=True):
        scale, unit = _energy_unit(p.pj_per_token)
        bottom = 0.0
        for k in ENERGY_COMPONENTS:
            v = p.energy_breakdown_pj.get(k, 0.0) / p.tokens / scale
            ax.bar([0], [v], 0.6, bottom=bottom, label=k, color=COMPONENT_COLORS[k])
            bottom += v
        ax.text(0, bottom, f"{bottom:.3g} {unit}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks([0])
        ax.set_xticklabels([p.name])
        ax.set_xlim(-0.6, 0.6)
        ax.set_ylim(0, bottom * 1.12 if bottom > 0 else 1)
        ax.set_ylabel(f"energy per token ({unit})")
    fig.suptitle(f"{result.model}: where the energy goes (each phase on its own scale)")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return png_bytes(fig)


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


PHASE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")  # prefill blue, decode red
BLOCK_MARKERS = ("o", "s", "^", "D", "v", "P")


def _roofline(result: CompileResult) -> bytes:
    """Ops coloured by phase and shaped by block, under the roofs; ops that move no HBM
    bytes have no arithmetic intensity, so they stand in a panel of their own."""
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
    fig = Figure(figsize=(9.0, 4.8))
    ax, side = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [6, 1]})
    _margins(fig, 0.75, 1.3, 0.35, 0.5, wspace=0.05)
    ax.set_xscale("log")
    ax.set_yscale("log")
    grid = np.geomspace(lo, hi, 256)
    for pk in peaks:
        roof = np.minimum(pk, grid * bw) if bw else np.full_like(grid, pk)
        ax.plot(grid, roof, color="black", lw=1.2)
        knee = pk / bw if bw else lo
        ax.text(knee, pk * 1.3, f"peak {pk / 1e12:.4g} TFLOP/s", va="bottom", ha="left",
                fontsize=7)
    blocks = sorted({b for w, wo in points.values() for b in [x[2] for x in w] +
                     [x[1] for x in wo]})
    marker = {b: BLOCK_MARKERS[i % len(BLOCK_MARKERS)] for i, b in enumerate(blocks)}
    handles = []
    for i, p in enumerate(ps):
        w, wo = points[p.name]
        color = PHASE_COLORS[i % len(PHASE_COLORS)]
        for b in blocks:
            sel = [(x, y) for x, y, bb in w if bb == b]
            if sel:
                a = np.asarray(sel)
                ax.scatter(a[:, 0], a[:, 1], s=30, marker=marker[b], facecolors="none",
                           edgecolors=color, linewidths=1.0, alpha=0.8)
            sel2 = [y for y, bb in wo if bb == b]
            if sel2:
                side.scatter(np.full(len(sel2), i), sel2, s=30, marker=marker[b],
                             facecolors="none", edgecolors=color, linewidths=1.0, alpha=0.8)
        handles.append(Line2D([], [], ls="", marker="o", markerfacecolor=color,
                              markeredgecolor=color, label=p.name))
    handles += [Line2D([], [], ls="", marker=marker[b], color="gray", markerfacecolor="none",
                       label=b) for b in blocks]
    ax.set_xlim(lo, hi)
    ys = [y for w, wo in points.values() for y in [x[1] for x in w] + [x[0] for x in wo]]
    ymax = max([*ys, *peaks, 1.0]) * 3
    ymin = max(min([*ys, ymax / 1e6]) / 3, ymax / 1e9)
    ax.set_ylim(ymin, ymax)
    side.set_xlim(-0.7, len(ps) - 0.3)
    side.set_xticks(range(len(ps)))
    side.set_xticklabels([p.name for p in ps], rotation=90)
    side.set_title("no HBM bytes", fontsize=7)
    ax.set_xlabel("arithmetic intensity (FLOP per HBM byte)")
    ax.set_ylabel("achieved FLOP/s")
    ax.set_title(f"{result.model} on {result.hardware}: roofline"
                 + (f" (HBM {bw / 1e9:.4g} GB/s)" if bw else ""))
    side.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return png_bytes(fig)


class PlotsBackend:
    """plots/*.png: Gantt per phase, utilisation heatmap, energy breakdown, roofline."""

    name = "plots"

    def emit(self, result: CompileResult) -> Artifacts:
        import matplotlib

        if not result.phases:
            return {}
        out: Artifacts = {}
        with matplotlib.rc_context(RC), gc_paused():
            for p in result.phases:
                out[f"plots/gantt_{p.name}.png"] = _gantt(result, p)
            out["plots/utilization.png"] = _utilization(result)
            out["plots/energy.png"] = _energy(result)
            out["plots/roofline.png"] = _roofline(result)
        assert sorted(out) == sorted(path for _, path in plot_files(result))
        return out
