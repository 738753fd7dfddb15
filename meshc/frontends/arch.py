"""The compact transformer form: architecture parameters, validated once.

A zoo preset, a Hugging Face config.json and the `architecture:` form of a spec file all
become an `Arch`; `meshc.frontends.transformer.build` expands it into the graph of a phase.
Validation is strict: `true` is not the integer 1, `4096.0` or `"4096"` is not 4096.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from meshc.errors import MeshcError, printable

# Sizes fit a signed 64-bit IR attribute; the `dim` limit (checked before a graph is
# built, where the user can raise it) is the bound that matters in practice.
MAX_INT = (1 << 62) - 1
Pos = Field(gt=0, le=MAX_INT)
NonNeg = Field(default=0, ge=0, le=MAX_INT)
_CONFIG = ConfigDict(frozen=True, extra="forbid", strict=True)


class FieldError(ValueError):
    """A rule between fields, reported at the field that breaks it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Moe(BaseModel):
    """Routed experts (SwiGLU) replacing the dense MLP from layer `dense_layers` on."""

    model_config = _CONFIG
    experts: int = Pos
    top_k: int = Pos
    shared: int = NonNeg
    expert_intermediate: int = Pos
    dense_layers: int = NonNeg

    @model_validator(mode="after")
    def _k_le_e(self) -> Moe:
        if self.top_k > self.experts:
            raise FieldError("top_k", f"top_k ({self.top_k}) exceeds experts ({self.experts})")
        return self


class Mla(BaseModel):
    """Multi-head latent attention (DeepSeek-V2/V3)."""

    model_config = _CONFIG
    q_lora_rank: int = NonNeg  # 0: q projected directly
    kv_lora_rank: int = Pos
    qk_nope_dim: int = Pos
    qk_rope_dim: int = Pos
    v_head_dim: int = Pos


class Arch(BaseModel):
    model_config = _CONFIG
    name: str
    kind: Literal["decoder", "encoder"] = "decoder"
    hidden: int = Pos
    layers: int = Pos
    heads: int = Pos
    kv_heads: int | None = Field(default=None, gt=0, le=MAX_INT)
    head_dim: int | None = Field(default=None, gt=0, le=MAX_INT)
    intermediate: int = Pos
    vocab: int = Pos
    activation: Literal["relu", "gelu", "gelu_tanh", "silu"] = "silu"
    gated: bool = True
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    post_norms: bool = False  # also a norm after attention and after the MLP (Gemma-2)
    linear_bias: bool = False  # every linear has a bias (GPT-2, BERT)
    qkv_bias: bool = False  # only q, k, v have biases (Qwen2)
    tied_embeddings: bool = False
    pooler: bool = False  # BERT's pooler: a dense + tanh over the first token
    positions: Literal["rope", "learned"] = "rope"
    # Positions the model was trained on: the rows of a learned table, or the RoPE context
    # (0: not stated). Only warned about: a longer --seq still builds.
    max_positions: int = NonNeg
    sliding_window: int = NonNeg  # tokens a windowed layer attends to (0: none); only noted
    type_vocab: int = NonNeg  # BERT token-type table
    moe: Moe | None = None
    mla: Mla | None = None
    dtype: Literal["bf16", "f16", "f32"] = "bf16"
    source: str = ""  # where the numbers come from

    @model_validator(mode="after")
    def _consistent(self) -> Arch:
        if self.head_dim is None and self.mla is None and self.hidden % self.heads:
            divisors = [h for h in range(1, min(self.hidden, 4096) + 1) if self.hidden % h == 0]
            near = sorted(divisors, key=lambda h: (abs(h - self.heads), h))[:4]
            raise FieldError("heads", (
                f"heads ({self.heads}) do not divide hidden ({self.hidden}), so the head "
                f"width is not {self.hidden} / {self.heads}; give head_dim explicitly or "
                f"use heads that divide it (e.g. {', '.join(map(str, sorted(near)))})"))
        if self.heads % self.n_kv_heads:
            raise FieldError("kv_heads", f"heads ({self.heads}) must be a multiple of "
                             f"kv_heads ({self.n_kv_heads})")
        if self.positions == "learned" and self.max_positions == 0:
            raise FieldError("max_positions", "learned positions need max_positions > 0")
        if self.moe and self.moe.dense_layers > self.layers:
            raise FieldError("moe.dense_layers", "moe.dense_layers exceeds layers")
        if self.pooler and self.kind != "encoder":
            raise FieldError("pooler", "a pooler belongs to an encoder (kind: encoder)")
        return self

    @property
    def n_kv_heads(self) -> int:
        return self.kv_heads or self.heads

    @property
    def dim_head(self) -> int:
        return self.head_dim or self.hidden // self.heads


def arch_from_dict(data: Any, file: str) -> Arch:
    """Validates raw data into an `Arch`; errors name the file and the field path."""
    if not isinstance(data, dict):
        raise MeshcError(f"expected a mapping of architecture fields, got {type(data).__name__}",
                         file=file)
    try:
        return Arch.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        cause = err.get("ctx", {}).get("error")
        loc = (*err["loc"], *cause.field.split(".")) if isinstance(cause, FieldError) else err["loc"]
        raise MeshcError(_message(err), file=file, where=_loc(loc) or None) from None
    except RecursionError:  # pragma: no cover - inputs bounds nesting before this
        raise MeshcError("nested too deeply", file=file) from None


def _message(err: Any) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "missing":
        return "missing field"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "invalid_key":
        return "a field name must be a string"
    got = shown(value)
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return f"expected an integer, got {got}"
    if kind == "bool_type":
        return f"expected true or false, got {got}"
    if kind == "string_type":
        return f"expected a string, got {got}"
    if kind in ("model_type", "dict_type"):
        return f"expected a mapping, got {got}"
    if kind == "less_than_equal":
        return f"{got} is absurdly large (at most {MAX_INT:,})"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{msg}, got {got}" if kind in ("greater_than", "greater_than_equal",
                                              "literal_error") else msg


def shown(value: Any) -> str:
    """A user's value in a message: short, on one line."""
    text = "true" if value is True else "false" if value is False else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        part = printable(part)
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out
