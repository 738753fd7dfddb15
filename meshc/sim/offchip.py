"""Off-chip traffic of a replay: every byte to or from HBM/DRAM books time on the ports.

Every attach core of a stack is a port (meshc.hardware.ports); a stream's bytes interleave
over all ports in proportion to their bandwidth, each port serving its share in time order
(a Timeline) from the stream's earliest instant on. Each port's share enters or leaves the
op's rectangle at its core nearest to the port: NoC energy only (off-chip bytes do not book
NoC links). Used for an op's streamed weights and KV cache, the phase's inputs and outputs,
and spilled values written out and read back (sim/memory.py).
"""

from __future__ import annotations

from meshc.hardware import Hardware
from meshc.hardware.ports import hbm_ports, hops, nearest_core
from meshc.result import HbmRecord
from meshc.sim.model import SimOp
from meshc.sim.timeline import Timeline


class Ports:
    """The machine's HBM ports with their busy time, and the records of what they served."""

    def __init__(self, hw: Hardware) -> None:
        self.clock = hw.noc.clock_hz
        self.pj_per_byte_hop = hw.noc.pj_per_byte_hop
        self.ports = [(p.core, p.bytes_per_s / self.clock) for p in hbm_ports(hw)]  # B/cycle
        self.total_bw = sum(bw for _, bw in self.ports)
        self.time = [Timeline() for _ in self.ports]
        self.records: list[HbmRecord] = []

    def stream(self, op: SimOp, earliest: float, read: int, write: int,
               what: str = "") -> tuple[float, float]:
        """Books `read` + `write` bytes of `op` from `earliest` on; returns (when the last
        byte is through, NoC pJ from the ports to the op's rectangle). `what` tags the
        records of spill traffic ("spill", "reload")."""
        n_bytes = read + write
        if n_bytes <= 0 or not self.ports:
            return earliest, 0.0
        end, pj = earliest, 0.0
        name = f"{op.name}:{what}" if what else op.name
        for p, (core, bw) in enumerate(self.ports):
            share = n_bytes * bw / self.total_bw  # addresses interleave by bandwidth
            s, done = self.time[p].reserve(earliest, share / bw)
            end = max(end, done)
            pj += share * hops(core, nearest_core(op.rect, op.step, core)) * self.pj_per_byte_hop
            self.records.append(HbmRecord(
                op=name, port=core, read_bytes=round(read * bw / self.total_bw),
                write_bytes=round(write * bw / self.total_bw),
                start_s=s / self.clock, end_s=done / self.clock))
        return end, pj
