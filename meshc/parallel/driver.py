"""The system compile: `compile_system(request, system, parallel, options)`.

It reads as its steps: lay the degrees out on the system's chip groups; import the model at
the batch one chip group sees; run the partitioning passes (quantize, shard-tensor,
shard-experts, split-stages, lower-collectives) on the whole model; give every chip
subgroup (a pipeline stage of a group) a module of the step functions it runs; map and
simulate each distinct module once with the per-chip pipeline on its chip; price the
collectives and sends on the system's fabric; run the micro-batches through the chain
(meshc/parallel/schedule.py) and compose the figures (compose.py). Nothing here writes
files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from meshc import pipelines
from meshc.backends.base import gc_paused
from meshc.driver import (
    Clock,
    CompileOptions,
    pass_list,
    served_precisions,
    simulate_phase,
    weight_homes,
)
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model
from meshc.frontends.transformer import Shape
from meshc.hardware.system import System, load_system
from meshc.ir.graph import LmHeadOp
from meshc.ir.notes import notes
from meshc.ir.summary import model_parameters
from meshc.parallel.compose import SystemResult, compose_phase
from meshc.parallel.degrees import Parallel
from meshc.parallel.layout import Layout, layout
from meshc.parallel.pricing import step_charges
from meshc.passes._common import functions
from meshc.passes._stages import StageInfo, stage_info, step_key
from meshc.passes.lower_collectives import recorded
from meshc.quality import ModelFacts, Precisions, assess
from meshc.quality.tables import load_measured
from meshc.result import CompileResult, PhaseResult

Progress = Callable[[str], None]
Keyed = list[tuple[func.FuncOp, str]]  # step functions with their step keys


@dataclass(frozen=True)
class ChipModule:
    """One distinct chip subgroup's work: its name (`tpu.s3`), the subgroups that run the
    same (names), and its compile result (phases: its distinct step functions)."""

    name: str
    same_as: tuple[str, ...]
    result: CompileResult


@dataclass(frozen=True)
class SystemCompile:
    result: SystemResult
    chips: tuple[ChipModule, ...]
    compile_time_s: float
    timings_s: dict[str, float]


def system_passes(opts: CompileOptions, lay: Layout) -> tuple[str, str]:
    """(the system passes, the per-chip passes): the named pipeline's quantization first,
    then the partitioning; the chip part is the named pipeline's remaining steps."""
    steps = pipelines.split_steps(pass_list(opts))
    if not steps or not steps[0].startswith("lower-quant"):
        raise MeshcError("a system compile takes a named pipeline", where="-p",
                         hint="drop -p; --pipeline chooses one")
    par = lay.parallel
    by = "block" if lay.disaggregated else "layer"
    parts = [steps[0], f"split-stages{{stages={par.pp} by={by}}}"]
    if lay.disaggregated:
        parts += [f"shard-tensor{{tp={par.tp} role=attention}}",
                  f"shard-tensor{{tp={par.mlp} role=mlp}}"]
    elif par.tp > 1:
        parts.append(f"shard-tensor{{tp={par.tp}}}")
    if par.ep > 1:
        parts.append(f"shard-experts{{ep={par.ep}}}")
    parts.append("lower-collectives")
    return ",".join(parts), ",".join(steps[1:])


def compile_system(req: ModelRequest, target: str | System, par: Parallel,
                   opts: CompileOptions | None = None,
                   progress: Progress | None = None) -> SystemCompile:
    with gc_paused():  # as compile_model: the IR is millions of objects
        return _compile_system(req, target, par, opts or CompileOptions(), progress)


def _compile_system(req: ModelRequest, target: str | System, par: Parallel,
                    opts: CompileOptions, progress: Progress | None) -> SystemCompile:
    say = progress or (lambda _msg: None)
    clock = Clock()
    system = target if isinstance(target, System) else load_system(target)
    lay = layout(system, par, req.shape.batch)
    shape = replace(req.shape, batch=req.shape.batch // lay.batch_split)
    say(f"importing {req.source}")
    module = load_model(replace(req, shape=shape))
    n, n_embedding = model_parameters(module)  # whole, before any pass shards it
    is_lm = any(isinstance(o, LmHeadOp) for o in module.walk())
    clock.lap("import")
    sys_spec, chip_spec = system_passes(opts, lay)
    pipelines.apply(module, sys_spec, lambda p, _m: say(f"ran {p.name}"),
                    hw=lay.first_chip.name)
    clock.lap("partition")
    steps = [(f, stage_info(f), step_key(f)) for f in functions(module)]
    links = {f.sym_name.data: recorded(f) for f, _, _ in steps}
    chains = {phase: [(f.sym_name.data, info, key, links[f.sym_name.data])
                      for f, info, key in steps if info.phase == phase]
              for phase in _phase_order(steps)}
    chips, results, served = _map_subgroups(steps, lay, chip_spec, shape, opts, say)
    clock.lap("map")
    phases = []
    for phase, chain in chains.items():
        charges = step_charges(chain, results, lay, system)
        phases.append(compose_phase(phase, charges, par.mb, par.dp,
                                    _tokens(phase, shape) * par.ep, system.n_chips,
                                    autoregressive=phase == "decode"))
    clock.lap("compose")
    result = SystemResult(
        model=req.source, system=system.name, system_summary=system.summary(),
        parallel=par.as_dict(), pipeline=f"{sys_spec} | {chip_spec}", phases=tuple(phases),
        notes=(*(f"{who}: {text}" for who, text in notes(module)), *_notes(chips)),
        options={"batch": req.shape.batch, "seq": req.shape.seq, "kv_len": req.shape.kv_len,
                 "chip_batch": shape.batch, "pipeline": opts.pipeline,
                 "mapper": opts.mapper, "budget": opts.budget, "seed": opts.seed,
                 "row_blocks": opts.row_blocks},
        quality=assess(ModelFacts(req.source, n, n_embedding, is_lm, served),
                       opts.train_tokens,
                       load_measured(opts.quality_file) if opts.quality_file else None))
    return SystemCompile(result, tuple(chips), clock.total_s, clock.laps)


def _notes(chips: list[ChipModule]) -> tuple[str, ...]:
    """The chip modules' notes, each text once, with the modules that have it."""
    where: dict[str, list[str]] = {}
    for m in chips:
        for who, text in m.result.notes:
            where.setdefault(f"{who}: {text}", []).append(m.name)
    return tuple(f"{', '.join(names)}: {text}" for text, names in where.items())


def _phase_order(steps: list[tuple[func.FuncOp, StageInfo, str]]) -> list[str]:
    return list(dict.fromkeys(info.phase for _, info, _ in steps))


def _tokens(phase: str, shape: Shape) -> int:
    """Tokens one chip function processes for one micro-batch."""
    return shape.batch * (1 if phase == "decode" else shape.seq)


def _map_subgroups(steps: list[tuple[func.FuncOp, StageInfo, str]], lay: Layout,
                   chip_spec: str, shape: Shape, opts: CompileOptions,
                   say: Progress) -> tuple[list[ChipModule], dict[str, PhaseResult], Precisions]:
    """Each subgroup's step functions in a module of their own (its chips hold exactly
    their weights and caches); subgroups with the same steps are mapped once, and inside a
    module identical steps are mapped once (after tile-grain, so that the residency and
    the tiling saw all the chip holds). Returns the modules, a result per step name and the
    precisions served (the first module's: lower-quant ran on the whole model)."""
    by_sub: dict[tuple[str, int], Keyed] = {}
    for f, info, key in steps:
        by_sub.setdefault((lay.group_of(info.role).name, info.stage), []).append((f, key))
    same: dict[tuple[str, tuple[str, ...]], list[tuple[str, Keyed]]] = {}  # signature -> subgroups
    for (gname, stage), fs in by_sub.items():
        same.setdefault((gname, tuple(k for _, k in fs)), []).append((f"{gname}.s{stage}", fs))
    results: dict[str, PhaseResult] = {}
    chips: list[ChipModule] = []
    served: Precisions | None = None
    for sig, subs in same.items():
        (name, fs), group = subs[0], lay.group_named(sig[0])
        names = [[f.sym_name.data for f, _ in sub] for _, sub in subs]  # before any erase
        say(f"mapping {name} on {group.hw.name}")
        for f, _ in fs:
            f.detach()  # type: ignore[no-untyped-call]
        module = ModuleOp([f for f, _ in fs])
        start = time.perf_counter()
        before_map, map_step = chip_spec.rsplit(",", 1)
        pipelines.apply(module, before_map, hw=group.hw.name)
        kept: dict[str, func.FuncOp] = {}
        for f, key in fs:
            if key in kept:
                f.detach()  # type: ignore[no-untyped-call]
                f.erase()
            else:
                kept[key] = f
        pipelines.apply(module, map_step)
        served = served or served_precisions(module)
        by_key = {}
        for key, f in kept.items():
            say(f"simulating {f.sym_name.data}")
            by_key[key] = simulate_phase(f, group.hw, shape, opts.cold)
        for steps_of in names:  # every subgroup doing the same work gets the result
            for step, key in zip(steps_of, sig[1], strict=True):
                results[step] = by_key[key]
        chips.append(ChipModule(name, tuple(n for n, _ in subs[1:]), CompileResult(
            model=name, hardware=group.hw.name, hardware_summary=group.hw.summary(),
            mesh=(group.hw.mesh_rows, group.hw.mesh_cols), pipeline=chip_spec,
            phases=tuple(by_key.values()), compile_time_s=time.perf_counter() - start,
            options={"batch": shape.batch, "seq": shape.seq, "kv_len": shape.kv_len},
            notes=notes(module), weight_homes=weight_homes(module, bool(group.hw.hbm_stacks)))))
    assert served is not None  # a model has at least one step
    return chips, results, served
