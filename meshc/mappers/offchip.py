"""The off-chip traffic the memory hierarchy adds to a mapping problem, priced up front.

The simulator's memory rule (docs/simulator.md, "Memory") moves bytes the tiled ops do not
carry themselves; the mapper prices the part that does not depend on its own decisions, so
that its makespan and the simulated latency agree:

* a phase input starts off chip: its first reader (lowest op id, a topological order)
  reads it from there, and every other reader takes it from that reader over the NoC (an
  edge), as the simulator does for an input several ops read;
* a phase output ends off chip: its producer writes it;
* results that do not fit go off chip and come back, by Belady's rule on the ops' order
  (their ids, a topological order) on the busiest core of each region, the one every op of
  the region uses when its tiles spread from the region's first core
  (meshc.hardware.spread): a result holds its share there from its producer's end until its
  last consumer has run, a running op needs one tile's working set beside the values and
  the resident weights, and when they do not fit the result used furthest ahead is written
  off chip (the running op's own inputs last) and read back by the consumers still to run
  (those edges then carry nothing over the NoC). A result that does not fit even alone
  beside its producer's tile is written off chip as it is produced.

The simulator applies the same rule per core, on the mapper's placement and times; the
mapper's view of it (one core per region, ids for times) is what makes the two agree within
a few percent (docs/fidelity.md). Without off-chip memory nothing is added: inputs and
outputs are nowhere, and the simulator refuses what does not fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from meshc.hardware.spread import waves
from meshc.mappers.problem import Core, Edge, Machine, Op


@dataclass(frozen=True, slots=True, kw_only=True)
class OpMemory:
    """What the memory rule needs of one mapper op (its placement group, merged)."""

    home_bytes: int  # bytes its result leaves on chip
    args: tuple[tuple[int, int], ...] = ()  # (phase input index, bytes) it reads
    is_output: bool = False  # its result is a phase output


def price_offchip(ops: Sequence[Op], edges: Sequence[Edge], memory: Sequence[OpMemory],
                  machine: Machine, regions: Mapping[str, tuple[Core, ...]],
                  resident: Mapping[Core, int]) -> tuple[tuple[Op, ...], tuple[Edge, ...]]:
    """`ops` with the off-chip bytes of the module docstring added to their HBM traffic (the
    spills and reloads also to `spill_bytes`), and `edges` with an edge from each shared
    phase input's first reader to its other readers. `resident` is the bytes of resident
    weights per core."""
    if not machine.hbm_ports:
        return tuple(ops), tuple(edges)
    read = [0] * len(ops)
    write = [0] * len(ops)
    extra: dict[tuple[int, int], int] = {}
    readers: dict[int, list[tuple[int, int]]] = {}
    for i, m in enumerate(memory):
        for a, b in m.args:
            readers.setdefault(a, []).append((i, b))
    for a in sorted(readers):
        (first, b), *others = sorted(readers[a])
        read[first] += b
        for j, bj in others:
            extra[(first, j)] = extra.get((first, j), 0) + bj
    consumers: dict[int, list[Edge]] = {}
    for e in edges:
        consumers.setdefault(e.src, []).append(e)
    offchip: set[tuple[int, int]] = set()
    spill = [0] * len(ops)
    for i, m in enumerate(memory):
        if m.is_output:
            write[i] += m.home_bytes
    for v, readers_back in sorted(_spilled(ops, edges, memory, machine, regions,
                                           resident).items()):
        if not memory[v].is_output:  # an output's copy is off chip already
            write[v] += memory[v].home_bytes
            spill[v] += memory[v].home_bytes
        for e in consumers[v]:
            if e.dst in readers_back:
                read[e.dst] += e.bytes
                spill[e.dst] += e.bytes
                offchip.add((e.src, e.dst))
    # a value read back from off chip does not cross the NoC: the edge orders, carries nothing
    merged = {(e.src, e.dst): 0 if (e.src, e.dst) in offchip else e.bytes for e in edges}
    for key, b in extra.items():
        merged[key] = merged.get(key, 0) + b
    new_ops = tuple(replace(op, hbm_read_bytes=op.hbm_read_bytes + read[i],
                            hbm_write_bytes=op.hbm_write_bytes + write[i],
                            spill_bytes=op.spill_bytes + spill[i]) if read[i] or write[i]
                    else op for i, op in enumerate(ops))
    return new_ops, tuple(Edge(src=s, dst=d, bytes=b) for (s, d), b in sorted(merged.items()))


def _spilled(ops: Sequence[Op], edges: Sequence[Edge], memory: Sequence[OpMemory],
             machine: Machine, regions: Mapping[str, tuple[Core, ...]],
             resident: Mapping[Core, int]) -> dict[int, set[int]]:
    """Results that go off chip -> the consumers that read them back: Belady's rule on the
    ops' order (their ids, a topological order) on the busiest core of each region, the
    core every op of the region uses when its tiles are spread from the region's first
    core (meshc.hardware.spread). A result holds its busiest core's share there from its
    producer's end until its last consumer has run; a running op needs one tile's working
    set beside the values and the resident weights; when they do not fit, the result used
    furthest ahead leaves (the running op's inputs last: it then reads them back too)."""
    last: dict[int, int] = {}
    uses: dict[int, list[int]] = {}
    inputs: dict[int, set[int]] = {}
    for e in edges:
        last[e.src] = max(last.get(e.src, -1), e.dst)
        uses.setdefault(e.src, []).append(e.dst)
        inputs.setdefault(e.dst, set()).add(e.src)
    room = {name: machine.sram_bytes[machine.core_type(cores[0])] - resident.get(cores[0], 0)
            for name, cores in regions.items()}
    live: dict[int, int] = {}  # result -> its busiest core's share, in its producer's region
    out: dict[int, set[int]] = {}

    def make_room(i: int, pool: str, need: int, keep: set[int]) -> None:
        for v in [v for v in live if last[v] < i]:  # read by every consumer: freed
            del live[v]
        held = [v for v in live if ops[v].region == pool]
        over = sum(live[v] for v in held) + need - room[pool]
        for v in sorted(held, key=lambda v: (v in keep, -min(j for j in uses[v] if j >= i), v)):
            if over <= 0:
                return
            over -= live.pop(v)
            out[v] = {j for j in uses[v] if j >= i}  # whoever has not read it yet

    for i, op in enumerate(ops):
        cores = regions[op.region]
        make_room(i, op.region, op.sram_bytes_per_tile, inputs.get(i, set()))
        home = memory[i].home_bytes
        if not uses.get(i) or home == 0:
            continue
        share = _share(op, home, len(cores))
        if share + op.sram_bytes_per_tile > room[op.region]:
            out[i] = set(uses[i])  # it cannot stay even alone beside its own tiles
            continue
        live[i] = share
        make_room(i + 1, op.region, 0, set())  # the result itself may be the one to leave
    return out


def _share(op: Op, home_bytes: int, n_cores: int) -> int:
    """The busiest core's share of an op's result spread over `n_cores` cores."""
    return -(-home_bytes * waves(op.n_tiles, n_cores) // op.n_tiles)
