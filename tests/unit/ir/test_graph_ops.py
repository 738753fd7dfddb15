"""The tfm ops: what each counts (`work()`), and verifiers that reject, never crash."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float8E4M3FNType,
    Float16Type,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    UnitAttr,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.test_value import create_ssa_value

from meshc.ir import graph as g
from meshc.ir.work import element_bits, precision_name, tensor_bytes

BF16 = BFloat16Type()


def t(*shape: int, elt: Attribute = BF16) -> TensorType:
    return TensorType(elt, list(shape))


def v(*shape: int, elt: Attribute = BF16) -> SSAValue:
    return create_ssa_value(t(*shape, elt=elt))


def make(cls: type[g.GraphOp], operands: list[SSAValue], results: list[TensorType],
         **props: Attribute) -> g.GraphOp:
    op = cls.create(operands=operands, result_types=results,
                    properties={"layer": IntegerAttr(0, 64), "block": g.BlockAttr(g.Block.MLP),
                                **props})
    op.verify()
    return op


def i64(n: int) -> IntegerAttr:
    return IntegerAttr(n, 64)


# -- element types and bytes ----------------------------------------------------------------


@pytest.mark.parametrize(("elt", "bits", "name"), [
    (BF16, 16, "bf16"), (Float16Type(), 16, "f16"), (Float8E4M3FNType(), 8, "fp8"),
    (IntegerType(8), 8, "int8"), (IntegerType(4), 4, "int4")])
def test_element_types(elt: Attribute, bits: int, name: str) -> None:
    assert element_bits(elt) == bits and precision_name(elt) == name


def test_bytes_round_up() -> None:
    assert tensor_bytes(t(3, elt=IntegerType(4))) == 2
    assert tensor_bytes(t(2, 4)) == 16


# -- work -------------------------------------------------------------------------------------


def test_linear_work() -> None:
    op = make(g.LinearOp, [v(2, 8, 32), v(32, 64), v(64)], [t(2, 8, 64)])
    w = op.work()
    assert w.macs == w.linear_macs == 2 * 8 * 32 * 64
    assert w.attention_macs == 0
    assert w.vector_ops == 2 * 8 * 64  # the bias add
    assert w.in_bytes == 2 * (2 * 8 * 32 + 32 * 64 + 64) and w.out_bytes == 2 * 2 * 8 * 64


def test_lm_head_last_token() -> None:
    last = make(g.LmHeadOp, [v(2, 8, 32), v(50, 32)], [t(2, 1, 50)], last=UnitAttr())
    every = make(g.LmHeadOp, [v(2, 8, 32), v(50, 32)], [t(2, 8, 50)])
    assert last.work().linear_macs == 2 * 50 * 32
    assert every.work().linear_macs == 2 * 8 * 50 * 32


def test_matmul_transpose_b() -> None:
    op = make(g.MatmulOp, [v(2, 8, 32), v(2, 16, 32)], [t(2, 8, 16)], transpose_b=UnitAttr())
    assert op.work().attention_macs == 2 * 8 * 16 * 32 and op.work().linear_macs == 0


def attention(q: SSAValue, k: SSAValue, vv: SSAValue, result: TensorType, variant: str,
              h: int, kvh: int, dqk: int, dv: int, **extra: Any) -> g.GraphOp:
    absorb = extra.pop("absorb", None)
    return make(g.AttentionOp, [q, k, vv] + ([absorb] if absorb is not None else []), [result],
                variant=g.AttentionVariantAttr(g.AttentionVariant(variant)), heads=i64(h),
                kv_heads=i64(kvh), qk_dim=i64(dqk), v_dim=i64(dv), **extra)


def test_gqa_counts_the_full_rectangle() -> None:
    # 4 heads over 2 KV heads, q_len 8 and kv_len 13: causal or not, the whole 8 x 13.
    op = attention(v(1, 8, 32), v(1, 13, 16), v(1, 13, 16), t(1, 8, 32), "gqa", 4, 2, 8, 8,
                   causal=UnitAttr())
    assert op.work().attention_macs == 1 * 4 * 8 * 13 * (8 + 8)
    assert op.work().linear_macs == 0


def test_mla_absorbed() -> None:
    h, dqk, rope, dv, latent, lq, lkv = 4, 12, 4, 8, 16, 3, 10
    op = attention(v(1, lq, h * dqk), v(1, lkv, latent + rope), v(1, lkv, latent + rope),
                   t(1, lq, h * dv), "mla", h, 1, dqk, dv,
                   absorb=v(latent, h * (dqk - rope + dv)), rope_dim=i64(rope))
    w = op.work()
    assert w.attention_macs == h * lq * lkv * ((latent + rope) + latent)
    assert w.linear_macs == lq * h * ((dqk - rope) * latent + latent * dv)
    assert w.macs == w.attention_macs + w.linear_macs


def test_moe_counts_router_and_active_experts() -> None:
    d, f, e, s = 16, 8, 6, 1
    op = make(g.MoeOp, [v(1, 4, d), v(d, e), v(e + s, d, f), v(e + s, d, f), v(e + s, f, d)],
              [t(1, 4, d)], experts=i64(e), top_k=i64(2), shared=i64(s))
    assert op.work().linear_macs == 4 * (d * e + (2 + s) * 3 * d * f)


def test_vector_ops() -> None:
    x = v(2, 4, 8)
    rms = make(g.RmsNormOp, [x, v(8)], [t(2, 4, 8)])
    assert (rms.work().vector_ops, rms.work().transcendental_ops) == (4 * 64, 8)
    gated = make(g.ActivationOp, [x, x], [t(2, 4, 8)], kind=StringAttr("silu"))
    # SwiGLU per element: +1, *x, *up plain; exp and reciprocal transcendental
    assert (gated.work().vector_ops, gated.work().transcendental_ops) == (3 * 64, 2 * 64)


def test_kv_cache_bytes() -> None:
    read = make(g.KvReadOp, [], [t(1, 5, 16)], cache=StringAttr("k"))
    append = make(g.KvAppendOp, [v(1, 1, 16), read.results[0]], [t(1, 6, 16)],
                  cache=StringAttr("k"))
    assert read.work().kv_read_bytes == 2 * 5 * 16
    assert append.work().kv_write_bytes == 2 * 16


def test_quantized_weight_bytes() -> None:
    op = make(g.WeightOp, [], [t(256, 64, elt=IntegerType(4))], param=StringAttr("w"),
              group=i64(128), scale_type=Float16Type())
    assert op.work().weight_bytes == 256 * 64 // 2 + (256 * 64 // 128) * 2


# -- verifiers reject bad shapes with a VerifyException, whatever the ranks --------------------

SHAPES = st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple)


def _build(kind: str, shapes: list[tuple[int, ...]]) -> g.GraphOp:
    vals = [v(*s) for s in shapes[1:]]
    out = [t(*shapes[0])]
    props: dict[str, Attribute] = {}
    cls: type[g.GraphOp]
    if kind == "attention":
        cls = g.AttentionOp
        props = {"variant": g.AttentionVariantAttr(g.AttentionVariant.MHA), "heads": i64(2),
                 "kv_heads": i64(2), "qk_dim": i64(2), "v_dim": i64(2)}
    elif kind == "mla":
        cls = g.AttentionOp
        props = {"variant": g.AttentionVariantAttr(g.AttentionVariant.MLA), "heads": i64(2),
                 "kv_heads": i64(1), "qk_dim": i64(3), "v_dim": i64(2), "rope_dim": i64(1)}
    elif kind == "moe":
        cls = g.MoeOp
        props = {"experts": i64(2), "top_k": i64(1), "shared": i64(0)}
    elif kind == "kv_append":
        cls = g.KvAppendOp
        props = {"cache": StringAttr("k")}
    else:
        cls = {"linear": g.LinearOp, "lm_head": g.LmHeadOp, "matmul": g.MatmulOp,
               "embedding": g.EmbeddingOp, "layernorm": g.LayerNormOp, "rmsnorm": g.RmsNormOp,
               "add": g.AddOp, "concat": g.ConcatOp}[kind]
    return cls.create(operands=vals, result_types=out,
                      properties={"layer": i64(0), "block": g.BlockAttr(g.Block.OTHER),
                                  **props})


ARITY = {"linear": 3, "lm_head": 2, "matmul": 2, "embedding": 2, "layernorm": 3, "rmsnorm": 2,
         "add": 2, "concat": 3, "attention": 3, "mla": 4, "moe": 5, "kv_append": 2}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(ARITY)), st.data())
def test_verifiers_never_crash(kind: str, data: st.DataObject) -> None:
    shapes = [data.draw(SHAPES) for _ in range(ARITY[kind] + 1)]
    if kind in ("rmsnorm", "layernorm"):  # the result type is tied to the input's
        shapes[0] = shapes[1]
    op = _build(kind, shapes)
    try:
        op.verify()
    except VerifyException:
        return
    op.work()  # a verified op can always count its work
