"""Mapper quality and cost: makespan over the lower bound for HEFT and CP-SAT.

Run: .venv/bin/python bench/bench_mapper.py [--quick]

Each row maps one `MappingProblem` twice (HEFT, then CP-SAT) in a fresh forked process and
prints makespan / lower bound for both (the bound valid for the mapper's model,
`lower_bounds(...)["model_bound"]`, since makespans are the model's), CP-SAT's gain over
HEFT, its status, the windows accepted / solved, deterministic time, wall time of the
CP-SAT mapping, and the peak RSS of the mapping process or of its CP-SAT child processes,
whichever is larger (resource.getrusage). `bench_row(label, problem, options)` is the unit:
other sets (e.g. llama3 through the full pipeline) just call it with their problems.

Sets:
* single layer: one synthetic decoder layer (tests/unit/mappers/mapper_synthetic.py: norm,
  q/k/v/o, attention, norm, gate/up/act/down; Llama-3-8B shapes, 512-token prefill) at several grains on
  4x4 and 8x8 meshes, with the MLP weights streamed from HBM and resident in SRAM, plus the
  variant with attention split into one chain per KV head; CP-SAT proves most of these
  optimal. Then the layer split into 4 row blocks (as split-rows does) with the MLP weights
  resident, whose blocks can pipeline across the attention and MLP regions; the summary line
  of these carries the goal (CP-SAT >= 5% below HEFT), and a table gives their CP-SAT
  makespan over the unsplit layer's (MLP streamed | resident): below 1, splitting pays.
* many layers: synthetic stand-ins of the size of llama3-8b (32 layers, prefill and decode) on
  8x8 and llama3-70b (80 layers) on 16x16, solved by windows of layers.
* pipeline: the real problems of llama3-8b on mesh-8x8 and llama3-70b on mesh-16x16 (prefill
  seq 2048, decode kv 2048) as the default pipeline hands them to map-mesh, and llama3-8b's
  prefill through the disaggregated pipeline in 4 row blocks (mesh-8x8).
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from meshc.mappers import MapperOptions, MappingProblem, map_problem

# the synthetic decoder layers are test code: tests/unit/mappers/mapper_synthetic.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "mappers"))
from mapper_synthetic import decoder_problem

HEADER = (f"{'problem':34s} {'ops':>5s} {'tiles':>7s} {'model LB':>11s} {'HEFT/LB':>7s} "
          f"{'CP/LB':>6s} {'gain':>6s} {'status':>8s} {'win':>7s} {'dtime':>6s} {'cp s':>6s} "
          f"{'heft s':>6s} {'peak MB':>7s}")


@dataclass(frozen=True)
class Row:
    label: str
    ops: int
    tiles: int
    lower_bound: int
    heft: int
    cpsat: int
    status: str
    windows: str
    dtime: float
    cpsat_s: float
    heft_s: float
    peak_mb: float

    def render(self) -> str:
        gain = 100.0 * (1.0 - self.cpsat / self.heft)
        return (f"{self.label:34s} {self.ops:5d} {self.tiles:7d} {self.lower_bound:11,d} "
                f"{self.heft / self.lower_bound:7.3f} {self.cpsat / self.lower_bound:6.3f} "
                f"{gain:5.2f}% {self.status:>8s} {self.windows:>7s} {self.dtime:6.2f} "
                f"{self.cpsat_s:6.1f} {self.heft_s:6.2f} {self.peak_mb:7.0f}")


def _measure(label: str, problem: MappingProblem, options: MapperOptions) -> Row:
    t0 = time.perf_counter()
    heft = map_problem(problem, MapperOptions(mapper="heft"))
    t1 = time.perf_counter()
    res = map_problem(problem, options)
    t2 = time.perf_counter()
    s = res.stats
    peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,  # CP-SAT solves run
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # in children
    return Row(label=label, ops=len(problem.ops), tiles=sum(op.n_tiles for op in problem.ops),
               lower_bound=s.lower_bounds["model_bound"], heft=heft.schedule.makespan,
               cpsat=res.schedule.makespan, status=s.status,
               windows=f"{s.windows_accepted}/{s.windows_solved}", dtime=s.deterministic_time,
               cpsat_s=t2 - t1, heft_s=t1 - t0, peak_mb=peak_kb / 1024)


def _child(conn: Connection, label: str, problem: MappingProblem,
           options: MapperOptions) -> None:
    try:
        conn.send(_measure(label, problem, options))
    except BaseException:
        conn.send(traceback.format_exc())
    conn.close()


def bench_row(label: str, problem: MappingProblem, options: MapperOptions) -> Row:
    """Map `problem` with HEFT and with `options` in a fresh process; print and return a row."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, label, problem, options))
    proc.start()
    child.close()
    try:
        row: Row | str = parent.recv()
    except EOFError:
        row = f"the worker process died (exit code {proc.join() or proc.exitcode})"
    proc.join()
    if isinstance(row, str):
        raise RuntimeError(f"{label}: {row}")
    print(row.render(), flush=True)
    return row


@dataclass(frozen=True)
class LayerSet:
    """The single-layer set: unsplit layers (keyed by mesh, grain and whether the MLP weights
    are resident) and layers split into row blocks (keyed by mesh and grain)."""

    unsplit: dict[tuple[int, int, bool], Row]
    kv_head: list[Row]
    blocks: dict[tuple[int, int], Row]


ROW_BLOCKS = 4


def single_layer_set(quick: bool) -> LayerSet:
    options = MapperOptions(time_budget=2.0)
    grains = (128,) if quick else (64, 128, 256)
    unsplit: dict[tuple[int, int, bool], Row] = {}
    for resident in (False, True):
        for mesh in (4, 8):
            for grain in grains:
                p = decoder_problem(mesh, mesh, grain=grain, resident_mlp=resident)
                label = f"layer {mesh}x{mesh} grain {grain}" + (", MLP res." if resident else "")
                unsplit[mesh, grain, resident] = bench_row(label, p, options)
    kv_head = []
    if not quick:
        for mesh in (4, 8):
            p = decoder_problem(mesh, mesh, grain=128, head_groups=True)
            kv_head.append(bench_row(f"layer/KV-head {mesh}x{mesh} grain 128", p, options))
    print(_summary("unsplit layers", [*unsplit.values(), *kv_head]) + "; CP-SAT proves "
          f"{sum(r.status == 'OPTIMAL' for r in [*unsplit.values(), *kv_head])} of "
          f"{len(unsplit) + len(kv_head)} optimal (status OPTIMAL): a layer of whole ops is "
          "nearly a chain", flush=True)
    blocks: dict[tuple[int, int], Row] = {}
    for mesh in (4, 8):
        for grain in grains:
            p = decoder_problem(mesh, mesh, grain=grain, parts=ROW_BLOCKS, resident_mlp=True)
            label = f"layer {mesh}x{mesh} grain {grain}, {ROW_BLOCKS} blocks"
            blocks[mesh, grain] = bench_row(label, p, options)
    print(_summary(f"row-block layers ({ROW_BLOCKS} blocks, MLP resident)",
                   list(blocks.values())) + " (goal: >= 5%)", flush=True)
    print("splitting pays? CP-SAT makespan of the row-block layer / of the unsplit layer "
          "(same mesh and grain), unsplit MLP streamed | resident:")
    for (mesh, grain), row in blocks.items():
        streamed, resident = unsplit[mesh, grain, False], unsplit[mesh, grain, True]
        print(f"  {mesh}x{mesh} grain {grain}: {row.cpsat / streamed.cpsat:.3f} | "
              f"{row.cpsat / resident.cpsat:.3f}", flush=True)
    return LayerSet(unsplit=unsplit, kv_head=kv_head, blocks=blocks)


def _summary(what: str, rows: list[Row]) -> str:
    gains = [100 * (1 - r.cpsat / r.heft) for r in rows]
    return (f"{what}: CP-SAT vs HEFT mean {sum(gains) / len(gains):.2f}%, "
            f"best {max(gains):.2f}%, worst {min(gains):.2f}%")


def many_layer_set() -> list[Row]:
    options = MapperOptions(time_budget=1.0)
    seventy = {"d_model": 8192, "heads": 64, "kv_heads": 8, "d_ff": 28672, "hbm_gib": 192}
    cases: list[tuple[str, Callable[[], MappingProblem]]] = [
        ("8b-size prefill 2048, 8x8", lambda: decoder_problem(8, 8, layers=32, seq=2048)),
        ("8b-size decode ctx 2048, 8x8",
         lambda: decoder_problem(8, 8, layers=32, seq=1, kv_len=2048)),
        ("70b-size prefill 2048, 16x16",
         lambda: decoder_problem(16, 16, layers=80, seq=2048, **seventy)),
    ]
    return [bench_row(label, make(), options) for label, make in cases]


def pipeline_problems(model: str, hw_name: str, pipeline: str = "default",
                      row_blocks: int = 1, phases: tuple[str, ...] = ("prefill", "decode"),
                      ) -> list[tuple[str, MappingProblem]]:
    """The real problems of `model` (prefill seq 2048 and decode kv 2048) on `hw_name`: the
    named pipeline (with `row_blocks`) up to tiling, then map-mesh's own extraction."""
    from xdsl.dialects import func

    from meshc import pipelines
    from meshc.frontends import ModelRequest, load_model
    from meshc.frontends.transformer import Shape
    from meshc.hardware import load_hardware
    from meshc.passes._common import read_regions
    from meshc.passes.map_mesh import extract_problem

    hw = load_hardware(hw_name)
    module = load_model(ModelRequest(model, phases, Shape(1, 2048, 2048)))
    spec = pipelines.pipeline_spec(pipeline, "", row_blocks).rsplit(",map-mesh", 1)[0]
    pipelines.apply(module, spec, hw=hw_name)
    regions = read_regions(module, hw)
    what = hw_name + (f" {pipeline[:4]}. x{row_blocks}" if row_blocks > 1 else "")
    return [(f"{model} {f.sym_name.data}, {what}", extract_problem(f, hw, regions))
            for f in module.ops if isinstance(f, func.FuncOp)]


def pipeline_set() -> list[Row]:
    options = MapperOptions(time_budget=0.5)
    problems = [p for model, hw in (("llama3-8b", "mesh-8x8"), ("llama3-70b", "mesh-16x16"))
                for p in pipeline_problems(model, hw)]
    problems += pipeline_problems("llama3-8b", "mesh-8x8", "disaggregated", ROW_BLOCKS,
                                  ("prefill",))
    return [bench_row(label, p, options) for label, p in problems]


def main() -> None:
    quick = "--quick" in sys.argv
    print(HEADER)
    single_layer_set(quick)
    if not quick:
        many_layer_set()
        pipeline_set()


if __name__ == "__main__":
    main()
