"""Core rectangles and the small, deterministic set of candidate rectangles per op.

An op runs on one axis-aligned rectangle of cores (`Rect`, inclusive bounds). Its candidates
are generated from the cores it may use (its region, restricted to cores whose type runs it
and whose SRAM holds one tile):

1. Side lengths are the powers of two below the region's bounding-box extent plus the full
   extent of the region's bounding box and of each core type's bounding box (so an 8-wide
   region whose fast cores fill its 6 middle columns offers widths 1, 2, 4, 6 and 8).
2. A shape (h, w) is kept when it is near-square (neither side more than twice the other) or
   spans one of those bounding boxes in one direction (full row or column spans).
3. Positions are aligned to the shape (row offsets multiple of h, column offsets of w) from
   the corner of the bounding box and from the corner of each core type's bounding box (so a
   block of fast cores in the middle of a mixed region is a candidate); a rectangle is kept
   only if every core in it is usable.
4. No rectangle larger than needed: if some kept rectangle holds all tiles in one wave, larger
   ones are dropped; and none so small that it needs more than `MAX_WAVE_RATIO` times the
   waves of the largest one.
5. While more than `max_candidates` remain, the shape with the most positions (ties: fewer
   cores) keeps every other position.

Strided candidates: when the usable columns of the op (or of one core type) are evenly
spaced but not adjacent, such as the two edge columns where the HBM-side attention cores of
mesh-8x8 sit, one rectangle with a column step takes all of them (full height, and the
heights of rule 1 at aligned rows); rows likewise. Without these an op of a two-column
region could use only half of its cores.

Candidates are sorted by (cores, height, row, col).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from meshc.hardware.spread import waves
from meshc.mappers.problem import Core

MAX_WAVE_RATIO = 8


@dataclass(frozen=True, slots=True, order=True)
class Rect:
    """Cores r0..r1 x c0..c1, bounds inclusive, every `rs`-th row and `cs`-th column (a
    *strided* rectangle when a step is above 1: e.g. the two edge columns of a mesh)."""

    r0: int
    c0: int
    r1: int
    c1: int
    rs: int = 1
    cs: int = 1

    @property
    def height(self) -> int:
        return (self.r1 - self.r0) // self.rs + 1

    @property
    def width(self) -> int:
        return (self.c1 - self.c0) // self.cs + 1

    @property
    def n_cores(self) -> int:
        return self.height * self.width

    def cores(self) -> tuple[Core, ...]:
        """The rectangle's cores in row-major order (the tile spreading order)."""
        return tuple((r, c) for r in range(self.r0, self.r1 + 1, self.rs)
                     for c in range(self.c0, self.c1 + 1, self.cs))

    def as_tuple(self) -> tuple[int, int, int, int]:
        """The bounding box (r0, c0, r1, c1)."""
        return (self.r0, self.c0, self.r1, self.c1)

    @property
    def steps(self) -> tuple[int, int]:
        return (self.rs, self.cs)


def rect_hops(a: Rect, b: Rect) -> int:
    """Manhattan distance between the closest cores of the bounding boxes of `a` and `b` (0
    if they overlap; for strided rectangles a lower bound of the distance between cores)."""
    dr = max(0, a.r0 - b.r1, b.r0 - a.r1)
    dc = max(0, a.c0 - b.c1, b.c0 - a.c1)
    return dr + dc


def _extents(n: int, full: Iterable[int]) -> list[int]:
    """Powers of two below `n`, plus the `full` extents of the bounding boxes."""
    sizes = set(full)
    p = 1
    while p < n:
        sizes.add(p)
        p *= 2
    return sorted(sizes)


def _bbox(cores: Iterable[Core]) -> Rect:
    rows = [r for r, _ in cores]
    cols = [c for _, c in cores]
    return Rect(min(rows), min(cols), max(rows), max(cols))


def _shape_rects(cores: frozenset[Core], h: int, w: int, boxes: list[Rect]) -> list[Rect]:
    out: set[Rect] = set()
    for box in boxes:
        for r0 in range(box.r0, box.r1 - h + 2, h):
            for c0 in range(box.c0, box.c1 - w + 2, w):
                rect = Rect(r0, c0, r0 + h - 1, c0 + w - 1)
                if all(core in cores for core in rect.cores()):
                    out.add(rect)
    return sorted(out)


def _even_step(values: list[int]) -> int:
    """The common gap of sorted `values` if they are evenly spaced with gaps above 1, else 0."""
    gaps = {b - a for a, b in pairwise(values)}
    return gaps.pop() if len(gaps) == 1 and min(gaps) > 1 else 0


def _strided_rects(cores: frozenset[Core], groups: list[list[Core]]) -> dict[
    tuple[int, ...], list[Rect]
]:
    """Strided candidates over each group of cores whose columns (or rows) are evenly spaced
    (module docstring), by shape (height, width, row step, column step)."""
    out: dict[tuple[int, int, int, int], set[Rect]] = {}
    for group in groups:
        rows = sorted({r for r, _ in group})
        cols = sorted({c for _, c in group})
        for across, along, transpose in ((cols, rows, False), (rows, cols, True)):
            step = _even_step(across)
            if not step:
                continue
            lo, hi = along[0], along[-1]
            for n in _extents(hi - lo + 1, (hi - lo + 1,)):
                for a0 in range(lo, hi - n + 2, n):
                    rect = (Rect(across[0], a0, across[-1], a0 + n - 1, rs=step) if transpose
                            else Rect(a0, across[0], a0 + n - 1, across[-1], cs=step))
                    if all(core in cores for core in rect.cores()):
                        out.setdefault((rect.height, rect.width, *rect.steps), set()).add(rect)
    return {k: sorted(v) for k, v in out.items()}


def candidate_rects(
    usable: Mapping[Core, str], n_tiles: int, max_candidates: int
) -> tuple[Rect, ...]:
    """The candidate rectangles of an op with `n_tiles` tiles over the `usable` cores (core ->
    core type)."""
    cores = frozenset(usable)
    if not cores:
        return ()
    box = _bbox(cores)
    kinds = sorted(set(usable.values()))
    boxes = [box] + [_bbox([k for k in cores if usable[k] == kind]) for kind in kinds]
    heights = {b.height for b in boxes}
    widths = {b.width for b in boxes}
    by_shape: dict[tuple[int, ...], list[Rect]] = {}
    for h in _extents(box.height, heights):
        for w in _extents(box.width, widths):
            square = max(h, w) <= 2 * min(h, w)
            if square or h in heights or w in widths:
                rects = _shape_rects(cores, h, w, boxes)
                if rects:
                    by_shape[(h, w)] = rects
    groups = [sorted(cores)] + [sorted(k for k in cores if usable[k] == kind) for kind in kinds]
    by_shape.update(_strided_rects(cores, groups))
    sizes = sorted({s[0] * s[1] for s in by_shape})
    one_wave = [s for s in sizes if s >= n_tiles]
    cap = one_wave[0] if one_wave else sizes[-1]
    best_waves = waves(n_tiles, cap)
    by_shape = {
        s: r for s, r in by_shape.items()
        if s[0] * s[1] <= cap and waves(n_tiles, s[0] * s[1]) <= MAX_WAVE_RATIO * best_waves
    }
    while sum(len(r) for r in by_shape.values()) > max_candidates:
        shape = max(sorted(by_shape), key=lambda s: (len(by_shape[s]), -s[0] * s[1]))
        if len(by_shape[shape]) > 1:
            by_shape[shape] = by_shape[shape][::2]
        else:
            del by_shape[min(sorted(by_shape), key=lambda s: s[0] * s[1])]
    rects = [r for rs in by_shape.values() for r in rs]
    return tuple(sorted(rects, key=lambda r: (r.n_cores, r.height, r.r0, r.c0, r.rs, r.cs)))
