"""Every supported config.json family against its published parameter count.

`meshc inspect` counts parameters from the weights the frontend builds; a family whose
defaults are misread (Gemma's tied embeddings, Gemma-2's four norms a layer, BERT's pooler)
is off by more than the 1% allowed here. Where the count is known to the parameter (from
the model card or `sum(p.numel() for p in model.parameters())`), it must match exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meshc.frontends import ModelRequest, hf, load_model
from meshc.frontends.transformer import Shape
from meshc.inputs import load_structured
from meshc.ir.summary import inspect_module

HF = Path(__file__).parents[2] / "fixtures" / "hf"

# fixture directory: (published count as the model card rounds it, exact count or None)
PUBLISHED: dict[str, tuple[float, int | None]] = {
    "llama3-8b": (8.03e9, 8_030_261_248),  # Meta-Llama-3-8B: 8.03 B
    "llama3-70b": (70.6e9, 70_553_706_496),  # Meta-Llama-3-70B: 70.6 B
    "mistral-7b": (7.24e9, 7_241_732_096),  # Mistral-7B-v0.1: 7.24 B
    "mixtral-8x7b": (46.7e9, 46_702_792_704),  # Mixtral-8x7B-v0.1: 46.7 B
    "qwen2.5-7b": (7.62e9, 7_615_616_512),  # Qwen2.5-7B-Instruct: 7.62 B
    "gemma-7b": (8.54e9, 8_537_680_896),  # google/gemma-7b: 8.54 B
    "gemma-2-9b": (9.24e9, 9_241_705_984),  # google/gemma-2-9b: 9.24 B
    "gpt2": (124e6, 124_439_808),  # GPT-2 small: 124 M
    "bert-base-uncased": (110e6, 109_482_240),  # BERT-base: 110 M (BertModel, pooler)
    "minilm-l6": (22.7e6, 22_713_216),  # all-MiniLM-L6-v2: 22.7 M
    # DeepSeek-V3: 671 B without the 14 B multi-token-prediction module, which meshc does
    # not build; the router's e_score_correction_bias (256 a MoE layer) is not modelled.
    "deepseek-v3": (671e9, None),
}


def parameters(name: str) -> int:
    module = load_model(ModelRequest(str(HF / name / "config.json"), ("prefill",),
                                     Shape(batch=1, seq=8, kv_len=8)))
    return int(inspect_module(module)["phases"]["prefill"]["parameters"])


def test_every_family_is_checked() -> None:
    families = {hf.family(load_structured(HF / n / "config.json"), n) for n in PUBLISHED}
    assert families == set(hf.FAMILIES)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameters_match_the_published_count(name: str) -> None:
    published, exact = PUBLISHED[name]
    got = parameters(name)
    assert abs(got / published - 1) < 0.01, f"{name}: {got:,} against {published:,.0f}"
    if exact is not None:
        assert got == exact


def test_gemma2_by_hand() -> None:
    # Tied embeddings and a pre- and post-norm around attention and around the MLP.
    d, L, h, kvh, hd, f, V = 3584, 42, 16, 8, 256, 14336, 256000
    per_layer = d * h * hd + 2 * d * kvh * hd + h * hd * d + 3 * d * f + 4 * d
    assert L * per_layer + V * d + d == 9_241_705_984


def test_bert_base_by_hand() -> None:
    d, L, f, V, P, types = 768, 12, 3072, 30522, 512, 2
    per_layer = 4 * (d * d + d) + 2 * d + d * f + f + f * d + d + 2 * d
    embeddings = V * d + P * d + types * d + 2 * d
    assert embeddings + L * per_layer + (d * d + d) == 109_482_240
