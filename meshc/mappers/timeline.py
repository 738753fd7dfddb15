"""Resource timelines for list scheduling: busy intervals per core and an HBM usage profile.

Both support *insertion*: an op may go into a gap before already scheduled ops.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

from meshc.mappers.costs import HBM_SHARES


class HbmProfile:
    """Piecewise-constant HBM usage in shares; segment i is [times[i], times[i+1])."""

    def __init__(self) -> None:
        self.times: list[int] = [0]
        self.use: list[int] = [0]

    def _split(self, t: int) -> int:
        i = bisect_right(self.times, t) - 1
        if self.times[i] != t:
            self.times.insert(i + 1, t)
            self.use.insert(i + 1, self.use[i])
            i += 1
        return i

    def earliest(self, t: int, d: int, share: int) -> int:
        """Earliest t' >= t with usage + share <= HBM_SHARES throughout [t', t' + d)."""
        if share == 0:
            return t
        limit = HBM_SHARES - share
        j = bisect_right(self.times, t) - 1
        while j < len(self.times) and self.times[j] < t + d:
            if self.use[j] > limit:
                t = self.times[j + 1]  # the last segment is always empty, so j + 1 exists
            j += 1
        return t

    def add(self, s: int, e: int, share: int) -> None:
        if share == 0:
            return
        i, j = self._split(s), self._split(e)
        for k in range(i, j):
            self.use[k] += share


def core_atoms(core_sets: Iterable[tuple[int, ...]]) -> tuple[list[tuple[int, ...]], int]:
    """Per core set: the atoms it covers, and the number of atoms. An atom is a class of
    cores that every given set holds whole or not at all, so bookings of these sets keep
    every core of an atom equally busy: a Timeline over atoms answers exactly as one over
    cores, and a rectangle of hundreds of cores is a few atoms."""
    sets = list(core_sets)
    distinct = {s: q for q, s in enumerate(dict.fromkeys(sets))}
    sig: dict[int, int] = {}  # core -> bit set of the distinct sets holding it
    for s, q in distinct.items():
        for k in s:
            sig[k] = sig.get(k, 0) | (1 << q)
    ids: dict[int, int] = {}
    atom = {k: ids.setdefault(b, len(ids)) for k, b in sorted(sig.items())}
    of = {s: tuple(sorted({atom[k] for k in s})) for s in distinct}
    return [of[s] for s in sets], len(ids)


class Timeline:
    """Busy intervals of every core (disjoint, sorted) plus the HBM profile. A "core" may
    be an atom of cores (`core_atoms`)."""

    def __init__(self, n_cores: int) -> None:
        self.starts: list[list[int]] = [[] for _ in range(n_cores)]
        self.ends: list[list[int]] = [[] for _ in range(n_cores)]
        self.hbm = HbmProfile()

    def _cores_earliest(self, cores: Sequence[int], t: int, d: int) -> int:
        moved = True
        while moved:
            moved = False
            for k in cores:
                ends = self.ends[k]
                i = bisect_right(ends, t)
                if i < len(ends) and self.starts[k][i] < t + d:
                    t = ends[i]
                    moved = True
        return t

    def earliest(self, cores: Sequence[int], t: int, d: int, share: int) -> int:
        """Earliest start >= t where all `cores` are idle and HBM has `share` free for d."""
        while True:
            t1 = self._cores_earliest(cores, t, d)
            t2 = self.hbm.earliest(t1, d, share)
            if t2 == t1:
                return t1
            t = t2

    def free_at(self, cores: Sequence[int]) -> int:
        """The end of the last busy interval over `cores` (0 if idle)."""
        return max((self.ends[k][-1] for k in cores if self.ends[k]), default=0)

    def add(self, cores: Sequence[int], s: int, e: int, share: int) -> None:
        for k in cores:
            i = bisect_right(self.ends[k], s)
            self.starts[k].insert(i, s)
            self.ends[k].insert(i, e)
        self.hbm.add(s, e, share)

