"""Hostile and odd ONNX input (issue #13): nothing named inside a model is opened, no
expression or shape can make the import slow or allocate without bound, stored tensors
must match their shapes, malformed nodes are located errors, and older exporters' ways of
naming weights import. Whatever the bytes, the importer raises MeshcError or succeeds."""

from __future__ import annotations

import builtins
import itertools
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from meshc.errors import MeshcError
from meshc.frontends.onnx import load
from meshc.ir.summary import inspect_module

FIXTURES = Path(__file__).parents[2] / "fixtures" / "onnx"


def _f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _model(nodes, inputs=None, outputs=None, inits=(), opset=17, functions=()):
    graph = helper.make_graph(nodes, "g", inputs or [_f32("x", [2, 8])],
                              outputs or [_f32("y", [2, 8])], initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             functions=list(functions))


def _write(path: Path, m: onnx.ModelProto) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(m.SerializeToString())
    return path


def _error(path: Path, dims: dict[str, int] | None = None) -> MeshcError:
    with pytest.raises(MeshcError) as info:
        load(path, dims or {})
    assert info.value.file == str(path)
    return info.value


def _external(name: str, dtype: int, dims: list[int], location: str) -> TensorProto:
    t = TensorProto(name=name, data_type=dtype, dims=dims,
                    data_location=TensorProto.EXTERNAL)
    for k, v in (("location", location), ("offset", "0")):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


@pytest.fixture
def never_open(monkeypatch):
    """Fails the test if any path in `forbidden` is opened (builtins.open or os.open) or
    onnx is asked for external data. (Each file also holds data that would change the
    outcome if it were read: an opened file fails the test either way.)"""
    forbidden: set[str] = set()
    real_open, real_os_open = builtins.open, os.open

    def check(file):
        if isinstance(file, str | bytes | os.PathLike) and os.path.realpath(file) in forbidden:
            raise AssertionError(f"meshc opened {file}")

    def fake_open(file, *a, **k):
        check(file)
        return real_open(file, *a, **k)

    def fake_os_open(file, *a, **k):
        check(file)
        return real_os_open(file, *a, **k)

    def no_external(*a, **k):
        raise AssertionError("meshc asked onnx to read external data")

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)
    # onnx opens external files from C++ too: stop it where it starts
    for name in ("_read_external_data_bytes", "load_external_data_for_tensor",
                 "load_external_data_for_model"):
        monkeypatch.setattr(onnx.external_data_helper, name, no_external)
    return forbidden


# -- 1. external data is never opened ---------------------------------------------------------

@pytest.mark.parametrize("where", ["beside", "absolute", "parent"])
def test_external_constant_is_refused_and_never_opened(tmp_path, monkeypatch, never_open,
                                                        where):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.array([2, 8], np.int64).tobytes())  # would import if read
    never_open.add(os.path.realpath(secret))
    model_dir = tmp_path if where == "beside" else tmp_path / "models"
    location = {"beside": "secret.bin", "absolute": str(secret), "parent": "../secret.bin"}
    monkeypatch.chdir(model_dir if model_dir.exists() else tmp_path)
    const = _external("c", TensorProto.INT64, [2], location[where])
    m = _model([helper.make_node("Constant", [], ["shape"], name="shape_const", value=const),
                helper.make_node("Reshape", ["x", "shape"], ["y"], name="view")])
    path = _write(model_dir / "m.onnx", m)
    monkeypatch.chdir(model_dir)
    err = _error(path)
    assert err.where == "node 'shape_const' (Constant)"
    assert "never opens files named inside a model" in err.message
    assert location[where] in err.message
    assert err.hint is not None and "inside the .onnx file" in err.hint


def test_external_constant_of_shape_fill_is_refused(tmp_path, never_open):
    secret = tmp_path / "fill.bin"
    secret.write_bytes(np.ones(1, np.float32).tobytes())
    never_open.add(os.path.realpath(secret))
    shape = numpy_helper.from_array(np.array([2, 8], np.int64), "shape")
    m = _model([helper.make_node("ConstantOfShape", ["shape"], ["c"], name="fill",
                                 value=_external("v", TensorProto.FLOAT, [1], str(secret))),
                helper.make_node("Add", ["x", "c"], ["y"], name="add")], inits=[shape])
    err = _error(_write(tmp_path / "m.onnx", m))
    assert err.where == "node 'fill' (ConstantOfShape)" and "never opens" in err.message


def test_external_weights_need_only_their_shape(tmp_path, never_open):
    secret = tmp_path / "w.bin"
    secret.write_bytes(b"abc")  # 3 bytes: reading them as an 8x8 weight would fail
    never_open.add(os.path.realpath(secret))
    w = _external("w", TensorProto.FLOAT, [8, 8], str(secret))
    m = _model([helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")], inits=[w])
    s = inspect_module(load(_write(tmp_path / "m.onnx", m), {}))["phases"]["graph"]
    assert (s["macs"], s["parameters"]) == (2 * 8 * 8, 64)


def test_external_shape_initializer_without_declared_shape(tmp_path, never_open):
    secret = tmp_path / "s.bin"
    secret.write_bytes(np.array([2, 8], np.int64).tobytes())
    never_open.add(os.path.realpath(secret))
    m = _model([helper.make_node("Reshape", ["x", "s"], ["t"], name="view"),
                helper.make_node("Relu", ["t"], ["y"])],
               inits=[_external("s", TensorProto.INT64, [2], "s.bin")])
    err = _error(_write(tmp_path / "m.onnx", m))
    assert err.where == "node 'view' (Reshape)" and "never opens" in err.message
    assert err.hint is not None and "re-export" in err.hint


# -- 3. dimensions: bounded expressions and sizes -------------------------------------------

@pytest.mark.parametrize(("param", "message"), [
    ("9**9**9", "an exponent of 9"),
    ("seq/0", "divides by zero"),
    ("seq//0", "divides by zero"),
    ("seq/3", "evaluates to 8/3, not an integer"),
    ("seq*1099511627776", "over the limit"),
    ("seq - 8", "evaluates to 0"),
])
def test_hostile_dim_params(tmp_path, param, message):
    m = _model([helper.make_node("Relu", ["x"], ["y"])],
               inputs=[_f32("x", [2, "seq", param])], outputs=[_f32("y", None)])
    err = _error(_write(tmp_path / "m.onnx", m), {"seq": 8})
    assert message in err.message and err.where == "input 'x'"


def test_huge_static_dims_are_refused(tmp_path):
    m = _model([helper.make_node("Relu", ["x"], ["y"])], inputs=[_f32("x", [2 ** 62, 8])])
    err = _error(_write(tmp_path / "m.onnx", m))
    assert "over the limit of 1,099,511,627,776 elements" in err.message
    assert err.hint is not None and "--limit dim=" in err.hint
    w = _external("w", TensorProto.FLOAT, [2 ** 31, 2 ** 31], "w.bin")
    m = _model([helper.make_node("MatMul", ["x", "w"], ["y"])], inits=[w])
    err = _error(_write(tmp_path / "m.onnx", m))
    assert "initializer 'w'" in err.message and "too many elements" in err.message


def _i64(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


@pytest.mark.parametrize("node, inits", [
    (helper.make_node("ConstantOfShape", ["s"], ["c"], name="big"), [_i64("s", [2 ** 30] * 2)]),
    (helper.make_node("Expand", ["x", "s"], ["c"], name="big"), [_i64("s", [2 ** 38, 2, 8])]),
    (helper.make_node("Tile", ["x", "s"], ["c"], name="big"), [_i64("s", [2 ** 30, 2 ** 30])]),
    (helper.make_node("Range", ["a", "b", "d"], ["c"], name="big"),
     [_i64("a", 0), _i64("b", 2 ** 50), _i64("d", 1)]),
    (helper.make_node("Reshape", ["x", "s"], ["c"], name="big"), [_i64("s", [2 ** 41, 0])]),
])
def test_huge_shapes_are_refused_before_anything_allocates(tmp_path, node, inits):
    m = _model([node, helper.make_node("Identity", ["x"], ["y"])], inits=inits)
    err = _error(_write(tmp_path / "m.onnx", m))
    assert err.where == f"node 'big' ({node.op_type})"
    assert "over the limit" in err.message or "cannot reshape" in err.message


def test_dim_limit_can_be_raised(tmp_path, monkeypatch):
    m = _model([helper.make_node("Relu", ["x"], ["y"])], inputs=[_f32("x", [64, 64])],
               outputs=[_f32("y", [64, 64])])
    path = _write(tmp_path / "m.onnx", m)
    monkeypatch.setenv("MESHC_LIMIT_DIM", "4000")
    assert "4,096 elements is over the limit of 4,000" in _error(path).message
    monkeypatch.setenv("MESHC_LIMIT_DIM", "4096")
    load(path, {})


# -- 4. stored data must match the shape ------------------------------------------------------

@pytest.mark.parametrize(("tensor", "stored"), [
    (TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[64, 64], float_data=[1, 2, 3]),
     "3 values"),
    (TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[64, 64],
                 raw_data=np.ones(3, np.float32).tobytes()), "12 bytes"),
    (TensorProto(name="w", data_type=TensorProto.FLOAT16, dims=[64, 64],
                 raw_data=np.ones(64 * 64, np.float32).tobytes()), "16,384 bytes"),
])  # no data at all is a shape-only weight (test_onnx_shape_only.py)
def test_initializer_holding_the_wrong_amount_of_data(tmp_path, tensor, stored):
    m = _model([helper.make_node("MatMul", ["x", "w"], ["y"])],
               inputs=[_f32("x", [2, 64])], outputs=[_f32("y", [2, 64])], inits=[tensor])
    err = _error(_write(tmp_path / "m.onnx", m))
    assert "initializer 'w' of shape [64, 64]" in err.message and stored in err.message


def test_constant_holding_the_wrong_amount_of_data(tmp_path):
    bad = TensorProto(name="v", data_type=TensorProto.INT64, dims=[2],
                      raw_data=np.ones(1, np.int64).tobytes())
    m = _model([helper.make_node("Constant", [], ["s"], name="k", value=bad),
                helper.make_node("Reshape", ["x", "s"], ["y"])])
    err = _error(_write(tmp_path / "m.onnx", m))
    assert err.where == "node 'k' (Constant)" and "stores 8 bytes where its shape needs 16" \
        in err.message


# -- 5. size of the graph -----------------------------------------------------------------

def _chain(n: int) -> list[onnx.NodeProto]:
    names = ["x", *(f"v{i}" for i in range(n - 1)), "y"]
    return [helper.make_node("Relu", [a], [b]) for a, b in itertools.pairwise(names)]


def test_too_many_ops_is_refused_up_front(tmp_path, monkeypatch):
    path = _write(tmp_path / "m.onnx", _model(_chain(60)))
    monkeypatch.setenv("MESHC_LIMIT_OPS", "50")
    err = _error(path)
    assert "60 ops is over the limit of 50 ops" in err.message
    assert err.hint is not None and "--limit ops=" in err.hint
    monkeypatch.setenv("MESHC_LIMIT_OPS", "60")
    load(path, {})


def test_local_function_bomb_is_refused_before_inlining(tmp_path):
    # f0 is one Relu; f(k) calls f(k-1) twice: f40 is 2^40 ops
    funcs = [helper.make_function("local", "f0", ["a"], ["b"],
                                  [helper.make_node("Relu", ["a"], ["b"])],
                                  [helper.make_opsetid("", 17)])]
    for k in range(1, 41):
        funcs.append(helper.make_function(
            "local", f"f{k}", ["a"], ["b"],
            [helper.make_node(f"f{k - 1}", ["a"], ["t"], domain="local"),
             helper.make_node(f"f{k - 1}", ["t"], ["b"], domain="local")],
            [helper.make_opsetid("", 17), helper.make_opsetid("local", 1)]))
    m = _model([helper.make_node("f40", ["x"], ["y"], domain="local")], functions=funcs)
    m.opset_import.append(helper.make_opsetid("local", 1))
    err = _error(_write(tmp_path / "m.onnx", m))
    assert "1,099,511,627,776 ops is over the limit" in err.message
    assert "local functions inlined" in err.message


def test_recursive_local_function(tmp_path):
    f = helper.make_function("local", "f", ["a"], ["b"],
                             [helper.make_node("f", ["a"], ["b"], domain="local")],
                             [helper.make_opsetid("local", 1)])
    m = _model([helper.make_node("f", ["x"], ["y"], domain="local")], functions=[f])
    assert "calls itself" in _error(_write(tmp_path / "m.onnx", m)).message


# -- 6. malformed nodes are located errors; older exporters' weight naming imports -------------

def _attr(name: str, kind: int, **fields) -> onnx.AttributeProto:
    a = onnx.AttributeProto(name=name, type=kind)
    for k, v in fields.items():
        setattr(a, k, v)
    return a


def _node_with(op, ins, attributes=(), name="n", outs=("y",)):
    n = helper.make_node(op, ins, list(outs), name=name)
    n.attribute.extend(attributes)
    return n


@pytest.mark.parametrize(("node", "message"), [
    (_node_with("MatMul", ["x"]), "MatMul takes 2 inputs, the node has 1"),
    (_node_with("Relu", ["x", "x"]), "Relu takes 1 inputs, the node has 2"),
    (_node_with("Cast", ["x"]), "Cast needs attribute 'to'"),
    (_node_with("Cast", ["x"], [_attr("to", onnx.AttributeProto.INT, i=999)]),
     "attribute 'to' names an unknown element type 999"),
    (_node_with("Concat", ["x", "x"], [_attr("axis", onnx.AttributeProto.FLOAT, f=1.0)]),
     "attribute 'axis' is FLOAT, Concat takes INT"),
    (_node_with("Softmax", ["x"], [_attr("axis", onnx.AttributeProto.UNDEFINED)]),
     "attribute 'axis' has no type"),
    (_node_with("Relu", ["x"], outs=()), "the node has no outputs"),
    (_node_with("Add", ["x", ""]), "Add input 1 is required but the node leaves it empty"),
    (_node_with("Constant", [], [_attr("value_int", onnx.AttributeProto.INT, i=1),
                                 _attr("value_float", onnx.AttributeProto.FLOAT, f=1.0)]),
     "a Constant needs exactly one value attribute, it has 2"),
])
def test_malformed_nodes(tmp_path, node, message):
    m = _model([node, helper.make_node("Identity", ["x"], ["z"], name="other")],
               outputs=[_f32("z", [2, 8])])
    err = _error(_write(tmp_path / "m.onnx", m))
    assert message in err.message
    assert err.where == f"node 'n' ({node.op_type})"


def test_input_produced_by_nothing_names_its_position(tmp_path):
    m = _model([helper.make_node("Where", ["c", "x", "foo"], ["y"], name="X")],
               inputs=[_f32("x", [2, 8]), helper.make_tensor_value_info("c", TensorProto.BOOL,
                                                                        [2, 8])])
    err = _error(_write(tmp_path / "m.onnx", m))
    assert "input 2 'foo' is produced by nothing" in err.message
    assert err.where == "node 'X' (Where)"


def test_duplicate_and_sparse_initializers(tmp_path):
    w = numpy_helper.from_array(np.ones((8, 8), np.float32), "w")
    m = _model([helper.make_node("MatMul", ["x", "w"], ["y"])], inits=[w, w])
    assert "initializer 'w' is defined twice" in _error(_write(tmp_path / "m.onnx", m)).message
    m = _model([helper.make_node("MatMul", ["x", "w"], ["y"])])
    m.graph.sparse_initializer.append(helper.make_sparse_tensor(
        numpy_helper.from_array(np.ones(2, np.float32), "w"),
        numpy_helper.from_array(np.array([0, 9], np.int64), "i"), [8, 8]))
    assert "sparse" in _error(_write(tmp_path / "m.onnx", m)).message


def _encoder_block(old_style: bool) -> onnx.ModelProto:
    """x -> LayerNorm (decomposed, as opset < 17 exports write it) -> Linear -> + x.

    `old_style` writes it the way older TorchScript exports do: every initializer also a
    graph input, weights forwarded through Identity nodes whose outputs carry the dotted
    parameter names the consumers use, the stored tensors named `onnx::...`."""
    p = "m.encoder.layer.0.attention.output."
    rng = np.random.default_rng(0)
    params = {f"{p}LayerNorm.weight": rng.uniform(0.5, 1.5, 8).astype(np.float32),
              f"{p}LayerNorm.bias": rng.normal(size=8).astype(np.float32),
              f"{p}dense.weight": rng.normal(size=(8, 8)).astype(np.float32)}
    consts = {"two": np.array(2.0, np.float32), "eps": np.array(1e-5, np.float32)}
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["mu"], name="ln/mean", axes=[-1]),
        helper.make_node("Sub", ["x", "mu"], ["d"], name="ln/sub"),
        helper.make_node("Pow", ["d", "two"], ["d2"], name="ln/pow"),
        helper.make_node("ReduceMean", ["d2"], ["var"], name="ln/var", axes=[-1]),
        helper.make_node("Add", ["var", "eps"], ["ve"], name="ln/add_eps"),
        helper.make_node("Sqrt", ["ve"], ["sd"], name="ln/sqrt"),
        helper.make_node("Div", ["d", "sd"], ["n"], name="ln/div"),
        helper.make_node("Mul", ["n", f"{p}LayerNorm.weight"], ["g"], name="ln/mul"),
        helper.make_node("Add", ["g", f"{p}LayerNorm.bias"], ["h"], name="ln/add"),
        helper.make_node("MatMul", ["h", f"{p}dense.weight"], ["o"], name="dense/MatMul"),
        helper.make_node("Add", ["o", "x"], ["y"], name="residual"),
    ]
    inits = [numpy_helper.from_array(v, k) for k, v in {**params, **consts}.items()]
    inputs = [_f32("x", [2, 4, 8])]
    if old_style:
        forward = []
        for k, t in enumerate(inits[:len(params)]):
            stored = f"onnx::Identity_{k}"
            forward.append(helper.make_node("Identity", [stored], [t.name], name=f"Id_{k}"))
            t.name = stored
        nodes = forward + nodes
        inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                   for t in inits]
    return _model(nodes, inputs=inputs, outputs=[_f32("y", [2, 4, 8])], inits=inits, opset=14)


def test_older_exporters_weight_naming_imports(tmp_path):
    plain = load(_write(tmp_path / "plain.onnx", _encoder_block(False)), {})
    old = load(_write(tmp_path / "old.onnx", _encoder_block(True)), {})
    ops = [op.name for op in old.walk()]
    assert ops.count("tfm.layernorm") == 1 and ops.count("tfm.linear") == 1
    a, b = (inspect_module(m)["phases"]["graph"] for m in (plain, old))
    assert a["parameters"] == b["parameters"] == 8 + 8 + 64
    assert a["macs"] == b["macs"] == 2 * 4 * 8 * 8
    assert a == b


def test_bert_fixture_rewritten_the_old_way_imports_the_same(tmp_path):
    """bert_ts_op14 with every float weight forwarded through an Identity (the real export
    that failed with KeyError 'm.encoder.layer.0.attention.output.LayerNorm.weight')."""
    m = onnx.load(str(FIXTURES / "bert_ts_op14.onnx"))
    g = m.graph
    forward = []
    for k, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT and len(t.dims):
            forward.append(helper.make_node("Identity", [f"onnx::Identity_{k}"], [t.name]))
            t.name = f"onnx::Identity_{k}"
    g.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                   for t in g.initializer)
    nodes = forward + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    dims = {"batch": 1, "seq": 16}
    old = inspect_module(load(_write(tmp_path / "old.onnx", m), dims))["phases"]["graph"]
    new = inspect_module(load(FIXTURES / "bert_ts_op14.onnx", dims))["phases"]["graph"]
    assert old == new


# -- 7. fuzzing: MeshcError or success, nothing else ----------------------------------------

def _fuzz_base() -> onnx.ModelProto:
    """Shape arithmetic (folded), a Constant, ConstantOfShape, Range, Expand, a linear, a
    softmax and a decomposed norm: most of the importer's paths in a few nodes."""
    block = _encoder_block(True)
    w = numpy_helper.from_array(np.ones((8, 8), np.float32), "w2")
    nodes = [
        helper.make_node("Shape", ["y"], ["s"], name="shape"),
        helper.make_node("Constant", [], ["i0"], name="k0", value=numpy_helper.from_array(
            np.array([0, 1], np.int64))),
        helper.make_node("Gather", ["s", "i0"], ["s01"], name="gather", axis=0),
        helper.make_node("Constant", [], ["last"], name="k1", value_ints=[8]),
        helper.make_node("Concat", ["s01", "last"], ["target"], name="concat", axis=0),
        helper.make_node("ConstantOfShape", ["target"], ["ones"], name="fill",
                         value=numpy_helper.from_array(np.ones(1, np.float32))),
        helper.make_node("Expand", ["y", "target"], ["e"], name="expand"),
        helper.make_node("Add", ["e", "ones"], ["f"], name="add1"),
        helper.make_node("Reshape", ["f", "target"], ["r"], name="reshape"),
        helper.make_node("MatMul", ["r", "w2"], ["mm"], name="mm"),
        helper.make_node("Softmax", ["mm"], ["z"], name="softmax", axis=-1),
    ]
    block.graph.node.extend(nodes)
    block.graph.initializer.append(w)
    del block.graph.output[:]
    block.graph.output.append(_f32("z", [2, 4, 8]))
    return block


FUZZ_BASE = _fuzz_base()


def _import_or_meshc_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.onnx"
    path.write_bytes(data)
    try:
        load(path, {})
    except MeshcError as e:
        assert e.file == str(path) and e.message


def test_fuzz_base_imports(tmp_path):
    module = load(_write(tmp_path / "base.onnx", FUZZ_BASE), {})
    assert "tfm.layernorm" in [op.name for op in module.walk()]


def _mutations():
    from hypothesis import strategies as st

    names = [v for n in FUZZ_BASE.graph.node for v in (*n.input, *n.output) if v]
    big = st.sampled_from([0, 1, 2, 3, 8, -1, -7, 2 ** 20, 2 ** 31, 2 ** 40, 2 ** 62])
    return st.one_of(
        st.tuples(st.just("dims"), st.integers(0, 30), st.lists(big, max_size=4)),
        st.tuples(st.just("dtype"), st.integers(0, 30), st.integers(-1, 40)),
        st.tuples(st.just("drop_attr"), st.integers(0, 30), st.integers(0, 3)),
        st.tuples(st.just("attr_int"), st.integers(0, 30), big),
        st.tuples(st.just("rewire"), st.integers(0, 30), st.sampled_from(names)),
        st.tuples(st.just("dup_output"), st.integers(0, 30), st.sampled_from(names)),
        st.tuples(st.just("drop_node"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("op"), st.integers(0, 30), st.sampled_from(
            ["Relu", "MatMul", "Reshape", "Concat", "Gather", "Range", "Tile", "Expand",
             "Slice", "Split", "Transpose", "ConstantOfShape", "Softmax", "Attention"])),
        st.tuples(st.just("opset"), st.integers(0, 30), st.integers(1, 26)),
        st.tuples(st.just("input_dims"), st.integers(0, 30), st.lists(
            st.one_of(big, st.sampled_from(["seq", "seq/0", "9**9**9", "s+", "seq*seq"])),
            max_size=4)),
    )


def _mutate(m: onnx.ModelProto, kind: str, k: int, arg) -> None:
    g = m.graph
    node = g.node[k % len(g.node)]
    if kind == "dims":
        t = g.initializer[k % len(g.initializer)]
        del t.dims[:]
        t.dims.extend(arg)
    elif kind == "dtype":
        g.initializer[k % len(g.initializer)].data_type = max(arg, 0)
    elif kind == "drop_attr" and node.attribute:
        del node.attribute[arg % len(node.attribute)]
    elif kind == "attr_int" and node.attribute:
        a = node.attribute[k % len(node.attribute)]
        if a.type == onnx.AttributeProto.INT:
            a.i = arg
        elif a.type == onnx.AttributeProto.INTS:
            a.ints.append(arg)
    elif kind == "rewire" and node.input:
        node.input[k % len(node.input)] = arg  # may make a cycle
    elif kind == "dup_output":
        node.output[0] = arg
    elif kind == "drop_node":
        del g.node[k % len(g.node)]
    elif kind == "op":
        node.op_type = arg
    elif kind == "opset":
        m.opset_import[0].version = arg
    elif kind == "input_dims":
        vi = g.input[0].type.tensor_type.shape
        del vi.dim[:]
        for d in arg:
            dim = vi.dim.add()
            if isinstance(d, str):
                dim.dim_param = d
            else:
                dim.dim_value = d


def test_fuzz_fields(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(_mutations(), min_size=1, max_size=3))
    def run(changes):
        m = onnx.ModelProto()
        m.CopyFrom(FUZZ_BASE)
        for kind, k, arg in changes:
            _mutate(m, kind, k, arg)
        _import_or_meshc_error(tmp_path, m.SerializeToString())

    run()


def test_fuzz_bytes(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    data = FUZZ_BASE.SerializeToString()

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.integers(0, len(data)), st.lists(st.tuples(st.integers(0, len(data) - 1),
                                                         st.integers(0, 255)), max_size=6))
    def run(cut, flips):
        b = bytearray(data[:cut] if cut < len(data) // 4 else data)
        for i, v in flips:
            if i < len(b):
                b[i] = v
        _import_or_meshc_error(tmp_path, bytes(b))

    run()


def test_names_in_errors_stay_on_one_line(tmp_path):
    m = _model([helper.make_node("FooBar", ["x"], ["y"], name="we\nird\x1b[2J" + "n" * 200)])
    err = _error(_write(tmp_path / "m.onnx", m))
    assert "\n" not in str(err) and "\x1b" not in str(err)
    assert err.where is not None and err.where.startswith("node 'we\\nird\\x1b[2Jnn")
    assert len(err.where) < 100


@pytest.mark.parametrize("opset", [0, 9999])
def test_opset_meshc_does_not_know(tmp_path, opset):
    m = _model([helper.make_node("Relu", ["x"], ["y"])], opset=opset)
    err = _error(_write(tmp_path / "m.onnx", m))
    assert f"imports ONNX opset {opset}; meshc knows opsets 1 to" in err.message
