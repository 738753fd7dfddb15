"""The compact transformer form: architecture parameters, validated once.

A zoo preset, a Hugging Face config.json and the `architecture:` form of a spec file all
become an `Arch`; `meshc.frontends.transformer.build` expands it into the graph of a phase.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from meshc.errors import MeshcError

Pos = Field(gt=0)


class Moe(BaseModel):
    """Routed experts (SwiGLU) replacing the dense MLP from layer `dense_layers` on."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    experts: int = Pos
    top_k: int = Pos
    shared: int = Field(default=0, ge=0)
    expert_intermediate: int = Pos
    dense_layers: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _k_le_e(self) -> Moe:
        if self.top_k > self.experts:
            raise ValueError(f"top_k ({self.top_k}) exceeds experts ({self.experts})")
        return self


class Mla(BaseModel):
    """Multi-head latent attention (DeepSeek-V2/V3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    q_lora_rank: int = Field(default=0, ge=0)  # 0: q projected directly
    kv_lora_rank: int = Pos
    qk_nope_dim: int = Pos
    qk_rope_dim: int = Pos
    v_head_dim: int = Pos


class Arch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    kind: Literal["decoder", "encoder"] = "decoder"
    hidden: int = Pos
    layers: int = Pos
    heads: int = Pos
    kv_heads: int | None = Field(default=None, gt=0)
    head_dim: int | None = Field(default=None, gt=0)
    intermediate: int = Pos
    vocab: int = Pos
    activation: Literal["relu", "gelu", "gelu_tanh", "silu"] = "silu"
    gated: bool = True
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    linear_bias: bool = False  # every linear has a bias (GPT-2, BERT)
    qkv_bias: bool = False  # only q, k, v have biases (Qwen2)
    tied_embeddings: bool = False
    positions: Literal["rope", "learned"] = "rope"
    max_positions: int = Field(default=0, ge=0)  # rows of a learned position table
    type_vocab: int = Field(default=0, ge=0)  # BERT token-type table
    moe: Moe | None = None
    mla: Mla | None = None
    dtype: Literal["bf16", "f16", "f32"] = "bf16"
    source: str = ""  # where the numbers come from

    @model_validator(mode="after")
    def _consistent(self) -> Arch:
        if self.heads % self.n_kv_heads:
            raise ValueError(f"heads ({self.heads}) must be a multiple of kv_heads "
                             f"({self.n_kv_heads})")
        if self.positions == "learned" and self.max_positions == 0:
            raise ValueError("learned positions need max_positions > 0")
        if self.moe and self.moe.dense_layers > self.layers:
            raise ValueError("moe.dense_layers exceeds layers")
        return self

    @property
    def n_kv_heads(self) -> int:
        return self.kv_heads or self.heads

    @property
    def dim_head(self) -> int:
        return self.head_dim or self.hidden // self.heads


def arch_from_dict(data: Any, file: str) -> Arch:
    """Validates raw data into an `Arch`; errors name the file and the field path."""
    try:
        return Arch.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        msg = {"missing": "missing field", "extra_forbidden": "unknown field"}.get(
            err["type"], err["msg"].removeprefix("Value error, "))
        raise MeshcError(msg, file=file, where=_loc(err["loc"]) or None) from None


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise MeshcError(f"not valid YAML: {getattr(e, 'problem', e)}", file=str(path),
                         where=where) from None
    except OSError as e:
        raise MeshcError(f"cannot read: {e.strerror}", file=str(path)) from None
