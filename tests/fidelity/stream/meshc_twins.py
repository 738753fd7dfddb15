"""meshc on Stream 2.1.1's workloads and the twins of its machines, one result per fixture row
(tests/fidelity/fixtures/stream.json), for tests/fidelity/test_stream.py and
bench/bench_fidelity.py. Stream is never imported.

swiglu.onnx uses a `com.example` Silu, which meshc does not read (docs/fidelity.md):
`meshc_form` rewrites a copy with Silu(x) as x * Sigmoid(x), the same shapes and work. Its
shape-only weights (no data) import as they are, like external-data weights.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import cache
from math import prod
from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto, helper

from meshc.driver import CompileOptions, compile_model
from meshc.frontends import ModelRequest
from meshc.hardware import load_hardware

HERE = Path(__file__).parent
TWINS = {"tpu_like_quad_core.yaml": HERE.parent / "stream_tpu_like_quad_core.yaml",
         "simba.yaml": HERE.parent / "stream_simba.yaml"}
CLOCK_HZ = 1e9  # the twins' chosen clock: 1 ns = 1 cycle (Stream has no clock)
_BYTES = {TensorProto.BFLOAT16: 2, TensorProto.FLOAT16: 2, TensorProto.FLOAT: 4}


def meshc_form(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy meshc reads: `com.example` Silu as x * Sigmoid(x) in the default domain."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    nodes = []
    for n in m.graph.node:
        if n.op_type == "Silu" and n.domain not in ("", "ai.onnx"):
            x, y = n.input[0], n.output[0]
            nodes += [helper.make_node("Sigmoid", [x], [f"{y}_sigmoid"]),
                      helper.make_node("Mul", [x, f"{y}_sigmoid"], [y])]
        else:
            nodes.append(n)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    return m


def offchip_bytes(model: onnx.ModelProto) -> int:
    """What a run that starts in DRAM and ends there moves over the port at least: the graph's
    float inputs and weights read once, its outputs written once."""
    def size(shape: list[int], elem: int) -> int:
        return _BYTES.get(elem, 0) * prod(shape)

    g = model.graph
    values = [*g.input, *g.output]
    total = sum(size([d.dim_value for d in v.type.tensor_type.shape.dim], v.type.tensor_type.elem_type)
                for v in values)
    return total + sum(size(list(t.dims), t.data_type) for t in g.initializer if len(t.dims) > 1)


@dataclass(frozen=True)
class Row:
    """meshc's figures for one fixture row, next to Stream's."""

    machine: str
    workload: str
    cycles: float  # meshc's simulated latency x CLOCK_HZ
    energy_pj: float
    mac_pj: float  # the MAC component of energy_pj
    macs: int
    hbm_bytes: int  # read + written over the twin's DRAM port
    offchip_bytes: int  # inputs + weights + outputs of the workload (offchip_bytes)
    dram_pj_per_bit: float
    dram_bytes_per_cycle: float
    stream_cycles: float
    stream_energy_pj: float
    stream_macs: int
    stream_dram_bytes: float  # the DRAM port's bits per iteration x iterations / 8

    @property
    def latency_ratio(self) -> float:
        return self.cycles / self.stream_cycles

    @property
    def energy_ratio(self) -> float:
        return self.energy_pj / self.stream_energy_pj


def stream_dram_bytes(row: dict[str, Any]) -> float:
    g = row["groups"][0]
    iterations = round(g["energy"]["total_pj"] / g["energy"]["per_iteration_pj"])
    bits = sum(p["bits_per_iteration"] for p in g["memory_ports_and_links"]
               if p["kind"] == "memory_port" and p["resource"].startswith("dram."))
    return bits * iterations / 8


@cache
def _compile(machine: str, workload: str) -> tuple[float, float, float, int, int, int]:
    model = onnx.load(HERE / f"{workload}.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{workload}.onnx"
        onnx.save(meshc_form(model), path)
        res = compile_model(ModelRequest(str(path), phases=("prefill",)), str(TWINS[machine]),
                            CompileOptions(mapper="heft", cold=True))
    (p,) = res.phases
    hbm = sum(h.read_bytes + h.write_bytes for h in p.hbm)
    return (p.latency_s * CLOCK_HZ, p.energy_pj, p.energy_breakdown_pj["mac"], p.macs, hbm,
            offchip_bytes(model))


def meshc_row(row: dict[str, Any]) -> Row:
    """Compile the row's workload on its twin (heft mapper, prefill) once per session."""
    machine, workload = row["machine"], row["workload"]
    cycles, energy, mac_pj, macs, hbm, offchip = _compile(machine, workload)
    (stack,) = load_hardware(str(TWINS[machine])).hbm_stacks
    return Row(machine, workload, cycles, energy, mac_pj, macs, hbm, offchip, stack.pj_per_bit,
               stack.bytes_per_s / CLOCK_HZ, row["latency_cycles"], row["energy_total_pj"],
               row["total_mac_ops"], stream_dram_bytes(row))
