"""`meshc hw ...` through the click group (the lead's CLI adds it and renders errors)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from meshc.commands.hw import gemm_report, hw
from meshc.errors import MeshcError
from meshc.hardware import CoreType, load_hardware, preset_names
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
    assert set(r["energy_breakdown_pj"]) == {"mac", "reg", "sram", "hbm", "static"}
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


def main_run(*args: str) -> Result:
    """Through `meshc` itself: the one line and the exit code the user sees."""
    from meshc.cli import main

    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize(("gemm", "words"), [
    ("1000000000000000,1000000000000000,1000000000000000",
     "M is too large: 1,000,000,000,000,000 elements is over the limit"),
    ("1000000,1000000,1000000", "would overflow 64-bit integers"),
    ("1.5,2,3", "not M,K,N"),
    ("1e15,1,1", "not M,K,N"),
    ("-1,2,3", "not M,K,N"),
    ("1,,3", "not M,K,N"),
    ("1,2,3,4", "not M,K,N"),
    ("\u00b2,1,1", "not M,K,N"),  # a unicode digit: str.isdigit() would let it through
    ("9" * 5000 + ",1,1", "not M,K,N"),
])
def test_cost_bad_gemm_is_one_line_exit_2(gemm: str, words: str) -> None:
    r = main_run("hw", "cost", "mesh-4x4", "--gemm", gemm)
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("meshc: error: --gemm: ")
    assert words in lines[0] and len(lines[0]) < 400


def _largest_cube(ct: CoreType) -> int:
    """The largest d for which `meshc hw cost --gemm d,d,d` is accepted on `ct`."""
    pad = ct.array_rows + ct.array_cols
    d = round((2**63 / 16) ** (1 / 3)) - pad + 2
    while 16 * (d + pad) ** 3 >= 2**63:
        d -= 1
    return d


@pytest.mark.parametrize("core", ["attention", "mlp"])
def test_largest_accepted_gemm_does_not_overflow(core: str) -> None:
    h = load_hardware("mesh-4x4")
    ct = h.core_types[core]
    d = _largest_cube(ct)
    r = gemm_report(h, (d, d, d), "bf16", core)
    ideal = -(-d**3 // ct.macs_per_cycle["bf16"])  # Python ints: exact
    assert r["ideal_cycles"] == ideal
    assert ideal <= r["cycles"] < 2 * ideal  # an int64 wrap would be negative or tiny
    with pytest.raises(MeshcError, match="overflow"):
        gemm_report(h, (d + 1, d + 1, d + 1), "bf16", core)


def test_hw_show_of_a_device_is_one_line() -> None:
    r = main_run("hw", "show", "/dev/zero")
    assert r.exit_code == 2
    assert r.output.strip() == ("meshc: error: /dev/zero: is a character device, "
                                "not a regular hardware file")
