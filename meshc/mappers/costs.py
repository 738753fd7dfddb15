"""The timing rules the schedulers share: op duration on a rectangle, transfer delay, HBM share.

Duration of op `o` on rectangle `R` (c cores):

    compute = ceil(n_tiles / c) * max(tile_cycles[type(k)] for k in R)   (slowest core sets pace)
    hbm     = ceil((hbm_read_bytes + hbm_write_bytes) / B)              B = sum of HBM ports
    duration = max(compute, hbm)

The op streams its HBM bytes at a constant rate `bytes / duration` (at most B) for its whole
run; concurrent ops share B, so the rates of ops running at the same time sum to at most B.
Schedulers reserve the rate as an integer share of `HBM_SHARES` (rounded up).

Transfer from a producer on rectangle A to a consumer on rectangle B: the simulator's rule
(meshc.hardware.transfers), priced on an otherwise idle NoC: the bytes travel as up to
MAX_FLOWS XY-routed flows between evenly spaced cores of A and B; flows that share a link
queue on it; each hop adds the router latency; a flow between a core and itself is free.
The simulator adds the contention between transfers that run at the same time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from meshc.hardware import transfers
from meshc.hardware.spread import waves
from meshc.mappers.problem import Machine, Op
from meshc.mappers.rects import Rect

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


def transfer_cycles(n_bytes: int, src: Rect, dst: Rect, machine: Machine) -> int:
    """The transfer delay rule (module docstring)."""
    return transfers.transfer_cycles(n_bytes, src.as_tuple(), src.steps, dst.as_tuple(),
                                     dst.steps, machine.link_bytes_per_cycle,
                                     machine.router_latency_cycles)


Ints = npt.NDArray[np.int64]
Profiles = tuple[Ints, Ints, Ints]  # rank (P, F), hops (P, F), flows (P,)
Box = tuple[int, int, int, int]
Steps = tuple[int, int]


def flow_profiles(srcs: Sequence[Rect], dsts: Sequence[Rect]) -> Profiles:
    """Every (src, dst) pair's flow profile (transfers.profile), padded with (0, 0) flows,
    which cost nothing: the part of the transfer rule that does not depend on the bytes."""
    got = [_pair_profile(a.as_tuple(), a.steps, b.as_tuple(), b.steps)
           for a in srcs for b in dsts]
    profs = [p for p, _ in got]
    width = max((len(p) for p in profs), default=0) or 1
    rank = np.zeros((len(profs), width), dtype=np.int64)
    hops = np.zeros((len(profs), width), dtype=np.int64)
    for i, p in enumerate(profs):
        for j, (r, h) in enumerate(p):
            rank[i, j], hops[i, j] = r, h
    return rank, hops, np.array([k for _, k in got], dtype=np.int64)


@lru_cache(maxsize=1 << 16)
def _pair_profile(src: Box, src_step: Steps, dst: Box, dst_step: Steps) -> tuple[
    tuple[tuple[int, int], ...], int
]:
    """One pair's flow profile and number of flows: the tables of different ops share most
    rectangle pairs, so their routes are worked out once."""
    pairs = transfers.flows(src, src_step, dst, dst_step)
    return transfers.profile(pairs), len(pairs)


def delay_table(n_bytes: int, prof: Profiles, n_src: int, machine: Machine) -> Ints:
    """transfer_cycles of n_bytes for every (src, dst) pair of `prof`, shape (n_src, n_dst):
    the same float operations as transfers.alone_cycles, so the same whole cycles."""
    rank, hops, k = prof
    if n_bytes <= 0:
        return np.zeros((n_src, len(k) // n_src), dtype=np.int64)
    serial = n_bytes / k / machine.link_bytes_per_cycle
    t: npt.NDArray[np.float64] = (rank * serial[:, None] + machine.router_latency_cycles * hops).max(axis=1)
    return np.ceil(t - 1e-9).astype(np.int64).reshape(n_src, -1)
