"""Hugging Face config.json import: published configs give the zoo model's figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, hf, load_model, zoo
from meshc.frontends.arch import Arch
from meshc.frontends.transformer import Shape
from meshc.ir.summary import inspect_module

HF = Path(__file__).parents[2] / "fixtures" / "hf"
SHAPE = Shape(batch=2, seq=32, kv_len=48)

# fixture directory -> matching zoo model
MATCHES = {
    "llama3-8b": "llama3-8b", "llama3-70b": "llama3-70b", "mixtral-8x7b": "mixtral-8x7b",
    "qwen2.5-7b": "qwen2.5-7b", "gpt2": "gpt2", "minilm-l6": "minilm-l6",
    "deepseek-v3": "deepseek-v3",
}


def summary(source: str) -> dict[str, dict[str, int]]:
    module = load_model(ModelRequest(source, shape=SHAPE))
    return {ph: {k: v for k, v in fig.items() if k not in ("ops", "op_rows")}
            for ph, fig in inspect_module(module)["phases"].items()}


# The zoo's minilm-l6 leaves out the BERT pooler its checkpoint (and config.json) has:
# sentence embeddings mean-pool instead (zoo/minilm-l6.yaml).
NO_POOLER = {"minilm-l6"}


@pytest.mark.parametrize("name", sorted(MATCHES))
def test_config_gives_zoo_figures(name: str) -> None:
    got, want = summary(str(HF / name / "config.json")), summary(MATCHES[name])
    if name in NO_POOLER:
        d = zoo.get(name).hidden
        assert got["prefill"]["weight_bytes"] - want["prefill"]["weight_bytes"] == 2 * (d * d + d)
        assert got["prefill"]["linear_macs"] - want["prefill"]["linear_macs"] == SHAPE.batch * d * d
        for key in ("weight_bytes", "linear_macs", "parameters", "macs", "flops", "vector_ops",
                    "in_bytes", "out_bytes", "activation_bytes"):
            got["prefill"].pop(key, None), want["prefill"].pop(key, None)
    assert got == want


@pytest.mark.parametrize("name", sorted(MATCHES))
def test_config_gives_zoo_architecture(name: str) -> None:
    def fields(a: Arch) -> dict[str, object]:  # defaults resolved: head_dim, kv_heads
        return {**a.model_dump(exclude={"name", "source"}), "head_dim": a.dim_head,
                "kv_heads": a.n_kv_heads}

    arch = hf.load(HF / name / "config.json")
    want = fields(zoo.get(MATCHES[name])) | ({"pooler": True} if name in NO_POOLER else {})
    assert fields(arch) == want
    assert arch.name == name  # named after the directory holding config.json


def test_mistral_is_llama_shaped_with_32k_vocab() -> None:
    # No zoo model: Mistral-7B-v0.1 is Llama-3-8B's shape with a 32000-token vocabulary.
    d, L, h, kvh, hd, f, V = 4096, 32, 32, 8, 128, 14336, 32000
    per_layer = d * h * hd + 2 * d * kvh * hd + h * hd * d + 3 * d * f + 2 * d
    params = L * per_layer + 2 * V * d + d
    assert params == 7_241_732_096  # published: 7.24 B
    fig = summary(str(HF / "mistral-7b" / "config.json"))
    assert fig["prefill"]["weight_bytes"] == 2 * params
    linear = L * (d * h * hd + 2 * d * kvh * hd + h * hd * d + 3 * d * f)
    assert fig["prefill"]["linear_macs"] == SHAPE.batch * (SHAPE.seq * linear + V * d)
    assert fig["decode"]["linear_macs"] == SHAPE.batch * (linear + V * d)


def test_deepseek_keys() -> None:
    arch = hf.load(HF / "deepseek-v3" / "config.json")
    assert arch.mla is not None and arch.moe is not None
    assert (arch.mla.q_lora_rank, arch.mla.kv_lora_rank, arch.mla.qk_rope_dim) == (1536, 512, 64)
    assert (arch.moe.experts, arch.moe.top_k, arch.moe.shared) == (256, 8, 1)
    assert (arch.moe.expert_intermediate, arch.moe.dense_layers) == (2048, 3)


def test_gpt2_defaults_when_keys_are_left_out(tmp_path: Path) -> None:
    # n_inner null means 4 * n_embd; no activation_function means gelu_new.
    cfg = json.loads((HF / "gpt2" / "config.json").read_text())
    del cfg["activation_function"]
    cfg["n_inner"] = None
    (tmp_path / "gpt2").mkdir()
    (tmp_path / "gpt2" / "config.json").write_text(json.dumps(cfg))
    arch = hf.load(tmp_path / "gpt2" / "config.json")
    assert (arch.intermediate, arch.activation) == (3072, "gelu_tanh")


def test_tied_llama(tmp_path: Path) -> None:
    cfg = json.loads((HF / "llama3-8b" / "config.json").read_text())
    cfg["tie_word_embeddings"] = True
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    tied = summary(str(tmp_path / "config.json"))
    untied = summary(str(HF / "llama3-8b" / "config.json"))
    assert untied["prefill"]["weight_bytes"] - tied["prefill"]["weight_bytes"] == 2 * 128256 * 4096
    assert untied["decode"]["linear_macs"] == tied["decode"]["linear_macs"]


def test_encoder_config_has_prefill_only() -> None:
    assert list(summary(str(HF / "minilm-l6" / "config.json"))) == ["prefill"]
    with pytest.raises(MeshcError, match="encoder"):
        load_model(ModelRequest(str(HF / "minilm-l6" / "config.json"), ("decode",), SHAPE))
