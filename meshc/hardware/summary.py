"""The headline figures of a machine, as JSON-ready values (for `meshc hw show`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from meshc.hardware.precision import PRECISIONS

if TYPE_CHECKING:
    from meshc.hardware.model import Hardware


def summarize(hw: Hardware) -> dict[str, Any]:
    """Peak, capacity and bandwidth totals; per-precision figures for native precisions."""
    native = [p for p in PRECISIONS
              if any(hw.core_types[t].supports(p) for t, n in hw.core_counts.items() if n)]
    peak = {p: hw.peak_flops(p) for p in native}
    bw = hw.hbm_bytes_per_s
    e = hw.energy
    return {
        "name": hw.name,
        "description": hw.description,
        "mesh": [hw.mesh_rows, hw.mesh_cols],
        "cores": hw.n_cores,
        "core_types": {
            name: {
                "count": hw.core_counts[name],
                "array": [ct.array_rows, ct.array_cols],
                "dataflow": ct.dataflow,
                "macs_per_cycle": dict(ct.macs_per_cycle),
                "vector_lanes": ct.vector_lanes,
                "transcendental_per_cycle": ct.transcendental_per_cycle,
                "sram_bytes": ct.sram_bytes,
                "sram_bytes_per_cycle": ct.sram_bytes_per_cycle,
                "clock_hz": ct.clock_hz,
            }
            for name, ct in hw.core_types.items()
        },
        "peak_tflops": {p: round(f / 1e12, 3) for p, f in peak.items()},
        "sram_bytes": hw.sram_bytes,
        "hbm_bytes": hw.hbm_bytes,
        "hbm_bytes_per_s": bw,
        "hbm_stacks": len(hw.hbm_stacks),
        "noc_bisection_bytes_per_s": hw.noc_bisection_bytes_per_s,
        # schedules are timed in cycles of the NoC clock
        "noc": {"clock_hz": hw.noc.clock_hz, "link_bytes_per_cycle": hw.noc.link_bytes_per_cycle,
                "router_latency_cycles": hw.noc.router_latency_cycles},
        # FLOPs per HBM byte at which a kernel stops being bandwidth-bound; None without HBM.
        "ridge_flops_per_byte": {p: (round(f / bw, 2) if bw else None) for p, f in peak.items()},
        "energy": {
            "node": e.node,
            "pj_per_mac": dict(e.pj_per_mac),
            "sram_pj_per_byte": round(e.sram_pj_per_byte, 4),
            "vector_pj_per_op": e.vector_pj_per_op,
            "transcendental_pj_per_op": e.transcendental_pj_per_op,
            "static_w_per_core": e.static_w_per_core,
            "noc_pj_per_byte_hop": hw.noc.pj_per_byte_hop,
        },
    }
