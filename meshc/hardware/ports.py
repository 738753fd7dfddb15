"""HBM ports: where off-chip memory enters the mesh and at what bandwidth.

Every attach core of a stack is a port (docs/hardware.md: `attach` lists the edge cores
the stack's ports connect to), and a stack's bandwidth is split evenly over its attach
cores: a stack of 4 channels on 4 edge cores delivers a quarter of its bytes_per_s at
each. An op's off-chip bytes interleave over every port in proportion to its bandwidth
(addresses interleave over all channels), so the machine's bandwidth is the sum over its
ports; each port's share enters the mesh at the port and travels to the op's core nearest
to it. The mapper's `Machine` and the simulator both take their ports from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshc.hardware.model import Hardware

Core = tuple[int, int]


@dataclass(frozen=True)
class Port:
    core: Core  # the attach core
    stack: int  # index into hw.hbm_stacks
    bytes_per_s: float  # this port's share of its stack's bandwidth


def hbm_ports(hw: Hardware) -> tuple[Port, ...]:
    """One port per attach core of every stack, in stack then attach order."""
    return tuple(Port(core=(int(r), int(c)), stack=i, bytes_per_s=s.bytes_per_s / len(s.attach))
                 for i, s in enumerate(hw.hbm_stacks) for r, c in s.attach)


def hops(a: Core, b: Core) -> int:
    """Manhattan distance: the hops of an XY route."""
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def nearest_step(x: int, lo: int, hi: int, step: int) -> int:
    """The value of lo, lo + step, ... <= hi nearest to x (the lower one on ties)."""
    if x <= lo:
        return lo
    last = lo + (hi - lo) // step * step
    if x >= last:
        return last
    below = lo + (x - lo) // step * step
    return below if x - below <= below + step - x else below + step


def nearest_core(rect: tuple[int, int, int, int], step: tuple[int, int], port: Core) -> Core:
    """The core of a (strided) rectangle (r0, c0, r1, c1) nearest to `port`: XY distance
    is separable, so the nearest row and the nearest column are found apart."""
    r0, c0, r1, c1 = rect
    return (nearest_step(port[0], r0, r1, step[0]), nearest_step(port[1], c0, c1, step[1]))
