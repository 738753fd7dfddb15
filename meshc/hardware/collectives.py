"""What a collective costs on a system's fabric: time, link energy, bytes over the links.

Pure functions of a `Fabric` (system.py: `load_system(...).fabric`) and a size in bytes,
in the alpha-beta form: alpha is one hop's latency (`latency_s`), beta one over a hop's
bandwidth per direction (B = link bytes/s x links per hop). p is the number of chips.
Energy is every byte that crosses a hop, x 8 x `pj_per_bit`. docs/systems.md has the
formulas and their sources; in short:

* ring (Patarasuk & Yuan 2009, bandwidth-optimal; Thakur et al. 2005 s4):
  reduce-scatter = all-gather = (p-1) alpha + (p-1)/p n / B_ring, all-reduce = both.
  B_ring = 2B when the chips close a cycle of neighbour links that both directions of
  each link can carry (two counter-rotating rings, as NCCL and the TPU scaling book use),
  else B (a line: its end chip has one link; a switch: the chip's links into it).
* torus (2D/3D-torus all-reduce, Mikami et al. 2018, Ying et al. 2018): the ring along one
  axis, then along the next on the 1/k that chip kept, then back; the data is split in one
  part per axis, each part starting on a different axis, so every axis works at once.
* tree (Thakur 2005: binomial reduce, then binomial broadcast): 2 ceil(log2 p) (alpha + n/B).
* halving-doubling (Rabenseifner, Thakur 2005 s4.4, p a power of two):
  2 log2(p) alpha + 2 (p-1)/p n / B.
* all-to-all (Thakur 2005, pairwise exchange): (p-1) alpha + the busiest hop's bytes / B,
  dimension-ordered routes on a grid.
* send/recv: hops x alpha + n / B (cut-through).

`all_reduce` picks the fastest algorithm the topology allows and names it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from meshc.hardware.system import Fabric

BITS_PER_BYTE = 8


@dataclass(frozen=True)
class CollectiveCost:
    """One collective over every chip of a fabric. `nbytes` is the op's size (see each
    function); `link_bytes` sums every byte over every hop; `max_link_bytes` is what the
    busiest single link carries in one direction."""

    op: str
    algorithm: str
    chips: int
    nbytes: float
    latency_s: float  # the alpha terms
    transfer_s: float  # the bandwidth terms
    link_bytes: float
    max_link_bytes: float
    energy_pj: float

    @property
    def time_s(self) -> float:
        return self.latency_s + self.transfer_s


def _cost(op: str, algorithm: str, f: Fabric, n: float, latency_s: float, transfer_s: float,
          link_bytes: float, max_link_bytes: float) -> CollectiveCost:
    return CollectiveCost(op, algorithm, f.chips, n, latency_s, transfer_s, link_bytes,
                          max_link_bytes, link_bytes * BITS_PER_BYTE * f.pj_per_bit)


def _free(op: str, f: Fabric, n: float) -> CollectiveCost | None:
    """The cost of an op that moves nothing: one chip. Refuses a negative size."""
    if not (n >= 0 and math.isfinite(n)):
        raise ValueError(f"{op}: size must be finite and >= 0 bytes, got {n}")
    return _cost(op, "none", f, n, 0.0, 0.0, 0.0, 0.0) if f.chips == 1 else None


def _axes(f: Fabric) -> list[tuple[int, int]]:
    """(chips, directions a ring along it uses) for each axis longer than one chip."""
    return [(k, 2 if w and k > 2 else 1) for k, w in zip(f.dims, f.wrap, strict=True) if k > 1]


def _ring_directions(f: Fabric) -> int:
    """2 when the chips close a cycle of neighbour links usable both ways, else 1."""
    if f.kind == "switch" or f.chips < 3:
        return 1
    axes = _axes(f)
    if any(dirs == 2 for _, dirs in axes):  # a wraparound axis: snake through the others
        return 2
    return 2 if len(axes) > 1 and f.chips % 2 == 0 else 1  # a mesh: even chips, no wrap


# --- reduce-scatter / all-gather / all-reduce -------------------------------------------


def _ring(op: str, f: Fabric, n: float, phases: int) -> CollectiveCost:
    p, dirs = f.chips, _ring_directions(f)
    share = (p - 1) / p * n / dirs  # bytes over each direction of a hop, per phase
    return _cost(op, "ring", f, n, phases * (p - 1) * f.latency_s,
                 phases * share / f.hop_bytes_per_s, phases * (p - 1) * n,
                 phases * share / f.links_per_hop)


def _torus(op: str, f: Fabric, n: float, phases: int) -> CollectiveCost | None:
    """One part per axis, part j visiting axes j, j+1, ... in lockstep: at each step the
    parts use different axes, and a step lasts as long as its slowest part."""
    axes = _axes(f)
    d = len(axes)
    if f.kind != "grid" or d < 2:
        return None
    latency = transfer = total = 0.0
    per_axis = [0.0] * d  # bytes over each direction of one hop of each axis
    sizes = [n / d] * d  # what part j still holds
    for step in range(d):
        slowest = 0.0
        for j in range(d):
            a = (j + step) % d
            k, dirs = axes[a]
            moved = (k - 1) / k * sizes[j]
            slowest = max(slowest, moved / dirs / f.hop_bytes_per_s)
            per_axis[a] += moved / dirs
            total += f.chips * moved
            sizes[j] /= k
        transfer += slowest
        latency += max(axes[(j + step) % d][0] - 1 for j in range(d)) * f.latency_s
    return _cost(op, f"torus{d}d", f, n, phases * latency, phases * transfer,
                 phases * total, phases * max(per_axis) / f.links_per_hop)


def _halving_doubling(op: str, f: Fabric, n: float, phases: int) -> CollectiveCost | None:
    p = f.chips
    if f.kind != "switch" or p & (p - 1):
        return None
    share = (p - 1) / p * n
    return _cost(op, "halving-doubling", f, n, phases * math.log2(p) * f.latency_s,
                 phases * share / f.hop_bytes_per_s, phases * (p - 1) * n,
                 phases * share / f.links_per_hop)


def _tree(f: Fabric, n: float) -> CollectiveCost | None:
    if f.kind != "switch":
        return None
    steps = math.ceil(math.log2(f.chips))
    return _cost("all-reduce", "tree", f, n, 2 * steps * f.latency_s,
                 2 * steps * n / f.hop_bytes_per_s, 2 * (f.chips - 1) * n,
                 steps * n / f.links_per_hop)


def _options(op: str, f: Fabric, n: float, phases: int) -> tuple[CollectiveCost, ...]:
    found = [_ring(op, f, n, phases), _torus(op, f, n, phases),
             _halving_doubling(op, f, n, phases)]
    if op == "all-reduce":
        found.append(_tree(f, n))
    return tuple(c for c in found if c is not None)


def _best(options: tuple[CollectiveCost, ...]) -> CollectiveCost:
    return min(options, key=lambda c: c.time_s)  # the first listed on a tie


def all_reduce_options(f: Fabric, nbytes: float) -> tuple[CollectiveCost, ...]:
    """Every all-reduce algorithm the topology allows, each costed."""
    free = _free("all-reduce", f, nbytes)
    return (free,) if free else _options("all-reduce", f, nbytes, 2)


def all_reduce(f: Fabric, nbytes: float) -> CollectiveCost:
    """Every chip holds `nbytes` and ends with the sum of all chips' buffers."""
    return _best(all_reduce_options(f, nbytes))


def reduce_scatter(f: Fabric, nbytes: float) -> CollectiveCost:
    """Every chip holds `nbytes` and ends with the sum of one 1/p share of them."""
    return _free("reduce-scatter", f, nbytes) or _best(_options("reduce-scatter", f, nbytes, 1))


def all_gather(f: Fabric, nbytes: float) -> CollectiveCost:
    """Every chip holds nbytes / p and ends with all `nbytes`."""
    return _free("all-gather", f, nbytes) or _best(_options("all-gather", f, nbytes, 1))


# --- all-to-all, send/recv --------------------------------------------------------------


def _hop_share(k: int, dirs: int) -> float:
    """Per byte a chip sends in an all-to-all along an axis of k chips, the bytes over the
    busiest direction of one hop: a ring routes each message the short way (ties split
    evenly): sum_d min(d, k-d) / 2k; a line's middle hop carries floor(k/2) ceil(k/2) / k."""
    if dirs == 2:
        return sum(min(d, k - d) for d in range(1, k)) / (2 * k)
    return (k // 2) * (k - k // 2) / k


def _mean_hops(k: int, dirs: int) -> float:
    """Hops from a chip to the others along an axis of k chips, summed, averaged over chips."""
    if dirs == 2:
        return float(sum(min(d, k - d) for d in range(k)))
    return (k * k - 1) / 3


def all_to_all(f: Fabric, nbytes: float) -> CollectiveCost:
    """Every chip sends `nbytes` in total, nbytes / p to each chip (its own share stays)."""
    free = _free("all-to-all", f, nbytes)
    if free:
        return free
    p, n = f.chips, nbytes
    latency = (p - 1) * f.latency_s
    if f.kind == "switch":
        share = (p - 1) / p * n
        return _cost("all-to-all", "pairwise", f, n, latency, share / f.hop_bytes_per_s,
                     (p - 1) * n, share / f.links_per_hop)
    axes = _axes(f)
    busiest = max(_hop_share(k, dirs) for k, dirs in axes) * n
    total = n * sum(p / k * _mean_hops(k, dirs) for k, dirs in axes)
    return _cost("all-to-all", "dimension-ordered", f, n, latency,
                 busiest / f.hop_bytes_per_s, total, busiest / f.links_per_hop)


def send_recv(f: Fabric, nbytes: float, hops: int = 1) -> CollectiveCost:
    """One chip sends `nbytes` to a chip `hops` hops away (1 on a switch), cut-through."""
    if hops < 1:
        raise ValueError(f"send/recv: hops must be >= 1, got {hops}")
    return _free("send-recv", f, nbytes) or _cost(
        "send-recv", "direct", f, nbytes, hops * f.latency_s, nbytes / f.hop_bytes_per_s,
        nbytes * hops, nbytes / f.links_per_hop)


def collective(kind: str, f: Fabric, nbytes: float) -> CollectiveCost:
    """The collective named as the IR names it (`tfm.collective`'s kinds: all_reduce,
    all_gather, reduce_scatter, all_to_all, send) over every chip of `f`; `nbytes` as the
    function of that name takes it (a send goes one hop)."""
    if kind not in _BY_KIND:
        raise ValueError(f"unknown collective {kind!r}; known: {', '.join(_BY_KIND)}")
    return _BY_KIND[kind](f, nbytes)


_BY_KIND = {"all_reduce": all_reduce, "all_gather": all_gather,
            "reduce_scatter": reduce_scatter, "all_to_all": all_to_all, "send": send_recv}
