"""The timing rules the schedulers share: op duration on a rectangle, transfer delay, HBM share.

Duration of op `o` on rectangle `R` (c cores):

    compute = ceil(n_tiles / c) * max(tile_cycles[type(k)] for k in R)   (slowest core sets pace)
    hbm     = ceil((hbm_read_bytes + hbm_write_bytes) / B)              B = sum of HBM ports
    duration = max(compute, hbm)

The op streams its HBM bytes at a constant rate `bytes / duration` (at most B) for its whole
run; concurrent ops share B, so the rates of ops running at the same time sum to at most B.
Schedulers reserve the rate as an integer share of `HBM_SHARES` (rounded up).

Transfer from a producer on rectangle A to a consumer on rectangle B:

    delay = hops(A, B) * router_latency_cycles
            + ceil(bytes / (link_bytes_per_cycle * min(cores(A), cores(B))))

hops is the Manhattan distance between the closest cores of A and B (0 when they overlap).
Each core injects or ejects one link's worth of bytes per cycle, so the smaller rectangle sets
the number of parallel links. The byte term is paid even when A and B overlap: the consumer's
tiles are spread by a different rule than the producer's, so data is redistributed anyway.
Links are not shared between transfers in this model; the simulator replays transfers with
link contention and reports the gap.
"""

from __future__ import annotations

import math

from meshc.hardware.spread import waves
from meshc.mappers.problem import Machine, Op
from meshc.mappers.rects import Rect, rect_hops

HBM_SHARES = 1 << 16


def compute_cycles(op: Op, rect: Rect, machine: Machine) -> int:
    """ceil(n_tiles / cores) tiles back to back at the pace of the slowest core type."""
    slowest = max(op.tile_cycles[machine.core_type(k)] for k in rect.cores())
    return waves(op.n_tiles, rect.n_cores) * slowest


def hbm_cycles(op: Op, machine: Machine) -> int:
    """Cycles to stream the op's HBM bytes at the machine's full HBM bandwidth."""
    if op.hbm_bytes == 0:
        return 0
    return math.ceil(op.hbm_bytes / machine.hbm_bytes_per_cycle)


def duration_cycles(op: Op, rect: Rect, machine: Machine) -> int:
    """The op's duration on `rect`: max(compute, hbm)."""
    return max(compute_cycles(op, rect, machine), hbm_cycles(op, machine))


def hbm_share(op: Op, duration: int, machine: Machine) -> int:
    """The op's HBM rate over `duration` cycles as an integer share of HBM_SHARES (rounded up)."""
    if op.hbm_bytes == 0:
        return 0
    exact = HBM_SHARES * op.hbm_bytes / (machine.hbm_bytes_per_cycle * duration)
    return min(HBM_SHARES, math.ceil(exact))


def byte_cycles(n_bytes: int, n_cores: int, machine: Machine) -> int:
    """The serialisation term of a transfer whose smaller end has `n_cores` cores."""
    if n_bytes == 0:
        return 0
    return math.ceil(n_bytes / (machine.link_bytes_per_cycle * n_cores))


def transfer_cycles(n_bytes: int, src: Rect, dst: Rect, machine: Machine) -> int:
    """The transfer delay rule (module docstring)."""
    hops = rect_hops(src, dst)
    links = min(src.n_cores, dst.n_cores)
    return hops * machine.router_latency_cycles + byte_cycles(n_bytes, links, machine)
