"""shard-tensor: the work, weights and collectives of one chip's shard, computed by hand from
the architecture (llama3-8b's config, small GPT-2 and DeepSeek-like decoders)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp
from xdsl.parser import Parser

from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model
from meshc.frontends.arch import Arch
from meshc.frontends.transformer import Shape, build
from meshc.ir.graph import (
    AddOp,
    AttentionOp,
    CollectiveOp,
    DequantizeOp,
    EmbeddingOp,
    GraphOp,
    LinearOp,
    LmHeadOp,
    MoeOp,
    QuantizeOp,
    WeightOp,
)
from meshc.ir.work import Work
from meshc.passes._common import unique_weights, weight_bytes
from meshc.passes._sharding import shape
from meshc.pipelines import apply
from meshc.registry import make_context

T = TypeVar("T")

# llama3-8b (meshc/frontends/zoo/llama3-8b.yaml)
D, L, F, V, HEADS, KVH, HD = 4096, 32, 14336, 128256, 32, 8, 128
SEQ = KV = 64


def llama(tp: int) -> ModuleOp:
    m = load_model(ModelRequest("llama3-8b", ("prefill", "decode"), Shape(1, SEQ, KV)))
    return apply(m, f"shard-tensor{{tp={tp}}}") if tp > 1 else m


def tiny(passes: str = "", **kw: object) -> ModuleOp:
    arch = Arch.model_validate({"name": "tiny", "hidden": 64, "layers": 2, "heads": 4,
                                "kv_heads": 2, "intermediate": 128, "vocab": 256, **kw})
    m = build(arch, ("prefill", "decode"), Shape(1, 8, 8))
    return apply(m, passes) if passes else m


def gpt2_like(passes: str = "") -> ModuleOp:
    """GPT-2's structure (biases, layernorm, tied table, learned positions, MHA) at a
    vocabulary that divides."""
    return tiny(passes, kv_heads=None, linear_bias=True, tied_embeddings=True,
                positions="learned", max_positions=64, norm="layernorm", gated=False,
                activation="gelu_tanh")


def phases(m: ModuleOp) -> dict[str, func.FuncOp]:
    return {f.sym_name.data: f for f in m.ops if isinstance(f, func.FuncOp)}


def total(f: func.FuncOp) -> Work:
    out = Work()
    for op in f.walk():
        if isinstance(op, GraphOp) and not isinstance(op, WeightOp):
            out = out + op.work()
    return out


def ops(f: func.FuncOp | ModuleOp, cls: type[T]) -> list[T]:
    return [op for op in f.walk() if isinstance(op, cls)]


def chip_weight_bytes(m: ModuleOp) -> int:
    return sum(weight_bytes(w) for w in unique_weights(m).values())


def param_shape(m: ModuleOp, param: str, user: type = GraphOp) -> tuple[int, ...]:
    shapes = {tuple(w.result.type.get_shape()) for w in ops(m, WeightOp)
              if w.param.data == param and any(isinstance(u.operation, user)
                                                for u in w.result.uses)}
    assert len(shapes) == 1, shapes
    return shapes.pop()


# --- llama3-8b ---------------------------------------------------------------------------


@pytest.mark.parametrize("tp", [2, 8, 16])
def test_llama_macs_times_tp_are_the_model_plus_duplicated_kv_heads(tp: int) -> None:
    """Each chip has heads/tp query heads and min(tp, 8)-way split K/V: at tp=16 two chips
    compute each KV head, so the K and V projections run twice."""
    whole, shard = llama(1), llama(tp)
    dup = tp // min(tp, KVH)
    for phase, tokens in (("prefill", SEQ), ("decode", 1)):
        a, b = total(phases(whole)[phase]), total(phases(shard)[phase])
        kv_proj = L * tokens * 2 * D * KVH * HD
        assert b.linear_macs * tp == a.linear_macs + (dup - 1) * kv_proj, phase
        assert b.attention_macs * tp == a.attention_macs, phase
        assert b.kv_write_bytes * tp == a.kv_write_bytes * dup, phase


def test_llama_weight_bytes_per_chip() -> None:
    tp = 2
    layer = (2 * D * D + 2 * D * KVH * HD + 3 * D * F) // tp + 2 * D
    want = 2 * (L * layer + 2 * V * D // tp + D)  # bf16; the embedding is vocab-parallel
    assert chip_weight_bytes(llama(tp)) == want
    assert chip_weight_bytes(llama(1)) == 2 * (L * (layer * tp - 2 * D * (tp - 1)) + 2 * V * D + D)


def test_llama_all_reduces_after_o_and_down_and_a_logits_all_gather() -> None:
    m = llama(8)
    assert m.attributes["meshc.tp"] == IntegerAttr(8, 64)
    for f in phases(m).values():
        colls = ops(f, CollectiveOp)
        reduces = [c for c in colls if c.kind_name == "all_reduce"]
        assert [(c.layer_index, c.block_name) for c in reduces] == [(-1, "other")] + [
            (i, b) for i in range(L) for b in ("attention", "mlp")]
        assert isinstance(reduces[0].input.owner, EmbeddingOp)  # vocabulary-parallel
        for c in reduces[1:]:  # right after the row-parallel linear it sums
            producer = c.input.owner
            assert isinstance(producer, LinearOp) and c.n_chips == 8
            assert f.body.block.get_operation_index(c) == \
                f.body.block.get_operation_index(producer) + 1
            assert next(iter(producer.result.uses)).operation is c
        gathers = [c for c in colls if c.kind_name == "all_gather"]
        assert len(gathers) == 1 and isinstance(gathers[0].input.owner, LmHeadOp)
        assert gathers[0].result.type == f.function_type.outputs.data[0]
        assert tuple(gathers[0].result.type.get_shape()) == (1, 1, V)
        attn = ops(f, AttentionOp)[0]
        assert (attn.heads.value.data, attn.kv_heads.value.data) == (4, 1)
        assert attn.variant.data == "mqa"  # 4 query heads over the chip's one KV head


def test_tp_1_leaves_the_module_unchanged_and_tp_is_deterministic() -> None:
    m = load_model(ModelRequest("llama3-8b", ("decode",), Shape(1, SEQ, KV)))
    before = str(m)
    apply(m, "shard-tensor{tp=1}")
    assert str(m) == before
    assert str(tiny("shard-tensor{tp=2}")) == str(tiny("shard-tensor{tp=2}"))


# --- GPT-2's structure -------------------------------------------------------------------


def test_gpt2_biases_tied_table_and_macs() -> None:
    whole, shard = gpt2_like(), gpt2_like("shard-tensor{tp=4}")
    for phase in ("prefill", "decode"):
        a, b = total(phases(whole)[phase]), total(phases(shard)[phase])
        assert b.linear_macs * 4 == a.linear_macs
        assert b.attention_macs * 4 == a.attention_macs
    # the tied table's quarter serves the vocabulary-parallel embedding and lm_head alike
    assert param_shape(shard, "embed.tokens", LmHeadOp) == (64, 64)
    assert len({tuple(w.result.type.get_shape()) for w in ops(shard, WeightOp)
                if w.param.data == "embed.tokens"}) == 1
    assert param_shape(shard, "L0.q.bias") == (16,)  # column-parallel: its quarter
    assert param_shape(shard, "L0.o.bias") == (64,)  # row-parallel: whole, added once
    f = phases(shard)["decode"]
    o_bias = next(w for w in ops(f, WeightOp) if w.param.data == "L0.o.bias")
    (use,) = o_bias.result.uses
    assert isinstance(use.operation, AddOp)
    assert isinstance(use.operation.lhs.owner, CollectiveOp)
    # per chip: a quarter of the table and of the layers; positions and norms whole
    layer = (4 * 64 * 64 + 2 * 64 * 128) // 4 + (3 * 64 // 4 + 128 // 4) + 2 * 64 + 4 * 64
    assert chip_weight_bytes(shard) == 2 * (2 * layer + 64 * 64 + 64 * 64 + 2 * 64)


def test_gpt2_vocabulary_that_does_not_divide_is_padded() -> None:
    """50257 over 2 chips: each holds ceil(50257 / 2) = 25129 rows (the last padded, as
    Megatron pads); the gather drops the padding, so the logits keep their 50257; the token
    table of the embedding cannot split evenly and stays whole (vocabulary-parallel only
    when it divides)."""
    m = load_model(ModelRequest("gpt2", ("decode",), Shape(1, 16, 16)))
    apply(m, "shard-tensor{tp=2}")
    f = phases(m)["decode"]
    (head,) = ops(f, LmHeadOp)
    assert shape(head.weight) == (25129, 768) and shape(head.result)[-1] == 25129
    (gather,) = [c for c in ops(f, CollectiveOp) if c.kind_name == "all_gather"]
    assert shape(gather.result)[-1] == 50257 and gather.result.type == f.function_type.outputs.data[0]
    assert gather.payload_bytes() == 50257 * 2
    assert shape(ops(f, EmbeddingOp)[0].table) == (50257, 768)
    assert not any(isinstance(c.input.owner, EmbeddingOp) for c in ops(f, CollectiveOp))


# --- MLA and MoE ---------------------------------------------------------------------------

MLA = {"q_lora_rank": 32, "kv_lora_rank": 32, "qk_nope_dim": 16, "qk_rope_dim": 8,
       "v_head_dim": 16}
MOE = {"experts": 4, "top_k": 2, "shared": 1, "expert_intermediate": 32, "dense_layers": 1}


def test_mla_keeps_the_latent_whole_and_splits_q_b_and_absorb() -> None:
    whole, shard = tiny(kv_heads=None, mla=MLA), tiny("shard-tensor{tp=2}", kv_heads=None,
                                                       mla=MLA)
    for p in ("q_a", "kv_a", "k_rope"):  # they feed a norm or a concat: whole
        assert param_shape(shard, f"L0.{p}.weight") == param_shape(whole, f"L0.{p}.weight")
    assert param_shape(shard, "L0.q_b.weight") == (32, 2 * 24)
    assert param_shape(shard, "L0.kv_b.weight") == (32, 2 * (16 + 16))
    assert param_shape(shard, "L0.o.weight") == (2 * 16, 64)
    for phase, tokens in (("prefill", 8), ("decode", 1)):
        a, b = total(phases(whole)[phase]), total(phases(shard)[phase])
        replicated = 2 * tokens * 64 * (32 + 32 + 8)  # q_a, kv_a, k_rope on every chip
        assert b.linear_macs * 2 == a.linear_macs + replicated
        assert b.attention_macs * 2 == a.attention_macs
        assert b.kv_write_bytes == a.kv_write_bytes  # the latent cache is whole
    attn = ops(phases(shard)["decode"], AttentionOp)[0]
    assert (attn.heads.value.data, attn.kv_heads.value.data) == (2, 1)


def test_moe_splits_each_expert_and_reduces_its_result() -> None:
    m = tiny("shard-tensor{tp=2}", moe=MOE)
    assert param_shape(m, "L1.experts.gate") == (5, 64, 16)
    assert param_shape(m, "L1.experts.down") == (5, 16, 64)
    assert param_shape(m, "L1.router.weight") == (64, 4)
    for f in phases(m).values():
        (moe,) = ops(f, MoeOp)
        (use,) = moe.result.uses
        assert isinstance(use.operation, CollectiveOp) and use.operation.kind_name == "all_reduce"


def test_quantized_weights_keep_groups_and_kv_quantize_stays_per_row() -> None:
    m = tiny("lower-quant{weights=int4 group=16},shard-tensor{tp=2}")
    o = next(w for w in ops(m, WeightOp) if w.param.data == "L0.o.weight")
    assert o.group is not None and o.group.value.data == 16
    assert tuple(o.result.type.get_shape()) == (32, 64)
    # a KV row of 2 heads x 16 is one group of 32; the chip's row of one head, one of 16
    m = tiny("lower-quant{kv=int8 group=128},shard-tensor{tp=2}")
    groups = {(q.group.value.data, shape(q.input)[-1]) for q in ops(m, QuantizeOp)}
    assert groups == {(16, 16)}
    with pytest.raises(MeshcError, match=r"tfm.linear 'L0.o.weight' \(layer 0, attention\): a "
                       r"chip's 16 rows of 'L0.o.weight' cut its quantization groups of 32"):
        tiny("lower-quant{weights=int4 group=32},shard-tensor{tp=4}")


def test_attention_and_mlp_blocks_with_their_own_tp() -> None:
    m = tiny("shard-tensor{tp=2 blocks=attention},shard-tensor{tp=4 blocks=mlp}")
    assert param_shape(m, "L0.q.weight") == (64, 32)
    assert param_shape(m, "L0.gate.weight") == (64, 32)
    assert param_shape(m, "lm_head") == (256, 64)  # block other: whole
    assert "meshc.tp" not in m.attributes
    assert m.attributes["meshc.tp.attention"] == IntegerAttr(2, 64)
    assert m.attributes["meshc.tp.mlp"] == IntegerAttr(4, 64)
    chips = sorted({(c.block_name, c.n_chips) for c in ops(m, CollectiveOp)})
    assert chips == [("attention", 2), ("mlp", 4)]


# --- failures --------------------------------------------------------------------------------

IR_CONCAT_Q = """
func.func @decode(%0: tensor<1x1x8xbf16>) -> tensor<1x1x8xbf16> {
  %1 = tfm.weight "q" layer 0 attention : tensor<8x8xbf16>
  %2 = tfm.linear %0, %1 layer 0 attention : tensor<1x1x8xbf16>, tensor<8x8xbf16> -> tensor<1x1x8xbf16>
  %3 = tfm.concat %2 layer 0 attention : tensor<1x1x8xbf16> -> tensor<1x1x8xbf16>
  %4 = tfm.attention mha %3, %2, %2 heads 2 kv_heads 2 qk_dim 4 v_dim 4 layer 0 attention
    : tensor<1x1x8xbf16>, tensor<1x1x8xbf16>, tensor<1x1x8xbf16> -> tensor<1x1x8xbf16>
  func.return %4 : tensor<1x1x8xbf16>
}
"""


def parsed(text: str) -> ModuleOp:
    return Parser(make_context(), text).parse_module()


@pytest.mark.parametrize("build_it, passes, message", [
    (lambda: tiny(heads=4, kv_heads=2), "shard-tensor{tp=8}",
     r"tfm.attention \(layer 0, attention\) has 4 heads, which do not divide over tp=8 chips"),
    (lambda: tiny(heads=6, kv_heads=3, hidden=48), "shard-tensor{tp=2}",
     r"has 3 KV heads: tp=2 must divide them or be a multiple of them"),
    (lambda: tiny(intermediate=90), "shard-tensor{tp=4}",
     r"tfm.linear 'L0.gate.weight' \(layer 0, mlp\): its 90 columns do not divide over 4 chips"),
    (lambda: tiny(moe={**MOE, "expert_intermediate": 30}), "shard-tensor{tp=4}",
     r"tfm.moe 'L1.experts.gate' \(layer 1, mlp\): the experts' 30 ffn columns do not divide"),
    (lambda: parsed(IR_CONCAT_Q), "shard-tensor{tp=2}",
     r"tfm.concat \(layer 0, attention\) reads a shard and meshc cannot split it, but "
     r"tfm.attention \(layer 0, attention\) splits its heads over tp=2 chips"),
    (lambda: tiny(), "shard-tensor{tp=0}", r"tp must be a positive integer, got '0'"),
    (lambda: tiny(), "shard-tensor{tp=2 blocks=moe}", r"blocks=moe is not a block"),
    (lambda: tiny(), "shard-tensor{tp=2 blocks=mlp},shard-tensor{tp=2}",
     r"already sharded \(meshc.tp.mlp\); shard each once"),
])
def test_failures_name_the_op_and_what_to_change(build_it: Callable[[], ModuleOp], passes: str,
                                                 message: str) -> None:
    with pytest.raises(MeshcError, match=message):
        apply(build_it(), passes)


def with_after_logits(m: ModuleOp, line: str) -> ModuleOp:
    """`m`'s last function with `line` (reading %logits, giving %out) before its return."""
    head, _, tail = str(m).rpartition("    func.return ")
    value, _, rest = tail.partition(" : ")
    typ = rest.split("\n", 1)[0]
    line = line.replace("%logits", value).replace("TYPE", typ)
    return parsed(f"{head}    {line}\n    func.return %out : {typ}\n  }}\n}}\n")


@pytest.mark.parametrize("line, message", [
    ("%out = tfm.softmax %logits layer -1 other : TYPE",
     r"tfm.softmax \(layer -1, other\) normalizes over more than one head, but tfm.lm_head "
     r"'lm_head' \(layer -1, other\) splits the vocabulary over tp=2 chips"),
    ('%out = tfm.generic "ArgMax" (%logits) macs 0 vector_ops 1 layer -1 other : (TYPE) -> TYPE',
     r"tfm.generic \(layer -1, other\) reads a shard and meshc cannot split it, but "
     r"tfm.lm_head 'lm_head' \(layer -1, other\) splits the vocabulary"),
])
def test_logits_only_gather_for_the_return(line: str, message: str) -> None:
    with pytest.raises(MeshcError, match=message):
        apply(with_after_logits(tiny(), line), "shard-tensor{tp=2}")


def test_logits_are_gathered_after_a_dequantize() -> None:
    m = tiny("lower-quant{acts=int8},shard-tensor{tp=2}")
    for f in phases(m).values():
        ret = f.body.block.last_op
        assert isinstance(ret, func.ReturnOp)
        gather = ret.operands[0].owner
        assert isinstance(gather, CollectiveOp) and gather.kind_name == "all_gather"
        assert shape(gather.input)[-1] == 128 and shape(gather.result)[-1] == 256
        assert isinstance(gather.input.owner, DequantizeOp)


IR_TWO_FACTORS = """
func.func @decode(%0: tensor<1x1x16xbf16>, %1: tensor<1x1x4xbf16>) -> tensor<1x1x4xbf16> {
  %2 = tfm.attention gqa %0, %1, %1 heads 8 kv_heads 2 qk_dim 2 v_dim 2 layer 0 attention
    : tensor<1x1x16xbf16>, tensor<1x1x4xbf16>, tensor<1x1x4xbf16> -> tensor<1x1x16xbf16>
  %3 = tfm.attention mha %1, %1, %1 heads 4 kv_heads 4 qk_dim 1 v_dim 1 layer 1 attention
    : tensor<1x1x4xbf16>, tensor<1x1x4xbf16>, tensor<1x1x4xbf16> -> tensor<1x1x4xbf16>
  func.return %3 : tensor<1x1x4xbf16>
}
"""

IR_WEIGHT_FROM_ARGUMENT = """
func.func @decode(%0: tensor<1x1x8xbf16>, %1: tensor<8x8xbf16>) -> tensor<1x1x8xbf16> {
  %2 = tfm.linear %0, %1 layer 0 attention : tensor<1x1x8xbf16>, tensor<8x8xbf16> -> tensor<1x1x8xbf16>
  %3 = tfm.weight "k" layer 0 attention : tensor<8x8xbf16>
  %4 = tfm.linear %0, %3 layer 0 attention : tensor<1x1x8xbf16>, tensor<8x8xbf16> -> tensor<1x1x8xbf16>
  %5 = tfm.attention mha %2, %4, %4 heads 4 kv_heads 4 qk_dim 2 v_dim 2 layer 0 attention
    : tensor<1x1x8xbf16>, tensor<1x1x8xbf16>, tensor<1x1x8xbf16> -> tensor<1x1x8xbf16>
  %6 = tfm.weight "o" layer 0 attention : tensor<8x8xbf16>
  %7 = tfm.linear %5, %6 layer 0 attention : tensor<1x1x8xbf16>, tensor<8x8xbf16> -> tensor<1x1x8xbf16>
  func.return %7 : tensor<1x1x8xbf16>
}
"""

IR_PHASES_DIFFER = """
func.func @prefill(%0: tensor<1x4x8xbf16>) -> tensor<1x4x8xbf16> {
  %1 = tfm.weight "up" layer 0 mlp : tensor<8x16xbf16>
  %2 = tfm.linear %0, %1 layer 0 mlp : tensor<1x4x8xbf16>, tensor<8x16xbf16> -> tensor<1x4x16xbf16>
  %3 = tfm.weight "down" layer 0 mlp : tensor<16x8xbf16>
  %4 = tfm.linear %2, %3 layer 0 mlp : tensor<1x4x16xbf16>, tensor<16x8xbf16> -> tensor<1x4x8xbf16>
  func.return %4 : tensor<1x4x8xbf16>
}
func.func @decode(%0: tensor<1x1x8xbf16>) -> tensor<1x1x16xbf16> {
  %1 = tfm.weight "up" layer 0 mlp : tensor<8x16xbf16>
  %2 = tfm.linear %0, %1 layer 0 mlp : tensor<1x1x8xbf16>, tensor<8x16xbf16> -> tensor<1x1x16xbf16>
  func.return %2 : tensor<1x1x16xbf16>
}
"""


@pytest.mark.parametrize("text, message", [
    (IR_TWO_FACTORS, r"tfm.attention \(layer 1, attention\) needs one value split both 4 and 2 "
     r"ways"),
    (IR_WEIGHT_FROM_ARGUMENT, r"tfm.linear \(layer 0, attention\): operand 1 is not a "
     r"tfm.weight, and meshc splits only weights"),
    (IR_PHASES_DIFFER, r"weight 'up' would be split as tensor<8x4xbf16> in one function and "
     r"tensor<8x16xbf16> in another"),
])
def test_failures_on_hand_written_ir(text: str, message: str) -> None:
    with pytest.raises(MeshcError, match=message):
        apply(parsed(text), "shard-tensor{tp=4}")
