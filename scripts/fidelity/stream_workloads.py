"""Reference latency and energy of transformer workloads from Stream 2.1.1 (PyPI ``stream-dse==2.1.1``).

Run it only inside the side venv made by ``/work/shared/tools/peer-venvs.sh /work/peers`` (Python >= 3.12)::

    /work/peers/stream/bin/python scripts/fidelity/stream_workloads.py tests/fidelity/fixtures/stream.json

Stream is never a runtime or CI dependency of meshc; this script only writes the fixture.

Workloads (this script writes the ONNX files into tests/fidelity/stream/ on every run):
- ``attention_head``: built here with onnx.helper in the form of Stream's test workload
  ``attention_head.onnx`` (its make_attention_head.py): one head, seq 128, d_model 512, d_head 64,
  bf16, weights as graph inputs.
- ``mha``: Stream's own model-catalog block ``stream.workload.models.build_attention_block`` with its
  default ``AttentionConfig`` (batch 1, 8 heads, seq 128, d_head 64, d_model 512, bf16). It ships as an
  affine-IR builder, not as ONNX, so it is passed to Stream as a ``Workload`` object.
- ``swiglu``: built here in the form of Stream's example ``swiglu_64_128_256.onnx``: 64 tokens,
  d_model 128, d_ff 256, bf16 (Gemm / com.example Silu / Mul / Gemm).
- ``attention_mlp``: built here with onnx.helper (Stream has no such file): the attention head above
  followed by a SwiGLU on its [128, 64] output with d_ff 256, in the node style of Stream's SwiGLU file
  (Gemm / com.example Silu / Mul), weights as graph inputs like the attention head.

Machines: Stream's own ``stream/inputs/examples/hardware/tpu_like_quad_core.yaml`` and ``simba.yaml``
(6 x 6 SIMBA chiplets + a DRAM controller core), as installed. Every run is
``stream.api.evaluate_mapping(hardware, workload, out, options=SolveOptions(artifacts=False))``: no
mapping given, so Stream's mapping generator proposes one; solver OR-Tools GSCIP, the default.

Per row the fixture records latency (total, per iteration, overlap, fill, iterations), energy (node
and transfer energy per iteration and the total, pJ), the per-node placement and ZigZag cost-LUT
figures, memory-port and link activity, and per-core memory access counts. Once per machine it stores
every YAML Stream read (top level and each core file), parsed, so a meshc twin can be written from it.
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import onnx
import yaml
from onnx import TensorProto, helper

PEER = "stream-dse"
PEER_VERSION = "2.1.1"
HERE = Path(__file__).resolve().parents[2] / "tests" / "fidelity" / "stream"
MACHINES: tuple[str, ...] = ("tpu_like_quad_core.yaml", "simba.yaml")
TIME_LIMIT_S = 300.0

# Attention head sizes of Stream's make_attention_head.py; SwiGLU hidden width of swiglu_64_128_256.onnx.
SEQ, DMODEL, DHEAD, DFF = 128, 512, 64, 256
BF16 = TensorProto.BFLOAT16


def _gemm(a: str, b: str, out: str) -> onnx.NodeProto:
    """A Gemm node with the attributes Stream's swiglu_*.onnx files carry."""
    return helper.make_node(
        "Gemm",
        [a, b],
        [out],
        alpha=1.0,
        beta=1.0,
        transA=0,
        transB=0,
        act_size=16,
        weight_size=16,
        output_size=16,
    )


def _save(graph: onnx.GraphProto, path: Path, opset: int, custom: bool = False) -> None:
    ops = [helper.make_opsetid("", opset)] + ([helper.make_opsetid("com.example", 1)] if custom else [])
    onnx.save(helper.make_model(graph, opset_imports=ops, ir_version=8), str(path))


def _attention_head() -> tuple[list[onnx.ValueInfoProto], list[onnx.NodeProto]]:
    """Inputs and nodes of one attention head as Stream's make_attention_head.py writes it:
    seq 128, d_model 512, d_head 64, bf16, weights as graph inputs; Q K^T, softmax, times V
    (output Y)."""
    vi = helper.make_tensor_value_info
    inputs = [vi("I", BF16, [SEQ, DMODEL])] + [vi(w, BF16, [DMODEL, DHEAD]) for w in ("wQ", "wK", "wV")]
    nodes = [
        helper.make_node("MatMul", ["I", "wQ"], ["Q"]),
        helper.make_node("MatMul", ["I", "wK"], ["K"]),
        helper.make_node("MatMul", ["I", "wV"], ["V"]),
        helper.make_node("Transpose", ["K"], ["Kt"], perm=[1, 0]),
        helper.make_node("MatMul", ["Q", "Kt"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["attn"], axis=-1),
        helper.make_node("MatMul", ["attn", "V"], ["Y"]),
    ]
    return inputs, nodes


def build_attention_head(path: Path) -> None:
    """The attention head alone (_attention_head)."""
    inputs, nodes = _attention_head()
    out = helper.make_tensor_value_info("Y", BF16, [SEQ, DHEAD])
    _save(helper.make_graph(nodes, "attention_head", inputs, [out]), path, 13)


def build_swiglu(path: Path, tokens: int = 64, d_model: int = 128, d_ff: int = 256) -> None:
    """Stream's SwiGLU example form: Gemm gate and up, com.example Silu, Mul, Gemm down; bf16
    weights as initializers that carry only their shape (Stream reads no values)."""
    vi = helper.make_tensor_value_info

    def weight(name: str, dims: list[int]) -> onnx.TensorProto:
        t = onnx.TensorProto(name=name, data_type=BF16)
        t.dims.extend(dims)
        return t

    act = {"act_size": 16, "output_size": 16, "weight_size": 0}
    nodes = [
        _gemm("input", "weights_1", "left"),
        _gemm("input", "weights_2", "right"),
        helper.make_node("Silu", ["left"], ["left_swished"], domain="com.example", **act),
        helper.make_node("Mul", ["left_swished", "right"], ["intermediate"], **act),
        _gemm("intermediate", "weights_3", "output"),
    ]
    hidden = [vi(n, BF16, [tokens, d_ff]) for n in ("left", "right", "left_swished", "intermediate")]
    graph = helper.make_graph(
        nodes, "SwiGLU", [vi("input", BF16, [tokens, d_model])], [vi("output", BF16, [tokens, d_model])],
        initializer=[weight("weights_1", [d_model, d_ff]), weight("weights_2", [d_model, d_ff]),
                     weight("weights_3", [d_ff, d_model])], value_info=hidden)
    _save(graph, path, 17, custom=True)


def build_attention_mlp(path: Path) -> None:
    """Attention head (as Stream's make_attention_head.py) followed by a SwiGLU MLP on its output."""
    vi = helper.make_tensor_value_info
    head_inputs, head_nodes = _attention_head()
    inputs = [
        *head_inputs,
        vi("wGate", BF16, [DHEAD, DFF]),
        vi("wUp", BF16, [DHEAD, DFF]),
        vi("wDown", BF16, [DFF, DHEAD]),
    ]
    nodes = [
        *head_nodes,
        _gemm("Y", "wGate", "gate"),
        _gemm("Y", "wUp", "up"),
        helper.make_node("Silu", ["gate"], ["gate_silu"], domain="com.example", act_size=16, output_size=16),
        helper.make_node("Mul", ["gate_silu", "up"], ["hidden"]),
        _gemm("hidden", "wDown", "out"),
    ]
    shapes = {
        "Q": [SEQ, DHEAD],
        "K": [SEQ, DHEAD],
        "V": [SEQ, DHEAD],
        "Kt": [DHEAD, SEQ],
        "scores": [SEQ, SEQ],
        "attn": [SEQ, SEQ],
        "Y": [SEQ, DHEAD],
        "gate": [SEQ, DFF],
        "up": [SEQ, DFF],
        "gate_silu": [SEQ, DFF],
        "hidden": [SEQ, DFF],
    }
    value_info = [vi(name, BF16, shape) for name, shape in shapes.items()]
    graph = helper.make_graph(
        nodes, "attention_mlp", inputs, [vi("out", BF16, [SEQ, DHEAD])], value_info=value_info
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]
    )
    onnx.save(model, str(path))


def workloads() -> dict[str, Callable[[], Any]]:
    """{row name: () -> what evaluate_mapping takes as workload}."""
    from stream.workload.models import AttentionConfig, build_attention_block

    built = {"attention_head": build_attention_head, "swiglu": build_swiglu,
             "attention_mlp": build_attention_mlp}
    paths = {name: HERE / f"{name}.onnx" for name in built}
    for name, build in built.items():
        build(paths[name])  # deterministic: rewritten on every run
    return {
        "attention_head": lambda: str(paths["attention_head"]),
        "mha": lambda: build_attention_block(AttentionConfig()),
        "swiglu": lambda: str(paths["swiglu"]),
        "attention_mlp": lambda: str(paths["attention_mlp"]),
    }


def machine_files(hw_dir: Path, top: str) -> dict[str, Any]:
    """The top-level machine YAML and every core YAML it names, as text and parsed."""
    top_text = (hw_dir / top).read_text()
    parsed = yaml.safe_load(top_text)
    cores: dict[str, Any] = {}
    for ref in sorted(set(parsed["cores"].values())):
        p = (hw_dir / ref) if (hw_dir / ref).exists() else (hw_dir / "cores" / ref)
        text = p.read_text()
        cores[ref] = {"path": str(p.relative_to(hw_dir)), "text": text, "parsed": yaml.safe_load(text)}
    return {"file": top, "text": top_text, "parsed": parsed, "core_files": cores}


def ports_of(accelerator: Any) -> list[dict[str, Any]]:
    """Stream's registry of top-level memory ports: bandwidth and pJ per bit, as its energy family uses."""
    from stream.hardware.ports import PortRegistry

    reg = PortRegistry.from_accelerator(accelerator)
    out: list[dict[str, Any]] = []
    for key, port in reg._ports.items():
        out.append(
            {
                "key": [str(k) for k in key] if isinstance(key, tuple) else str(key),
                "core_ids": list(port.core_ids),
                "bits_per_cycle": float(port.bits_per_cycle),
                "read_pj_per_bit": float(port.read_energy_per_bit),
                "write_pj_per_bit": float(port.write_energy_per_bit),
                "serves": sorted(str(s) for s in port.serves),
            }
        )
    return out


def cost_lut_rows(ctx: Any) -> list[dict[str, Any]]:
    """Every (node, core) entry of Stream's ZigZag cost LUT: latency and energy per node per core."""
    lut = ctx.get("cost_lut")
    rows: list[dict[str, Any]] = []
    for node in lut.get_nodes():
        for core in lut.get_cores(node):
            cost = lut.get_cost(node, core)
            rows.append(
                {
                    "node": getattr(node, "name", str(node)),
                    "core_id": getattr(core, "id", str(core)),
                    "latency_cycles": float(getattr(cost, "latency_total", float("nan"))),
                    "ideal_cycles": float(getattr(cost, "ideal_cycle", float("nan"))),
                    "energy_pj": float(cost.energy_total),
                }
            )
    return rows


def run_row(machine: str, hw_path: str, wl_name: str, make: Callable[[], Any], work: Path) -> dict[str, Any]:
    from stream.api import SolveOptions, evaluate_mapping

    t0 = time.perf_counter()
    est = evaluate_mapping(
        hw_path,
        make(),
        str(work / f"{machine}_{wl_name}"),
        options=SolveOptions(artifacts=False, time_limit_s=TIME_LIMIT_S),
    )
    seconds = time.perf_counter() - t0
    ctx = est.context
    groups: list[dict[str, Any]] = []
    for gid, ga in sorted(ctx.get("group_allocations").items()):
        perf = ga["performance"]
        groups.append(
            {
                "group": gid,
                "latency": ga["latency"],
                "solve": ga["solve"],
                "fusion_splits": ga["fusion_splits"],
                "energy": perf.get("energy"),
                "bottleneck": perf["bottleneck"],
                "aggregate": perf["aggregate"],
                "nodes": perf["nodes"],
                "memory_ports_and_links": perf["memory_ports"],
                "placement": {
                    name: node["resource_allocation"] for name, node in ga["mapping_nodes"].items()
                },
                "memory_accesses": ctx.get("group_memory_accesses").get(gid),
            }
        )
    try:
        lut = cost_lut_rows(ctx)
    except Exception as exc:  # the LUT API is internal; keep the row if it moved
        lut = [{"error": repr(exc)}]
    energies = [g["energy"]["total_pj"] for g in groups if g["energy"]]
    return {
        "machine": machine,
        "workload": wl_name,
        "status": "ok",
        "latency_cycles": float(est.cycles),
        "group_cycles": list(est.group_cycles),
        "dispatch_cycles": float(est.dispatch_cycles),
        "energy_total_pj": float(sum(energies)) if energies else None,
        "total_mac_ops": ctx.get("total_mac_ops"),
        "groups": groups,
        "cost_lut_last_group": lut,
        "seconds": round(seconds, 1),
    }


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    out_path = Path(argv[1])
    got = version(PEER)
    if got != PEER_VERSION:
        raise SystemExit(f"expected {PEER} {PEER_VERSION}, found {got}")
    import stream
    from stream.stages.parsing.accelerator_parser import parse_accelerator

    hw_dir = Path(stream.__file__).parent / "inputs" / "examples" / "hardware"
    only = argv[2:] or None  # optional workload names, for debugging only
    rows: list[dict[str, Any]] = []
    machines: dict[str, Any] = {}
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stream_fid_") as tmp:
        for machine in MACHINES:
            hw_path = str(hw_dir / machine)
            machines[machine] = machine_files(hw_dir, machine)
            machines[machine]["ports"] = ports_of(parse_accelerator(hw_path))
            for wl_name, make in workloads().items():
                if only and wl_name not in only:
                    continue
                try:
                    row = run_row(machine, hw_path, wl_name, make, Path(tmp))
                except Exception as exc:
                    row = {
                        "machine": machine,
                        "workload": wl_name,
                        "status": "error",
                        "error": f"{type(exc).__name__}: {exc}"[:2000],
                        "traceback_tail": traceback.format_exc()[-3000:],
                    }
                rows.append(row)
                print(
                    f"{machine:24s} {wl_name:16s} {row['status']:5s} {row.get('latency_cycles')} cc "
                    f"{row.get('energy_total_pj')} pJ ({row.get('seconds')} s)",
                    file=sys.stderr,
                    flush=True,
                )
    doc = {
        "peer": PEER,
        "peer_version": got,
        "python": platform.python_version(),
        "zigzag_version": version("zigzag-dse"),
        "ortools_version": version("ortools"),
        "command": f"/work/peers/stream/bin/python scripts/fidelity/stream_workloads.py {out_path}",
        "wall_seconds": round(time.perf_counter() - t_all, 1),
        "api": "stream.api.evaluate_mapping(hw, workload, out, options=SolveOptions(artifacts=False, "
        f"time_limit_s={TIME_LIMIT_S})); backend ortools_gscip; mapping proposed by Stream's generator",
        "units": "latency in cycles; energy in pJ; bandwidths in bits per cycle",
        "machines": machines,
        "rows": rows,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
