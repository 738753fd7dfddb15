"""The `tfm` dialect: transformer graphs at the level engineers reason about.

Activations are rank-3 tensors `[batch, tokens, features]` (attention heads are packed into
the feature axis); weights come from `tfm.weight` ops, so each parameter tensor has one
name, one precision and one residency. Every compute op carries its layer index (-1 for
ops outside the decoder stack) and its block (attention, mlp, other), and knows its own
`work()`: MACs, vector work and bytes, independent of hardware.

This file holds the layer ops and registers the dialect; the elementwise ops, data-movement
ops, collectives and their base: graph_elementwise, graph_data, graph_collective and
_graph_base (all importable from here).
"""

from __future__ import annotations

from math import prod

from xdsl.dialects.builtin import (
    I64,
    IntegerAttr,
    StringAttr,
    TensorType,
    UnitAttr,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Dialect, SpacedOpaqueSyntaxAttribute, TypeAttribute
from xdsl.irdl import (
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from meshc.hardware.op_costs import OP_COSTS
from meshc.ir._graph_base import _LB, _common, _int, _shape
from meshc.ir._graph_base import Block as Block
from meshc.ir._graph_base import BlockAttr as BlockAttr
from meshc.ir._graph_base import GraphOp as GraphOp
from meshc.ir.graph_collective import CollectiveKind as CollectiveKind
from meshc.ir.graph_collective import CollectiveKindAttr as CollectiveKindAttr
from meshc.ir.graph_collective import CollectiveOp as CollectiveOp
from meshc.ir.graph_data import ConcatOp as ConcatOp
from meshc.ir.graph_data import DequantizeOp as DequantizeOp
from meshc.ir.graph_data import GenericOp as GenericOp
from meshc.ir.graph_data import KvAppendOp as KvAppendOp
from meshc.ir.graph_data import KvReadOp as KvReadOp
from meshc.ir.graph_data import QuantizeOp as QuantizeOp
from meshc.ir.graph_data import SliceOp as SliceOp
from meshc.ir.graph_elementwise import ActivationOp as ActivationOp
from meshc.ir.graph_elementwise import AddOp as AddOp
from meshc.ir.graph_elementwise import LayerNormOp as LayerNormOp
from meshc.ir.graph_elementwise import MulOp as MulOp
from meshc.ir.graph_elementwise import RmsNormOp as RmsNormOp
from meshc.ir.graph_elementwise import RopeOp as RopeOp
from meshc.ir.graph_elementwise import SoftmaxOp as SoftmaxOp
from meshc.ir.work import (
    ACTIVATION_OPS,
    SOFTMAX_OPS,
    Work,
    element_bits,
    group_scale_bytes,
    numel,
    tensor_bytes,
)


class AttentionVariant(StrEnum):
    MHA = "mha"
    GQA = "gqa"
    MQA = "mqa"
    MLA = "mla"


@irdl_attr_definition
class AttentionVariantAttr(EnumAttribute[AttentionVariant], SpacedOpaqueSyntaxAttribute):
    name = "tfm.attention_variant"


@irdl_op_definition
class WeightOp(GraphOp):
    """A named parameter tensor. Quantized weights carry their group size and scale type."""

    name = "tfm.weight"
    param = prop_def(StringAttr)
    group = opt_prop_def(IntegerAttr[I64])
    scale_type = opt_prop_def(TypeAttribute)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$param (`group` $group^ `scale` $scale_type)? " + _LB + " `:` type($result)"
    )

    def __init__(self, param: str, type_: TensorType, layer: int, block: str | Block) -> None:
        super().__init__(
            result_types=[type_], properties={"param": StringAttr(param), **_common(layer, block)}
        )

    def verify_shapes(self) -> None:
        if (self.group is None) != (self.scale_type is None):
            raise VerifyException("group and scale must be given together")
        if self.group is not None and _int(self.group) <= 0:
            raise VerifyException(f"group must be positive, got {_int(self.group)}")

    def scale_bytes(self) -> int:
        if self.group is None or self.scale_type is None:
            return 0
        return group_scale_bytes(numel(self.result.type), _int(self.group),
                                 element_bits(self.scale_type))

    def work(self) -> Work:
        return Work(weight_bytes=tensor_bytes(self.result.type) + self.scale_bytes())


@irdl_op_definition
class EmbeddingOp(GraphOp):
    """Gather rows of a `[vocab, hidden]` table for `[batch, tokens]` ids."""

    name = "tfm.embedding"
    ids = operand_def(TensorType)
    table = operand_def(TensorType)
    result = result_def(TensorType)
    assembly_format = (
        "$ids `,` $table " + _LB + " `:` type($ids) `,` type($table) `->` type($result)"
    )

    def verify_shapes(self) -> None:
        ids, table, out = _shape(self.ids.type), _shape(self.table.type), _shape(self.result.type)
        if len(table) != 2 or out != (*ids, table[1]):
            raise VerifyException(f"embedding of ids {ids} in table {table} cannot give {out}")

    def work(self) -> Work:
        out = tensor_bytes(self.result.type)
        return Work(in_bytes=tensor_bytes(self.ids.type) + out, out_bytes=out)


@irdl_op_definition
class LinearOp(GraphOp):
    """Activation `[..., K]` times weight `[K, N]` (plus optional bias `[N]`)."""

    name = "tfm.linear"
    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    result = result_def(TensorType)
    assembly_format = (
        "$input `,` $weight (`bias` $bias^)? " + _LB
        + " `:` type($input) `,` type($weight) (`,` type($bias)^)? `->` type($result)"
    )

    def verify_shapes(self) -> None:
        x, w, out = _shape(self.input.type), _shape(self.weight.type), _shape(self.result.type)
        if not x or len(w) != 2 or x[-1] != w[0] or out != (*x[:-1], w[1]):
            raise VerifyException(f"linear of {x} by weight {w} cannot give {out}")
        if self.bias is not None and _shape(self.bias.type) != (w[1],):
            raise VerifyException(f"bias {_shape(self.bias.type)} does not match width {w[1]}")

    def work(self) -> Work:
        x, w = _shape(self.input.type), _shape(self.weight.type)
        macs = prod(x[:-1]) * w[0] * w[1]
        bias_ops = prod(x[:-1]) * w[1] if self.bias is not None else 0
        return self._io() + Work(macs=macs, linear_macs=macs, vector_ops=bias_ops)


@irdl_op_definition
class LmHeadOp(GraphOp):
    """Logits: activation `[B, T, D]` times the `[vocab, D]` table (shared when tied).

    With `last`, only the last token of each sequence is projected (prefill)."""

    name = "tfm.lm_head"
    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    last = opt_prop_def(UnitAttr)
    result = result_def(TensorType)
    assembly_format = (
        "$input `,` $weight (`last` $last^)? " + _LB
        + " `:` type($input) `,` type($weight) `->` type($result)"
    )

    def verify_shapes(self) -> None:
        x, w, out = _shape(self.input.type), _shape(self.weight.type), _shape(self.result.type)
        tokens = 1 if self.last is not None or len(x) != 3 else x[1]
        if len(x) != 3 or len(w) != 2 or x[-1] != w[1] or out != (x[0], tokens, w[0]):
            raise VerifyException(f"lm_head of {x} by table {w} cannot give {out}")

    def work(self) -> Work:
        out, w = _shape(self.result.type), _shape(self.weight.type)
        macs = out[0] * out[1] * w[0] * w[1]
        return self._io() + Work(macs=macs, linear_macs=macs)


@irdl_op_definition
class MatmulOp(GraphOp):
    """Batched activation x activation: `[..., M, K] x [..., K, N]` (`transpose_b`: `[..., N, K]`)."""

    name = "tfm.matmul"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    transpose_b = opt_prop_def(UnitAttr)
    result = result_def(TensorType)
    assembly_format = (
        "$lhs `,` $rhs (`transpose_b` $transpose_b^)? " + _LB
        + " `:` type($lhs) `,` type($rhs) `->` type($result)"
    )

    def _kn(self) -> tuple[int, int]:
        b = _shape(self.rhs.type)
        return (b[-1], b[-2]) if self.transpose_b is not None else (b[-2], b[-1])

    def verify_shapes(self) -> None:
        a, b, out = _shape(self.lhs.type), _shape(self.rhs.type), _shape(self.result.type)
        if len(a) < 2 or len(a) != len(b):
            raise VerifyException(f"matmul operands {a} and {b} must have the same rank >= 2")
        k, n = self._kn()
        if a[:-2] != b[:-2] or a[-1] != k or out != (*a[:-1], n):
            raise VerifyException(f"matmul of {a} by {b} cannot give {out}")

    def work(self) -> Work:
        k, _ = self._kn()
        macs = numel(self.result.type) * k
        return self._io() + Work(macs=macs, attention_macs=macs)


@irdl_op_definition
class AttentionOp(GraphOp):
    """Scaled dot-product attention over packed heads.

    q `[B, q_len, heads*qk_dim]`, k `[B, kv_len, kv_heads*qk_dim]`,
    v `[B, kv_len, kv_heads*v_dim]` -> `[B, q_len, heads*v_dim]`. GQA/MQA share each KV
    head among heads/kv_heads query heads. MACs count QK^T and PV over the full
    q_len x kv_len rectangle, as a masked kernel executes them.

    MLA (DeepSeek, weight-absorbed as in FlashMLA): k = v = the shared latent cache
    `[B, kv_len, latent + rope_dim]`; `absorb` names the kv_b up-projection
    `[latent, heads*(qk_dim - rope_dim + v_dim)]`, folded into q (before the scores) and
    into the output (after PV); those two products count as linear MACs.
    """

    name = "tfm.attention"
    q = operand_def(TensorType)
    k = operand_def(TensorType)
    v = operand_def(TensorType)
    w_kv_b = opt_operand_def(TensorType)
    variant = prop_def(AttentionVariantAttr)
    heads = prop_def(IntegerAttr[I64])
    kv_heads = prop_def(IntegerAttr[I64])
    qk_dim = prop_def(IntegerAttr[I64])
    v_dim = prop_def(IntegerAttr[I64])
    rope_dim = opt_prop_def(IntegerAttr[I64])
    causal = opt_prop_def(UnitAttr)
    result = result_def(TensorType)
    assembly_format = (
        "$variant $q `,` $k `,` $v (`absorb` $w_kv_b^ `rope_dim` $rope_dim)? `heads` $heads "
        "`kv_heads` $kv_heads `qk_dim` $qk_dim `v_dim` $v_dim (`causal` $causal^)? " + _LB
        + " `:` type($q) `,` type($k) `,` type($v) (`,` type($w_kv_b)^)? `->` type($result)"
    )

    def dims(self) -> tuple[int, int, int, int, int, int, int]:
        """(batch, heads, kv_heads, q_len, kv_len, qk_dim, v_dim)."""
        q, k = _shape(self.q.type), _shape(self.k.type)
        return (q[0], _int(self.heads), _int(self.kv_heads), q[1], k[1],
                _int(self.qk_dim), _int(self.v_dim))

    def latent_dims(self) -> tuple[int, int]:
        """(latent, rope_dim) of an MLA attention."""
        assert self.w_kv_b is not None and self.rope_dim is not None
        return _shape(self.w_kv_b.type)[0], _int(self.rope_dim)

    def verify_shapes(self) -> None:
        q, k, v, out = (_shape(x.type) for x in (self.q, self.k, self.v, self.result))
        if any(len(s) != 3 for s in (q, k, v)) or not (q[0] == k[0] == v[0]) or k[1] != v[1]:
            raise VerifyException(f"attention operands {q}, {k}, {v} are not [B, len, features]")
        bsz, h, kvh, lq, _, dqk, dv = self.dims()
        if min(h, kvh, dqk, dv) <= 0 or h % kvh:
            raise VerifyException(f"heads ({h}) must be a positive multiple of kv_heads ({kvh})")
        if out != (bsz, lq, h * dv):
            raise VerifyException(f"attention result {out} should be {(bsz, lq, h * dv)}")
        if self.variant.data == AttentionVariant.MLA:
            self._verify_mla(q, k, v)
            return
        expected = (AttentionVariant.MHA if kvh == h else
                    AttentionVariant.MQA if kvh == 1 else AttentionVariant.GQA)
        if self.variant.data != expected:
            raise VerifyException(f"{h} heads over {kvh} kv_heads is {expected}, "
                                  f"not {self.variant.data}")
        if self.w_kv_b is not None or dqk != dv:
            raise VerifyException("absorb and qk_dim != v_dim are only allowed for mla")
        if q[2] != h * dqk or k[2] != kvh * dqk or v[2] != kvh * dv:
            raise VerifyException(
                f"q {q}, k {k}, v {v} do not pack heads={h}, kv_heads={kvh}, qk_dim={dqk}, "
                f"v_dim={dv}")

    def _verify_mla(self, q: tuple[int, ...], k: tuple[int, ...], v: tuple[int, ...]) -> None:
        if self.w_kv_b is None or self.rope_dim is None:
            raise VerifyException("mla attention needs `absorb` (the kv_b weight) and rope_dim")
        _, h, kvh, _, _, dqk, dv = self.dims()
        wkv = _shape(self.w_kv_b.type)
        if len(wkv) != 2:
            raise VerifyException(f"mla kv_b weight {wkv} is not [latent, features]")
        latent, rope = self.latent_dims()
        if kvh != 1 or not 0 <= rope < dqk:
            raise VerifyException(f"mla needs kv_heads = 1 and 0 <= rope_dim < qk_dim ({dqk})")
        if q[2] != h * dqk or k[2] != latent + rope or v != k:
            raise VerifyException(f"mla q {q}, latent k {k}, v {v} do not match heads={h}, "
                                  f"qk_dim={dqk}, latent={latent}, rope_dim={rope}")
        if wkv != (latent, h * (dqk - rope + dv)):
            raise VerifyException(
                f"mla kv_b weight {wkv} should be {(latent, h * (dqk - rope + dv))}")

    def work(self) -> Work:
        b, h, _, lq, lkv, dqk, dv = self.dims()
        scores = b * h * lq * lkv
        plain, trans = OP_COSTS["attention_score"]  # softmax plus the scale and the mask
        vec = Work(vector_ops=scores * plain, transcendental_ops=scores * trans)
        if self.variant.data != AttentionVariant.MLA:
            macs = scores * (dqk + dv)
            return self._io() + vec + Work(macs=macs, attention_macs=macs)
        latent, rope = self.latent_dims()
        attn = scores * (latent + rope) + scores * latent
        absorb = b * lq * h * ((dqk - rope) * latent + latent * dv)
        return self._io() + vec + Work(macs=attn + absorb, attention_macs=attn, linear_macs=absorb)


@irdl_op_definition
class MoeOp(GraphOp):
    """Mixture of experts with SwiGLU experts: router `[D, E]`, gate/up `[L+S, D, F]`, down
    `[L+S, F, D]` (S shared experts, always active, after the routed ones); a token runs
    top_k routed experts and the shared ones. L (`local`) is the routed experts held: all E
    (default), or a chip's share under expert parallelism (shard-experts)."""

    name = "tfm.moe"
    input = operand_def(TensorType)
    router = operand_def(TensorType)
    w_gate = operand_def(TensorType)
    w_up = operand_def(TensorType)
    w_down = operand_def(TensorType)
    experts = prop_def(IntegerAttr[I64])
    top_k = prop_def(IntegerAttr[I64])
    shared = prop_def(IntegerAttr[I64])
    local = opt_prop_def(IntegerAttr[I64])
    result = result_def(TensorType)
    assembly_format = (
        "$input `,` $router `,` $w_gate `,` $w_up `,` $w_down `experts` $experts "
        "(`local` $local^)? `top_k` $top_k `shared` $shared " + _LB + " `:` type($input) `,` "
        "type($router) `,` type($w_gate) `,` type($w_up) `,` type($w_down) `->` type($result)"
    )

    def verify_shapes(self) -> None:
        x, r = _shape(self.input.type), _shape(self.router.type)
        g, u, d = _shape(self.w_gate.type), _shape(self.w_up.type), _shape(self.w_down.type)
        e, k, s = _int(self.experts), _int(self.top_k), _int(self.shared)
        n = self.local_experts
        if e <= 0 or not 0 < k <= e or s < 0 or not 0 < n <= e:
            raise VerifyException(f"need 0 < top_k ({k}) <= experts ({e}), 0 < local ({n}) "
                                  f"<= experts and shared ({s}) >= 0")
        dim = x[-1] if x else 0
        if (not x or r != (dim, e) or len(g) != 3 or g != u or g[:2] != (n + s, dim)
                or d != (n + s, g[2], dim)):
            raise VerifyException(
                f"moe weights router {r}, gate {g}, up {u}, down {d} do not match input {x} "
                f"with {n} of {e} experts + {s} shared")
        if _shape(self.result.type) != x:
            raise VerifyException("moe result must have the input's shape")

    @property
    def local_experts(self) -> int:
        """The routed experts this op holds (`local`; default all)."""
        return _int(self.experts) if self.local is None else _int(self.local)

    def work(self) -> Work:
        x, g = _shape(self.input.type), _shape(self.w_gate.type)
        tokens, dim, ffn = prod(x[:-1]), x[-1], g[2]
        active = _int(self.top_k) + _int(self.shared)
        e = _int(self.experts)
        macs = tokens * (dim * e + active * 3 * dim * ffn)
        plain, trans = ACTIVATION_OPS["silu"]
        sm_plain, sm_trans = SOFTMAX_OPS
        vector = tokens * (active * ffn * (plain + 1) + e * sm_plain + active * dim)
        return self._io() + Work(macs=macs, linear_macs=macs, vector_ops=vector,
                                 transcendental_ops=tokens * (active * ffn * trans + e * sm_trans))


TFM = Dialect(
    "tfm",
    [
        WeightOp, EmbeddingOp, LinearOp, LmHeadOp, MatmulOp, AttentionOp, SoftmaxOp, RopeOp,
        LayerNormOp, RmsNormOp, ActivationOp, AddOp, MulOp, MoeOp, KvReadOp, KvAppendOp,
        QuantizeOp, DequantizeOp, GenericOp, ConcatOp, SliceOp, CollectiveOp,
    ],
    [BlockAttr, AttentionVariantAttr, CollectiveKindAttr],
)
