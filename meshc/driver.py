"""The library API: `compile_model(request, hardware, options) -> CompileResult`.

It reads as the steps it takes: import the model, run the pass pipeline (partition,
quantize, tile, map), then for each phase replay the mapped schedule in the simulator and
collect the figures. Nothing here writes files.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from math import prod
from typing import Any

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Operation

from meshc import pipelines
from meshc.backends.base import gc_paused
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model
from meshc.frontends.transformer import Shape
from meshc.hardware import Hardware, load_hardware
from meshc.ir.graph import EmbeddingOp, KvAppendOp, LinearOp, LmHeadOp
from meshc.ir.notes import notes
from meshc.ir.summary import model_parameters
from meshc.ir.tile import ComputeOp
from meshc.ir.work import numel
from meshc.passes._common import (
    functions,
    phase_name,
    read_regions,
    residency_attr,
    unique_weights,
    weight_bytes,
)
from meshc.passes._memory import home_bytes, offchip_copy, phase_args, resident_params, returned
from meshc.passes._tile_ops import storage_precision
from meshc.passes.map_mesh import tiled_ops
from meshc.quality import ModelFacts, Precisions, assess
from meshc.quality.tables import load_measured
from meshc.result import CompileResult, MapperStats, PhaseResult
from meshc.sim.model import SimEdge, SimOp
from meshc.sim.replay import simulate

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CompileOptions:
    pipeline: str = "default"  # a named pipeline (meshc.pipelines.PIPELINES)
    passes: str = ""  # an explicit pass list instead of the named pipeline
    mapper: str = "cpsat"
    budget: float = 0.5  # CP-SAT deterministic time (see docs/mapper.md: ~5-30 s per unit)
    seed: int = 0
    workers: int = 2
    row_blocks: int = 1  # > 1: split-rows cuts prefill into this many row blocks
    # passes added to the named pipeline: (after|before, step, pass), e.g. a plug-in's
    inserts: tuple[tuple[str, str, str], ...] = ()
    # a single cold run: resident weights start off chip and each is loaded once (its time
    # and energy charged); off, they were loaded at start-up and amortised (serving)
    cold: bool = False
    # quality (meshc/quality): the pre-training tokens of a model meshc's table lacks, and a
    # user's table of measured perplexities (YAML/JSON) to use before the shipped one
    train_tokens: int | None = None
    quality_file: str = ""


def pass_list(opts: CompileOptions) -> str:
    """The pass list to run; the hardware is not in it (it is recorded in the module)."""
    if opts.passes:
        return opts.passes
    extra = (f"mapper={opts.mapper} budget={opts.budget} seed={opts.seed} "
             f"workers={opts.workers} timings=true")
    spec = pipelines.pipeline_spec(opts.pipeline, extra, opts.row_blocks)
    return pipelines.insert_passes(spec, opts.inserts)


def compile_model(req: ModelRequest, hw_name: str, opts: CompileOptions = CompileOptions(),
                  progress: Progress | None = None) -> CompileResult:
    # the IR and the simulator's records are millions of objects that full collections
    # would walk again and again while they grow; a compile's cyclic garbage is small
    # (llama3-70b mesh-16x16: peak RSS within 1%, 1.4 CPU s less)
    with gc_paused():
        return _compile_model(req, hw_name, opts, progress)


def _compile_model(req: ModelRequest, hw_name: str, opts: CompileOptions,
                   progress: Progress | None) -> CompileResult:
    say = progress or (lambda _msg: None)
    clock = Clock()
    hw = load_hardware(hw_name)
    measured = load_measured(opts.quality_file) if opts.quality_file else None
    say(f"importing {req.source}")
    module = load_model(req)
    n, n_embedding = model_parameters(module)  # before tile-grain turns the graph into tiles
    is_lm = any(isinstance(o, LmHeadOp) for o in module.walk())
    clock.lap("import")
    spec = pass_list(opts)
    pipelines.apply(module, spec, lambda p, _m: say(f"ran {p.name}"), hw=hw_name)
    clock.lap("passes")
    phases = []
    for f in functions(module):
        say(f"simulating {f.sym_name.data}")
        phases.append(simulate_phase(f, hw, req.shape, opts.cold))
    clock.lap("simulate")
    return CompileResult(
        model=req.source, hardware=hw_name, hardware_summary=hw.summary(),
        mesh=(hw.mesh_rows, hw.mesh_cols), pipeline=spec, phases=tuple(phases),
        compile_time_s=clock.total_s,
        options={**_recorded(opts), "batch": req.shape.batch, "seq": req.shape.seq,
                 "kv_len": req.shape.kv_len},
        notes=notes(module), timings_s=clock.laps,
        weight_homes=weight_homes(module, bool(hw.hbm_stacks)),
        quality=assess(ModelFacts(req.source, n, n_embedding, is_lm, served_precisions(module)),
                       opts.train_tokens, measured))


def _recorded(opts: CompileOptions) -> dict[str, Any]:
    """The options the reports record: those added later (`cold`, the quality inputs) only
    when set, so that other reports keep the bytes they had before the options existed."""
    out = asdict(opts)
    for key in ("cold", "train_tokens", "quality_file"):
        if not out[key]:
            del out[key]
    return out


def served_precisions(module: ModuleOp) -> Precisions:
    """The precisions lower-quant left, each the one holding the most elements: of the
    parameters, of the linear results (the activations), of the KV cache (None: none)."""
    weights: Counter[str] = Counter()
    for w in unique_weights(module).values():
        weights[storage_precision(w.result.type) or "bf16"] += numel(w.result.type)
    made: dict[str, Counter[str]] = {LinearOp.name: Counter(), KvAppendOp.name: Counter()}
    for op in module.walk():
        if isinstance(op, ComputeOp) and op.source.data in made:
            made[op.source.data][storage_precision(op.result.type) or "bf16"] += numel(
                op.result.type)

    def most(c: Counter[str]) -> str | None:
        return max(sorted(c), key=c.__getitem__) if c else None

    return Precisions(most(weights) or "bf16", most(made[LinearOp.name]) or "bf16",
                      most(made[KvAppendOp.name]))


def weight_homes(module: ModuleOp, has_hbm: bool) -> dict[str, int]:
    """Bytes of the model's weights by where they live: resident in SRAM or streamed from
    HBM (as partition-attn-mlp decided; each parameter once)."""
    homes = {"sram": 0, "hbm": 0}
    for w in unique_weights(module).values():
        homes[residency_attr(w, has_hbm)] += weight_bytes(w)
    return homes


class Clock:
    """Wall-clock seconds per step, for timings.json (never in the reports, which must be
    byte-identical from run to run)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._start = self._t = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.laps[step] = round(now - self._t, 3)
        self._t = now

    @property
    def total_s(self) -> float:
        return time.perf_counter() - self._start


def sim_inputs(f: func.FuncOp, has_hbm: bool = True) -> tuple[list[SimOp], list[SimEdge]]:
    """The mapped tile ops of one function and their dependencies, as simulator values,
    with what the memory model needs: result bytes, the phase inputs each op reads, which
    results the phase returns, and the weights (without HBM, the KV cache too) it keeps
    resident in SRAM."""
    ops = tiled_ops(f)
    if any(op.placement is None or op.start is None or op.end is None for op in ops):
        raise MeshcError(f"@{f.sym_name.data} is not mapped", hint="run map-mesh last")
    index = {op: i for i, op in enumerate(ops)}
    out = returned(f)
    sim_ops = [_sim_op(op, op.result in out, has_hbm) for op in ops]
    edges = sorted({(index[o.owner], index[op], sim_ops[index[o.owner]].out_bytes)
                    for op in ops for o in op.inputs if isinstance(o.owner, ComputeOp)})
    return sim_ops, [SimEdge(src=s, dst=d, bytes=b) for s, d, b in edges]


def _sim_op(op: ComputeOp, is_output: bool = False, has_hbm: bool = True) -> SimOp:
    assert op.placement is not None and op.start is not None and op.end is not None
    place = tuple(int(x) for x in op.placement.get_values())  # r0, c0, r1, c1[, rs, cs]
    return SimOp(
        name=op.label.data, op_class=op.source.data.split(".")[-1], kind=op.kind.data.value,
        layer=op.layer.value.data, block=op.block.data.value, region=op.region.data,
        precision=op.precision.data, n_tiles=op.n_tiles,
        tile_shape=tuple(int(x) for x in op.tile_shape.get_values()),  # type: ignore[arg-type]
        tile_work=op.work_per_tile(), stationary_bits=op.stationary_bits_value(),
        padded_macs=op.padded_macs.value.data,
        hbm_read_bytes=op.hbm_read_bytes.value.data,
        hbm_write_bytes=op.hbm_write_bytes.value.data, rect=place[:4],  # type: ignore[arg-type]
        step=place[4:6] or (1, 1),  # type: ignore[arg-type]
        planned_start_cycles=op.start.value.data, planned_end_cycles=op.end.value.data,
        out_bytes=home_bytes(op, has_hbm), args=phase_args(op), is_output=is_output,
        resident=resident_params(op, has_hbm), offchip_copy=offchip_copy(op, has_hbm))


TOKEN_ID_NAMES = ("input_ids", "token_ids", "tokens", "ids")


def _tokens(f: func.FuncOp, shape: Shape | None = None) -> int:
    """Tokens the phase processes, by what the phase is:

    1. the elements of its token-id input: the first integer argument an embedding reads
       (a zoo model, a spec's or an ONNX model's token ids), else the first integer argument
       named like one (`input_ids`, `token_ids`, `tokens`, `ids`);
    2. else the request's batch x seq (x 1 new token in decode; a step function of a
       phase, split-stages' meshc.phase, counts as its phase), as the frontend was told:
       an integer input that is not a token id (an int8 activation) counts nothing;
    3. else 1.
    """
    args = [a for a in f.body.block.args
            if isinstance(a.type, TensorType) and isinstance(a.type.element_type, IntegerType)]
    shapes = {a: a.type.get_shape() for a in args if isinstance(a.type, TensorType)}
    embedded = {x for op in f.walk() if _is_embedding(op) for x in op.operands}
    ids = ([a for a in args if a in embedded]
           or [a for a in args if (a.name_hint or "").lower() in TOKEN_ID_NAMES])
    if ids:
        return prod(shapes[ids[0]])
    if shape is not None:
        return shape.batch * (1 if phase_name(f) == "decode" else shape.seq)
    return 1


def _is_embedding(op: Operation) -> bool:
    if isinstance(op, ComputeOp):
        return op.source.data == EmbeddingOp.name
    return isinstance(op, EmbeddingOp)


def simulate_phase(f: func.FuncOp, hw: Hardware, shape: Shape | None = None,
                   cold: bool = False) -> PhaseResult:
    ops, edges = sim_inputs(f, bool(hw.hbm_stacks))
    module = f.parent_op()
    regions = read_regions(module, hw) if isinstance(module, ModuleOp) else None
    sim = simulate(ops, edges, hw, regions, cold)
    clock = hw.noc.clock_hz
    stats = _mapper_stats(f, clock)
    macs = sum(o.macs for o in sim.ops)
    precisions: dict[str, int] = {}
    for o in sim.ops:
        precisions[o.precision] = precisions.get(o.precision, 0) + o.macs
    main = max(sorted(precisions), key=lambda p: precisions[p]) if precisions else "bf16"
    return PhaseResult(
        name=f.sym_name.data, tokens=_tokens(f, shape), latency_s=sim.latency_s,
        lower_bound_s=stats.lower_bound_s, macs=macs, peak_flops=hw.peak_flops(main),
        energy_breakdown_pj=sim.energy_breakdown_pj,
        energy_by_op_class_pj=sim.energy_by_op_class_pj, core_busy_s=sim.core_busy_s,
        sram_peak_bytes=sim.sram_peak_bytes, mapper=stats, ops=sim.ops,
        transfers=sim.transfers, hbm=sim.hbm, n_cores=len(hw.cores))


def _mapper_stats(f: func.FuncOp, clock: float) -> MapperStats:
    attr = f.attributes.get("meshc.mapper")
    if not isinstance(attr, DictionaryAttr):
        raise MeshcError(f"@{f.sym_name.data} has no mapper result", hint="run map-mesh last")
    d = attr.data

    def num(k: str) -> float:
        return float(d[k].value.data)  # type: ignore[attr-defined]

    return MapperStats(
        solver=d["solver"].data, status=d["status"].data,  # type: ignore[attr-defined]
        makespan_s=num("makespan") / clock, heft_makespan_s=num("heft_makespan") / clock,
        lower_bound_s=num("lower_bound") / clock,
        solve_time_s=num("solve_time_s") if "solve_time_s" in d else 0.0,
        fell_back=bool(d["fell_back"].value.data),  # type: ignore[attr-defined]
        wall_limit_hit=bool(d["wall_limit_hit"].value.data),  # type: ignore[attr-defined]
        options=_plain(d["options"]) if "options" in d else {},
        fallback_reason=d["fallback_reason"].data if "fallback_reason" in d else "",  # type: ignore[attr-defined]
        notes=tuple(n.data for n in d["notes"].data) if "notes" in d else ())  # type: ignore[attr-defined]


def _plain(attr: Attribute) -> Any:
    """A builtin attribute as a plain value (the mapper options for the report)."""
    if isinstance(attr, DictionaryAttr):
        return {k: _plain(v) for k, v in sorted(attr.data.items())}
    if isinstance(attr, StringAttr):
        return attr.data
    if isinstance(attr, IntegerAttr | FloatAttr):
        return attr.value.data
    return str(attr)
