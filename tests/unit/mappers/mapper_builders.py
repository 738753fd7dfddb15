"""Small problem builders for the mapper tests (the decoder-layer builder is
mapper_synthetic.py, shared with bench/bench_mapper.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from meshc.mappers import Edge, HbmPort, Machine, MappingProblem, Op


def machine(rows: int, cols: int, *, kinds: Sequence[str] = ("a",), sram: int = 1 << 20,
            hbm: float = 0.0, link: float = 8.0, latency: int = 2) -> Machine:
    """A mesh whose columns cycle through `kinds`; one HBM port at (0, 0) if hbm > 0."""
    types = tuple(tuple(kinds[c % len(kinds)] for c in range(cols)) for _ in range(rows))
    ports = (HbmPort(core=(0, 0), bytes_per_cycle=hbm),) if hbm else ()
    return Machine(rows=rows, cols=cols, core_types=types, sram_bytes=dict.fromkeys(kinds, sram),
                   clock_hz=1e9, link_bytes_per_cycle=link, router_latency_cycles=latency,
                   hbm_ports=ports)


@dataclass(frozen=True)
class OpSpec:
    tiles: int
    cycles: int
    hbm: int = 0
    region: str = "all"


def problem(m: Machine, ops: Sequence[OpSpec], edges: Sequence[tuple[int, int, int]],
            regions: dict[str, tuple[tuple[int, int], ...]] | None = None) -> MappingProblem:
    kinds = sorted({k for row in m.core_types for k in row})
    cores = tuple((r, c) for r in range(m.rows) for c in range(m.cols))
    return MappingProblem(
        machine=m,
        ops=tuple(Op(id=i, name=f"op{i}", layer=0, block="other", region=o.region,
                     n_tiles=o.tiles, tile_cycles=dict.fromkeys(kinds, o.cycles),
                     sram_bytes_per_tile=1024, hbm_read_bytes=o.hbm)
                  for i, o in enumerate(ops)),
        edges=tuple(Edge(src=a, dst=b, bytes=n) for a, b, n in edges),
        regions=regions or {"all": cores},
        name="tiny",
    )


@st.composite
def small_problems(draw: st.DrawFn) -> MappingProblem:
    """2x2 to 2x3 meshes, 2-6 ops, a random DAG, sometimes HBM traffic."""
    rows, cols = 2, draw(st.integers(2, 3))
    hbm = draw(st.sampled_from([0.0, 16.0]))
    m = machine(rows, cols, kinds=draw(st.sampled_from([("a",), ("a", "b")])), hbm=hbm)
    n = draw(st.integers(2, 6))
    ops = [OpSpec(tiles=draw(st.integers(1, 8)), cycles=draw(st.integers(5, 60)),
                  hbm=draw(st.sampled_from([0, 0, 400])) if hbm else 0) for _ in range(n)]
    edges = [(a, b, draw(st.sampled_from([0, 64, 512])))
             for b in range(n) for a in range(b) if draw(st.booleans())]
    return problem(m, ops, edges)
