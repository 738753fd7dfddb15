"""Bad input: one clear MeshcError naming the file and the place in it, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model
from meshc.frontends.transformer import Shape

HF = Path(__file__).parents[2] / "fixtures" / "hf"
SHAPE = Shape(batch=1, seq=8, kv_len=8)

GRAPH: dict[str, Any] = {
    "inputs": [{"name": "x", "shape": [1, 8, 16]}],
    "weights": [{"name": "w1", "shape": [16, 32]}, {"name": "w2", "shape": [32, 16]},
                {"name": "g", "shape": [16]}],
    "nodes": [
        {"name": "up", "op": "linear", "inputs": ["x", "w1"], "outputs": ["h"]},
        {"name": "act", "op": "activation", "inputs": ["h"], "outputs": ["a"],
         "attributes": {"kind": "silu"}},
        {"name": "down", "op": "linear", "inputs": ["a", "w2"], "outputs": ["y"]},
        {"name": "norm", "op": "rmsnorm", "inputs": ["y", "g"], "outputs": ["z"]},
    ],
    "outputs": ["z"],
}
ARCH: dict[str, Any] = {"hidden": 64, "layers": 2, "heads": 4, "intermediate": 128,
                        "vocab": 100}


def graph(**changes: Any) -> dict[str, Any]:
    """GRAPH with `changes` applied, keyed by a dotted path (`nodes.0.op`)."""
    data = json.loads(json.dumps(GRAPH))
    for path, value in changes.items():
        *parents, last = path.split("__")
        obj = data
        for p in parents:
            obj = obj[int(p)] if p.isdigit() else obj[p]
        key: Any = int(last) if last.isdigit() else last
        if value is DELETE:
            del obj[key]
        else:
            obj[key] = value
    return {"graph": data}


DELETE = object()


def fails(path: Path, where: str | None, fragment: str, phases: tuple[str, ...] = (
        "prefill", "decode"), shape: Shape = SHAPE) -> MeshcError:
    """Loads `path`, which must fail at `where` with `fragment` in the message."""
    with pytest.raises(MeshcError) as info:
        load_model(ModelRequest(str(path), phases, shape))
    e = info.value
    assert e.file == str(path), str(e)
    assert e.where == where, str(e)
    assert fragment in e.message, str(e)
    head = f"{path}: {where}: " if where else f"{path}: "
    assert str(e).startswith(head), str(e)
    assert "\n" not in str(e)
    return e


def write(tmp_path: Path, data: Any, name: str = "model.yaml") -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data)
    elif name.endswith(".json"):
        path.write_text(json.dumps(data))
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# -- spec files: the graph form ---------------------------------------------------------------

SPEC_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown value", graph(nodes__2__inputs__0="h7"), "graph.nodes[2].inputs[0]",
     "unknown value 'h7'"),
    ("used before defined", graph(nodes__0__inputs__0="y"), "graph.nodes[0].inputs[0]",
     "used before graph.nodes[2] defines it"),
    ("unknown op", graph(nodes__1__op="gemm"), "graph.nodes[1].op", "unknown op 'gemm'"),
    ("weight as a node", graph(nodes__1__op="weight"), "graph.nodes[1].op", "unknown op"),
    ("shape mismatch", graph(nodes__2__inputs__1="w1"), "graph.nodes[2]",
     "linear of (1, 8, 32) by weight (16, 32)"),
    ("norm width", graph(weights__2__shape=[32]), "graph.nodes[3]", "norm parameter"),
    ("missing op", graph(nodes__1__op=DELETE), "graph.nodes[1]", "missing field 'op'"),
    ("missing outputs", graph(outputs=DELETE), "graph", "missing field 'outputs'"),
    ("missing shape", graph(inputs__0__shape=DELETE), "graph.inputs[0]",
     "missing field 'shape'"),
    ("zero dimension", graph(inputs__0__shape=[1, 0, 16]), "graph.inputs[0].shape[1]",
     "must be positive, got 0"),
    ("negative dimension", graph(weights__1__shape=[32, -16]), "graph.weights[1].shape[1]",
     "must be positive, got -16"),
    ("unknown symbol", graph(inputs__0__shape=["batch", "tokens", 16]),
     "graph.inputs[0].shape[1]", "got 'tokens'"),
    ("unknown dtype", graph(weights__0__dtype="bf61"), "graph.weights[0].dtype",
     "unknown dtype 'bf61'"),
    ("duplicate value", graph(nodes__1__outputs=["h"]), "graph.nodes[1].outputs[0]",
     "duplicate name 'h' (first defined at graph.nodes[0].outputs[0])"),
    ("weight named like an input", graph(weights__0__name="x"), "graph.weights[0]",
     "duplicate name 'x'"),
    ("duplicate node", graph(nodes__2__name="up"), "graph.nodes[2].name",
     "duplicate node name 'up'"),
    ("unknown attribute", graph(nodes__1__attributes={"kind": "silu", "alpha": 1}),
     "graph.nodes[1].attributes.alpha", "activation has no attribute 'alpha'"),
    ("bad attribute value", graph(nodes__1__attributes={"kind": "swish"}),
     "graph.nodes[1].attributes.kind", "unknown value 'swish'"),
    ("missing attribute", graph(nodes__1__attributes=DELETE), "graph.nodes[1].attributes",
     "activation needs attribute 'kind'"),
    ("input count", graph(nodes__0__inputs=["x"]), "graph.nodes[0].inputs",
     "linear takes 2 to 3 inputs, got 1"),
    ("output count", graph(nodes__0__outputs=["h", "h2"]), "graph.nodes[0].outputs",
     "linear gives 1 output, got 2 names"),
    ("boolean name", graph(nodes__0__inputs=["x", True]), "graph.nodes[0].inputs[1]",
     "a name must be a string"),
    ("bad layer", graph(nodes__0__layer=-2), "graph.nodes[0].layer", "layer is an integer"),
    ("bad block", graph(nodes__0__block="ffn"), "graph.nodes[0].block", "unknown block 'ffn'"),
    ("misspelt node key", graph(nodes__0__input=["x", "w1"]), "graph.nodes[0].input",
     "unknown field 'input'"),
    ("node not a mapping", graph(nodes__3="rmsnorm"), "graph.nodes[3]",
     "expected a node (a mapping), got a string"),
    ("unknown phase", graph(phase="train"), "graph.phase", "unknown phase 'train'"),
    ("no outputs", graph(outputs=[]), "graph.outputs", "at least one output"),
    ("unknown graph output", graph(outputs=["zz"]), "graph.outputs[0]", "unknown value 'zz'"),
]


@pytest.mark.parametrize(("data", "where", "fragment"),
                         [c[1:] for c in SPEC_CASES], ids=[c[0] for c in SPEC_CASES])
def test_bad_graph_spec(tmp_path: Path, data: dict[str, Any], where: str,
                        fragment: str) -> None:
    fails(write(tmp_path, data), where, fragment)


def test_bad_graph_spec_in_json(tmp_path: Path) -> None:
    fails(write(tmp_path, graph(nodes__2__inputs__0="h7"), "model.json"),
          "graph.nodes[2].inputs[0]", "unknown value 'h7'")


def test_wrong_phase(tmp_path: Path) -> None:
    fails(write(tmp_path, graph()), "graph.phase", "defines only the 'prefill' phase",
          phases=("decode",))


# -- spec files: syntax and the top level -------------------------------------------------------


def test_malformed_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "graph:\n  inputs: [\n  nodes: {a: 1\n")
    e = fails(path, "line 4, column 1", "not valid YAML")
    assert "line" in str(e)


def test_malformed_json(tmp_path: Path) -> None:
    path = write(tmp_path, '{"graph": {"inputs": [1, 2,]}}', "model.json")
    fails(path, "line 1, column 28", "not valid JSON")


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = "graph:\n  inputs: []\n  nodes: []\n  inputs: []\n"
    fails(write(tmp_path, text), "line 4, column 3", "duplicate key 'inputs'")


def test_misspelt_top_level(tmp_path: Path) -> None:
    fails(write(tmp_path, {"grpah": GRAPH}), "grpah", "unknown field 'grpah'")


def test_neither_form(tmp_path: Path) -> None:
    fails(write(tmp_path, {"name": "m"}), None, "exactly one of `architecture:` and `graph:`")


def test_both_forms(tmp_path: Path) -> None:
    fails(write(tmp_path, {"graph": GRAPH, "architecture": ARCH}), None, "not both")


def test_empty_file(tmp_path: Path) -> None:
    fails(write(tmp_path, ""), None, "expected a spec (a mapping), got nothing")


# -- spec files: the compact form ---------------------------------------------------------------

ARCH_CASES: list[tuple[str, dict[str, Any], str | None, str]] = [
    ("missing field", {k: v for k, v in ARCH.items() if k != "heads"},
     "architecture.heads", "missing field"),
    ("zero layers", {**ARCH, "layers": 0}, "architecture.layers", "greater than 0"),
    ("negative width", {**ARCH, "hidden": -64}, "architecture.hidden", "greater than 0"),
    ("unknown activation", {**ARCH, "activation": "swish"}, "architecture.activation",
     "'relu', 'gelu', 'gelu_tanh' or 'silu'"),
    ("unknown field", {**ARCH, "hiden": 64}, "architecture.hiden", "unknown field"),
    ("heads", {**ARCH, "kv_heads": 3}, "architecture.kv_heads", "multiple of kv_heads (3)"),
    ("moe", {**ARCH, "moe": {"experts": 2, "top_k": 4, "expert_intermediate": 8}},
     "architecture.moe.top_k", "top_k (4) exceeds experts (2)"),
    ("dtype", {**ARCH, "dtype": "f8"}, "architecture.dtype", "'bf16', 'f16' or 'f32'"),
]


@pytest.mark.parametrize(("arch", "where", "fragment"), [c[1:] for c in ARCH_CASES],
                         ids=[c[0] for c in ARCH_CASES])
def test_bad_architecture(tmp_path: Path, arch: dict[str, Any], where: str,
                          fragment: str) -> None:
    fails(write(tmp_path, {"architecture": arch}), where, fragment)


def test_encoder_decode(tmp_path: Path) -> None:
    arch = {**ARCH, "kind": "encoder", "norm": "layernorm", "gated": False}
    fails(write(tmp_path, {"architecture": arch}), "architecture", "encoder",
          phases=("decode",))


# -- Hugging Face config.json -------------------------------------------------------------------


def hf_config(tmp_path: Path, base: str, **changes: Any) -> Path:
    cfg = json.loads((HF / base / "config.json").read_text())
    for k, v in changes.items():
        if v is DELETE:
            del cfg[k]
        else:
            cfg[k] = v
    (tmp_path / base).mkdir()
    return write(tmp_path / base, cfg, "config.json")


HF_CASES: list[tuple[str, str, dict[str, Any], str | None, str]] = [
    ("missing key", "llama3-8b", {"num_hidden_layers": DELETE}, "num_hidden_layers",
     "missing field"),
    ("zero width", "llama3-8b", {"hidden_size": 0}, "hidden_size", "greater than 0"),
    ("negative kv heads", "mixtral-8x7b", {"num_key_value_heads": -8}, "num_key_value_heads",
     "greater than 0"),
    ("unknown activation", "qwen2.5-7b", {"hidden_act": "swiglu"}, "hidden_act",
     "unknown activation 'swiglu'"),
    ("gpt2 activation", "gpt2", {"activation_function": "tanh"}, "activation_function",
     "unknown activation 'tanh'"),
    ("gpt2 zero heads", "gpt2", {"n_head": 0}, "n_head", "greater than 0"),
    ("top_k", "mixtral-8x7b", {"num_experts_per_tok": 9}, "num_experts_per_tok",
     "top_k (9) exceeds experts (8)"),
    ("mla key", "deepseek-v3", {"qk_rope_head_dim": DELETE}, "qk_rope_head_dim",
     "missing field"),
    ("bert vocab", "minilm-l6", {"vocab_size": 0}, "vocab_size", "greater than 0"),
    ("gqa", "llama3-8b", {"num_key_value_heads": 5}, "num_key_value_heads",
     "multiple of kv_heads (5)"),
    ("heads", "gpt2", {"n_head": 7}, "n_head", "heads (7) do not divide hidden (768)"),
]


@pytest.mark.parametrize(("base", "changes", "where", "fragment"),
                         [c[1:] for c in HF_CASES], ids=[c[0] for c in HF_CASES])
def test_bad_hf_config(tmp_path: Path, base: str, changes: dict[str, Any], where: str | None,
                       fragment: str) -> None:
    fails(hf_config(tmp_path, base, **changes), where, fragment)


def test_malformed_hf_json(tmp_path: Path) -> None:
    from meshc.frontends import hf

    path = write(tmp_path, '{"model_type": "llama",\n "hidden_size": 4096,,\n}', "config.json")
    with pytest.raises(MeshcError) as info:
        hf.load(path)
    assert info.value.file == str(path) and info.value.where == "line 2, column 22"


# -- zoo names, files and shapes -------------------------------------------------------------


def test_unknown_zoo_name() -> None:
    with pytest.raises(MeshcError) as info:
        load_model(ModelRequest("lama3-8b"))
    assert "unknown model 'lama3-8b'" in str(info.value)
    assert "llama3-8b" in str(info.value)  # the hint lists the zoo


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    fails(path, None, "no such file")


def test_unknown_suffix(tmp_path: Path) -> None:
    fails(write(tmp_path, "x", "model.txt"), None, "unknown model file type '.txt'")


@pytest.mark.parametrize(("sizes", "message"), [
    ((0, 8, 8), "--batch must be positive, got 0"), ((1, -1, 8), "--seq must be positive"),
    ((1, 8, 0), "--kv-len must be positive"), ((1, True, 8), "--seq must be an integer"),
    ((1, 10**15, 8), "--seq 1,000,000,000,000,000 is absurd"),
    ((2**30, 2**30, 8), "--batch 1073741824 x --seq/--kv-len tokens")])
def test_bad_shape(sizes: tuple[int, int, int], message: str) -> None:
    # A Shape that exists is sane: the CLI's --batch/--seq/--kv-len are refused on the spot.
    with pytest.raises(MeshcError, match=message.replace("+", r"\+")):
        Shape(*sizes)


def test_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    from meshc.cli import main

    path = write(tmp_path, graph(nodes__2__inputs__0="h7"))
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code == 2
    out = result.output.strip()
    assert out == (f"meshc: error: {path}: graph.nodes[2].inputs[0]: unknown value 'h7' "
                   "(did you mean 'h'?)")
    assert "Traceback" not in result.output
