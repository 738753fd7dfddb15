"""A phase's system figures (meshc/parallel/compose.py), computed by hand."""

from __future__ import annotations

import pytest

from meshc.errors import MeshcError
from meshc.parallel.charges import LinkCharge, StepCharge
from meshc.parallel.compose import SystemResult, compose_phase

MS = 1e-3


def link(kind: str, time_s: float, energy_pj: float, link_bytes: float = 1000.0,
         nbytes: float = 500.0) -> LinkCharge:
    return LinkCharge(kind, f"x.{kind}", 2, "ring", nbytes, time_s, link_bytes, energy_pj)


def step(name: str, group: str = "tpu", subgroup: int = 0, chips: int = 1,
         compute_s: float = 1.0, hbm_s: float = 0.0, ideal_s: float = 0.0,
         collectives: tuple[LinkCharge, ...] = (), send: LinkCharge | None = None,
         dynamic_pj: float = 100.0, static_w: float = 1.0) -> StepCharge:
    return StepCharge(name, name, group, subgroup, chips, "chip", compute_s, dynamic_pj,
                      static_w, hbm_s, ideal_s, 1000, collectives, send)


def two_stages() -> list[StepCharge]:
    # stage 0: 1 ms compute + 0.5 ms all-reduce (40 pJ), then a 0.1 ms send (10 pJ, 200 B);
    # stage 1: 1 ms + 0.5 ms all-reduce. 2 chips each, 100 pJ dynamic per chip, 1 W static.
    return [step("s0", subgroup=0, chips=2, compute_s=1 * MS,
                 collectives=(link("all_reduce", 0.5 * MS, 40.0),),
                 send=link("send", 0.1 * MS, 10.0, link_bytes=200.0, nbytes=200.0)),
            step("s1", subgroup=1, chips=2, compute_s=1 * MS,
                 collectives=(link("all_reduce", 0.5 * MS, 40.0),))]


def test_one_step_latency_is_compute_plus_collectives() -> None:
    p = compose_phase("decode", [step("s", compute_s=2.0, ideal_s=1.5,
                                      collectives=(link("all_reduce", 0.5, 1.0),))],
                      1, 1, 8, 1)
    assert p.latency_s == 2.5 and p.period_s == 2.5
    assert p.tokens == 8 and p.tokens_per_s == 8 / 2.5
    assert p.chips_used == 1 and p.chips_idle == 0
    assert p.bottleneck == "compute"


def test_a_decode_token_waits_for_its_trip_through_the_chain() -> None:
    # one micro-batch's trip: 1.5 ms + 0.1 ms send + 1.5 ms, beyond the 3 ms busiest busy
    p = compose_phase("decode", two_stages(), micro_batches=2, replicas=1,
                      tokens_per_micro_batch=4, system_chips=16, autoregressive=True)
    assert p.period_s == pytest.approx(3.1 * MS)
    assert p.tokens_per_s == pytest.approx(8 / (3.1 * MS))
    one = compose_phase("decode", two_stages(), micro_batches=1, replicas=1,
                        tokens_per_micro_batch=4, system_chips=16, autoregressive=True)
    assert one.period_s == pytest.approx(3.1 * MS)  # the stages take turns
    assert one.bottleneck == "pipeline"


def test_two_stages_figures_and_energy() -> None:
    # s0: mb0 [0, 1.5] ms, mb1 [1.5, 3]; s1: mb0 [1.6, 3.1], mb1 [3.1, 4.6] (the sends)
    p = compose_phase("decode", two_stages(), micro_batches=2, replicas=3,
                      tokens_per_micro_batch=4, system_chips=16)
    assert p.latency_s == pytest.approx(4.6 * MS)
    assert p.period_s == pytest.approx(3 * MS)
    assert p.tokens == 4 * 2 * 3
    assert p.tokens_per_s == pytest.approx(24 / (3 * MS))
    assert p.chips_used == 12 and p.chips_idle == 4
    assert p.tokens_per_s_per_chip == pytest.approx(8000 / 12)
    # dynamic: 3 replicas x 2 mb x (100 pJ x 2 chips) x 2 steps
    assert p.energy_pj["chips_dynamic"] == pytest.approx(2400.0)
    # static: 3 replicas x the 3 ms period x 1e12 x (1 W x 2 chips) x 2 resources
    assert p.energy_pj["chips_static"] == pytest.approx(3 * 3e-3 * 4e12)
    # links: (40 + 10 + 40) pJ x 2 mb x 3 replicas
    assert p.energy_pj["links"] == pytest.approx(540.0)
    assert p.total_energy_pj == pytest.approx(2400 + 540 + 3.6e10)
    assert p.pj_per_token == pytest.approx(p.total_energy_pj / 24)
    assert p.link_energy_share == pytest.approx(540 / p.total_energy_pj)
    assert p.link_bytes == pytest.approx((1000 + 200 + 1000) * 6)
    ar, send = p.links
    assert (ar.kind, ar.count, send.kind, send.count) == ("all_reduce", 12, "send", 6)
    assert ar.time_s == pytest.approx(2 * MS) and send.time_s == pytest.approx(0.2 * MS)
    assert ar.energy_pj == pytest.approx(480.0) and send.energy_pj == pytest.approx(60.0)
    assert ar.payload_bytes == pytest.approx(500 * 12)
    r0, r1 = p.resources
    assert (r0.name, r0.chips, r0.steps) == ("tpu[0]", 2, 1)
    assert r0.busy_s == pytest.approx(3 * MS)
    assert r0.compute_s == pytest.approx(2 * MS) and r0.collective_s == pytest.approx(1 * MS)
    assert r0.send_s == pytest.approx(0.2 * MS) and r1.send_s == 0.0
    assert r0.idle_fraction == pytest.approx(1 - 3 / 4.6)
    # 4.6 / 3 > 1.5: bubbles
    assert p.bottleneck == "pipeline"
    assert "more micro-batches than 2" in p.bottleneck_reason


def test_pipeline_bottleneck_with_one_micro_batch() -> None:
    chain = [step(f"s{i}", subgroup=i, ideal_s=1.0) for i in range(4)]
    one = compose_phase("prefill", chain, 1, 1, 1, 4)
    assert (one.latency_s, one.period_s) == (4.0, 1.0)
    assert one.bottleneck == "pipeline"
    assert "work 1000 ms of the latency 4000 ms (4.00x)" in one.bottleneck_reason
    # 16 micro-batches: (16 + 3) / 16 < 1.5, compute-bound
    many = compose_phase("prefill", chain, 16, 1, 1, 4)
    assert (many.latency_s, many.period_s) == (19.0, 16.0)
    assert many.bottleneck == "compute"


def test_link_bottleneck_from_collectives() -> None:
    p = compose_phase("decode", [step("s", compute_s=1.0, ideal_s=1.0,
                                      collectives=(link("all_to_all", 2.0, 5.0),))], 1, 1, 1, 1)
    assert p.bottleneck == "link"
    assert "take 2000 ms on its links against 1000 ms of compute" in p.bottleneck_reason


def test_link_bottleneck_from_a_stages_sends() -> None:
    # s0 0.5 s then a 1.5 s send; s1 1 s, 8 micro-batches: s0's links send one after the
    # other, the last arriving at 0.5 + 8 x 1.5 = 12.5, s1 done at 13.5; the links of s0
    # carry 12 s of sends per batch against its 4 s of compute: the period
    chain = [step("s0", subgroup=0, compute_s=0.5, send=link("send", 1.5, 1.0)),
             step("s1", subgroup=1, compute_s=1.0, ideal_s=1.0)]
    p = compose_phase("decode", chain, 8, 1, 1, 2)
    assert (p.latency_s, p.period_s) == (13.5, 12.0)
    assert p.bottleneck == "link"
    assert p.bottleneck_reason.startswith("tpu[0] is the busiest (1.2e+04 ms")


def test_hbm_or_compute_by_the_larger_time() -> None:
    hbm = compose_phase("decode", [step("s", hbm_s=0.8, ideal_s=0.3)], 1, 1, 1, 1)
    assert hbm.bottleneck == "hbm"
    assert "800 ms at full bandwidth against 300 ms" in hbm.bottleneck_reason
    mac = compose_phase("decode", [step("s", hbm_s=0.3, ideal_s=0.8)], 1, 1, 1, 1)
    assert mac.bottleneck == "compute"


def test_the_first_of_equally_busy_resources_is_the_busiest() -> None:
    chain = [step("a", subgroup=0, hbm_s=0.9, ideal_s=0.1),
             step("b", subgroup=1, hbm_s=0.1, ideal_s=0.9)]
    p = compose_phase("decode", chain, 8, 1, 1, 2)
    assert p.bottleneck == "hbm" and p.bottleneck_reason.startswith("tpu[0]")


def test_disaggregated_ping_pong_idles_and_chips() -> None:
    # A 2 chips, M 4 chips, each step 1 s, 2 layers, 2 micro-batches: latency 5, busy 4
    chain = [step("A0", "attention", chips=2), step("M0", "mlp", chips=4),
             step("A1", "attention", chips=2), step("M1", "mlp", chips=4)]
    p = compose_phase("decode", chain, 2, 2, 3, 20)
    assert (p.latency_s, p.period_s) == (5.0, 4.0)
    assert [(r.name, r.chips, r.steps) for r in p.resources] == [
        ("attention[0]", 2, 2), ("mlp[0]", 4, 2)]
    assert [r.idle_fraction for r in p.resources] == pytest.approx([0.2, 0.2])
    assert (p.chips_used, p.chips_idle) == (12, 8)
    assert p.energy_pj["chips_static"] == pytest.approx(2 * 4.0 * 1e12 * (2 + 4))  # period
    assert p.links == () and p.energy_pj["links"] == 0.0 and p.link_bytes == 0.0


def test_decode_over_prefill() -> None:
    pre = compose_phase("prefill", [step("s", dynamic_pj=100.0, static_w=0.0)], 1, 1, 10, 1)
    dec = compose_phase("decode", [step("s", dynamic_pj=100.0, static_w=0.0)], 1, 1, 1, 1)
    r = SystemResult("m", "sys", {}, {"tp": 1}, "p", (pre, dec))
    assert r.decode_over_prefill == pytest.approx(10.0)
    assert SystemResult("m", "sys", {}, {}, "p", (dec,)).decode_over_prefill is None


def test_refuses_a_plan_larger_than_the_system() -> None:
    with pytest.raises(MeshcError, match=r"needs 12 chips \(3 replica\(s\) of 4\) but the "
                                         "system has 8"):
        compose_phase("decode", two_stages(), 2, 3, 4, 8)


def test_refuses_bad_counts_and_inconsistent_chips() -> None:
    with pytest.raises(MeshcError, match="data-parallel replicas must be"):
        compose_phase("decode", two_stages(), 2, 0, 4, 16)
    with pytest.raises(MeshcError, match="tokens per micro-batch must be"):
        compose_phase("decode", two_stages(), 2, 1, 0, 16)
    with pytest.raises(ValueError, match="share chips tpu\\[0\\]"):
        compose_phase("decode", [step("a", chips=1), step("b", chips=2)], 1, 1, 1, 4)
    with pytest.raises(ValueError, match="no step takes any time"):
        compose_phase("decode", [step("a", compute_s=0.0)], 1, 1, 1, 4)
    bad = step("a", collectives=(link("broadcast", 1.0, 1.0),))
    with pytest.raises(ValueError, match="unknown kind 'broadcast'"):
        compose_phase("decode", [bad], 1, 1, 1, 4)
