"""A hand-built CompileResult: two phases, a few ops on a 2x2 mesh, transfers, HBM records.

`synthetic_result(layers, mesh)` also builds larger ones (for plot timing): each layer is
qkv -> attention -> out -> mlp_up -> mlp_down, attention ops on the top half of the mesh,
MLP ops on the bottom half, one HBM port at (0, 0), a 1 GHz clock.
"""

from __future__ import annotations

from functools import cache

import pytest

from meshc.hardware.transfers import xy_route
from meshc.result import (
    CompileResult,
    HbmRecord,
    MapperStats,
    OpRecord,
    PhaseResult,
    TransferRecord,
)

CLOCK = 1e9
HBM_BPS = 1e11
PEAK = 4 * 2 * 64 * CLOCK  # 4 cores x 64 MACs/cycle x 2 FLOP


def xy_links(src: tuple[int, int], dst: tuple[int, int]):
    return tuple(xy_route(src, dst))


def _phase(name: str, tokens: int, layers: int, mesh: tuple[int, int], scale: float,
           mapper: MapperStats) -> PhaseResult:
    rows, cols = mesh
    half = max(1, rows // 2)
    attn_rect = (0, 0, half - 1, cols - 1)
    mlp_rect = (half, 0, rows - 1, cols - 1) if rows > 1 else attn_rect
    steps = [("qkv", "linear", "gemm", "attention", attn_rect, 6),
             ("attn", "attention", "gemm", "attention", attn_rect, 4),
             ("softmax", "softmax", "vector", "attention", (0, 0, 0, 0), 1),
             ("up", "linear", "gemm", "mlp", mlp_rect, 8),
             ("down", "linear", "gemm", "mlp", mlp_rect, 8)]
    ops, transfers, hbm = [], [], []
    t = 0.0
    by_class: dict[str, float] = {}
    busy: dict[str, float] = {}
    prev = None
    for layer in range(layers):
        for short, cls, kind, block, rect, tiles in steps:
            dur = 1e-6 * scale * (1 + (layer + len(short)) % 3)
            macs = 0 if kind == "vector" else int(4096 * tiles * scale)
            vec = 512 * tiles if kind == "vector" else 0
            energy = {"mac": macs * 0.5, "vector": vec * 0.2, "transcendental": vec * 0.1,
                      "sram": 100.0 * tiles, "noc": 0.0, "hbm": 0.0}
            hbm_read = 8192 * tiles if cls == "linear" else 0
            hbm_write = 1024 if short == "down" else 0
            name_ = f"{name}.L{layer}.{block}.{short}"
            if hbm_read or hbm_write:
                energy["hbm"] = (hbm_read + hbm_write) * 8 * 3.0
                hbm.append(HbmRecord(op=name_, port=(0, 0), read_bytes=hbm_read,
                                     write_bytes=hbm_write, start_s=t, end_s=t + dur * 0.8))
            op = OpRecord(
                name=name_, op_class=cls, kind=kind, layer=layer, block=block,
                region=block, precision="bf16", n_tiles=tiles, tile_shape=(64, 64, 64),
                macs=macs, padded_macs=macs, vector_ops=vec, transcendental_ops=vec // 2,
                sram_bytes=4096 * tiles, hbm_read_bytes=hbm_read, hbm_write_bytes=hbm_write,
                rect=rect, planned_start_s=t * 0.9, planned_end_s=(t + dur) * 0.9, start_s=t,
                end_s=t + dur, compute_s=dur * 0.7, energy_pj=energy)
            if prev is not None and prev.rect != rect:
                src, dst = prev.cores[-1], op.cores[0]
                if src != dst:
                    links = xy_links(src, dst)
                    transfers.append(TransferRecord(
                        src_op=prev.name, dst_op=op.name, src_core=src, dst_core=dst,
                        bytes=2048, hops=len(links), start_s=t - 0.1 * dur, end_s=t,
                        links=links))
                    energy["noc"] = 2048 * len(links) * 1.1
            ops.append(op)
            by_class[cls] = by_class.get(cls, 0.0) + sum(energy.values())
            n = len(op.cores)
            for j, core in enumerate(op.cores):
                share = tiles // n + (j < tiles % n)
                key = f"{core[0]},{core[1]}"
                busy[key] = busy.get(key, 0.0) + op.compute_s * share / max(1, -(-tiles // n))
            prev = op
            t += dur
    latency = t
    comps = {k: 0.0 for k in ("mac", "vector", "transcendental", "sram", "noc", "hbm")}
    for o in ops:
        for k, v in o.energy_pj.items():
            comps[k] += v
    comps["static"] = rows * cols * 0.5 * latency * 1e12  # 0.5 W per core
    return PhaseResult(
        name=name, tokens=tokens, latency_s=latency, lower_bound_s=latency * 0.6, macs=sum(
            o.macs for o in ops), peak_flops=PEAK, energy_breakdown_pj=comps,
        energy_by_op_class_pj=dict(sorted(by_class.items())),
        core_busy_s={f"{r},{c}": busy.get(f"{r},{c}", 0.0)
                     for r in range(rows) for c in range(cols)},
        sram_peak_bytes={f"{r},{c}": 65536 for r in range(rows) for c in range(cols)},
        mapper=mapper, ops=tuple(ops), transfers=tuple(transfers), hbm=tuple(hbm),
        n_cores=rows * cols)


def synthetic_result(layers: int = 2, mesh: tuple[int, int] = (2, 2)) -> CompileResult:
    rows, cols = mesh
    cpsat = MapperStats(solver="cpsat", status="OPTIMAL", makespan_s=9e-6, heft_makespan_s=1e-5,
                        lower_bound_s=6e-6, solve_time_s=0.25, fell_back=False)
    fallback = MapperStats(solver="heft", status="FALLBACK", makespan_s=2e-6,
                           heft_makespan_s=2e-6, lower_bound_s=1e-6, solve_time_s=0.5,
                           fell_back=True, options={"budget": 2.0})
    summary = {
        "name": f"synthetic-{rows}x{cols}", "mesh": [rows, cols], "cores": rows * cols,
        "core_types": {"t": {"count": rows * cols, "clock_hz": CLOCK, "array": [8, 8]}},
        "peak_tflops": {"bf16": round(PEAK / 1e12, 3)}, "hbm_bytes_per_s": HBM_BPS,
        "hbm_stacks": 1,
    }
    return CompileResult(
        model="synthetic", hardware=f"synthetic-{rows}x{cols}", hardware_summary=summary,
        mesh=mesh, pipeline="partition-attn-mlp,tile-grain,map-mesh",
        phases=(_phase("prefill", 64, layers, mesh, 8.0, cpsat),
                _phase("decode", 1, layers, mesh, 1.0, fallback)),
        compile_time_s=1.234, options={"batch": 1, "seq": 64, "mapper": "cpsat"})


@pytest.fixture(scope="session")
def result() -> CompileResult:
    return synthetic_result()


@cache
def emitted(name: str) -> dict[str, str | bytes]:
    """The artifacts of built-in backend `name` for the 2x2 result, emitted once."""
    from meshc.registry import get_backend

    return get_backend(name).emit(synthetic_result())
