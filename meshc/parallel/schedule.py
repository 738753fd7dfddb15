"""The pipeline of micro-batches: when each step of each micro-batch runs on its chips.

`pipeline(steps, micro_batches)`: every micro-batch runs the whole chain in order. A step
holds its resource (its chip group and subgroup) for its compute and then its collectives
(`StepCharge.busy_s`); step i of micro-batch j may start once step i-1 of j has ended and
its send has arrived, and once the resource is free. The chips' links carry one thing at a
time: a send leaves when the step's collectives are done and the links have sent the
last one, and a step's collectives wait for the send before them to leave (contention
between a stage's outputs and its next all-reduce; groups use disjoint links). A resource
runs one step at a time. Among the steps ready to start, the one that can start earliest
goes first; ties go to the lower micro-batch, then the lower step. That is GPipe's order
on a chain of stages, and the ping-pong of attention and MLP chips between micro-batches
under disaggregation.

The event loop is O(n log n) in the n = steps x micro-batches slots: per resource a heap of
the steps waiting for their inputs (by arrival) and one of those already arrived (by micro-
batch, then step); a global heap holds each resource's next start, refreshed when the
resource or its queues change. Floats are compared as they are: deterministic.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from meshc.errors import MeshcError
from meshc.parallel.charges import StepCharge

Resource = tuple[str, int]  # (chip group, subgroup)


@dataclass(frozen=True)
class Slot:
    """Step `step` (its index in the chain) of micro-batch `micro_batch` held `resource`
    from `start_s` to `end_s` (its compute, then its collectives)."""

    step: int
    micro_batch: int
    resource: Resource
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Timeline:
    """Every (step, micro-batch) in the order it started; the makespan (the last end, plus
    the last step's send if it has one); per resource its busy time, resources in the order
    the chain first uses them."""

    slots: tuple[Slot, ...]
    makespan_s: float
    busy_s: Mapping[Resource, float]
    round_ends_s: tuple[float, ...] = ()  # when each round's last micro-batch arrived

    @property
    def resources(self) -> tuple[Resource, ...]:
        return tuple(self.busy_s)


def _check(steps: Sequence[StepCharge], micro_batches: int) -> None:
    if isinstance(micro_batches, bool) or not isinstance(micro_batches, int) \
            or micro_batches < 1:
        raise MeshcError(f"micro-batches must be a whole number >= 1, got {micro_batches!r}",
                         where="pipeline", hint="ask for at least one micro-batch")
    if not steps:
        raise ValueError("pipeline: the chain has no step")
    for s in steps:
        figures = (s.compute_s, s.send_s, *(c.time_s for c in s.collectives))
        if not all(math.isfinite(t) and t >= 0 for t in figures):
            raise ValueError(f"pipeline: step {s.name!r} has a negative or non-finite time")


class _Queues:
    """One resource's steps that wait to start: `waiting` for their inputs, by arrival;
    `arrived` by (micro-batch, step). `free_s` is when the resource is next free."""

    def __init__(self) -> None:
        self.free_s = 0.0
        self.link_free_s = 0.0  # when the chips' links have sent their last step's outputs
        self.waiting: list[tuple[float, int, int]] = []  # (arrival, micro-batch, step)
        self.arrived: list[tuple[int, int]] = []  # (micro-batch, step)
        self.version = 0  # bumped whenever its entry in the global heap goes stale

    def next_start(self) -> tuple[float, int, int] | None:
        """The (start, micro-batch, step) of what it runs next, None when nothing waits."""
        while self.waiting and self.waiting[0][0] <= self.free_s:
            _, j, i = heapq.heappop(self.waiting)
            heapq.heappush(self.arrived, (j, i))
        if self.arrived:
            j, i = self.arrived[0]
            return (self.free_s, j, i)
        return self.waiting[0] if self.waiting else None

    def take(self) -> None:
        """Removes what `next_start` named."""
        if self.arrived:
            heapq.heappop(self.arrived)
        else:
            heapq.heappop(self.waiting)


def pipeline(steps: Sequence[StepCharge], micro_batches: int, rounds: int = 1) -> Timeline:
    """`micro_batches` micro-batches through the chain `steps` (see the module docstring),
    `rounds` times: a micro-batch starts its next round (decode: its next token) when its
    last round has arrived; a later round's micro-batches rank after the earlier ones'.
    Refuses fewer than one micro-batch (MeshcError), an empty chain or a negative time
    (ValueError: the caller's bug)."""
    _check(steps, micro_batches)
    order: dict[Resource, int] = {}
    for s in steps:
        order.setdefault(s.resource, len(order))
    where = [order[s.resource] for s in steps]
    queues = [_Queues() for _ in order]
    busy = [0.0] * len(order)
    events: list[tuple[float, int, int, int, int]] = []  # (start, mb, step, resource, version)

    def offer(r: int) -> None:
        q = queues[r]
        q.version += 1
        nxt = q.next_start()
        if nxt is not None:
            heapq.heappush(events, (*nxt, r, q.version))

    for j in range(micro_batches):
        heapq.heappush(queues[where[0]].waiting, (0.0, j, 0))
    offer(where[0])
    slots: list[Slot] = []
    makespan = 0.0
    ends = [0.0] * rounds
    last = len(steps) - 1
    while events:
        start, j, i, r, version = heapq.heappop(events)
        q = queues[r]
        if version != q.version:
            continue
        q.take()
        st = steps[i]
        end = start + st.compute_s
        if st.collectives:  # the links may still carry this chips' last send
            end = max(end, q.link_free_s) + st.collective_s
        slots.append(Slot(i, j, st.resource, start, end))
        q.free_s = end
        busy[r] += end - start
        arrival = max(end, q.link_free_s) + st.send_s
        if st.send is not None:
            q.link_free_s = arrival
        makespan = max(makespan, arrival if i == last else end)
        if i < last:
            heapq.heappush(queues[where[i + 1]].waiting, (arrival, j, i + 1))
            if where[i + 1] != r:
                offer(where[i + 1])
        else:
            ends[j // micro_batches] = max(ends[j // micro_batches], arrival)
            if j + micro_batches < rounds * micro_batches:
                heapq.heappush(queues[where[0]].waiting, (arrival, j + micro_batches, 0))
                if where[0] != r:
                    offer(where[0])
        offer(r)
    return Timeline(tuple(slots), makespan,
                    {res: busy[r] for res, r in order.items()}, tuple(ends))
