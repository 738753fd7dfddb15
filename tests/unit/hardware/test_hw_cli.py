"""`meshc hw ...` through the click group (the lead's CLI adds it and renders errors)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from meshc.commands.hw import hw
from meshc.errors import MeshcError
from meshc.hardware import load_hardware, preset_names
from meshc.hardware.cost import gemm_cycles, gemm_ideal_cycles


def run(*args: str) -> Result:
    return CliRunner().invoke(hw, list(args))


def ok(*args: str) -> str:
    r = run(*args)
    assert r.exit_code == 0, (r.output, r.exception)
    return r.output


def test_list() -> None:
    out = ok("list")
    for name in preset_names():
        assert name in out


def test_show_tpu_v6e_json_reports_published_figures() -> None:
    s = json.loads(ok("show", "tpu-v6e-like", "--format", "json"))
    assert s["peak_tflops"]["bf16"] == pytest.approx(918)
    assert s["hbm_bytes"] == 32e9
    assert s["hbm_bytes_per_s"] == pytest.approx(1638e9)
    assert {"mesh", "cores", "peak_tflops", "sram_bytes", "hbm_bytes", "hbm_bytes_per_s",
            "noc_bisection_bytes_per_s", "ridge_flops_per_byte"} <= set(s)
    assert s["ridge_flops_per_byte"]["bf16"] == pytest.approx(918e12 / 1638e9, rel=1e-3)


def test_show_table_and_file(spec: dict[str, Any], write_spec: Callable[..., Path]) -> None:
    assert "918 TFLOPS" in ok("show", "tpu-v6e-like")
    assert "HBM            none" in ok("show", "groq-like")
    out = ok("show", str(write_spec(spec, "mine.yaml")))
    assert "mesh-4x4" in out and "attention x4" in out


def test_schema_is_json_schema() -> None:
    schema = json.loads(ok("schema"))
    props = schema["properties"]
    assert {"schema_version", "core_types", "mesh", "noc", "hbm", "energy"} <= set(props)
    assert "sram_bytes" in schema["$defs"]["CoreType"]["properties"]


def test_cost_json_matches_the_model() -> None:
    r = json.loads(ok("cost", "mesh-4x4", "--gemm", "64,256,128", "--core", "attention",
                      "--format", "json"))
    ct = load_hardware("mesh-4x4").core_types["attention"]
    assert r["cycles"] == int(gemm_cycles(64, 256, 128, ct, "bf16"))
    assert r["ideal_cycles"] == int(gemm_ideal_cycles(64, 256, 128, ct, "bf16"))
    assert r["utilization"] == pytest.approx(r["ideal_cycles"] / r["cycles"])
    assert r["dataflow"] == "output_stationary"
    assert set(r["energy_breakdown_pj"]) == {"mac", "sram", "static"}
    assert r["energy_pj"] == pytest.approx(sum(r["energy_breakdown_pj"].values()))


def test_cost_defaults_and_table() -> None:
    out = ok("cost", "mesh-4x4", "--gemm", "16,16,16", "--precision", "int4")
    assert "core mlp" in out and "runs as int4" in out and "utilization" in out
    r = json.loads(ok("cost", "tpu-v6e-like", "--gemm", "256,256,256", "--format", "json"))
    assert r["core"] == "mxu" and r["exec_precision"] == "bf16"


def _vector_core(spec: dict[str, Any]) -> dict[str, Any]:
    vec = {k: v for k, v in spec["core_types"]["mlp"].items()
           if k not in ("macs_per_cycle", "dataflow")}
    spec["core_types"]["vec"] = dict(vec, array_rows=0, array_cols=0)
    spec["mesh"]["regions"].append({"core": "vec", "rows": [0, 0], "cols": [3, 3]})
    return spec


@pytest.mark.parametrize(("args", "where", "words"), [
    (("--gemm", "1,2"), "--gemm", "not M,K,N"),
    (("--gemm", "1,0,3"), "--gemm", "not M,K,N"),
    (("--gemm", "a,b,c"), "--gemm", "not M,K,N"),
    (("--gemm", "1,2,3", "--core", "foo"), "--core", "no core type 'foo'"),
    (("--gemm", "1,2,3", "--precision", "fp4"), "--precision", "unknown precision"),
    (("--gemm", "1,2,3", "--precision", "f32"), "core_types.mlp.macs_per_cycle",
     "cannot multiply f32"),
])
def test_cost_bad_input(args: tuple[str, ...], where: str, words: str) -> None:
    r = run("cost", "mesh-4x4", *args)
    assert isinstance(r.exception, MeshcError), r.output
    assert r.exception.where == where and words in r.exception.message


def test_cost_on_a_core_without_array(spec: dict[str, Any],
                                      write_spec: Callable[..., Path]) -> None:
    path = write_spec(_vector_core(spec), "vec.yaml")
    r = run("cost", str(path), "--gemm", "8,8,8", "--core", "vec")
    assert isinstance(r.exception, MeshcError)
    assert r.exception.file == str(path) and "no systolic array" in r.exception.message


def test_show_unknown_preset_raises() -> None:
    r = run("show", "tpu-v7-like")
    assert isinstance(r.exception, MeshcError)
    assert "unknown hardware preset 'tpu-v7-like'" in str(r.exception)
