"""The transformer expansion: the structure of each phase's graph."""

from __future__ import annotations

from collections import Counter

from xdsl.dialects import func

from meshc.frontends import zoo
from meshc.frontends.arch import Arch
from meshc.frontends.transformer import Shape, build
from meshc.ir import graph as g

SHAPE = Shape(batch=2, seq=16, kv_len=24)
TINY = Arch(name="tiny", hidden=64, layers=3, heads=4, kv_heads=2, intermediate=128, vocab=100)


def ops(arch: Arch, phase: str) -> list[g.GraphOp]:
    module = build(arch, (phase,), SHAPE)
    module.verify()
    [f] = [op for op in module.ops if isinstance(op, func.FuncOp)]
    assert f.sym_name.data == phase
    return [op for op in f.walk() if isinstance(op, g.GraphOp)]


def count(arch: Arch, phase: str) -> Counter[str]:
    return Counter(op.name for op in ops(arch, phase))


def test_prefill_writes_the_cache_and_reads_none() -> None:
    c = count(TINY, "prefill")
    assert c["tfm.kv_append"] == 2 * 3 and c["tfm.kv_read"] == 0
    assert c["tfm.attention"] == 3 and c["tfm.lm_head"] == 1


def test_decode_reads_the_past_and_attends_to_it_plus_one() -> None:
    c = count(TINY, "decode")
    assert c["tfm.kv_read"] == c["tfm.kv_append"] == 2 * 3
    for op in ops(TINY, "decode"):
        if isinstance(op, g.AttentionOp):
            assert op.dims() == (2, 4, 2, 1, SHAPE.kv_len + 1, 16, 16)
            assert op.variant.data == g.AttentionVariant.GQA and op.causal is not None
        if isinstance(op, g.LmHeadOp):
            assert op.last is None and op.result.type.get_shape() == (2, 1, 100)


def test_prefill_lm_head_on_the_last_token() -> None:
    [head] = [op for op in ops(TINY, "prefill") if isinstance(op, g.LmHeadOp)]
    assert head.last is not None and head.result.type.get_shape() == (2, 1, 100)


def test_every_op_knows_its_layer_and_block() -> None:
    for op in ops(TINY, "prefill"):
        if op.layer_index == -1:
            assert op.block_name == "other"
        else:
            assert 0 <= op.layer_index < 3 and op.block_name in ("attention", "mlp")


def test_moe_from_dense_layers_on() -> None:
    arch = zoo.get("deepseek-v3").model_copy(update={"layers": 5})
    moe_layers = [op.layer_index for op in ops(arch, "decode") if isinstance(op, g.MoeOp)]
    assert moe_layers == [3, 4]
    atts = [op for op in ops(arch, "decode") if isinstance(op, g.AttentionOp)]
    assert all(op.variant.data == g.AttentionVariant.MLA for op in atts)
    # the latent cache: kv_lora_rank + qk_rope_dim per token
    assert atts[0].k.type.get_shape() == (2, SHAPE.kv_len + 1, 512 + 64)


def test_tied_embeddings_share_the_table() -> None:
    weights = [op.param.data for op in ops(zoo.get("gpt2").model_copy(update={"layers": 1}),
                                            "prefill") if isinstance(op, g.WeightOp)]
    assert "lm_head" not in weights and weights.count("embed.tokens") == 1


def test_encoder_has_no_cache_and_no_head() -> None:
    c = count(zoo.get("minilm-l6"), "prefill")
    assert c["tfm.kv_append"] == c["tfm.lm_head"] == 0
    assert c["tfm.attention"] == 6
