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
from typing import Any

from meshc.backends.base import Artifacts, clock_hz, core_key, mesh_cores
from meshc.hardware.spread import even_split, tiles_per_core
from meshc.result import CompileResult, Core, PhaseResult

KIND_ORDER = {"load": 0, "receive": 1, "compute": 2, "send": 3, "store": 4}


def _sort_key(c: dict[str, Any]) -> tuple[Any, ...]:
    return (c["start_s"], KIND_ORDER[c["kind"]], c["end_s"], c["op"], c.get("partner", ""))


def phase_programs(p: PhaseResult, cores: list[Core]) -> dict[Core, list[dict[str, Any]]]:
    """Per core, its commands sorted by (start, kind, end, op, partner): at one instant a
    load comes before the compute it feeds, and the compute before the send."""
    prog: dict[Core, list[dict[str, Any]]] = defaultdict(list)
    by_name = {o.name: o for o in p.ops}
    for o in p.ops:
        per_core = tiles_per_core(o.n_tiles, len(o.cores))
        most = max(per_core, default=0)
        for core, tiles in zip(o.cores, per_core, strict=True):
            if tiles == 0:
                continue
            prog[core].append({"kind": "compute", "op": o.name, "class": o.op_class,
                               "tiles": tiles, "tile_shape": o.tile_shape,
                               "precision": o.precision, "start_s": o.start_s,
                               "end_s": o.start_s + o.compute_s * tiles / most})
    # HBM: one load and one store per op and core, whatever the number of ports
    hbm: dict[str, list[Any]] = {}
    for h in p.hbm:
        acc = hbm.setdefault(h.op, [0, 0, h.start_s, h.end_s, set()])
        acc[0] += h.read_bytes
        acc[1] += h.write_bytes
        acc[2], acc[3] = min(acc[2], h.start_s), max(acc[3], h.end_s)
        acc[4].add(h.port)
    for op, (read, write, start, end, ports) in hbm.items():
        o = by_name.get(op)
        owners = o.cores if o is not None else ()
        port_list = ";".join(core_key(c) for c in sorted(ports))
        for kind, total in (("load", read), ("store", write)):
            if total <= 0 or not owners:
                continue
            for core, n in zip(owners, even_split(total, len(owners)), strict=True):
                if n:
                    prog[core].append({"kind": kind, "op": op, "bytes": n, "partner": "hbm",
                                       "ports": port_list, "start_s": start, "end_s": end})
    for t in p.transfers:
        dst_op = t.dst_op or "hbm"
        prog[t.src_core].append({"kind": "send", "op": t.src_op, "to_op": dst_op,
                                 "bytes": t.bytes, "partner": core_key(t.dst_core),
                                 "hops": t.hops, "start_s": t.start_s, "end_s": t.end_s})
        prog[t.dst_core].append({"kind": "receive", "op": dst_op, "from_op": t.src_op,
                                 "bytes": t.bytes, "partner": core_key(t.src_core),
                                 "hops": t.hops, "start_s": t.start_s, "end_s": t.end_s})
    return {core: sorted(prog.get(core, []), key=_sort_key) for core in cores}


def _line(cmd: dict[str, Any], clock: float | None) -> str:
    s, e = cmd["start_s"], cmd["end_s"]
    t = f"{s * 1e6:14.6f} {e * 1e6:14.6f}"
    if clock:
        t += f" {round(s * clock):>12d} {round(e * clock):>12d}"
    k = cmd["kind"]
    if k == "compute":
        m, n, kk = cmd["tile_shape"]
        what = (f"op={cmd['op']} class={cmd['class']} tiles={cmd['tiles']} tile={m}x{n}x{kk} "
                f"precision={cmd['precision']}")
        if clock:
            what += f" cycles={round(e * clock) - round(s * clock)}"
    elif k == "send":
        what = (f"op={cmd['op']} to_op={cmd['to_op']} bytes={cmd['bytes']} "
                f"to={cmd['partner']} hops={cmd['hops']}")
    elif k == "receive":
        what = (f"op={cmd['op']} from_op={cmd['from_op']} bytes={cmd['bytes']} "
                f"from={cmd['partner']} hops={cmd['hops']}")
    elif k == "load":
        what = f"op={cmd['op']} bytes={cmd['bytes']} from=hbm ports={cmd['ports']}"
    else:
        what = f"op={cmd['op']} bytes={cmd['bytes']} to=hbm ports={cmd['ports']}"
    return f"{t}  {k:<8s} {what}"


def core_text(result: CompileResult, phase: str, core: Core, cmds: list[dict[str, Any]],
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
    return "\n".join(head + [_line(c, clock) for c in cmds]) + "\n"


class ProgramBackend:
    """programs/<phase>/core_<r>_<c>.txt: per-core load/compute/send/receive/store streams."""

    name = "program"

    def emit(self, result: CompileResult) -> Artifacts:
        clock = clock_hz(result)
        cores = mesh_cores(result)
        out: Artifacts = {}
        for p in result.phases:
            progs = phase_programs(p, cores)
            for core, cmds in progs.items():
                out[f"programs/{p.name}/core_{core[0]}_{core[1]}.txt"] = core_text(
                    result, p.name, core, cmds, clock)
        return out
