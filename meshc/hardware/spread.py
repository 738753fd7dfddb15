"""The one rule that spreads an op's tiles over its core rectangle.

Tile k of an op on c cores runs on core k mod c (cores in row-major order:
`meshc.result.rect_cores`), as that core's (k div c)-th tile: round-robin, so the first
n mod c cores run one tile more than the others. The mapper's schedule, the simulator and
the backends all ask this module; an op's HBM bytes are shared over its cores the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

Core = tuple[int, int]


def _check(n_cores: int) -> None:
    if n_cores < 1:
        raise ValueError(f"an op's rectangle needs at least one core, got {n_cores}")


def tile_cores(n_tiles: int, n_cores: int) -> tuple[np.ndarray, np.ndarray]:
    """(core index, wave) of every tile, in tile order."""
    _check(n_cores)
    k = np.arange(n_tiles, dtype=np.int64)
    return k % n_cores, k // n_cores


def even_split(total: int, n: int) -> list[int]:
    """`total` units over `n` parts round-robin: the first total mod n parts get one more."""
    _check(n)
    q, r = divmod(total, n)
    return [q + (j < r) for j in range(n)]


def tiles_per_core(n_tiles: int, n_cores: int) -> list[int]:
    """Tiles each core of the rectangle runs (in row-major core order)."""
    return even_split(n_tiles, n_cores)


def waves(n_tiles: int, n_cores: int) -> int:
    """Tiles the busiest core runs back to back: ceil(n_tiles / n_cores)."""
    _check(n_cores)
    return -(-n_tiles // n_cores)


def resident_per_core(homes: Iterable[tuple[tuple[Core, ...], Iterable[tuple[str, int]]]]
                      ) -> dict[Core, int]:
    """Bytes of resident weights per core: each (cores, [(parameter, bytes)]) entry splits
    every parameter evenly over its cores, one copy per parameter and set of cores (two ops
    of one region sharing a weight hold it once)."""
    seen: set[tuple[str, tuple[Core, ...]]] = set()
    out: dict[Core, int] = {}
    for cores, params in homes:
        for name, n_bytes in params:
            if (name, cores) in seen:
                continue
            seen.add((name, cores))
            for c, b in zip(cores, even_split(n_bytes, len(cores)), strict=True):
                out[c] = out.get(c, 0) + b
    return out
