"""Hugging Face `config.json` to `Arch` (read from disk; nothing is downloaded).

A config is read only if its family is one meshc models faithfully (FAMILIES); anything
else (ViT, T5, Mamba, Qwen3, ...) is refused by name rather than built as a Llama.
Each family states its defaults as its transformers config class does: Gemma ties its
embeddings unless told otherwise, BERT checkpoints carry a pooler.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from meshc.errors import MeshcError
from meshc.frontends.arch import Arch, arch_from_dict, shown
from meshc.inputs import load_structured

_ACT = {"silu": "silu", "swish": "silu", "gelu": "gelu", "gelu_new": "gelu_tanh",
        "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu"}

# model_type -> the architectures class name prefix that also names it.
FAMILIES = {"llama": "Llama", "mistral": "Mistral", "mixtral": "Mixtral", "qwen2": "Qwen2",
            "gemma": "Gemma", "gemma2": "Gemma2", "gpt2": "GPT2", "bert": "Bert",
            "deepseek_v3": "DeepseekV3"}
_SUPPORTED = ", ".join(sorted(FAMILIES))


def is_hf_config(data: Any) -> bool:
    return isinstance(data, dict) and ("model_type" in data or "architectures" in data)


def load(path: Path) -> Arch:
    return from_config(load_structured(path, what="config.json"), str(path))


def family(cfg: dict[str, Any], file: str) -> str:
    """The model family, from model_type or else the first architectures entry."""
    mt = cfg.get("model_type")
    if mt is not None:
        if not isinstance(mt, str):
            raise MeshcError(f"expected a string, got {shown(mt)}", file=file, where="model_type")
        if mt.lower() in FAMILIES:
            return mt.lower()
        raise MeshcError(f"unsupported architecture {shown(mt)} (supported: {_SUPPORTED})",
                         file=file, where="model_type")
    archs = cfg.get("architectures")
    names = archs if isinstance(archs, list) else [archs]
    for name in names:  # the longest prefix: Gemma2ForCausalLM is gemma2, not gemma
        for mt, prefix in sorted(FAMILIES.items(), key=lambda kv: -len(kv[1])):
            if isinstance(name, str) and name.startswith(prefix) and name[len(prefix):][:1].isupper():
                return mt
    raise MeshcError(f"unsupported architecture {shown(archs)} (supported: {_SUPPORTED})",
                     file=file, where="architectures")


class _Config:
    """Typed access to config.json keys; every error names the key."""

    def __init__(self, cfg: dict[str, Any], file: str) -> None:
        self.cfg, self.file = cfg, file

    def fail(self, message: str, key: str) -> MeshcError:
        return MeshcError(message, file=self.file, where=key)

    def get(self, key: str, default: Any = None) -> Any:
        v = self.cfg.get(key)
        if isinstance(v, float) and not math.isfinite(v):
            raise self.fail(f"expected a number, got {v}", key)
        return default if v is None else v

    def need(self, key: str) -> Any:
        if self.cfg.get(key) is None:
            raise self.fail("missing field", key)
        return self.get(key)

    def flag(self, key: str, default: bool) -> bool:
        v = self.get(key, default)
        if not isinstance(v, bool):
            raise self.fail(f"expected true or false, got {shown(v)}", key)
        return v

    def act(self, key: str, default: str) -> str:
        raw = self.get(key, default)
        if not isinstance(raw, str) or raw not in _ACT:
            raise self.fail(f"unknown activation {shown(raw)}; known: {', '.join(_ACT)}", key)
        return _ACT[raw]


def from_config(cfg: Any, file: str) -> Arch:
    if not isinstance(cfg, dict):
        raise MeshcError("a config.json holds one JSON object", file=file)
    mt = family(cfg, file)
    c = _Config(cfg, file)
    name = Path(file).parent.name or mt
    if mt == "gpt2":
        data = _gpt2(c)
    elif mt == "bert":
        data = _bert(c)
    else:
        data = _decoder(c, mt)
    data = {k: v for k, v in data.items() if v is not None}
    try:
        return arch_from_dict({"name": name, "source": file, **data}, file)
    except MeshcError as e:  # name the config.json key, not meshc's field
        keys = {**_KEYS, **(_GPT2_KEYS if mt == "gpt2" else {})}
        key = keys.get(e.where or "", e.where)
        if e.where == "moe.experts":
            key = "num_local_experts" if "num_local_experts" in cfg else "n_routed_experts"
        raise MeshcError(e.message, file=file, where=key, hint=e.hint) from None


def _gpt2(c: _Config) -> dict[str, Any]:
    d = c.need("n_embd")
    # transformers' GPT2Config: n_inner None means 4 * n_embd
    inner = c.get("n_inner", 4 * d if isinstance(d, int) and not isinstance(d, bool) else None)
    return dict(hidden=d, layers=c.need("n_layer"), heads=c.need("n_head"), intermediate=inner,
                vocab=c.need("vocab_size"), activation=c.act("activation_function", "gelu_new"),
                gated=False, norm="layernorm", linear_bias=True,
                tied_embeddings=c.flag("tie_word_embeddings", True), positions="learned",
                max_positions=c.get("n_positions", 1024))


def _bert(c: _Config) -> dict[str, Any]:
    return dict(
        kind="encoder", hidden=c.need("hidden_size"), layers=c.need("num_hidden_layers"),
        heads=c.need("num_attention_heads"), intermediate=c.need("intermediate_size"),
        vocab=c.need("vocab_size"), activation=c.act("hidden_act", "gelu"), gated=False,
        norm="layernorm", linear_bias=True, pooler=True, positions="learned",
        max_positions=c.get("max_position_embeddings", 512),
        type_vocab=c.get("type_vocab_size", 2))


def _decoder(c: _Config, mt: str) -> dict[str, Any]:
    gemma = mt.startswith("gemma")
    # Gemma's modelling code ignores hidden_act (gelu) for hidden_activation, else tanh gelu.
    act = c.act("hidden_activation", "gelu_pytorch_tanh") if gemma else c.act("hidden_act", "silu")
    window = c.get("sliding_window") if c.get("use_sliding_window", True) is not False else None
    data: dict[str, Any] = dict(
        hidden=c.need("hidden_size"), layers=c.need("num_hidden_layers"),
        heads=c.need("num_attention_heads"), kv_heads=c.get("num_key_value_heads"),
        head_dim=c.get("head_dim"), intermediate=c.need("intermediate_size"),
        vocab=c.need("vocab_size"), activation=act,
        tied_embeddings=c.flag("tie_word_embeddings", gemma), qkv_bias=mt == "qwen2",
        post_norms=mt == "gemma2", max_positions=c.get("max_position_embeddings"),
        sliding_window=window)
    experts = c.get("num_local_experts") or c.get("n_routed_experts")
    if experts:
        data["moe"] = dict(
            experts=experts, top_k=c.need("num_experts_per_tok"),
            shared=c.get("n_shared_experts", 0),
            expert_intermediate=c.get("moe_intermediate_size") or c.need("intermediate_size"),
            dense_layers=c.get("first_k_dense_replace", 0))
    if c.get("kv_lora_rank") is not None:
        data["mla"] = dict(
            q_lora_rank=c.get("q_lora_rank", 0), kv_lora_rank=c.get("kv_lora_rank"),
            qk_nope_dim=c.need("qk_nope_head_dim"), qk_rope_dim=c.need("qk_rope_head_dim"),
            v_head_dim=c.need("v_head_dim"))
    return data


# Arch field -> config.json key, for error messages.
_KEYS = {
    "hidden": "hidden_size", "layers": "num_hidden_layers", "heads": "num_attention_heads",
    "kv_heads": "num_key_value_heads", "head_dim": "head_dim",
    "intermediate": "intermediate_size", "vocab": "vocab_size",
    "max_positions": "max_position_embeddings", "type_vocab": "type_vocab_size",
    "sliding_window": "sliding_window",
    "moe": "num_experts_per_tok", "moe.top_k": "num_experts_per_tok",
    "moe.shared": "n_shared_experts", "moe.expert_intermediate": "moe_intermediate_size",
    "moe.dense_layers": "first_k_dense_replace", "mla.q_lora_rank": "q_lora_rank",
    "mla.kv_lora_rank": "kv_lora_rank", "mla.qk_nope_dim": "qk_nope_head_dim",
    "mla.qk_rope_dim": "qk_rope_head_dim", "mla.v_head_dim": "v_head_dim",
}
_GPT2_KEYS = {"hidden": "n_embd", "layers": "n_layer", "heads": "n_head",
              "intermediate": "n_inner", "max_positions": "n_positions"}
