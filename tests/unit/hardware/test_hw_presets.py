"""Every preset loads fast, is self-consistent, and reports the published figures."""

from __future__ import annotations

import pickle
import time
import typing

import pytest

from meshc.hardware import NODES, load_hardware, parse_hardware, preset_names
from meshc.hardware.load import preset_path
from meshc.hardware.model import NodeName

EXPECTED = {
    "aie-ml-like", "b200-like", "blackhole-like", "cerebras-like", "dojo-d1-like", "groq-like",
    "h100-like", "mesh-1x1", "mesh-2x2", "mesh-4x4", "mesh-8x8", "mesh-16x16", "tpu-v5e-like",
    "tpu-v6e-like", "wormhole-n300-like",
}


def test_preset_list() -> None:
    assert set(preset_names()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_loads_fast_and_consistent(name: str) -> None:
    text = preset_path(name).read_text()
    best = min(_timed(lambda: parse_hardware(text, name)) for _ in range(3))
    assert best < 0.05, f"{name} took {best * 1e3:.1f} ms to load and validate"
    hw = load_hardware(name)
    assert hw.name == name
    assert len(hw.cores) == hw.mesh_rows * hw.mesh_cols == hw.n_cores
    assert any(hw.core_types[t].can_gemm for _, _, t in hw.cores)
    for s in hw.hbm_stacks:
        assert all(hw.is_edge(r, c) for r, c in s.attach)
    s = hw.summary()
    assert s["mesh"] == [hw.mesh_rows, hw.mesh_cols]
    assert all(v > 0 for v in s["peak_tflops"].values())
    # every number in a preset carries a comment citing or deriving it
    for line in text.splitlines():
        body = line.split("#")[0].strip()
        value = body.split(":")[-1].strip().replace(".", "").replace("e+", "")
        if value.isdigit() and not body.startswith("schema_version"):
            assert "#" in line, f"{name}: uncommented number: {line.strip()}"


def _timed(f: typing.Callable[[], object]) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def test_tpu_v6e_published_figures() -> None:
    hw = load_hardware("tpu-v6e-like")
    assert hw.peak_flops("bf16") == pytest.approx(918e12, rel=1e-6)
    assert hw.peak_flops("int8") == pytest.approx(1836e12, rel=1e-6)
    assert hw.hbm_bytes == 32e9
    assert hw.hbm_bytes_per_s == pytest.approx(1638e9)


@pytest.mark.parametrize(("name", "precision", "tflops", "hbm_gb", "hbm_gbs"), [
    ("tpu-v5e-like", "bf16", 197, 16, 819),
    ("h100-like", "bf16", 989.4, 80, 3350),
    ("h100-like", "fp8", 1978.9, 80, 3350),
    ("wormhole-n300-like", "fp8", 466, 24, 576),
    ("blackhole-like", "fp8", 664, 32, 512),
    ("groq-like", "int8", 750, 0, 0),
])
def test_published_peaks(name: str, precision: str, tflops: float, hbm_gb: float,
                         hbm_gbs: float) -> None:
    hw = load_hardware(name)
    assert hw.peak_flops(precision) / 1e12 == pytest.approx(tflops, rel=5e-3)
    assert hw.hbm_bytes == hbm_gb * 1e9
    assert hw.hbm_bytes_per_s == pytest.approx(hbm_gbs * 1e9)


def test_peak_counts_cores_that_can_run_the_precision() -> None:
    groq = load_hardware("groq-like")
    assert groq.peak_flops("bf16") == groq.peak_flops("f16")  # bf16 runs at f16
    assert groq.peak_flops("f32") == 0.0
    mesh = load_hardware("mesh-4x4")  # int4: 12 mlp cores natively, 4 attention at int8
    assert mesh.peak_flops("int4") == 2 * (12 * 1024 + 4 * 128) * 1e9


def test_h100_has_132_sms_and_groq_no_hbm() -> None:
    assert load_hardware("h100-like").n_cores == 132
    groq = load_hardware("groq-like")
    assert groq.hbm_stacks == () and groq.hbm_bytes == 0
    assert groq.summary()["ridge_flops_per_byte"]["int8"] is None


def test_mesh_4x4_is_heterogeneous() -> None:
    hw = load_hardware("mesh-4x4")
    assert {hw.core_type_at(r, 0) for r in range(4)} == {"attention"}
    assert {hw.core_type_at(r, c) for r in range(4) for c in range(1, 4)} == {"mlp"}
    assert hw.cores[:2] == ((0, 0, "attention"), (0, 1, "mlp"))
    assert set(hw.hbm_stacks[0].attach) == {(r, 0) for r in range(4)}
    assert hw.core_counts == {"attention": 4, "mlp": 12}


def test_exec_precision_widens() -> None:
    hw = load_hardware("mesh-4x4")
    att, mlp = hw.core_types["attention"], hw.core_types["mlp"]
    assert att.dataflow == "output_stationary" and mlp.dataflow == "weight_stationary"
    assert mlp.exec_precision("int4") == "int4"
    assert att.exec_precision("int4") == "int8"
    assert not att.supports("int4") and att.supports("int8")
    v6e = load_hardware("tpu-v6e-like").core_types["mxu"]
    assert v6e.exec_precision("fp8") == "bf16"
    groq = load_hardware("groq-like").core_types["mxm"]
    assert groq.exec_precision("bf16") == "f16"


def test_cached_frozen_and_picklable() -> None:
    hw = load_hardware("mesh-2x2")
    assert load_hardware("mesh-2x2") is hw
    with pytest.raises(Exception, match="frozen"):
        hw.mesh.rows = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        hw.core_types["core"] = hw.core_types["core"]  # type: ignore[index]
    again = pickle.loads(pickle.dumps(hw))
    assert again == hw and hash(again) == hash(hw)
    assert again.core_type_at(1, 1) == "core"


def test_file_path_loads_and_cache_sees_edits(write_spec, spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(spec, "mine.yaml")
    assert load_hardware(path).mesh_rows == 4
    spec["name"] = "renamed"
    path.write_text(path.read_text().replace("name: mesh-4x4", "name: renamed"))
    import os

    os.utime(path, ns=(1, 10**18))  # force a new modification time
    assert load_hardware(str(path)).name == "renamed"


def test_energy_nodes_match_schema() -> None:
    assert set(typing.get_args(NodeName)) == set(NODES)
    for t in NODES.values():
        macs = [t.pj_per_mac[p] for p in ("int4", "int8", "fp8", "bf16", "f16", "f32")]
        assert macs == sorted(macs)
        assert t.sram_pj_per_byte_at(8192) <= t.sram_pj_per_byte_at(1 << 20)
