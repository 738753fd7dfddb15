"""shard-experts: a chip's share of the routed experts, its dispatch and combine, computed by
hand from mixtral-8x7b's config and a small DeepSeek-like decoder."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp

from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model
from meshc.frontends.arch import Arch
from meshc.frontends.transformer import Shape, build
from meshc.ir.graph import CollectiveOp, GraphOp, MoeOp, WeightOp
from meshc.ir.work import Work
from meshc.passes._common import unique_weights, weight_bytes
from meshc.passes._tile_ops import moe_active
from meshc.pipelines import apply

# mixtral-8x7b (meshc/frontends/zoo/mixtral-8x7b.yaml)
D, L, F, E, K, V = 4096, 32, 14336, 8, 2, 32000


def mixtral(passes: str = "") -> ModuleOp:
    m = load_model(ModelRequest("mixtral-8x7b", ("decode",), Shape(1, 64, 64)))
    return apply(m, passes) if passes else m


def tiny(passes: str = "", **moe: int) -> ModuleOp:
    arch = Arch.model_validate({
        "name": "tiny", "hidden": 64, "layers": 2, "heads": 4, "kv_heads": 2,
        "intermediate": 128, "vocab": 256,
        "moe": {"experts": 8, "top_k": 2, "shared": 1, "expert_intermediate": 32,
                "dense_layers": 1, **moe}})
    m = build(arch, ("prefill", "decode"), Shape(1, 8, 8))
    return apply(m, passes) if passes else m


def moes(m: ModuleOp) -> list[MoeOp]:
    return [op for op in m.walk() if isinstance(op, MoeOp)]


def work(m: ModuleOp, cls: type[GraphOp] = GraphOp) -> Work:
    out = Work()
    for op in m.walk():
        if isinstance(op, cls) and isinstance(op, GraphOp) and not isinstance(op, WeightOp):
            out = out + op.work()
    return out


def shape_of(m: ModuleOp, param: str) -> tuple[int, ...]:
    shapes = {tuple(w.result.type.get_shape()) for w in m.walk()
              if isinstance(w, WeightOp) and w.param.data == param}
    assert len(shapes) == 1, shapes
    return shapes.pop()


def test_mixtral_ep4_holds_two_experts_and_keeps_top_k() -> None:
    whole, shard = mixtral(), mixtral("shard-experts{ep=4}")
    assert shard.attributes["meshc.ep"] == IntegerAttr(4, 64)
    assert shape_of(shard, "L0.experts.gate") == (2, D, F)
    assert shape_of(shard, "L0.experts.down") == (2, F, D)
    assert shape_of(shard, "L0.router.weight") == (D, E)
    assert {(m.experts.value.data, m.local_experts, m.top_k.value.data)
            for m in moes(shard)} == {(E, 2, K)}
    # one token still runs top_k experts; the router scores all 8
    a, b = work(whole, MoeOp), work(shard, MoeOp)
    assert a.macs == b.macs == L * (D * E + K * 3 * D * F)
    experts = sum(weight_bytes(w) for n, w in unique_weights(shard).items() if ".experts." in n)
    assert experts == L * 3 * 2 * D * F * 2  # bf16, 2 experts per chip
    # attention, norms and lm_head are untouched
    assert work(shard).attention_macs == work(whole).attention_macs


def test_dispatch_and_combine_around_every_moe() -> None:
    m = mixtral("shard-experts{ep=4}")
    (f,) = [op for op in m.ops if isinstance(op, func.FuncOp)]
    colls = [op for op in f.walk() if isinstance(op, CollectiveOp)]
    assert len(colls) == 2 * L
    for moe in moes(m):
        dispatch = moe.input.owner
        (use,) = moe.result.uses
        combine = use.operation
        for c in (dispatch, combine):
            assert isinstance(c, CollectiveOp) and c.kind_name == "all_to_all"
            assert (c.n_chips, c.fanout_count) == (4, K)
            assert (c.layer_index, c.block_name) == (moe.layer_index, "mlp")
        assert f.body.block.get_operation_index(combine) == \
            f.body.block.get_operation_index(moe) + 1
        assert isinstance(combine, CollectiveOp)
        assert combine.payload_bytes() == D * 2 * K  # one bf16 row to each of top_k chips


def test_with_tensor_parallel_first() -> None:
    m = mixtral("shard-tensor{tp=2},shard-experts{ep=4}")
    assert shape_of(m, "L0.experts.gate") == (2, D, F // 2)
    assert shape_of(m, "L0.experts.down") == (2, F // 2, D)
    for moe in moes(m):
        (use,) = moe.result.uses
        combine = use.operation
        assert isinstance(combine, CollectiveOp) and combine.kind_name == "all_to_all"
        (after,) = combine.result.uses
        assert isinstance(after.operation, CollectiveOp)
        assert after.operation.kind_name == "all_reduce" and after.operation.n_chips == 2
    assert work(m, MoeOp).macs == L * (D * E + K * 3 * D * F // 2)


def test_shared_experts_stay_on_every_chip_and_fanout_is_capped() -> None:
    m = tiny("shard-experts{ep=2}", top_k=4)
    assert shape_of(m, "L1.experts.gate") == (4 + 1, 64, 32)
    for moe in moes(m):
        assert (moe.local_experts, moe.shared.value.data) == (4, 1)
        c = moe.input.owner
        assert isinstance(c, CollectiveOp) and c.fanout_count == 2  # at most ep chips
    assert str(tiny("shard-experts{ep=2}")) == str(tiny("shard-experts{ep=2}"))


def test_a_chip_may_hold_fewer_experts_than_top_k() -> None:
    m = tiny("shard-experts{ep=8}")  # 1 of 8 routed experts per chip, top_k 2
    for moe in moes(m):
        assert (moe.local_experts, moe.top_k.value.data) == (1, 2)
        # its 2-token decode reaches its one expert: weights of 1 + 1 shared stream
        assert moe_active(moe)[1] == 1 + 1


def test_ep_1_leaves_the_module_unchanged() -> None:
    m = tiny()
    before = str(m)
    apply(m, "shard-experts{ep=1}")
    assert str(m) == before


@pytest.mark.parametrize("build_it, passes, message", [
    (lambda: load_model(ModelRequest("llama3-8b", ("decode",), Shape(1, 8, 8))),
     "shard-experts{ep=2}", r"ep needs a mixture-of-experts model; this one has no tfm.moe"),
    (tiny, "shard-experts{ep=3}", r"tfm.moe 'L1.experts.gate' \(layer 1, mlp\): its 8 routed "
     r"experts do not divide over ep=3 chips; use an ep that divides 8"),
    (tiny, "shard-experts{ep=0}", r"ep must be a positive integer, got '0'"),
    (tiny, "shard-experts{ep=2},shard-experts{ep=2}", r"already sharded \(meshc.ep\)"),
])
def test_failures(build_it: Callable[[], ModuleOp], passes: str, message: str) -> None:
    with pytest.raises(MeshcError, match=message):
        apply(build_it(), passes)
