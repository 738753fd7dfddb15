"""Issue #13 in the spec, config.json and zoo frontends: no silent wrong result, no absurd
size built, every refusal one located MeshcError."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshc import limits
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model, zoo
from meshc.frontends.arch import Arch
from meshc.frontends.transformer import Shape, build, estimate_ops
from meshc.ir.notes import notes
from meshc.ir.summary import inspect_module

HF = Path(__file__).parents[2] / "fixtures" / "hf"
SMALL = Shape(batch=1, seq=8, kv_len=8)
ARCH: dict[str, Any] = {"hidden": 64, "layers": 2, "heads": 4, "intermediate": 128,
                        "vocab": 100}


def spec(tmp_path: Path, arch: dict[str, Any]) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump({"architecture": arch}))
    return path


def config(tmp_path: Path, base: str | None, **changes: Any) -> Path:
    cfg = json.loads((HF / base / "config.json").read_text()) if base else {}
    cfg.update(changes)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return path


def error(path: Path, shape: Shape = SMALL, phases: tuple[str, ...] = ("prefill",)) -> MeshcError:
    with pytest.raises(MeshcError) as info:
        load_model(ModelRequest(str(path), phases, shape))
    assert info.value.file == str(path), str(info.value)
    return info.value


# -- unsupported families are refused by name ---------------------------------------------


@pytest.mark.parametrize("model_type", ["vit", "t5", "mamba", "qwen3", "phi3"])
def test_unsupported_model_type(tmp_path: Path, model_type: str) -> None:
    e = error(config(tmp_path, "llama3-8b", model_type=model_type))
    assert e.where == "model_type"
    assert e.message.startswith(f"unsupported architecture '{model_type}' (supported: bert, ")


def test_family_from_architectures_alone(tmp_path: Path) -> None:
    cfg = json.loads((HF / "gemma-2-9b" / "config.json").read_text())
    del cfg["model_type"]
    path = config(tmp_path, None, **cfg)
    arch_params = inspect_module(load_model(ModelRequest(str(path), ("prefill",), SMALL)))
    assert arch_params["phases"]["prefill"]["parameters"] == 9_241_705_984  # gemma2, not gemma
    e = error(config(tmp_path, None, architectures=["T5ForConditionalGeneration"],
                     d_model=512))
    assert e.where == "architectures" and "unsupported architecture" in e.message


# -- wrong types are refused, not converted -----------------------------------------------


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("hidden_size", True, "expected an integer, got true"),
    ("num_hidden_layers", 1.5, "expected an integer, got 1.5"),
    ("num_hidden_layers", "32", "expected an integer, got '32'"),
    ("vocab_size", 10**30, "absurdly large"),
    ("tie_word_embeddings", "yes", "expected true or false, got 'yes'"),
    ("model_type", 7, "expected a string, got 7"),
])
def test_config_types(tmp_path: Path, key: str, value: Any, fragment: str) -> None:
    e = error(config(tmp_path, "llama3-8b", **{key: value}))
    assert e.where == key and fragment in e.message, str(e)


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("hidden", True, "expected an integer, got true"),
    ("layers", 1.5, "expected an integer, got 1.5"),
    ("layers", float("nan"), "expected an integer, got nan"),
    ("gated", 1, "expected true or false, got 1"),
    ("hidden", -64, "greater than 0, got -64"),
])
def test_spec_types(tmp_path: Path, field: str, value: Any, fragment: str) -> None:
    e = error(spec(tmp_path, {**ARCH, field: value}))
    assert e.where == f"architecture.{field}" and fragment in e.message, str(e)


def test_heads_that_do_not_divide_hidden(tmp_path: Path) -> None:
    e = error(spec(tmp_path, {**ARCH, "heads": 6}))  # 64 / 6 would floor to 10
    assert "heads (6) do not divide hidden (64)" in e.message
    assert "give head_dim explicitly" in e.message and "4, 8" in e.message
    module = load_model(ModelRequest(str(spec(tmp_path, {**ARCH, "heads": 6, "head_dim": 16})),
                                     ("prefill",), SMALL))
    weights = inspect_module(module)["phases"]["prefill"]["parameters"]
    assert weights == 100 * 64 * 2 + 2 * (4 * 64 * 96 + 3 * 64 * 128 + 2 * 64) + 64


# -- absurd sizes are refused before anything is built ---------------------------------------


def test_tensor_over_the_dim_limit(tmp_path: Path) -> None:
    e = error(spec(tmp_path, {**ARCH, "hidden": 2**40, "heads": 1}))
    assert "too many elements" in e.message and "--limit dim=N" in str(e)


def test_too_many_layers_refused_before_building(tmp_path: Path) -> None:
    e = error(spec(tmp_path, {**ARCH, "layers": 100_000}))
    assert "100,000 layers would be too many graph ops" in e.message
    assert "--limit ops=N" in str(e)


@pytest.mark.parametrize("name", ["llama3-8b", "gpt2", "minilm-l6", "deepseek-v3",
                                  "qwen2.5-7b"])
def test_op_estimate_is_exact(name: str) -> None:
    arch = zoo.get(name).model_copy(update={"layers": 5})  # deepseek: 3 dense + 2 MoE
    phases = ("prefill",) if arch.kind == "encoder" else ("prefill", "decode")
    estimates = {p: estimate_ops(arch, p) for p in phases}
    real = inspect_module(build(arch, phases, SMALL))["phases"]
    assert estimates == {p: real[p]["ops"] for p in phases}
    assert all(n <= 64 * 6 for n in estimates.values())  # the bound that skips the probes


def test_raising_the_ops_limit(tmp_path: Path) -> None:
    path = spec(tmp_path, {**ARCH, "layers": 3})  # 26 ops a layer, 6 more: embed, final norm, head
    limits.set_limits(("ops=83",))
    try:
        assert "3 layers would be too many graph ops: 84 ops" in error(path).message
        limits.set_limits(("ops=84",))
        module = load_model(ModelRequest(str(path), ("prefill",), SMALL))
    finally:
        limits.reset()
    assert inspect_module(module)["phases"]["prefill"]["ops"] == 84


# -- what the figures do not show is noted ---------------------------------------------------


def test_gpt2_past_its_positions_is_noted() -> None:
    long = load_model(ModelRequest("gpt2", ("prefill",), Shape(1, 2048, 8)))
    assert notes(long) == (("frontend", "gpt2 has 1,024 positions; --seq 2048 reads past them"),)
    assert notes(load_model(ModelRequest("gpt2", ("prefill",), Shape(1, 1024, 8)))) == ()
    dec = load_model(ModelRequest("gpt2", ("decode",), Shape(1, 8, 1024)))
    assert notes(dec) == (("frontend", "gpt2 has 1,024 positions; --kv-len 1024 (+1 new token) "
                                       "reads past them"),)


def test_sliding_window_is_noted() -> None:
    path = str(HF / "mistral-7b" / "config.json")
    module = load_model(ModelRequest(path, ("prefill",), Shape(1, 8192, 8)))
    assert ("frontend", "mistral-7b attends within a 4,096-token sliding window; at --seq 8192 "
                        "its attention is counted in full") in notes(module)
    assert notes(load_model(ModelRequest(path, ("prefill",), Shape(1, 4096, 8)))) == ()


# -- reading -------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    os.mkfifo(path)
    assert "FIFO" in error(path).message


def test_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").mkdir()
    assert "directory" in error(tmp_path / "model.yaml").message


def test_arch_is_frozen_and_strict() -> None:
    with pytest.raises(ValueError, match="valid integer"):
        Arch.model_validate({"name": "x", **ARCH, "vocab": True})
