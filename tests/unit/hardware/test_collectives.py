"""Collective costs (meshc/hardware/collectives.py) on hand-computed cases: round links of
1e9 B/s so every figure can be checked with a pencil."""

from __future__ import annotations

import pytest

from meshc.errors import MeshcError
from meshc.hardware import load_hardware
from meshc.hardware.collectives import (
    all_gather,
    all_reduce,
    all_reduce_options,
    all_to_all,
    collective,
    reduce_scatter,
    send_recv,
)
from meshc.hardware.system import Fabric, load_system, system_of_one

GB_S = 1e9
US = 1e-6


def grid(*dims: int, wrap: bool = True, alpha: float = US, links: int = 1) -> Fabric:
    return Fabric("grid", dims, (wrap,) * len(dims), GB_S, links, alpha, 1.0)


def switch(p: int, alpha: float = US, links: int = 1) -> Fabric:
    return Fabric("switch", (p,), (False,), GB_S, links, alpha, 1.0)


def by_algorithm(f: Fabric, n: float) -> dict[str, tuple[float, float]]:
    return {c.algorithm: (c.latency_s, c.transfer_s) for c in all_reduce_options(f, n)}


def test_switch_all_reduce_ring_tree_and_halving_doubling_by_hand() -> None:
    f, n = switch(8), 8e6
    got = by_algorithm(f, n)
    assert got["ring"] == pytest.approx((2 * 7 * US, 2 * 7 / 8 * n / GB_S))  # 14 us, 14 ms
    assert got["halving-doubling"] == pytest.approx((2 * 3 * US, 14e-3))  # log2 8 = 3
    assert got["tree"] == pytest.approx((2 * 3 * US, 2 * 3 * n / GB_S))  # 48 ms
    best = all_reduce(f, n)
    assert best.algorithm == "halving-doubling"  # the ring's bandwidth, log latency
    assert best.link_bytes == 2 * 7 * n  # every chunk crosses p-1 hops, twice
    assert best.energy_pj == pytest.approx(2 * 7 * n * 8 * 1.0)  # bytes x 8 x pJ/bit
    assert best.max_link_bytes == pytest.approx(14e6)  # 2 x 7/8 x 8e6 over one link


def test_tree_wins_small_messages_on_a_switch_that_is_not_a_power_of_two() -> None:
    f = switch(12)
    assert "halving-doubling" not in by_algorithm(f, 1.0)
    small = all_reduce(f, 1.0)  # ring: 22 alpha; tree: 2 ceil(log2 12) = 8 alpha
    assert small.algorithm == "tree"
    assert small.latency_s == pytest.approx(8 * US)
    assert all_reduce(f, 1e9).algorithm == "ring"  # bandwidth-bound: the ring


def test_bidirectional_ring_uses_both_directions_and_a_line_one() -> None:
    n = 4e6
    ring = all_reduce(grid(4, alpha=0.0), n)
    assert ring.algorithm == "ring"
    assert ring.transfer_s == pytest.approx(2 * 3 / 4 * n / (2 * GB_S))  # 3 ms
    assert ring.max_link_bytes == pytest.approx(2 * 3 / 4 * n / 2)
    line = all_reduce(grid(4, wrap=False, alpha=0.0), n)
    assert line.transfer_s == pytest.approx(2 * 3 / 4 * n / GB_S)  # 6 ms: one link per end chip
    assert line.link_bytes == ring.link_bytes == 2 * 3 * n


def test_torus2d_all_reduce_by_hand() -> None:
    # 4x4 torus, 8 MB: two parts of 4 MB, one starting on each axis. Step 1: each part
    # moves 3/4 x 4 MB over a bidirectional ring (2 GB/s): 1.5 ms; step 2: 3/4 x 1 MB: 0.375 ms.
    f, n = grid(4, 4), 8e6
    got = by_algorithm(f, n)
    assert got["torus2d"] == pytest.approx((2 * (3 + 3) * US, 2 * (1.5e-3 + 0.375e-3)))
    assert got["ring"] == pytest.approx((2 * 15 * US, 2 * 15 / 16 * n / (2 * GB_S)))  # 7.5 ms
    best = all_reduce(f, n)
    assert best.algorithm == "torus2d"
    assert best.link_bytes == pytest.approx(2 * 15 * n)  # as the ring: p-1 hops per chunk
    # axis 0 carries part A's first step (1.5 MB each way) and part B's second (0.375 MB)
    assert best.max_link_bytes == pytest.approx(2 * (1.5e6 + 0.375e6))


def test_mesh_2x4_lockstep_torus_loses_to_the_ring_around_it() -> None:
    # 2x4 mesh, 8 MB: step 1 max(1/2 x 4 MB, 3/4 x 4 MB) at 1 GB/s = 3 ms, step 2
    # max(3/4 x 2 MB, 1/2 x 1 MB) = 1.5 ms: 9 ms in all. The 8 chips close a cycle, so
    # the ring runs both ways: 2 x 7/8 x 8 MB / 2 GB/s = 7 ms.
    f, n = grid(2, 4, wrap=False, alpha=0.0), 8e6
    got = by_algorithm(f, n)
    assert got["torus2d"][1] == pytest.approx(9e-3)
    assert got["ring"][1] == pytest.approx(7e-3)
    assert all_reduce(f, n).algorithm == "ring"


def test_a_mesh_of_odd_chips_has_no_cycle_and_its_ring_runs_one_way() -> None:
    got = by_algorithm(grid(3, 3, wrap=False, alpha=0.0), 9e6)
    assert got["ring"][1] == pytest.approx(2 * 8 / 9 * 9e6 / GB_S)


def test_reduce_scatter_and_all_gather_are_each_half_the_ring_all_reduce() -> None:
    f, n = grid(8), 8e6
    rs, ag, ar = reduce_scatter(f, n), all_gather(f, n), all_reduce(f, n)
    assert rs.time_s == ag.time_s == pytest.approx(ar.time_s / 2)
    assert rs.time_s == pytest.approx(7 * US + 7 / 8 * n / (2 * GB_S))
    assert (rs.op, ag.op) == ("reduce-scatter", "all-gather")


def test_all_to_all_by_hand() -> None:
    n = 4e6  # each chip sends 1 MB to each of 4 chips (one stays home)
    sw = all_to_all(switch(4), n)
    assert (sw.algorithm, sw.latency_s, sw.transfer_s) == ("pairwise", 3 * US, 3e-3)
    assert sw.link_bytes == 12e6
    ring = all_to_all(grid(4), n)  # 2 messages 1 hop, 1 message 2 hops split both ways
    assert ring.transfer_s == pytest.approx(2e-3)  # each hop carries 2 MB each way
    assert ring.link_bytes == pytest.approx(16e6)  # 4 chips x (1 + 1 + 2) MB
    line = all_to_all(grid(4, wrap=False), n)  # the middle hop: 2 chips x 2 MB
    assert line.transfer_s == pytest.approx(4e-3)
    assert line.link_bytes == pytest.approx(20e6)  # hops 6 + 4 + 4 + 6, 1 MB each
    torus = all_to_all(grid(4, 4), 16e6)  # both axes as the ring above, at once
    assert torus.transfer_s == pytest.approx(0.5 * 16e6 / GB_S)
    assert torus.latency_s == pytest.approx(15 * US)


def test_send_recv_is_cut_through() -> None:
    c = send_recv(grid(8, links=2), 1e6, hops=3)
    assert (c.latency_s, c.transfer_s) == pytest.approx((3 * US, 1e6 / (2 * GB_S)))
    assert (c.link_bytes, c.max_link_bytes) == (3e6, 5e5)
    with pytest.raises(ValueError, match="hops"):
        send_recv(grid(8), 1.0, hops=0)


def test_one_chip_moves_nothing_and_bad_sizes_are_refused() -> None:
    one = system_of_one(load_hardware("h100-like")).fabric
    for op in (all_reduce, all_gather, reduce_scatter, all_to_all, send_recv):
        c = op(one, 1e9)
        assert (c.time_s, c.energy_pj, c.algorithm) == (0.0, 0.0, "none")
    with pytest.raises(ValueError, match="size"):
        all_reduce(grid(4), -1.0)
    with pytest.raises(ValueError, match="size"):
        all_to_all(grid(4), float("nan"))


def test_a_v6e_pod_all_reduces_at_googles_quoted_bandwidth() -> None:
    # Google: 102.4 TB/s all-reduce bandwidth per 256-chip pod = 400 GB/s per chip [P];
    # an all-reduce sends and receives about 2n per chip: 1 GB takes ~2e9 / 400e9 = 5 ms.
    c = all_reduce(load_system("tpu-v6e-256").fabric, 1e9)
    assert c.algorithm == "torus2d"
    assert c.transfer_s == pytest.approx(2 * 15 / 16 * 1e9 / 2 * (1 + 1 / 16) / 200e9)
    assert c.time_s == pytest.approx(5e-3, rel=0.01)


def test_a_group_of_chips_occupies_a_block_of_the_fabric() -> None:
    pod = load_system("tpu-v6e-256").fabric
    # filled from the last axis: a whole axis keeps its wraparound, a part of one is a line
    assert (pod.sub(8).dims, pod.sub(8).wrap) == ((8,), (False,))
    assert (pod.sub(16).dims, pod.sub(16).wrap) == ((16,), (True,))
    assert (pod.sub(32).dims, pod.sub(32).wrap) == ((2, 16), (False, True))
    assert pod.sub(256) == pod
    assert pod.sub(1).chips == 1
    with pytest.raises(MeshcError, match="24 chips do not fill a block of the 16x16 grid"):
        pod.sub(24)
    with pytest.raises(MeshcError, match="does not fit 256 chips"):
        pod.sub(512)
    nvl = load_system("h100-8").fabric
    assert (nvl.sub(4).kind, nvl.sub(4).chips, nvl.sub(4).links_per_hop) == ("switch", 4, 18)


def test_collective_prices_the_irs_kinds_with_the_functions_of_their_names() -> None:
    f = grid(8, links=2)
    assert collective("all_reduce", f, 1e6) == all_reduce(f, 1e6)
    assert collective("all_gather", f, 1e6) == all_gather(f, 1e6)
    assert collective("reduce_scatter", f, 1e6) == reduce_scatter(f, 1e6)
    assert collective("all_to_all", f, 1e6) == all_to_all(f, 1e6)
    assert collective("send", f, 1e6) == send_recv(f, 1e6)
    with pytest.raises(ValueError, match="unknown collective 'broadcast'"):
        collective("broadcast", f, 1.0)
