"""`meshc hw list|show|schema|cost`: look at a machine, and at what one GEMM costs on it.

Bad input raises MeshcError; meshc/cli.py prints it on one line and exits 2.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import click

from meshc import limits
from meshc.errors import MeshcError
from meshc.hardware import CoreType, Hardware, load_hardware, preset_names
from meshc.hardware.cost import gemm_cycles, gemm_ideal_cycles, gemm_sram_bytes
from meshc.hardware.precision import check_precision
from meshc.hardware.tile_energy import components, gemm_energy_by_level, gemm_offchip_bytes
from meshc.units import fmt_si

_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]),
                       default="table", show_default=True)


@click.group("hw")
def hw() -> None:
    """Hardware presets and files: list, show, schema, cost."""


@hw.command("list")
def list_() -> None:
    """List the built-in hardware presets."""
    for name in preset_names():
        h = load_hardware(name)
        click.echo(f"{name:20s} {h.mesh_rows:>3d}x{h.mesh_cols:<3d} {h.description}")


@hw.command("show")
@click.argument("source", metavar="NAME|FILE")
@_FORMAT
def show(source: str, fmt: str) -> None:
    """Peak, memory and network figures of a preset or hardware YAML file."""
    s = load_hardware(source).summary()
    click.echo(json.dumps(s, indent=2) if fmt == "json" else _show_table(s))


@hw.command("schema")
def schema() -> None:
    """Print the JSON Schema of hardware YAML files."""
    click.echo(json.dumps(Hardware.model_json_schema(), indent=2))


@hw.command("cost")
@click.argument("source", metavar="NAME|FILE")
@click.option("--gemm", required=True, metavar="M,K,N", help="GEMM shape: A is MxK, B is KxN.")
@click.option("--precision", default="bf16", show_default=True, help="Storage precision.")
@click.option("--core", "core_name", metavar="TYPE",
              help="Core type (default: the most numerous one with a systolic array).")
@click.option("--operands", type=click.Choice(["offchip", "sram"]), default=None,
              help="Where A and B start and C ends: off-chip memory (the default when the "
              "machine has some) or the core's SRAM.")
@_FORMAT
def cost(source: str, gemm: str, precision: str, core_name: str | None, operands: str | None,
         fmt: str) -> None:
    """What one GEMM costs on one core: cycles, utilization, energy by component and by
    memory level."""
    h = load_hardware(source)
    mkn = _parse_gemm(gemm)
    try:
        r = gemm_report(h, mkn, check_precision(precision, where="--precision"), core_name,
                        offchip=None if operands is None else operands == "offchip")
    except MeshcError as e:
        raise e.located(file=None if e.where and e.where.startswith("--") else h.source) from None
    click.echo(json.dumps(r, indent=2) if fmt == "json" else _cost_table(r))


def gemm_report(h: Hardware, mkn: tuple[int, int, int], precision: str,
                core_name: str | None = None, *, offchip: bool | None = None) -> dict[str, Any]:
    """The `meshc hw cost` figures for one GEMM on one core of `h`. `offchip`: operands
    start in off-chip memory and the result ends there (default: when `h` has some);
    energy by memory level is tile_energy's, the simulator's rule."""
    name = core_name or _default_core(h)
    if name not in h.core_types:
        raise MeshcError(f"{h.name} has no core type {name!r}", where="--core",
                         hint=f"core types: {', '.join(h.core_types)}")
    ct = h.core_types[name]
    _check_int64(mkn, ct)
    m, k, n = mkn
    cycles = int(gemm_cycles(m, k, n, ct, precision)[()])
    ideal = int(gemm_ideal_cycles(m, k, n, ct, precision)[()])
    feed = float(gemm_sram_bytes(m, k, n, ct, precision)[()]) / ct.sram_bytes_per_cycle
    if offchip is None:
        offchip = bool(h.hbm_stacks)
    elif offchip and not h.hbm_stacks:
        raise MeshcError(f"{h.name} has no off-chip memory", where="--operands",
                         hint="use --operands sram")
    rd, wr = gemm_offchip_bytes(m, k, n, ct, precision) if offchip else (0.0, 0.0)
    levels = gemm_energy_by_level(m, k, n, ct, precision, h, offchip_read_bytes=rd,
                                  offchip_write_bytes=wr)
    seconds = cycles / ct.clock_hz
    static = h.energy.static_w_per_core * seconds * 1e12
    parts = {key: float(v[()]) for key, v in components(levels).items()} | {"static": static}
    return {
        "hardware": h.name,
        "core": name,
        "dataflow": ct.dataflow,
        "array": [ct.array_rows, ct.array_cols],
        "gemm": [m, k, n],
        "precision": precision,
        "exec_precision": ct.exec_precision(precision),
        "cycles": cycles,
        "ideal_cycles": ideal,
        "utilization": ideal / cycles,
        "bound": "sram" if feed >= cycles else "compute",
        "seconds": seconds,
        "operands": "offchip" if offchip else "sram",
        "offchip_bytes": {"read": float(rd), "write": float(wr)},
        "energy_pj": sum(parts.values()),
        "energy_breakdown_pj": parts,
        "energy_by_level_pj": {key: float(v[()]) for key, v in levels.items()},
    }


_DIM = re.compile(r"[0-9]{1,30}")  # ASCII digits only ("²".isdigit() is true); 30 digits
# keep int() far from Python's 4300-digit limit


def _parse_gemm(text: str) -> tuple[int, int, int]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(_DIM.fullmatch(p) and int(p) > 0 for p in parts):
        shown = text if len(text) <= 60 else f"{text[:57]}..."
        raise MeshcError(f"{shown!r} is not M,K,N", where="--gemm",
                         hint="three positive integers, e.g. --gemm 128,4096,4096")
    m, k, n = (int(p) for p in parts)
    for label, d in zip("MKN", (m, k, n), strict=True):
        if d > limits.get("dim"):
            raise limits.refuse("dim", d, f"{label} is too large").located(where="--gemm")
    return m, k, n


def _check_int64(mkn: tuple[int, int, int], ct: CoreType) -> None:
    """Refuses a GEMM whose cycles or bytes would overflow cost.py's int64 arithmetic.

    With each dimension padded by the array, B = (m+R+C)(k+R+C)(n+R+C) bounds m*k*n, the
    streamed rows times the array (t*R*C) and the folds times the fold time by 4B, and the
    SRAM bytes (4 B per element at most, >= 1 B per cycle) by 16B."""
    pad = ct.array_rows + ct.array_cols
    if 16 * math.prod(d + pad for d in mkn) >= 2**63:
        m, k, n = mkn
        raise MeshcError(
            f"a {m}x{k}x{n} GEMM is too large for the cost model: its cycle and byte counts "
            "would overflow 64-bit integers", where="--gemm",
            hint="`meshc hw cost` prices one tile on one core: give a smaller shape")


def _default_core(h: Hardware) -> str:
    gemm = [t for t, ct in h.core_types.items() if ct.can_gemm and h.core_counts[t]]
    return max(gemm, key=lambda t: h.core_counts[t])  # first in YAML order on ties


def _show_table(s: dict[str, Any]) -> str:
    rows = [("machine", f"{s['name']}: {s['description']}"),
            ("mesh", f"{s['mesh'][0]} x {s['mesh'][1]} ({s['cores']} cores)")]
    for name, t in s["core_types"].items():
        macs = ", ".join(f"{p} {v}" for p, v in t["macs_per_cycle"].items()) or "no array"
        rows.append((f"core {name} x{t['count']}",
                     f"array {t['array'][0]}x{t['array'][1]} {t['dataflow'] or ''}; "
                     f"MACs/cycle {macs}; {t['vector_lanes']} lanes; "
                     f"SRAM {fmt_si(t['sram_bytes'], 'B')}; {fmt_si(t['clock_hz'], 'Hz')}"))
    rows += [
        ("peak", ", ".join(f"{p} {v:g} TFLOPS" for p, v in s["peak_tflops"].items())),
        ("SRAM", fmt_si(s["sram_bytes"], "B")),
        ("HBM", f"{s['hbm_stacks']} stacks, {fmt_si(s['hbm_bytes'], 'B')}, "
                f"{fmt_si(s['hbm_bytes_per_s'], 'B/s')}" if s["hbm_stacks"] else "none"),
        ("NoC bisection", fmt_si(s["noc_bisection_bytes_per_s"], "B/s")),
        ("ridge", ", ".join(f"{p} {v:g} FLOP/B" for p, v in s["ridge_flops_per_byte"].items()
                            if v is not None) or "no HBM"),
    ]
    e = s["energy"]
    rows.append(("energy", f"{e['node']}: pJ/MAC " + ", ".join(
        f"{p} {v:g}" for p, v in e["pj_per_mac"].items())
        + f"; SRAM {e['sram_pj_per_byte']:g} pJ/B; vector {e['vector_pj_per_op']:g} pJ/op; "
        f"transcendental {e['transcendental_pj_per_op']:g} pJ/op; "
        f"NoC {e['noc_pj_per_byte_hop']:g} pJ/B/hop; static {e['static_w_per_core']:g} W/core"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _cost_table(r: dict[str, Any]) -> str:
    m, k, n = r["gemm"]
    lines = [
        f"{r['hardware']} core {r['core']} ({r['array'][0]}x{r['array'][1]} {r['dataflow']}): "
        f"GEMM {m}x{k} @ {k}x{n} at {r['precision']} (runs as {r['exec_precision']})",
        f"cycles        {r['cycles']} ({fmt_si(r['seconds'], 's')}, {r['bound']}-bound)",
        f"ideal cycles  {r['ideal_cycles']}",
        f"utilization   {r['utilization']:.1%}",
        f"energy        {r['energy_pj']:.6g} pJ (operands start in {r['operands']})",
    ]
    lines += [f"  {key:<15} {v:.6g} pJ" for key, v in r["energy_breakdown_pj"].items()]
    lines.append("by level")
    lines += [f"  {key:<15} {v:.6g} pJ" for key, v in r["energy_by_level_pj"].items()]
    return "\n".join(lines)
