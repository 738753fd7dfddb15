"""The input of the system figures: what each step of the chain costs, as values.

The driver fills these from the per-chip results (one chip's latency and energy for the
step) and collectives.py's prices (`LinkCharge.of`). Times are seconds of one micro-batch;
energies picojoules; a step's figures are one chip's, the links' the whole group's.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshc.hardware.collectives import CollectiveCost

LINK_KINDS = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send")


@dataclass(frozen=True)
class LinkCharge:
    """One collective or send, as collectives.py priced it, for one micro-batch.

    `kind` is one of `LINK_KINDS`; `label` names it for people ("L3.attention.all_reduce");
    `chips` take part; `algorithm` is collectives.py's ("ring", "torus2d", "direct" ...);
    `nbytes` the payload (collectives.py's n); `link_bytes` every byte over every hop and
    `energy_pj` the link energy, both of the whole group."""

    kind: str
    label: str
    chips: int
    algorithm: str
    nbytes: float
    time_s: float
    link_bytes: float
    energy_pj: float

    @classmethod
    def of(cls, kind: str, label: str, cost: CollectiveCost) -> LinkCharge:
        """The charge of a collective priced by collectives.py (`collective(kind, ...)`)."""
        return cls(kind, label, cost.chips, cost.algorithm, cost.nbytes, cost.time_s,
                   cost.link_bytes, cost.energy_pj)


@dataclass(frozen=True)
class StepCharge:
    """One step of one micro-batch's chain: a function one chip subgroup runs.

    `name` is the step function ("decode.s3"); identical steps share a `key` (and one chip
    result). The step runs on subgroup `subgroup` (its pipeline stage) of the system's chip
    group `group`: `chips` chips (tp x ep) of preset `hardware`, each running the step's
    shard. Per chip and micro-batch: `compute_s` the simulated latency, `dynamic_pj` the
    energy without static, `static_w` the static power of all its cores, `hbm_s` its HBM
    bytes over the HBM bandwidth (0: none), `ideal_s` its MACs at the peak MAC rate, `macs`.

    `collectives` run inside the step, one after the other and after the chip's compute
    (Megatron: no overlap), on the step's subgroup. `send` carries the step's outputs to
    the next step's chips (None for the last step): it is asynchronous, delaying the next
    step but freeing these chips at once."""

    name: str
    key: str
    group: str
    subgroup: int
    chips: int
    hardware: str
    compute_s: float
    dynamic_pj: float
    static_w: float
    hbm_s: float
    ideal_s: float
    macs: int
    collectives: tuple[LinkCharge, ...] = ()
    send: LinkCharge | None = None

    @property
    def resource(self) -> tuple[str, int]:
        """The chips it occupies: (group, subgroup)."""
        return (self.group, self.subgroup)

    @property
    def collective_s(self) -> float:
        return sum(c.time_s for c in self.collectives)

    @property
    def busy_s(self) -> float:
        """How long it holds its chips: compute, then its collectives."""
        return self.compute_s + self.collective_s

    @property
    def send_s(self) -> float:
        return self.send.time_s if self.send is not None else 0.0
