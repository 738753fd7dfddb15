"""A resource's busy time: an HBM port or a NoC link, booked in any order, served in time order."""

from __future__ import annotations

import bisect


class Timeline:
    """The busy intervals of one HBM port or NoC link; a booking fills idle time from its
    start on, so requests are served in time order whatever order they are replayed in."""

    def __init__(self) -> None:
        self.busy: list[tuple[float, float]] = []  # sorted, disjoint

    def reserve(self, start: float, duration: float) -> tuple[float, float]:
        """Books `duration` of port time from `start` on; returns (first, last) instants."""
        if duration <= 0:
            return start, start
        if not self.busy or start >= self.busy[-1][1]:  # after everything: no gap to search
            if self.busy and start == self.busy[-1][1]:
                self.busy[-1] = (self.busy[-1][0], start + duration)
            else:
                self.busy.append((start, start + duration))
            return start, start + duration
        i = bisect.bisect_left(self.busy, (start, start))
        if i and self.busy[i - 1][1] > start:
            i -= 1
        lo = max(i - 1, 0)  # the pieces may touch the interval before the first one passed
        t, left, first = start, duration, None
        pieces: list[tuple[float, float]] = []
        while left > 0:
            nxt = self.busy[i][0] if i < len(self.busy) else float("inf")
            if i < len(self.busy) and self.busy[i][0] <= t:
                t = max(t, self.busy[i][1])
                i += 1
                continue
            take = min(left, nxt - t)
            if take > 0:
                pieces.append((t, t + take))
                first = t if first is None else first
                left -= take
                t += take
        hi = min(i + 1, len(self.busy))  # ... and the one after the last
        self.busy[lo:hi] = _merged(sorted(self.busy[lo:hi] + pieces))
        return (first if first is not None else start), t


def _merged(busy: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted intervals with the overlapping and touching ones joined."""
    out: list[tuple[float, float]] = []
    for a, b in busy:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
