"""Expands an `Arch` into the `tfm` graph of one phase.

`prefill`: `batch` sequences of `seq` tokens; the KV cache is written and the LM head runs
on the last token of each sequence. `decode`: one new token per sequence attending to a KV
cache of `kv_len` past tokens; the LM head runs on every new token. Encoders have only a
prefill (their forward pass) and no LM head.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    IntegerType,
    ModuleOp,
    TensorType,
)
from xdsl.ir import Attribute, SSAValue

from meshc import limits
from meshc.errors import MeshcError
from meshc.frontends.arch import Arch
from meshc.frontends.builder import GraphBuilder, module_of
from meshc.ir import graph as g
from meshc.ir.notes import add_note

PHASES = ("prefill", "decode")


@dataclass(frozen=True)
class Shape:
    """What a phase runs on; a Shape that exists is sane (positive, within the `dim` limit)."""

    batch: int = 1
    seq: int = 2048
    kv_len: int = 2048

    def __post_init__(self) -> None:
        for name in ("batch", "seq", "kv_len"):
            value, option = getattr(self, name), f"--{name.replace('_', '-')}"
            if isinstance(value, bool) or not isinstance(value, int):
                raise MeshcError(f"{option} must be an integer, got {value!r}")
            if value <= 0:
                raise MeshcError(f"{option} must be positive, got {value}")
            if value > limits.get("dim"):
                raise limits.refuse("dim", value, f"{option} {value:,} is absurd")
        limits.check("dim", self.batch * max(self.seq, self.kv_len + 1),
                     f"--batch {self.batch} x --seq/--kv-len tokens")


def build(arch: Arch, phases: tuple[str, ...], shape: Shape) -> ModuleOp:
    """One function per phase, in the order given; refuses a graph over the `ops` limit
    before building it, and notes what the figures do not show (positions past the
    trained ones, a sliding window counted as full attention)."""
    if arch.kind == "encoder" and "decode" in phases:
        raise MeshcError(f"{arch.name} is an encoder: it has no decode phase",
                         hint="use --phase prefill")
    if _OPS_PER_LAYER_BOUND * (arch.layers + 1) * len(phases) > limits.get("ops"):
        limits.check("ops", sum(estimate_ops(arch, p) for p in phases),
                     f"{arch.name} with {arch.layers:,} layers would be too many graph ops")
    module = module_of([_Phase(arch, p, shape).build() for p in phases])
    for text in _notes(arch, phases, shape):
        add_note(module, "frontend", text)
    return module


# A layer emits fewer graph ops than this (MLA + MoE + biases + post-norms: about 55), and
# so do the embeddings and head; below the limit by this bound, nothing is probed.
_OPS_PER_LAYER_BOUND = 64
_PROBE = Shape(1, 1, 1)  # the op count does not depend on the dims


def estimate_ops(arch: Arch, phase: str) -> int:
    """The graph ops of one phase without building all of it, from one- and two-layer
    probes: a layer's ops do not depend on its index, except dense layers before MoE ones."""
    moe = arch.moe

    def ops(layers: int, dense: int) -> int:
        a = arch.model_copy(update={
            "layers": layers, "moe": moe and moe.model_copy(update={"dense_layers": dense})})
        f = _Phase(a, phase, _PROBE).build()
        return sum(1 for op in f.walk() if isinstance(op, g.GraphOp))

    one, two = ops(1, 0), ops(2, 0)
    per_moe_layer = two - one
    if moe is None or not moe.dense_layers:
        return one + (arch.layers - 1) * per_moe_layer
    per_dense_layer = ops(2, 1) - one
    return (one - per_moe_layer + moe.dense_layers * per_dense_layer
            + (arch.layers - moe.dense_layers) * per_moe_layer)


def _notes(arch: Arch, phases: tuple[str, ...], shape: Shape) -> list[str]:
    out = []
    for phase in phases:
        reach, option = ((shape.seq, f"--seq {shape.seq}") if phase == "prefill" else
                         (shape.kv_len + 1, f"--kv-len {shape.kv_len} (+1 new token)"))
        if arch.max_positions and reach > arch.max_positions:
            trained = ("has" if arch.positions == "learned" else "was trained on")
            out.append(f"{arch.name} {trained} {arch.max_positions:,} positions; {option} "
                       "reads past them")
        if arch.sliding_window and reach > arch.sliding_window:
            out.append(f"{arch.name} attends within a {arch.sliding_window:,}-token sliding "
                       f"window; at {option} its attention is counted in full")
    return out


def _dtype(name: str) -> Attribute:
    return {"bf16": BFloat16Type(), "f16": Float16Type(), "f32": Float32Type()}[name]


class _Phase:
    def __init__(self, arch: Arch, phase: str, shape: Shape) -> None:
        self.a, self.phase, self.s = arch, phase, shape
        self.tokens = shape.seq if phase == "prefill" else 1
        ids = IntegerType(32)
        args = [(shape.batch, self.tokens)] * (1 + (arch.positions == "learned")
                                               + (arch.type_vocab > 0))
        self.b = GraphBuilder(phase, [TensorType(ids, a) for a in args], _dtype(arch.dtype))

    def build(self) -> func.FuncOp:
        a, b = self.a, self.b
        d = a.hidden
        with b.at(-1, "other"):
            table = b.weight("embed.tokens", (a.vocab, d))
            x = b.embedding(b.args[0], table)
            extra = []
            if a.positions == "learned":
                extra.append(b.embedding(b.args[1], b.weight("embed.positions",
                                                             (a.max_positions, d))))
            if a.type_vocab:
                extra.append(b.embedding(b.args[-1], b.weight("embed.types", (a.type_vocab, d))))
            for e in extra:
                x = b.add(x, e)
            if a.kind == "encoder":
                x = self.norm(x, "embed.norm")
        for layer in range(a.layers):
            x = self.layer(layer, x)
        if a.kind == "encoder":
            return b.finish([x, self.pooler(x)] if a.pooler else [x])
        with b.at(-1, "other"):
            x = self.norm(x, "final.norm")
            head = table if a.tied_embeddings else b.weight("lm_head", (a.vocab, d))
            logits = b.lm_head(x, head, last=self.phase == "prefill")
        return b.finish([logits])

    def norm(self, x: SSAValue, name: str) -> SSAValue:
        b = self.b
        w = x.type.get_shape()[-1]  # type: ignore[attr-defined]
        gamma = b.weight(f"{name}.weight", (w,))
        if self.a.norm == "rmsnorm":
            return b.rmsnorm(x, gamma)
        return b.layernorm(x, gamma, b.weight(f"{name}.bias", (w,)))

    def pooler(self, x: SSAValue) -> SSAValue:
        """BERT's pooler: dense + tanh over each sequence's first token."""
        b, d, batch = self.b, self.a.hidden, self.s.batch
        with b.at(-1, "other"):
            w, bias = b.weight("pooler.weight", (d, d)), b.weight("pooler.bias", (d,))
            [out] = b.generic("pooler", [x, w, bias], [b.tensor((batch, 1, d))],
                              macs=batch * d * d, vector_ops=2 * batch * d, mac_kind="linear")
        return out

    def linear(self, x: SSAValue, name: str, k: int, n: int, bias: bool | None = None) -> SSAValue:
        b = self.b
        w = b.weight(f"{name}.weight", (k, n))
        has_bias = self.a.linear_bias if bias is None else bias
        return b.linear(x, w, b.weight(f"{name}.bias", (n,)) if has_bias else None)

    def layer(self, i: int, x: SSAValue) -> SSAValue:
        b, pre = self.b, f"L{i}"
        post_norm = self.a.kind == "encoder"
        with b.at(i, "attention"):
            h = x if post_norm else self.norm(x, f"{pre}.attn_norm")
            att = self.mla(i, h) if self.a.mla else self.attention(i, h)
            if self.a.post_norms:
                att = self.norm(att, f"{pre}.attn_post_norm")
            x = b.add(x, att)
            if post_norm:
                x = self.norm(x, f"{pre}.attn_norm")
        with b.at(i, "mlp"):
            h = x if post_norm else self.norm(x, f"{pre}.mlp_norm")
            out = self.mlp(i, h)
            if self.a.post_norms:
                out = self.norm(out, f"{pre}.mlp_post_norm")
            x = b.add(x, out)
            if post_norm:
                x = self.norm(x, f"{pre}.mlp_norm")
        return x

    def cache(self, name: str, new: SSAValue) -> SSAValue:
        """Writes `new` to the KV cache; in decode, returns past + new."""
        b = self.b
        if self.a.kind == "encoder":
            return new
        past = None
        if self.phase == "decode":
            width = new.type.get_shape()[-1]  # type: ignore[attr-defined]
            past = b.kv_read(name, (self.s.batch, self.s.kv_len, width))
        return b.kv_append(name, new, past)

    def attention(self, i: int, h: SSAValue) -> SSAValue:
        a, b, pre = self.a, self.b, f"L{i}"
        d, hd, nh, nkv = a.hidden, a.dim_head, a.heads, a.n_kv_heads
        qkv_bias = a.linear_bias or a.qkv_bias
        q = self.linear(h, f"{pre}.q", d, nh * hd, qkv_bias)
        k = self.linear(h, f"{pre}.k", d, nkv * hd, qkv_bias)
        v = self.linear(h, f"{pre}.v", d, nkv * hd, qkv_bias)
        if a.positions == "rope":
            q, k = b.rope(q), b.rope(k)
        k, v = self.cache("k", k), self.cache("v", v)
        o = b.attention(q, k, v, heads=nh, kv_heads=nkv, qk_dim=hd, v_dim=hd,
                        causal=a.kind == "decoder")
        return self.linear(o, f"{pre}.o", nh * hd, d)

    def mla(self, i: int, h: SSAValue) -> SSAValue:
        a, b, pre = self.a, self.b, f"L{i}"
        m = a.mla
        assert m is not None
        d, nh = a.hidden, a.heads
        qk = m.qk_nope_dim + m.qk_rope_dim
        if m.q_lora_rank:
            qa = self.norm(self.linear(h, f"{pre}.q_a", d, m.q_lora_rank), f"{pre}.q_a_norm")
            q = self.linear(qa, f"{pre}.q_b", m.q_lora_rank, nh * qk)
        else:
            q = self.linear(h, f"{pre}.q", d, nh * qk)
        q = b.rope(q)
        # kv_a_proj_with_mqa [d, latent + rope], kept as its two parts so that the latent
        # alone is normed and the rope key alone is rotated
        latent = self.norm(self.linear(h, f"{pre}.kv_a", d, m.kv_lora_rank), f"{pre}.kv_a_norm")
        k_rope = b.rope(self.linear(h, f"{pre}.k_rope", d, m.qk_rope_dim))
        cache = self.cache("kv", b.concat([latent, k_rope]))
        w_kv_b = b.weight(f"{pre}.kv_b.weight",
                          (m.kv_lora_rank, nh * (m.qk_nope_dim + m.v_head_dim)))
        o = b.attention(q, cache, cache, heads=nh, kv_heads=1, qk_dim=qk, v_dim=m.v_head_dim,
                        causal=True, variant="mla", absorb=w_kv_b, rope_dim=m.qk_rope_dim)
        return self.linear(o, f"{pre}.o", nh * m.v_head_dim, d)

    def mlp(self, i: int, h: SSAValue) -> SSAValue:
        a, b, pre = self.a, self.b, f"L{i}"
        d = a.hidden
        if a.moe and i >= a.moe.dense_layers:
            e, f, n = a.moe.experts, a.moe.expert_intermediate, a.moe.experts + a.moe.shared
            router = b.weight(f"{pre}.router.weight", (d, e))
            gate = b.weight(f"{pre}.experts.gate", (n, d, f))
            up = b.weight(f"{pre}.experts.up", (n, d, f))
            down = b.weight(f"{pre}.experts.down", (n, f, d))
            return b.moe(h, router, gate, up, down, experts=e, top_k=a.moe.top_k,
                         shared=a.moe.shared)
        f = a.intermediate
        if a.gated:
            gate = self.linear(h, f"{pre}.gate", d, f)
            up = self.linear(h, f"{pre}.up", d, f)
            act = b.activation(a.activation, gate, up)
        else:
            act = b.activation(a.activation, self.linear(h, f"{pre}.fc", d, f))
        return self.linear(act, f"{pre}.down", f, d)
