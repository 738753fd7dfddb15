"""Every zoo model against formulas written out from its published config.json.

The numbers below are copied from notes/hwnumbers.md section 4 (each model's config.json),
not from meshc. The formulas follow docs/conventions.md: linear MACs are activation x
weight; the prefill LM head runs on the last token of each sequence, the decode one on
every new token; MoE counts the router plus the top_k routed and the shared experts;
weight bytes are every parameter at bf16 (2 bytes), embeddings, norms and biases included,
tied embeddings once.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model, zoo
from meshc.frontends.transformer import Shape
from meshc.ir.summary import inspect_module

B, T, KV = 1, 128, 128  # prefill: batch 1, seq 128; decode: batch 1, kv_len 128
BYTES = 2  # bf16
SHAPE = Shape(batch=B, seq=T, kv_len=KV)


@cache
def figures(name: str, phase: str) -> dict[str, Any]:
    module = load_model(ModelRequest(name, (phase,), SHAPE))
    return inspect_module(module)["phases"][phase]


def expect(params: int, linear_per_token: int, lm_head: int, attn_prefill: int,
           attn_decode: int, kv_per_token: int) -> dict[str, dict[str, int]]:
    """Phase figures from per-model quantities: parameters, linear MACs of one token
    through the layer stack, the LM head's MACs for one token, attention MACs, and KV cache
    bytes per cached token (all layers)."""
    return {
        "prefill": {"weight_bytes": params * BYTES,
                    "linear_macs": B * T * linear_per_token + B * lm_head,
                    "attention_macs": attn_prefill, "kv_cache_bytes": B * T * kv_per_token},
        "decode": {"weight_bytes": params * BYTES,
                   "linear_macs": B * linear_per_token + B * lm_head,
                   "attention_macs": attn_decode,
                   "kv_cache_bytes": B * (KV + 1) * kv_per_token},
    }


def llama_like(d: int, L: int, h: int, kvh: int, hd: int, f: int, V: int,
               qkv_bias: bool = False) -> dict[str, dict[str, int]]:
    """A pre-norm GQA decoder with a SwiGLU MLP, RMSNorm, RoPE and an untied LM head."""
    attn = d * (h * hd) + 2 * d * (kvh * hd) + (h * hd) * d  # q, k, v, o
    mlp = 3 * d * f  # gate, up, down
    bias = (h * hd + 2 * kvh * hd) if qkv_bias else 0
    per_layer = attn + mlp + bias + 2 * d  # + attn_norm, mlp_norm
    params = L * per_layer + V * d + V * d + d  # + embed, lm_head, final norm
    return expect(
        params, L * (attn + mlp), V * d,
        attn_prefill=B * L * h * T * T * 2 * hd,  # QK^T + PV over the full T x T square
        attn_decode=B * L * h * 1 * (KV + 1) * 2 * hd,  # the new token sees KV + 1 entries
        kv_per_token=L * 2 * kvh * hd * BYTES)


def gpt2() -> dict[str, dict[str, int]]:
    d, L, h, hd, f, V, P = 768, 12, 12, 64, 3072, 50257, 1024
    per_layer = (2 * d  # ln_1 weight, bias
                 + d * 3 * d + 3 * d  # c_attn (q, k, v) with bias
                 + d * d + d  # attn c_proj with bias
                 + 2 * d  # ln_2
                 + d * f + f  # mlp c_fc with bias
                 + f * d + d)  # mlp c_proj with bias
    params = V * d + P * d + L * per_layer + 2 * d  # wte, wpe, layers, ln_f; lm_head = wte
    assert params == 124_439_808  # the published GPT-2 small parameter count
    return expect(params, L * (3 * d * d + d * d + 2 * d * f), V * d,
                  attn_prefill=B * L * h * T * T * 2 * hd,
                  attn_decode=B * L * h * (KV + 1) * 2 * hd,
                  kv_per_token=L * 2 * h * hd * BYTES)


def llama3_8b() -> dict[str, dict[str, int]]:
    out = llama_like(d=4096, L=32, h=32, kvh=8, hd=128, f=14336, V=128256)
    assert out["prefill"]["weight_bytes"] == 8_030_261_248 * BYTES  # published: 8.03 B
    return out


def llama3_70b() -> dict[str, dict[str, int]]:
    out = llama_like(d=8192, L=80, h=64, kvh=8, hd=128, f=28672, V=128256)
    assert out["prefill"]["weight_bytes"] == 70_553_706_496 * BYTES  # published: 70.6 B
    return out


def qwen25_7b() -> dict[str, dict[str, int]]:
    out = llama_like(d=3584, L=28, h=28, kvh=4, hd=128, f=18944, V=152064, qkv_bias=True)
    assert out["prefill"]["weight_bytes"] == 7_615_616_512 * BYTES  # published: 7.62 B
    return out


def mixtral_8x7b() -> dict[str, dict[str, int]]:
    d, L, h, kvh, hd, f, V, E, k = 4096, 32, 32, 8, 128, 14336, 32000, 8, 2
    attn = d * (h * hd) + 2 * d * (kvh * hd) + (h * hd) * d
    router = d * E
    per_layer = attn + router + E * 3 * d * f + 2 * d  # all 8 experts are parameters
    params = L * per_layer + 2 * V * d + d
    assert params == 46_702_792_704  # published: 46.7 B
    active = attn + router + k * 3 * d * f  # a token runs the router and its top-2 experts
    return expect(params, L * active, V * d,
                  attn_prefill=B * L * h * T * T * 2 * hd,
                  attn_decode=B * L * h * (KV + 1) * 2 * hd,
                  kv_per_token=L * 2 * kvh * hd * BYTES)


def deepseek_v3() -> dict[str, dict[str, int]]:
    d, L, h, V = 7168, 61, 128, 129280
    q_lora, kv_lora, nope, rope, vd = 1536, 512, 128, 64, 128
    f, fe, E, k, S, dense = 18432, 2048, 256, 8, 1, 3
    attn_params = (d * q_lora + q_lora  # q_a_proj + q_a_layernorm
                   + q_lora * h * (nope + rope)  # q_b_proj
                   + d * (kv_lora + rope) + kv_lora  # kv_a_proj_with_mqa + kv_a_layernorm
                   + kv_lora * h * (nope + vd)  # kv_b_proj
                   + h * vd * d)  # o_proj
    # Absorbed MLA (FlashMLA): kv_b is folded into q (nope -> latent, per head) and into
    # the output (latent -> v, per head) instead of expanding the cache into K and V.
    attn_linear = (d * q_lora + q_lora * h * (nope + rope) + d * (kv_lora + rope)
                   + h * nope * kv_lora + h * kv_lora * vd + h * vd * d)
    dense_mlp = 3 * d * f
    moe_params = d * E + (E + S) * 3 * d * fe  # router + routed + shared experts
    moe_active = d * E + (k + S) * 3 * d * fe  # router + top-8 + shared
    params = (L * (attn_params + 2 * d) + dense * dense_mlp + (L - dense) * moe_params
              + 2 * V * d + d)
    # The published 671 B (without the 14 B multi-token-prediction module); the router's
    # e_score_correction_bias (256 per MoE layer) is not modelled.
    assert round(params / 1e9) == 671
    linear = L * attn_linear + dense * dense_mlp + (L - dense) * moe_active
    # Attention over the latent cache: scores over latent + rope, PV over the latent.
    per_score = (kv_lora + rope) + kv_lora
    return expect(params, linear, V * d,
                  attn_prefill=B * L * h * T * T * per_score,
                  attn_decode=B * L * h * (KV + 1) * per_score,
                  kv_per_token=L * (kv_lora + rope) * BYTES)


def minilm_l6() -> dict[str, dict[str, int]]:
    d, L, h, hd, f, V, P, types = 384, 6, 12, 32, 1536, 30522, 512, 2
    per_layer = (4 * (d * d + d)  # q, k, v, o with biases
                 + 2 * d  # attention LayerNorm
                 + d * f + f + f * d + d  # intermediate, output with biases
                 + 2 * d)  # output LayerNorm
    params = V * d + P * d + types * d + 2 * d + L * per_layer  # embeddings + their LN
    assert params == 22_713_216 - (d * d + d)  # published count minus the unused pooler
    linear = L * (4 * d * d + 2 * d * f)
    return {"prefill": {"weight_bytes": params * BYTES, "linear_macs": B * T * linear,
                        "attention_macs": B * L * h * T * T * 2 * hd, "kv_cache_bytes": 0}}


EXPECTED = {
    "gpt2": gpt2, "llama3-8b": llama3_8b, "llama3-70b": llama3_70b,
    "mixtral-8x7b": mixtral_8x7b, "deepseek-v3": deepseek_v3, "qwen2.5-7b": qwen25_7b,
    "minilm-l6": minilm_l6,
}
CASES = [(m, p) for m, fn in EXPECTED.items() for p in fn()]


def test_every_zoo_model_is_covered() -> None:
    assert sorted(EXPECTED) == zoo.names()


@pytest.mark.parametrize(("model", "phase"), CASES)
@pytest.mark.parametrize("key", ["linear_macs", "weight_bytes", "attention_macs",
                                 "kv_cache_bytes"])
def test_zoo_figures_match_formula(model: str, phase: str, key: str) -> None:
    assert figures(model, phase)[key] == EXPECTED[model]()[phase][key]


@pytest.mark.parametrize(("model", "phase"), CASES)
def test_macs_are_linear_plus_attention(model: str, phase: str) -> None:
    f = figures(model, phase)
    assert f["macs"] == f["linear_macs"] + f["attention_macs"]
    assert f["flops"] >= 2 * f["macs"]


def test_decode_is_one_token_of_prefill_for_dense_weights() -> None:
    # Weights do not depend on the phase; linear work scales with the tokens run.
    pre, dec = figures("llama3-8b", "prefill"), figures("llama3-8b", "decode")
    assert pre["weight_bytes"] == dec["weight_bytes"]
    lm_head = 128256 * 4096
    assert pre["linear_macs"] - lm_head == T * (dec["linear_macs"] - lm_head)


def test_encoder_has_no_decode() -> None:
    with pytest.raises(MeshcError, match="encoder"):
        load_model(ModelRequest("minilm-l6", ("decode",), SHAPE))
    both = load_model(ModelRequest("minilm-l6", shape=SHAPE))
    assert list(inspect_module(both)["phases"]) == ["prefill"]
