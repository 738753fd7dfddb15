"""End to end: a model over a system of chips (issue 16) obeys the figures worked out by
hand here from the model's config and the system YAMLs (docs/systems.md,
docs/conventions.md). Every compile uses the HEFT mapper and the smallest shapes the
check allows; the slow cases are in bench/bench_system.py."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from meshc.backends.base import json_text
from meshc.backends.system_report import system_report_json
from meshc.cli import main
from meshc.driver import CompileOptions
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest
from meshc.frontends.transformer import Shape
from meshc.hardware import load_hardware
from meshc.hardware.system import load_system
from meshc.parallel.compose import SystemPhase
from meshc.parallel.degrees import Parallel
from meshc.parallel.driver import SystemCompile, compile_system
from meshc.parallel.search import search

HEFT = CompileOptions(mapper="heft")
QUANT = CompileOptions(mapper="heft", pipeline="quantized")
FIXTURES = Path(__file__).parents[1] / "fixtures" / "systems"
TINY_MOE = str(FIXTURES / "tiny-moe.yaml")
H100_16 = str(FIXTURES / "h100-16.yaml")

# llama3-70b's config.json: hidden, layers, KV heads x head_dim, MLP width, vocab
D, LAYERS, KV, FFN, VOCAB = 8192, 80, 8 * 128, 28672, 128256
LAYER_PARAMS = 2 * D * D + 2 * D * KV + 3 * D * FFN + 2 * D  # q, o; k, v; MLP; 2 norms
L70B_PARAMS = LAYERS * LAYER_PARAMS + 2 * VOCAB * D + D  # + embedding, lm_head, final norm
L70B_NORMS = (2 * LAYERS + 1) * D  # the only parameters tensor parallelism replicates


def _req(model: str, phases: tuple[str, ...], batch: int = 1, seq: int = 128,
         kv_len: int = 512) -> ModelRequest:
    return ModelRequest(model, phases, Shape(batch=batch, seq=seq, kv_len=kv_len))


@cache
def llama70b_v6e8() -> SystemCompile:
    return compile_system(_req("llama3-70b", ("decode",), kv_len=2048), "tpu-v6e-8",
                          Parallel(tp=8), HEFT)


@cache
def llama70b_groq() -> SystemCompile:
    return search(_req("llama3-70b", ("decode",), kv_len=2048), load_system("groq-like-576"),
                  "latency", QUANT, lambda _m: None)


@cache
def deepseek_v6e256() -> SystemCompile:
    return compile_system(_req("deepseek-v3", ("prefill", "decode"), batch=32, seq=64,
                               kv_len=256), "tpu-v6e-256", Parallel(tp=8, ep=32), HEFT)


@cache
def llama8b_pp(pp: int, mb: int, batch: int = 4, seq: int = 128,
               phases: tuple[str, ...] = ("prefill", "decode")) -> SystemCompile:
    return compile_system(_req("llama3-8b", phases, batch=batch, seq=seq), "tpu-v6e-8",
                          Parallel(pp=pp, mb=mb), HEFT)


@cache
def llama8b_disaggregated() -> SystemCompile:
    return compile_system(_req("llama3-8b", ("prefill", "decode"), batch=2),
                          "hetero-v6e-groq", Parallel(tp=4, pp=2, mb=2, mlp_tp=16), QUANT)


@cache
def tiny_moe_h100() -> SystemCompile:
    return compile_system(_req(TINY_MOE, ("prefill", "decode"), batch=8, seq=32, kv_len=64),
                          H100_16, Parallel(tp=2, ep=2, pp=2, dp=2, mb=2), HEFT)


def _total_macs(p: SystemPhase) -> int:
    """Every chip's MACs over the whole phase."""
    return p.replicas * p.micro_batches * sum(s.macs * s.chips for s in p.steps)


def _weights_per_chip(sc: SystemCompile, module: int = 0) -> int:
    return sum(sc.chips[module].result.weight_homes.values())


# --- tensor parallelism: llama3-70b on a v6e-8 ------------------------------------------


def test_llama70b_tp8_decode_is_weights_over_hbm_plus_all_reduces() -> None:
    """Decode of one token streams each chip's weights from HBM once and all-reduces the
    hidden state twice a layer (after attention and after the MLP), plus once after the
    vocab-parallel embedding: 161 all-reduces of 8192 bf16 values."""
    sc = llama70b_v6e8()
    # each chip holds 1/8 of every matrix and table and a whole copy of every norm
    weights = 2 * ((L70B_PARAMS - L70B_NORMS) // 8 + L70B_NORMS)
    assert L70B_PARAMS == 70_553_706_496
    assert _weights_per_chip(sc) == weights == 17_640_734_720
    # tpu-v6e-8.yaml: a 2x4 mesh, 4 links of 100 GB/s a chip = 1 per neighbour direction
    fabric = load_system("tpu-v6e-8").fabric
    alpha, bw, n = 0.5e-6, 100e9, 2 * D
    assert (fabric.latency_s, fabric.hop_bytes_per_s) == (alpha, bw)
    # collectives.py, torus2d on 2x4 without wraparound (one way per axis): half the data
    # reduce-scatters along the 4-axis (3/4 of n/2) while the other half does the 2-axis,
    # then each 3/4 x n/4 or 1/2 x n/8 on the other axis; each step waits 3 alpha; x2 phases
    torus = 2 * (6 * alpha + (3 / 8 + 3 / 16) * n / bw)
    ring = 2 * 7 * alpha + 2 * 7 / 8 * n / (2 * bw)  # 8 chips on an even mesh: 2 rings
    assert torus == pytest.approx(6.18432e-6) and torus < ring
    p = sc.result.phase("decode")
    ar = next(u for u in p.links if u.kind == "all_reduce")
    assert ar.count == 2 * LAYERS + 1
    assert ar.time_s == pytest.approx(161 * torus, rel=1e-9)
    assert {c.algorithm for s in p.steps for c in s.collectives} == {"torus2d"}
    hbm = load_hardware("tpu-v6e-like").hbm_bytes_per_s
    bound = weights / hbm + 161 * torus  # ~11.77 ms; the KV cache adds 84 MB per chip
    assert 1.0 <= p.latency_s / bound <= 1.5, (p.latency_s, bound)
    assert p.bottleneck == "hbm"


# --- the groq system: SRAM only ---------------------------------------------------------

GROQ_SRAM = 230_000_000 * 0.75  # groq-like's SRAM less partition-attn-mlp's tile reserve


def test_llama70b_fits_groq_in_int4_and_the_note_names_the_fewest_chips() -> None:
    sc = llama70b_groq()
    note = sc.result.notes[-1]
    named = re.search(r"the fewest chips that hold the model: (\d+)", note)
    assert named is not None
    fewest = int(named[1])
    # every layout that compiled (it has a decode time), with its chips: the note names the
    # smallest of them
    held = [math.prod(int(v) for k, v in re.findall(r"(\w+)=(\d+)", text) if k != "mb")
            for text in re.findall(r"((?:(?:tp|pp|ep|dp|mb)=\d+,?)+): decode ", note)]
    assert held and fewest == min(held)
    # int4 weights alone need 70.55e9 x 0.5 B over 172.5 MB a chip: at least 205 chips
    assert math.ceil(L70B_PARAMS / 2 / GROQ_SRAM) == 205 <= fewest <= 576
    p = sc.result.phase("decode")
    assert p.chips_used == sc.result.parallel["tp"] * sc.result.parallel["pp"] >= fewest
    assert all(c.result.weight_homes["hbm"] == 0 for c in sc.chips)  # groq has no HBM


def test_llama70b_bf16_on_groq_is_refused_naming_the_chips_it_needs() -> None:
    # bf16 weights (2 B a parameter) and the decode cache of 2049 tokens over 80 layers,
    # 8 KV heads x 128 x 2 (K, V) x 2 B: 141.8 GB over 172.5 MB a chip
    need = 2 * L70B_PARAMS + 2049 * LAYERS * KV * 2 * 2
    chips = math.ceil(need / GROQ_SRAM)
    assert chips == 822 > 576
    with pytest.raises(MeshcError, match=f"at least {chips} chips") as e:
        search(_req("llama3-70b", ("decode",), kv_len=2048), load_system("groq-like-576"),
               "latency", HEFT, lambda _m: None)
    assert "groq-like-576" in e.value.message and "quantized" in str(e.value)


# --- expert parallelism: deepseek-v3 on a v6e pod ---------------------------------------


def test_deepseek_v3_on_a_v6e_pod_with_expert_parallelism() -> None:
    sc = deepseek_v6e256()
    r = sc.result
    assert [p.name for p in r.phases] == ["prefill", "decode"]
    # per chip: MLA's q_a, kv_a and norms whole; q_b, kv_b, o, the dense MLPs, the shared
    # expert, embedding and lm_head / tp 8; the 256 routed experts / (ep 32 x tp 8)
    h, e_ffn = 7168, 2048
    whole = 61 * (h * 1536 + 1536 + h * 576 + 512 + 2 * h) + 58 * h * 256 + h
    by_tp = (61 * (1536 * 128 * 192 + 512 * 128 * 256 + 128 * 128 * h) + 3 * 3 * h * 18432
             + 58 * 3 * h * e_ffn + 2 * 129280 * h)
    routed = 58 * 256 * 3 * h * e_ffn
    assert _weights_per_chip(sc) == 2 * (whole + by_tp // 8 + routed // 256) == 11_192_154_112
    for p in r.phases:
        assert p.chips_used == 256 and p.chips_idle == 0
        a2a = next(u for u in p.links if u.kind == "all_to_all")
        assert a2a.count == 2 * 58  # dispatch and combine around each of the 58 MoE layers
    # decode: each chip's one token goes to min(top_k 8, ep 32) chips, 7168 bf16 values
    a2a = next(u for u in r.phase("decode").links if u.kind == "all_to_all")
    assert a2a.payload_bytes == 116 * 8 * h * 2
    assert r.phase("prefill").tokens == 32 * 64 and r.phase("decode").tokens == 32


# --- pipeline parallelism ---------------------------------------------------------------


@pytest.mark.parametrize("pp", [2, 4])
def test_pipeline_stages_keep_the_total_macs(pp: int) -> None:
    one, cut = llama8b_pp(1, 1).result, llama8b_pp(pp, 1).result
    for name in ("prefill", "decode"):
        assert _total_macs(cut.phase(name)) == _total_macs(one.phase(name))
        assert len(cut.phase(name).resources) == pp
    # decode by hand (docs/conventions.md), llama3-8b, 4 sequences against 512 + 1 entries:
    # 32 layers of q, o 4096^2, k, v 4096 x 1024, MLP 3 x 4096 x 14336; lm_head; attention
    linear = 4 * (32 * (2 * 4096**2 + 2 * 4096 * 1024 + 3 * 4096 * 14336) + 4096 * 128256)
    attention = 32 * 4 * 32 * 513 * (128 + 128)
    assert _total_macs(one.phase("decode")) == linear + attention == 30_556_553_216


def test_identical_stages_are_mapped_once(tmp_path: Path) -> None:
    """pp=8 over 32 layers: the first stage has the embedding, the last lm_head, the six
    between are alike: three chip modules, so three folders under chips/."""
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["compile", "llama3-8b", "--hw", "tpu-v6e-8", "--parallel",
                                    "pp=8,mb=4", "--batch", "4", "--seq", "128", "--kv-len",
                                    "512", "--mapper", "heft", "--backend", "report",
                                    "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "chips").iterdir()) == ["tpu.s0", "tpu.s1", "tpu.s7"]
    report = json.loads((out / "report.json").read_text())
    for p in report["phases"].values():
        assert len(p["resources"]) == 8 and p["micro_batches"] == 4
    sc = llama8b_pp(8, 4)
    assert [(c.name, c.same_as) for c in sc.chips] == [
        ("tpu.s0", ()), ("tpu.s1", tuple(f"tpu.s{i}" for i in range(2, 7))), ("tpu.s7", ())]


def test_micro_batches_shorten_a_batch_through_the_stages() -> None:
    """GPipe: 4 stages, one batch of 4 x 512 tokens of prefill; cut in 4 micro-batches, the
    stages work at once instead of in turn: 7 steps of a quarter batch instead of 4 of the
    whole, 7/16 of the latency while compute-bound (a quarter batch does 256 MACs per bf16
    weight byte, about the v6e's ridge of 280, so a little more)."""
    whole = llama8b_pp(4, 1, seq=512, phases=("prefill",)).result.phase("prefill")
    cut = llama8b_pp(4, 4, seq=512, phases=("prefill",)).result.phase("prefill")
    assert cut.tokens == whole.tokens == 4 * 512
    assert whole.bottleneck == "pipeline"
    assert cut.latency_s < 0.6 * whole.latency_s


def test_more_micro_batches_raise_decode_tokens_per_s() -> None:
    """pp=4, one sequence per micro-batch: 1 micro-batch keeps one stage of four busy at a
    time; 4 keep all four busy, about 4x the tokens/s (each reads its stage's weights)."""
    one = llama8b_pp(4, 1, batch=1, phases=("decode",)).result.phase("decode")
    four = llama8b_pp(4, 4, batch=4, phases=("decode",)).result.phase("decode")
    assert one.bottleneck == "pipeline"
    assert four.tokens_per_s > 2 * one.tokens_per_s


# --- attention/MLP disaggregation -------------------------------------------------------


def test_disaggregated_compile_uses_attention_and_mlp_chips() -> None:
    sc = llama8b_disaggregated()
    for p in sc.result.phases:
        got = [(r.name, r.hardware, r.chips, r.steps) for r in p.resources]
        assert got == [("attn[0]", "tpu-v6e-like", 4, 16), ("mlp[0]", "groq-like", 16, 16),
                       ("attn[1]", "tpu-v6e-like", 4, 16), ("mlp[1]", "groq-like", 16, 16)]
        assert (p.chips_used, p.chips_idle) == (2 * (4 + 16), 72 - 40)
        assert any(u.kind == "send" for u in p.links)  # activations ping-pong between them
    homes = {c.name: c.result.weight_homes for c in sc.chips}
    assert homes["mlp.s0"]["hbm"] == 0 < homes["mlp.s0"]["sram"]  # SRAM-only chips


# --- the outputs ------------------------------------------------------------------------


TINY_ARGS = ["compile", TINY_MOE, "--hw", H100_16, "--parallel", "tp=2,ep=2,pp=2,dp=2,mb=2",
             "--batch", "8", "--seq", "32", "--kv-len", "64", "--mapper", "heft",
             "--backend", "report,trace"]


def _cli_run(out: Path, seed: str) -> None:
    """`meshc compile` in a process of its own, hashing strings with `seed`."""
    argv = [sys.executable, "-m", "meshc", *TINY_ARGS, "-o", str(out)]
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr


def test_two_runs_write_byte_identical_reports(tmp_path: Path) -> None:
    """Every degree at once (tp, ep, pp, dp, mb), in two processes hashing differently:
    every file but timings.json (wall-clock times) is the same, byte for byte."""
    a, b = tmp_path / "a", tmp_path / "b"
    _cli_run(a, "1")
    _cli_run(b, "2")

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and p.name != "timings.json"}

    assert {"report.json", "report.md", "trace.json"} <= set(files(a))
    assert files(a) == files(b)
    assert sorted(p.name for p in (a / "chips").iterdir()) == ["gpu.s0", "gpu.s1"]


def test_trace_events_are_objects(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, [*TINY_ARGS, "-o", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    events = json.loads((tmp_path / "a" / "trace.json").read_text())["traceEvents"]
    assert events and all(isinstance(e, dict) and "ph" in e for e in events)


COMPILES: dict[str, Callable[[], SystemCompile]] = {
    "llama70b-v6e8": llama70b_v6e8, "llama70b-groq": llama70b_groq,
    "deepseek-v6e256": deepseek_v6e256, "llama8b-pp8": lambda: llama8b_pp(8, 4),
    "llama8b-disaggregated": llama8b_disaggregated, "tiny-moe-h100": tiny_moe_h100}


@pytest.mark.parametrize("name", sorted(COMPILES))
def test_report_figures_are_consistent(name: str) -> None:
    """report.json as written (9 significant digits): the energy parts sum to the total,
    pJ/token x tokens is the energy, every chip is used or idle, and the rates agree."""
    r: dict[str, Any] = json.loads(json_text(system_report_json(COMPILES[name]().result)))
    chips = r["system_summary"]["chips"]
    for p in r["phases"].values():
        approx = pytest.approx  # the file's rounding
        assert p["energy_pj"] == approx(sum(p["energy_breakdown_pj"].values()), rel=1e-8)
        assert p["pj_per_token"] * p["tokens"] == approx(p["energy_pj"], rel=1e-8)
        assert p["chips_used"] + p["chips_idle"] == chips
        assert p["chips_used"] == p["replicas"] * sum(x["chips"] for x in p["resources"])
        assert p["tokens_per_s"] * p["period_s"] == approx(p["tokens"], rel=1e-8)
        assert p["tokens_per_s_per_chip"] * p["chips_used"] == approx(p["tokens_per_s"],
                                                                      rel=1e-8)
        links = sum(c["energy_pj"] for c in p["collectives"].values())
        assert p["energy_breakdown_pj"]["links"] == approx(links, rel=1e-8)
        assert p["period_s"] <= p["latency_s"] * (1 + 1e-9)
        assert all(0.0 <= x["idle_fraction"] <= 1.0 for x in p["resources"])


def test_the_system_report_states_the_models_quality_at_its_precisions() -> None:
    """llama3-70b's int4 weights on groq chips and bf16 on v6e chips (meshc/quality: the
    bf16 model's WikiText-2 perplexity is measured, the int4 one's estimated)."""
    q4 = llama70b_groq().result.quality
    q16 = llama70b_v6e8().result.quality
    assert q4 is not None and q16 is not None
    assert (q4.precisions.weights, q16.precisions.weights) == ("int4", "bf16")
    assert (q4.kind, q16.kind) == ("estimate", "measured")
    assert q4.perplexity is not None and q16.perplexity is not None
    assert "quality" in system_report_json(llama70b_v6e8().result)
