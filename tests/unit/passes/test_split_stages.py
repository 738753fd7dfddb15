"""split-stages on llama3-8b, gpt2 and llama3-70b: the layer ranges, the chain of sends and
arguments, the work kept, and the helpers of _stages.py (stage_info, step_key)."""

from __future__ import annotations

import time

import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, ModuleOp, StringAttr, i64
from xdsl.parser import Parser

from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model
from meshc.frontends.transformer import Shape
from meshc.ir.graph import CollectiveKind, CollectiveOp, EmbeddingOp, GraphOp, LmHeadOp, WeightOp
from meshc.ir.work import Work
from meshc.passes._stages import (
    ATTR_LAYERS,
    ATTR_ROLE,
    ATTR_SOURCES,
    ATTR_STEP,
    PHASE_INPUT,
    StageInfo,
    param_kind,
    stage_info,
    step_attributes,
    step_key,
)
from meshc.pipelines import apply
from meshc.registry import make_context

L = 32  # llama3-8b's layers
PHASES = ("prefill", "decode")


def model(name: str = "llama3-8b", seq: int = 16,
          phases: tuple[str, ...] = PHASES) -> ModuleOp:
    return load_model(ModelRequest(name, phases, Shape(1, seq, seq)))


def split(spec: str, name: str = "llama3-8b", seq: int = 16) -> ModuleOp:
    m = model(name, seq)
    apply(m, spec)
    return m


def chain(m: ModuleOp, phase: str) -> list[func.FuncOp]:
    """The phase's steps in module order; asserts that it is the chain order."""
    fs = [f for f in m.ops if isinstance(f, func.FuncOp) and stage_info(f).phase == phase]
    assert [stage_info(f).step for f in fs] == list(range(len(fs)))
    return fs


def work(fs: list[func.FuncOp]) -> Work:
    out = Work()
    for f in fs:
        for op in f.walk():
            if isinstance(op, GraphOp) and not isinstance(op, WeightOp):
                out = out + op.work()
    return out


def returned(f: func.FuncOp) -> list[object]:
    ret = f.body.block.last_op
    assert isinstance(ret, func.ReturnOp)
    return list(ret.arguments)


# --- by=layer --------------------------------------------------------------------------------


@pytest.mark.parametrize(("stages", "layers"), [
    (1, [(0, 31)]),
    (2, [(0, 15), (16, 31)]),
    (4, [(0, 7), (8, 15), (16, 23), (24, 31)]),
    (5, [(0, 6), (7, 13), (14, 19), (20, 25), (26, 31)]),  # 32 = 7 + 7 + 6 + 6 + 6
    (32, [(i, i) for i in range(32)]),
])
def test_by_layer_cuts_even_contiguous_ranges(stages: int, layers: list[tuple[int, int]]) -> None:
    m = split(f"split-stages{{stages={stages}}}")
    for phase in PHASES:
        fs = chain(m, phase)
        infos = [stage_info(f) for f in fs]
        assert [i.layers for i in infos] == layers
        assert [i.stage for i in infos] == list(range(stages))
        assert {i.role for i in infos} == {"any"}
        names = [f.sym_name.data for f in fs]
        assert names == ([phase] if stages == 1 else [f"{phase}.s{i}" for i in range(stages)])
        for f, (first, last) in zip(fs, layers, strict=True):  # each step holds its layers
            held = {op.layer_index for op in f.walk() if isinstance(op, GraphOp)} - {-1}
            assert held == set(range(first, last + 1))
        # the embedding in the first step, the LM head in the last
        assert any(isinstance(op, EmbeddingOp) for op in fs[0].walk())
        assert any(isinstance(op, LmHeadOp) for op in fs[-1].walk())
        assert all(not isinstance(op, LmHeadOp) for f in fs[:-1] for op in f.walk())


def test_one_stage_leaves_the_function_whole() -> None:
    whole, m = model(), split("split-stages{stages=1}")
    for a, b in zip(whole.ops, m.ops, strict=True):
        assert isinstance(a, func.FuncOp) and isinstance(b, func.FuncOp)
        assert len(list(a.walk())) == len(list(b.walk()))
        assert stage_info(b) == StageInfo(a.sym_name.data, 0, 0, "any", (0, L - 1),
                                          ((PHASE_INPUT, 0),))
    assert not any(isinstance(op, CollectiveOp) for op in m.walk())


@pytest.mark.parametrize(("spec", "message"), [
    ("split-stages{stages=33}", "@prefill has 32 layers, fewer than stages=33; use stages <= 32"),
    ("split-stages{stages=0}", "stages must be a positive integer, got '0'"),
    ("split-stages{by=head}", "by must be layer or block, got 'head'"),
    ("split-stages{stages=2},split-stages{stages=2}",
     "@prefill.s0 is already a step (meshc.step); run split-stages once"),
])
def test_bad_requests_fail_in_one_line(spec: str, message: str) -> None:
    with pytest.raises(MeshcError) as e:
        split(spec)
    assert e.value.message == message


# --- by=block --------------------------------------------------------------------------------


def test_by_block_alternates_attention_and_mlp_steps_with_their_stage() -> None:
    m = split("split-stages{stages=4 by=block}")
    for phase in PHASES:
        infos = [stage_info(f) for f in chain(m, phase)]
        assert len(infos) == 2 * L
        assert [i.role for i in infos] == ["attention", "mlp"] * L
        assert [i.layers for i in infos] == [(i // 2, i // 2) for i in range(2 * L)]
        assert [i.stage for i in infos] == [i // 16 for i in range(2 * L)]  # 8 layers a stage
        assert [i.sources for i in infos[1:]] == [((s, 0),) for s in range(2 * L - 1)]


# --- the chain -------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["split-stages{stages=4}", "split-stages{stages=3 by=block}"])
def test_steps_keep_the_work_and_close_the_chain(spec: str) -> None:
    """The steps' MACs, vector work and KV cache sum to the phase's; every argument of a
    step is a phase input or a send of an earlier step, every send feeds exactly one
    argument, and the non-send results are the phase's results."""
    whole, m = model(), split(spec)
    m.verify()
    for phase in PHASES:
        orig = next(f for f in whole.ops if isinstance(f, func.FuncOp)
                    and f.sym_name.data == phase)
        fs = chain(m, phase)
        a, b = work([orig]), work(fs)
        assert (b.macs, b.linear_macs, b.attention_macs) == (a.macs, a.linear_macs,
                                                              a.attention_macs)
        assert (b.vector_ops, b.kv_write_bytes, b.kv_read_bytes) == (
            a.vector_ops, a.kv_write_bytes, a.kv_read_bytes)
        fed: list[tuple[int, int]] = []
        for j, f in enumerate(fs):
            info = stage_info(f)
            for arg, (t, r) in zip(f.args, info.sources, strict=True):
                if t == PHASE_INPUT:
                    assert arg.type == orig.args[r].type
                    continue
                assert 0 <= t < j
                send = returned(fs[t])[r].owner  # type: ignore[attr-defined]
                assert isinstance(send, CollectiveOp) and send.kind_name == CollectiveKind.SEND
                assert send.n_chips == 2 and send.input.type == arg.type
                fed.append((t, r))
        sends = [(t, r) for t, f in enumerate(fs) for r, v in enumerate(returned(f))
                 if isinstance(v.owner, CollectiveOp)]  # type: ignore[attr-defined]
        assert sorted(fed) == sends  # each send feeds one argument
        results = [v.type for f in fs for v in returned(f)  # type: ignore[attr-defined]
                   if not isinstance(v.owner, CollectiveOp)]  # type: ignore[attr-defined]
        assert results == [v.type for v in returned(orig)]  # type: ignore[attr-defined]


def test_split_is_deterministic_and_round_trips() -> None:
    a, b = split("split-stages{stages=3 by=block}"), split("split-stages{stages=3 by=block}")
    assert str(a) == str(b)
    again = Parser(make_context(), str(a)).parse_module()
    assert str(again) == str(a)


def test_gpt2_tied_table_is_in_the_first_and_the_last_step() -> None:
    m = split("split-stages{stages=3}", "gpt2")
    for phase in PHASES:
        fs = chain(m, phase)
        holders = [i for i, f in enumerate(fs) for op in f.walk()
                   if isinstance(op, WeightOp) and op.param.data == "embed.tokens"]
        assert holders == [0, len(fs) - 1]
        head = next(op for op in fs[-1].walk() if isinstance(op, LmHeadOp))
        assert isinstance(head.weight.owner, WeightOp)  # read in its own step, not sent
        assert head.weight.owner.param.data == "embed.tokens"
        # gpt2's positions are a phase input: the first step takes both token inputs
        assert stage_info(fs[0]).sources == ((PHASE_INPUT, 0), (PHASE_INPUT, 1))


# --- step_key ----------------------------------------------------------------------------------


def test_step_key_equal_for_the_middle_layers_only() -> None:
    m = split("split-stages{stages=32}")
    for phase in PHASES:
        keys = [step_key(f) for f in chain(m, phase)]
        assert len(set(keys[1:-1])) == 1  # layers 1..30: one function to map
        assert len({keys[0], keys[1], keys[-1]}) == 3  # embedding / LM head make their own
    prefill, decode = chain(m, "prefill"), chain(m, "decode")
    assert step_key(prefill[5]) != step_key(decode[5])  # 16 tokens against 1
    other = chain(split("split-stages{stages=32}", seq=32), "prefill")
    assert step_key(other[5]) != step_key(prefill[5])  # other shapes


def test_step_key_tells_parameter_kinds_apart() -> None:
    """q and o of llama3-8b are both 4096x4096: renaming one into the other changes the key;
    renaming into another layer's name does not."""
    f = chain(split("split-stages{stages=32}"), "decode")[5]
    q = next(op for op in f.walk() if isinstance(op, WeightOp) and op.param.data == "L5.q.weight")
    key = step_key(f)
    q.properties["param"] = StringAttr("L5.o.weight")
    assert step_key(f) != key
    q.properties["param"] = StringAttr("L5.q.weight")
    assert step_key(f) == key
    q.properties["layer"] = IntegerAttr(9, 64)
    q.properties["param"] = StringAttr("L9.q.weight")
    assert step_key(f) == key


def test_param_kind() -> None:
    assert param_kind("L12.q.weight", 12) == "L#.q.weight"
    assert param_kind("model.layers.3.mlp.w1", 3) == "model.layers.#.mlp.w1"
    assert param_kind("L1.w1.weight", 1) == "L#.w1.weight"  # w1 is a kind, not the layer
    assert param_kind("L12.q.weight", 1) == "L12.q.weight"
    assert param_kind("embed.tokens", -1) == "embed.tokens"


def test_step_key_is_fast_on_llama3_70b() -> None:
    m = model("llama3-70b", 16, ("decode",))
    apply(m, "split-stages{stages=8 by=block}")
    fs = chain(m, "decode")
    start = time.perf_counter()
    keys = [step_key(f) for f in fs]
    assert time.perf_counter() - start < 1.0 and len(keys) == 160
    assert len(set(keys)) == 4  # attention and MLP, and the first and last of them


# --- stage_info ----------------------------------------------------------------------------------


def test_stage_info_round_trips_and_defaults() -> None:
    m = model(phases=("decode",))
    f = next(op for op in m.ops if isinstance(op, func.FuncOp))
    assert stage_info(f) == StageInfo("decode", 0, 0, "any", (0, 31), ((PHASE_INPUT, 0),))
    info = StageInfo("decode", 3, 1, "mlp", (4, 4), ((2, 1),))
    f.attributes.update(step_attributes(info))
    assert stage_info(f) == info
    del f.attributes[ATTR_SOURCES]  # without sources: every argument the phase's
    assert stage_info(f).sources == ((PHASE_INPUT, 0),)


@pytest.mark.parametrize(("key", "value", "message"), [
    (ATTR_ROLE, StringAttr("gpu"), "must be #meshc<role any|attention|mlp>"),
    (ATTR_STEP, IntegerAttr(-1, 64), "must be a non-negative integer"),
    (ATTR_LAYERS, DenseArrayBase.from_list(i64, [3, 2]), "must be [first, last] layer"),
    (ATTR_LAYERS, StringAttr("0-3"), "must be array<i64: ...>"),
    (ATTR_SOURCES, DenseArrayBase.from_list(i64, [3, 0]), "each step -1 or an earlier step"),
    (ATTR_SOURCES, DenseArrayBase.from_list(i64, [0, 0, 1, 0]), "must be 1 pairs"),
])
def test_stage_info_rejects_malformed_attributes(key: str, value: object,
                                                 message: str) -> None:
    m = model(phases=("decode",))
    f = next(op for op in m.ops if isinstance(op, func.FuncOp))
    f.attributes.update(step_attributes(StageInfo("decode", 2, 0, "any", (0, 31), ((1, 0),))))
    f.attributes[key] = value  # type: ignore[assignment]
    with pytest.raises(MeshcError) as e:
        stage_info(f)
    assert message in e.value.message and e.value.where == f"@decode {key}"


def test_stage_info_names_missing_attributes() -> None:
    m = model(phases=("decode",))
    f = next(op for op in m.ops if isinstance(op, func.FuncOp))
    f.attributes[ATTR_STEP] = IntegerAttr(1, 64)
    with pytest.raises(MeshcError) as e:
        stage_info(f)
    assert "not meshc.phase, meshc.stage, meshc.role, meshc.layers" in e.value.message
