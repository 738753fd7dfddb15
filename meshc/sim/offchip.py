"""Off-chip traffic of a replay: every byte to or from HBM/DRAM books time on the ports.

Every attach core of a stack is a port (meshc.hardware.ports); a stream's bytes interleave
over all ports in proportion to their bandwidth, each port serving its share in time order
(a Timeline) from the stream's earliest instant on. Each port's share enters or leaves the
op's rectangle at its core nearest to the port: NoC energy only (off-chip bytes do not book
NoC links). Used for an op's streamed weights and KV cache, the phase's inputs and outputs,
spilled values written out and read back (sim/memory.py), and on a cold run the resident
weights' first load (`ColdLoads`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from meshc.hardware import Hardware
from meshc.hardware.ports import hbm_ports, hops, nearest_core
from meshc.result import HbmRecord, Rect, Steps
from meshc.sim.memory import home_cores
from meshc.sim.model import SimOp
from meshc.sim.timeline import Timeline

Core = tuple[int, int]


class Ports:
    """The machine's HBM ports with their busy time, and the records of what they served."""

    def __init__(self, hw: Hardware) -> None:
        self.clock = hw.noc.clock_hz
        self.pj_per_byte_hop = hw.noc.pj_per_byte_hop
        self.ports = [(p.core, p.bytes_per_s / self.clock) for p in hbm_ports(hw)]  # B/cycle
        self.total_bw = sum(bw for _, bw in self.ports)
        self.time = [Timeline() for _ in self.ports]
        self.records: list[HbmRecord] = []
        self._hops: dict[tuple[Rect, Steps], dict[Core, int]] = {}

    def stream(self, op: SimOp, earliest: float, read: int, write: int,
               what: str = "") -> tuple[float, float]:
        """Books `read` + `write` bytes of `op` from `earliest` on; returns (when the last
        byte is through, NoC pJ from the ports to the op's rectangle). `what` tags the
        records of spill traffic ("spill", "reload")."""
        name = f"{op.name}:{what}" if what else op.name
        key = (op.rect, op.step)
        if key not in self._hops:  # ops of repeated layers share rectangles
            self._hops[key] = {port: hops(port, nearest_core(op.rect, op.step, port))
                               for port, _ in self.ports}
        return self.book(name, earliest, read, write, self._hops[key].__getitem__)

    def book(self, name: str, earliest: float, read: int, write: int,
             hops_from: Callable[[Core], float]) -> tuple[float, float]:
        """Books `read` + `write` bytes from `earliest` on, recorded as `name`; returns (when
        the last byte is through, NoC pJ, each port's share travelling `hops_from(port)`)."""
        n_bytes = read + write
        if n_bytes <= 0 or not self.ports:
            return earliest, 0.0
        end, pj = earliest, 0.0
        for p, (core, bw) in enumerate(self.ports):
            share = n_bytes * bw / self.total_bw  # addresses interleave by bandwidth
            s, done = self.time[p].reserve(earliest, share / bw)
            end = max(end, done)
            pj += share * hops_from(core) * self.pj_per_byte_hop
            self.records.append(HbmRecord(
                op=name, port=core, read_bytes=round(read * bw / self.total_bw),
                write_bytes=round(write * bw / self.total_bw),
                start_s=s / self.clock, end_s=done / self.clock))
        return end, pj


@dataclass(frozen=True)
class Load:
    """What a cold run's weight loads mean for one op."""

    ready: float  # cycle by which every resident weight the op reads is on chip
    bytes: int  # bytes this op is the first to need (each weight is loaded once)
    noc_pj: float  # of those bytes, from the ports to their home cores


class ColdLoads:
    """A cold run: resident weights start off chip. Each (weight, home cores), as
    memory.resident_bytes counts them, is read once through the ports in their idle time
    from the phase's start on, when the first op that reads it is replayed; every op that
    reads it waits for its load. Its bytes go to its home cores, split evenly (NoC energy
    only, as other off-chip reads). Without ports nothing is loaded (nothing is off chip)."""

    def __init__(self, ports: Ports, ops: Sequence[SimOp],
                 regions: Mapping[str, tuple[Core, ...]] | None = None) -> None:
        self.ports, self.ops, self.regions = ports, ops, regions
        self.done: dict[tuple[str, tuple[Core, ...]], float] = {}  # (weight, home) -> loaded

    def load(self, i: int) -> Load:
        """Loads op `i`'s resident weights not loaded yet; when all it reads are on chip."""
        op = self.ops[i]
        cores = home_cores(op, self.regions)
        ready, n_bytes, pj = 0.0, 0, 0.0
        for name, b in op.resident:
            key = (name, cores)
            if key not in self.done:
                self.done[key], p = self.ports.book(
                    f"{op.name}:cold:{name}", 0.0, b, 0,
                    lambda port: sum(hops(port, c) for c in cores) / len(cores))
                n_bytes, pj = n_bytes + (b if self.ports.ports else 0), pj + p
            ready = max(ready, self.done[key])
        return Load(ready, n_bytes, pj)
