"""The `program` backend: per-core command streams, in time order.

For every phase and every core of the mesh, `programs/<phase>/core_<r>_<c>.txt` lists
what the core does, one command a line, sorted by start time (at one instant: load,
receive, compute, send, store). A line is

    START_US END_US [START_CYCLE END_CYCLE] KIND key=value ...

(cycles when the machine has one clock; `#` starts a comment line), with KIND one of:

* `load op= bytes= from=hbm ports=`: HBM bytes read for an op (an op's reads are shared
  by the cores of its rectangle as its tiles are, meshc.hardware.spread; `ports` lists
  the HBM ports they come from);
* `receive op= from_op= bytes= from= hops=` / `send op= to_op= bytes= to= hops=`: NoC
  bytes from / to a partner core (`from=r,c`, `to=r,c`);
* `compute op= class= tiles= tile=MxNxK precision= [cycles=]`: the tiles this core runs
  (round-robin over the rectangle) for the time they take (the op's compute time scaled
  by this core's share of the tiles);
* `store op= bytes= to=hbm ports=`: HBM bytes written for an op.

The same facts, machine-readable and machine-wide, are in schedule.json.
"""

from __future__ import annotations

from collections import defaultdict
from operator import itemgetter
from typing import Any

from meshc.backends.base import Artifacts, clock_hz, core_key, gc_paused, mesh_cores
from meshc.hardware.spread import even_split, tiles_per_core
from meshc.result import CompileResult, Core, PhaseResult

KIND_ORDER = {"load": 0, "receive": 1, "compute": 2, "send": 3, "store": 4}
# (start_s, kind order, end_s, op, partner, line): sorted on all but the line, stably
Command = tuple[float, int, float, str, str, str]
BY_TIME = itemgetter(0, 1, 2, 3, 4)


def _command(kind: str, op: str, partner: str, start_s: float, end_s: float, what: str,
             clock: float | None) -> Command:
    t = f"{start_s * 1e6:14.6f} {end_s * 1e6:14.6f}"
    if clock:
        s, e = round(start_s * clock), round(end_s * clock)
        t += f" {s:>12d} {e:>12d}"
        if kind == "compute":
            what += f" cycles={e - s}"
    return (start_s, KIND_ORDER[kind], end_s, op, partner, f"{t}  {kind:<8s} {what}")


def phase_programs(p: PhaseResult, cores: list[Core],
                   clock: float | None) -> dict[Core, list[Command]]:
    """Per core, its commands sorted by (start, kind, end, op, partner): at one instant a
    load comes before the compute it feeds, and the compute before the send. The cores of
    an op share their commands when they run as many tiles or move as many bytes."""
    prog: dict[Core, list[Command]] = defaultdict(list)
    by_name = {o.name: o for o in p.ops}
    for o in p.ops:
        cores_of = o.cores
        per_core = tiles_per_core(o.n_tiles, len(cores_of))
        most = max(per_core, default=0)
        m, n, kk = o.tile_shape
        alike: dict[int, Command] = {}
        for core, tiles in zip(cores_of, per_core, strict=True):
            if tiles == 0:
                continue
            if tiles not in alike:
                alike[tiles] = _command(
                    "compute", o.name, "", o.start_s, o.start_s + o.compute_s * tiles / most,
                    f"op={o.name} class={o.op_class} tiles={tiles} tile={m}x{n}x{kk} "
                    f"precision={o.precision}", clock)
            prog[core].append(alike[tiles])
    # HBM: one load and one store per op and core, whatever the number of ports
    hbm: dict[str, list[Any]] = {}
    for h in p.hbm:
        acc = hbm.setdefault(h.op, [0, 0, h.start_s, h.end_s, set()])
        acc[0] += h.read_bytes
        acc[1] += h.write_bytes
        acc[2], acc[3] = min(acc[2], h.start_s), max(acc[3], h.end_s)
        acc[4].add(h.port)
    for op, (read, write, start, end, ports) in hbm.items():
        rec = by_name.get(op)
        owners = rec.cores if rec is not None else ()
        port_list = ";".join(core_key(c) for c in sorted(ports))
        for kind, total in (("load", read), ("store", write)):
            if total <= 0 or not owners:
                continue
            where = "from=hbm" if kind == "load" else "to=hbm"
            same: dict[int, Command] = {}
            for core, b in zip(owners, even_split(total, len(owners)), strict=True):
                if b == 0:
                    continue
                if b not in same:
                    same[b] = _command(kind, op, "hbm", start, end,
                                       f"op={op} bytes={b} {where} ports={port_list}", clock)
                prog[core].append(same[b])
    for t in p.transfers:
        dst_op = t.dst_op or "hbm"
        src, dst = core_key(t.src_core), core_key(t.dst_core)
        prog[t.src_core].append(_command(
            "send", t.src_op, dst, t.start_s, t.end_s,
            f"op={t.src_op} to_op={dst_op} bytes={t.bytes} to={dst} hops={t.hops}", clock))
        prog[t.dst_core].append(_command(
            "receive", dst_op, src, t.start_s, t.end_s,
            f"op={dst_op} from_op={t.src_op} bytes={t.bytes} from={src} hops={t.hops}", clock))
    return {core: sorted(prog.get(core, []), key=BY_TIME) for core in cores}


def core_text(result: CompileResult, phase: str, core: Core, cmds: list[Command],
              clock: float | None) -> str:
    head = [f"# meshc program: core {core_key(core)}, phase {phase}",
            f"# {result.model} on {result.hardware} ({result.mesh[0]}x{result.mesh[1]} mesh)",
            f"# {len(cmds)} commands" + (f", clock {clock:.6g} Hz" if clock else "")]
    cols = "#    start_us         end_us"
    if clock:
        cols += "  start_cycle    end_cycle"
    head.append(cols + "  command")
    if not cmds:
        head.append("# idle: no work in this phase")
    return "\n".join(head + [c[5] for c in cmds]) + "\n"


class ProgramBackend:
    """programs/<phase>/core_<r>_<c>.txt: per-core load/compute/send/receive/store streams."""

    name = "program"

    def emit(self, result: CompileResult) -> Artifacts:
        clock = clock_hz(result)
        cores = mesh_cores(result)
        out: Artifacts = {}
        with gc_paused():
            for p in result.phases:
                progs = phase_programs(p, cores, clock)
                for core, cmds in progs.items():
                    out[f"programs/{p.name}/core_{core[0]}_{core[1]}.txt"] = core_text(
                        result, p.name, core, cmds, clock)
        return out
