"""Each step of a phase's chain as the system runs it (`StepCharge`): its chip's simulated
figures, and its collectives and sends priced on the system's fabric by
meshc/hardware/collectives.py.

A collective among c chips runs on the fabric of c neighbouring chips (`Fabric.sub`). A
step's sends to the next step go from each of its c chips to its counterpart, a 1/c share
each over one hop at once (Megatron's scatter/gather of stage outputs, Narayanan et al.
2021 s4.1; the gather inside the next stage is not charged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from meshc.errors import MeshcError
from meshc.hardware.collectives import BITS_PER_BYTE, collective, send_recv
from meshc.hardware.cost import static_energy_pj
from meshc.hardware.model import Hardware
from meshc.hardware.system import System
from meshc.parallel.charges import LinkCharge, StepCharge
from meshc.parallel.layout import Layout
from meshc.passes._stages import StageInfo
from meshc.passes.lower_collectives import Recorded
from meshc.result import PhaseResult

Chain = Sequence[tuple[str, StageInfo, str, tuple[Recorded, ...]]]  # name, info, key, links


def static_w(hw: Hardware) -> float:
    """One chip's static power in W: the simulator's rule (cost.static_energy_pj)."""
    return float(static_energy_pj(1.0, len(hw.cores), hw)) / 1e12


def link_charge(r: Recorded, system: System) -> LinkCharge:
    """A recorded collective, priced on the fabric of its chips."""
    if r.chips > system.n_chips:
        raise MeshcError(f"{r.label} spans {r.chips} chips; {system.name} has "
                         f"{system.n_chips}")
    return LinkCharge.of(r.kind, r.label, collective(r.kind, system.fabric.sub(r.chips),
                                                     r.nbytes))


def send_charge(step: str, sends: Sequence[Recorded], chips: int, system: System) -> LinkCharge:
    """The step's sends to the next step: all its crossing values, split over its chips."""
    total = float(sum(r.nbytes for r in sends))
    c = send_recv(system.fabric, total / chips)
    return LinkCharge(kind="send", label=f"{step}.send", chips=2 * chips,
                      algorithm=c.algorithm, nbytes=total, time_s=c.time_s, link_bytes=total,
                      energy_pj=total * BITS_PER_BYTE * system.fabric.pj_per_bit)


def step_charges(chain: Chain, results: Mapping[str, PhaseResult], lay: Layout,
                 system: System) -> list[StepCharge]:
    """The chain's steps in order, each with its chip's figures and its links."""
    out = []
    for name, info, key, links in chain:
        group = lay.group_of(info.role)
        hw, chips, p = group.hw, lay.subgroup_chips(group), results[name]
        sends = [r for r in links if r.kind == "send"]
        hbm = sum(o.hbm_read_bytes + o.hbm_write_bytes for o in p.ops)
        static = p.energy_breakdown_pj.get("static", 0.0)
        out.append(StepCharge(
            name=name, key=key, group=group.name, subgroup=info.stage, chips=chips,
            hardware=hw.name, compute_s=p.latency_s, dynamic_pj=p.energy_pj - static,
            static_w=static_w(hw),
            hbm_s=hbm / hw.hbm_bytes_per_s if hw.hbm_bytes_per_s else 0.0,
            ideal_s=2 * p.macs / p.peak_flops if p.peak_flops else 0.0, macs=p.macs,
            collectives=tuple(link_charge(r, system) for r in links if r.kind != "send"),
            send=send_charge(name, sends, chips, system) if sends else None))
    return out
