"""A phase's system figures from its steps' charges, and the system compile's result.

`compose_phase(name, steps, micro_batches, replicas, tokens_per_micro_batch,
system_chips)` runs `schedule.pipeline` and reads off:

* tokens = tokens_per_micro_batch x micro_batches x replicas (data-parallel replicas run
  the same chain side by side on other chips, so they add tokens, not time);
* latency_s = the makespan (one batch through the chain); period_s = the busiest
  resource's busy time, or its links' if longer (batches back to back); in decode, where
  a micro-batch's next token needs its last one (with fewer micro-batches than stages the
  stages take turns), the time between rounds once tokens run back to back (the schedule
  run for 4 rounds), at least that; tokens_per_s = tokens / period_s, and per
  chip over the chips used;
* energy_pj, kept in parts: `chips_dynamic` (each step's dynamic_pj x chips x micro-batches),
  `chips_static` (static_w x chips of every resource x period_s: in the steady state a
  chip that waits for its turn still leaks), `links` (collectives and sends x
  micro-batches); all x replicas;
* per resource its busy, compute and collective time and idle fraction; per link kind the
  count, time, bytes and energy of its collectives (and sends);
* the bottleneck: "pipeline" when the latency or the period exceeds 1.5x the busiest
  resource's busy time (bubbles: more micro-batches would fill them), else on the busiest
  resource "link" when its collectives and sends outlast its compute,
  else "hbm" or "compute" by which of its steps' hbm_s and ideal_s sums is larger. The
  reason says it with numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshc.errors import MeshcError
from meshc.parallel.charges import LINK_KINDS, LinkCharge, StepCharge
from meshc.parallel.schedule import Resource, Timeline, pipeline
from meshc.quality import Quality

PIPELINE_RATIO = 1.5  # latency over period above which bubbles are the bottleneck
STEADY_ROUNDS = 4  # decode tokens run back to back to measure the steady state
ENERGY_PARTS = ("chips_dynamic", "chips_static", "links")
PJ_PER_J = 1e12


@dataclass(frozen=True)
class ResourceUse:
    """One chip subgroup of one replica over the phase (micro-batches summed): busy_s, the
    time it is held (compute_s, collective_s and the collectives' waits for its links);
    `send_s` its own sends (its links carry them after its collectives: `links_s`); `hbm_s`
    and `ideal_s` its steps' HBM and peak-MAC times; idle_fraction of the latency."""

    group: str
    subgroup: int
    chips: int
    hardware: str
    static_w: float
    steps: int
    busy_s: float
    compute_s: float
    collective_s: float
    send_s: float
    hbm_s: float
    ideal_s: float
    idle_fraction: float

    @property
    def name(self) -> str:
        return f"{self.group}[{self.subgroup}]"

    @property
    def links_s(self) -> float:
        """How long its links carry its collectives and sends."""
        return self.collective_s + self.send_s

    @property
    def occupied_s(self) -> float:
        """The longer of its chips' and its links' time: what paces batches through it."""
        return max(self.busy_s, self.links_s)


@dataclass(frozen=True)
class LinkUse:
    """Every collective (or send) of one kind in the phase: `count`, `payload_bytes`,
    `link_bytes` and `energy_pj` over all replicas; `time_s` summed over one replica's
    micro-batches (the replicas run theirs at the same time)."""

    kind: str
    count: int
    time_s: float
    payload_bytes: float
    link_bytes: float
    energy_pj: float


@dataclass(frozen=True)
class SystemPhase:
    """One phase on the system; see the module docstring for every figure."""

    name: str
    micro_batches: int
    replicas: int
    tokens: int
    latency_s: float
    period_s: float
    tokens_per_s: float
    tokens_per_s_per_chip: float
    energy_pj: Mapping[str, float]  # ENERGY_PARTS, the whole phase
    link_bytes: float
    links: tuple[LinkUse, ...]  # in LINK_KINDS order, kinds in use only
    resources: tuple[ResourceUse, ...]  # in the order the chain first uses them
    chips_used: int
    chips_idle: int
    bottleneck: str  # compute | hbm | link | pipeline
    bottleneck_reason: str
    steps: tuple[StepCharge, ...]
    timeline: Timeline

    @property
    def total_energy_pj(self) -> float:
        return sum(self.energy_pj[k] for k in ENERGY_PARTS)

    @property
    def pj_per_token(self) -> float:
        return self.total_energy_pj / self.tokens

    @property
    def link_energy_share(self) -> float:
        total = self.total_energy_pj
        return self.energy_pj["links"] / total if total else 0.0


@dataclass(frozen=True)
class SystemResult:
    """A system compile: the model, the system (`system_summary` is System.summary()), the
    parallel degrees (tp, pp, ep, dp, mb ...), the pass list, the phases, notes for the user,
    the options asked for and the model's quality at the precisions served (meshc/quality)."""

    model: str
    system: str
    system_summary: Mapping[str, Any]
    parallel: Mapping[str, int]
    pipeline: str
    phases: tuple[SystemPhase, ...]
    notes: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    quality: Quality | None = None

    def phase(self, name: str) -> SystemPhase:
        return next(p for p in self.phases if p.name == name)

    @property
    def decode_over_prefill(self) -> float | None:
        """Decode's pJ/token over prefill's, when both ran."""
        names = {p.name for p in self.phases}
        if not {"prefill", "decode"} <= names:
            return None
        return self.phase("decode").pj_per_token / self.phase("prefill").pj_per_token


def _whole(value: int, what: str, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MeshcError(f"{what} must be a whole number >= 1, got {value!r}", where=where)


def _resources(steps: Sequence[StepCharge], mb: int, t: Timeline) -> tuple[ResourceUse, ...]:
    """Per resource, its steps' figures x `mb` micro-batches. Its steps must agree on the
    chips they run on (the caller's bug otherwise)."""
    mine: dict[Resource, list[int]] = {r: [] for r in t.resources}
    for i, s in enumerate(steps):
        mine[s.resource].append(i)
    out = []
    for res, idx in mine.items():
        first = steps[idx[0]]
        for i in idx:
            s = steps[i]
            if (s.chips, s.hardware, s.static_w) != (first.chips, first.hardware, first.static_w):
                raise ValueError(f"steps {first.name!r} and {s.name!r} share chips "
                                 f"{res[0]}[{res[1]}] but not their count, preset or power")
        busy = t.busy_s[res]
        out.append(ResourceUse(
            res[0], res[1], first.chips, first.hardware, first.static_w, len(idx), busy,
            mb * sum(steps[i].compute_s for i in idx),
            mb * sum(steps[i].collective_s for i in idx),
            mb * sum(steps[i].send_s for i in idx),
            mb * sum(steps[i].hbm_s for i in idx), mb * sum(steps[i].ideal_s for i in idx),
            1.0 - busy / t.makespan_s if t.makespan_s > 0 else 0.0))
    return tuple(out)


def _links(steps: Sequence[StepCharge], mb: int, replicas: int) -> tuple[LinkUse, ...]:
    charges: dict[str, list[LinkCharge]] = {k: [] for k in LINK_KINDS}
    for s in steps:
        for c in (*s.collectives, *((s.send,) if s.send is not None else ())):
            if c.kind not in charges:
                raise ValueError(f"step {s.name!r}: {c.label!r} is of unknown kind {c.kind!r}")
            charges[c.kind].append(c)
    n = mb * replicas
    return tuple(LinkUse(k, n * len(cs), mb * sum(c.time_s for c in cs),
                         n * sum(c.nbytes for c in cs), n * sum(c.link_bytes for c in cs),
                         n * sum(c.energy_pj for c in cs))
                 for k, cs in charges.items() if cs)


def _ms(s: float) -> str:
    return f"{s * 1e3:.4g} ms"


def bottleneck(latency_s: float, period_s: float, micro_batches: int,
               busiest: ResourceUse) -> tuple[str, str]:
    """(kind, one-line reason with numbers); see the module docstring for the rule."""
    span = max(latency_s, period_s)
    if span > PIPELINE_RATIO * busiest.occupied_s:
        return "pipeline", (
            f"the busiest chips ({busiest.name}) work {_ms(busiest.occupied_s)} of the "
            f"{'latency' if latency_s >= period_s else 'period'} {_ms(span)} "
            f"({span / busiest.occupied_s:.2f}x): chips idle in pipeline bubbles; more "
            f"micro-batches than {micro_batches} would fill them")
    head = (f"{busiest.name} is the busiest ({_ms(busiest.occupied_s)} of "
            f"{_ms(latency_s)})")
    link_s = busiest.links_s
    if link_s > busiest.compute_s:
        return "link", (f"{head}: its collectives and sends take {_ms(link_s)} on its "
                        f"links against {_ms(busiest.compute_s)} of compute")
    if busiest.hbm_s > busiest.ideal_s:
        return "hbm", (f"{head}: its HBM traffic takes {_ms(busiest.hbm_s)} at full "
                       f"bandwidth against {_ms(busiest.ideal_s)} for its MACs at peak")
    return "compute", (f"{head}: its MACs take {_ms(busiest.ideal_s)} at peak against "
                       f"{_ms(busiest.hbm_s)} of HBM traffic and {_ms(link_s)} on links")


def compose_phase(name: str, steps: Sequence[StepCharge], micro_batches: int, replicas: int,
                  tokens_per_micro_batch: int, system_chips: int,
                  autoregressive: bool = False) -> SystemPhase:
    """The phase `name`'s figures (module docstring); `autoregressive` (decode): a
    micro-batch's next token waits for its trip through the whole chain. Refuses counts
    below one and a plan that needs more chips than the system has (MeshcError)."""
    where = f"phase {name}"
    _whole(replicas, "data-parallel replicas", where)
    _whole(tokens_per_micro_batch, "tokens per micro-batch", where)
    t = pipeline(steps, micro_batches)
    resources = _resources(steps, micro_batches, t)
    chips_used = replicas * sum(r.chips for r in resources)
    if chips_used > system_chips:
        raise MeshcError(
            f"the plan needs {chips_used:,} chips ({replicas} replica(s) of "
            f"{chips_used // replicas:,}) but the system has {system_chips:,}", where=where,
            hint="lower the tensor, pipeline, expert or data parallel degree")
    period = max(r.occupied_s for r in resources)
    if autoregressive:  # a micro-batch's next token needs its last: the steady state of
        ends = pipeline(steps, micro_batches, rounds=STEADY_ROUNDS).round_ends_s  # rounds
        period = max(period, (ends[-1] - ends[0]) / (STEADY_ROUNDS - 1))
    if not period > 0:
        raise ValueError(f"{where}: no step takes any time")
    links = _links(steps, micro_batches, replicas)
    latency = t.makespan_s
    energy = {
        "chips_dynamic": replicas * micro_batches * sum(s.dynamic_pj * s.chips for s in steps),
        "chips_static": replicas * period * PJ_PER_J * sum(r.static_w * r.chips
                                                           for r in resources),
        "links": sum(u.energy_pj for u in links),
    }
    busiest = max(resources, key=lambda r: r.occupied_s)  # the first of equals: chain order
    kind, reason = bottleneck(latency, period, micro_batches, busiest)
    tokens = tokens_per_micro_batch * micro_batches * replicas
    return SystemPhase(
        name, micro_batches, replicas, tokens, latency, period, tokens / period,
        tokens / period / chips_used, energy, sum(u.link_bytes for u in links), links,
        resources, chips_used, system_chips - chips_used, kind, reason, tuple(steps), t)
