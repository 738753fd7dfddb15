"""The `program` backend: per-core command streams, in time order.

For every phase and every core of the mesh, `programs/<phase>/core_<r>_<c>.txt` lists
what the core does, one command a line, sorted by start time:

* `load`: HBM bytes read for an op, with the port they come from (an op's reads on one
  port are shared evenly by the cores of its rectangle);
* `receive` / `send`: NoC bytes from / to a partner core, with the producing and the
  consuming op;
* `compute`: the op, the tiles this core runs (round-robin over the rectangle) and the
  cycles they take (the op's compute time scaled by this core's share of the tiles);
* `store`: HBM bytes written for an op, to a port.

`programs/<phase>/index.json` holds the same streams for tools. Times are simulated
seconds (microseconds in the text) and cycles when the machine has one clock.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from meshc.backends.base import (
    Artifacts,
    clock_hz,
    core_key,
    cycles,
    json_text,
    mesh_cores,
    tiles_per_core,
)
from meshc.result import SCHEMA_VERSION, CompileResult, Core, PhaseResult

KIND_ORDER = {"load": 0, "receive": 1, "compute": 2, "send": 3, "store": 4}


def _share(total: int, n: int) -> list[int]:
    return [total // n + (j < total % n) for j in range(n)]


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
            busy = o.compute_s * tiles / most
            prog[core].append({"kind": "compute", "op": o.name, "class": o.op_class,
                               "tiles": tiles, "tile_shape": list(o.tile_shape),
                               "precision": o.precision, "start_s": o.start_s,
                               "end_s": o.start_s + busy})
    for h in p.hbm:
        o = by_name.get(h.op)
        owners = o.cores if o is not None else (h.port,)
        for kind, total in (("load", h.read_bytes), ("store", h.write_bytes)):
            if total <= 0:
                continue
            for core, n in zip(owners, _share(total, len(owners)), strict=True):
                if n:
                    prog[core].append({"kind": kind, "op": h.op, "bytes": n,
                                       "partner": f"hbm@{core_key(h.port)}",
                                       "start_s": h.start_s, "end_s": h.end_s})
    for t in p.transfers:
        dst_op = t.dst_op or "hbm"
        prog[t.src_core].append({"kind": "send", "op": t.src_op, "to_op": dst_op,
                                 "bytes": t.bytes, "partner": core_key(t.dst_core),
                                 "hops": t.hops, "start_s": t.start_s, "end_s": t.end_s})
        prog[t.dst_core].append({"kind": "receive", "op": dst_op, "from_op": t.src_op,
                                 "bytes": t.bytes, "partner": core_key(t.src_core),
                                 "hops": t.hops, "start_s": t.start_s, "end_s": t.end_s})
    out = {}
    for core in cores:
        out[core] = sorted(prog.get(core, []), key=lambda c: (
            c["start_s"], KIND_ORDER[c["kind"]], c["end_s"], c["op"], c.get("partner", "")))
    return out


def _with_cycles(cmd: dict[str, Any], clock: float | None) -> dict[str, Any]:
    if clock:
        cmd = {**cmd, "start_cycle": cycles(cmd["start_s"], clock),
               "end_cycle": cycles(cmd["end_s"], clock)}
    return cmd


def _line(cmd: dict[str, Any], clock: float | None) -> str:
    t = f"{cmd['start_s'] * 1e6:14.6f} {cmd['end_s'] * 1e6:14.6f}"
    if clock:
        t += f" {cycles(cmd['start_s'], clock):>12d} {cycles(cmd['end_s'], clock):>12d}"
    k = cmd["kind"]
    if k == "compute":
        m, n, kk = cmd["tile_shape"]
        what = (f"{cmd['op']} class={cmd['class']} tiles={cmd['tiles']} "
                f"tile={m}x{n}x{kk} precision={cmd['precision']}")
        if clock:
            what += f" cycles={cycles(cmd['end_s'] - cmd['start_s'], clock)}"
    elif k == "send":
        what = f"{cmd['bytes']} B to core {cmd['partner']} ({cmd['op']} -> {cmd['to_op']})"
    elif k == "receive":
        what = f"{cmd['bytes']} B from core {cmd['partner']} ({cmd['from_op']} -> {cmd['op']})"
    elif k == "load":
        what = f"{cmd['bytes']} B from {cmd['partner']} for {cmd['op']}"
    else:
        what = f"{cmd['bytes']} B to {cmd['partner']} from {cmd['op']}"
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
            out[f"programs/{p.name}/index.json"] = json_text({
                "schema_version": SCHEMA_VERSION, "phase": p.name, "clock_hz": clock,
                "mesh": list(result.mesh),
                "cores": {core_key(c): [_with_cycles(cmd, clock) for cmd in cmds]
                          for c, cmds in progs.items()},
            }, digits=12)
        return out
