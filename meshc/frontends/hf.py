"""Hugging Face `config.json` to `Arch` (read from disk; nothing is downloaded).

Understands the Llama/Mistral/Mixtral/Qwen2 family, GPT-2, BERT and DeepSeek-V3 keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from meshc.errors import MeshcError
from meshc.frontends.arch import Arch, arch_from_dict

_ACT = {"silu": "silu", "swish": "silu", "gelu": "gelu", "gelu_new": "gelu_tanh",
        "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu"}


def is_hf_config(data: Any) -> bool:
    return isinstance(data, dict) and ("model_type" in data or "architectures" in data)


def load(path: Path) -> Arch:
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise MeshcError(f"cannot read: {e.strerror}", file=str(path)) from None
    except json.JSONDecodeError as e:
        raise MeshcError(f"not valid JSON: {e.msg}", file=str(path),
                         where=f"line {e.lineno}, column {e.colno}") from None
    if not isinstance(data, dict):
        raise MeshcError("a config.json holds one JSON object", file=str(path))
    return from_config(data, str(path))


def _need(cfg: dict[str, Any], key: str, file: str) -> Any:
    if key not in cfg:
        raise MeshcError("missing field", file=file, where=key)
    return cfg[key]


def from_config(cfg: dict[str, Any], file: str) -> Arch:
    mt = str(cfg.get("model_type", "")).lower()
    name = Path(file).parent.name or mt or "model"
    act_key = "hidden_act" if "hidden_act" in cfg or mt != "gpt2" else "activation_function"
    act = _ACT.get(str(cfg.get(act_key, {"gpt2": "gelu_new", "bert": "gelu"}.get(mt, "silu"))))
    if act is None:
        raise MeshcError(f"unknown activation {cfg.get(act_key)!r}; known: {', '.join(_ACT)}",
                         file=file, where=act_key)
    if mt == "gpt2":
        d = _need(cfg, "n_embd", file)
        data: dict[str, Any] = dict(
            hidden=d, layers=_need(cfg, "n_layer", file), heads=_need(cfg, "n_head", file),
            intermediate=cfg.get("n_inner") or 4 * d, vocab=_need(cfg, "vocab_size", file),
            activation=act, gated=False, norm="layernorm", linear_bias=True,
            tied_embeddings=True, positions="learned",
            max_positions=cfg.get("n_positions", 1024))
    elif mt == "bert":
        data = dict(
            kind="encoder", hidden=_need(cfg, "hidden_size", file),
            layers=_need(cfg, "num_hidden_layers", file),
            heads=_need(cfg, "num_attention_heads", file),
            intermediate=_need(cfg, "intermediate_size", file),
            vocab=_need(cfg, "vocab_size", file), activation=act, gated=False, norm="layernorm",
            linear_bias=True, positions="learned",
            max_positions=cfg.get("max_position_embeddings", 512),
            type_vocab=cfg.get("type_vocab_size", 2))
    else:
        data = dict(
            hidden=_need(cfg, "hidden_size", file), layers=_need(cfg, "num_hidden_layers", file),
            heads=_need(cfg, "num_attention_heads", file),
            kv_heads=cfg.get("num_key_value_heads"), head_dim=cfg.get("head_dim"),
            intermediate=_need(cfg, "intermediate_size", file),
            vocab=_need(cfg, "vocab_size", file), activation=act,
            tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
            qkv_bias=mt.startswith("qwen2"))
        experts = cfg.get("num_local_experts") or cfg.get("n_routed_experts")
        if experts:
            data["moe"] = dict(
                experts=experts, top_k=_need(cfg, "num_experts_per_tok", file),
                shared=cfg.get("n_shared_experts") or 0,
                expert_intermediate=cfg.get("moe_intermediate_size")
                or cfg["intermediate_size"],
                dense_layers=cfg.get("first_k_dense_replace", 0))
        if "kv_lora_rank" in cfg:
            data["mla"] = dict(
                q_lora_rank=cfg.get("q_lora_rank") or 0, kv_lora_rank=cfg["kv_lora_rank"],
                qk_nope_dim=_need(cfg, "qk_nope_head_dim", file),
                qk_rope_dim=_need(cfg, "qk_rope_head_dim", file),
                v_head_dim=_need(cfg, "v_head_dim", file))
    data = {k: v for k, v in data.items() if v is not None}
    try:
        return arch_from_dict({"name": name, "source": file, **data}, file)
    except MeshcError as e:  # name the config.json key, not meshc's field
        keys = {**_KEYS, **(_GPT2_KEYS if mt == "gpt2" else {})}
        key = keys.get(e.where or "", e.where)
        if e.where == "moe.experts":
            key = "num_local_experts" if "num_local_experts" in cfg else "n_routed_experts"
        raise MeshcError(e.message, file=file, where=key, hint=e.hint) from None


# Arch field -> config.json key, for error messages.
_KEYS = {
    "hidden": "hidden_size", "layers": "num_hidden_layers", "heads": "num_attention_heads",
    "kv_heads": "num_key_value_heads", "head_dim": "head_dim",
    "intermediate": "intermediate_size", "vocab": "vocab_size",
    "max_positions": "max_position_embeddings", "type_vocab": "type_vocab_size",
    "moe": "num_experts_per_tok", "moe.top_k": "num_experts_per_tok",
    "moe.shared": "n_shared_experts", "moe.expert_intermediate": "moe_intermediate_size",
    "moe.dense_layers": "first_k_dense_replace", "mla.q_lora_rank": "q_lora_rank",
    "mla.kv_lora_rank": "kv_lora_rank", "mla.qk_nope_dim": "qk_nope_head_dim",
    "mla.qk_rope_dim": "qk_rope_head_dim", "mla.v_head_dim": "v_head_dim",
}
_GPT2_KEYS = {"hidden": "n_embd", "layers": "n_layer", "heads": "n_head",
              "intermediate": "n_inner", "max_positions": "n_positions"}
