"""Sweeps over systems of chips: the parallel key, paired axes, a system point's key, its
overrides and its figures."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshc.driver import CompileOptions
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest
from meshc.frontends.transformer import Shape
from meshc.hardware.load import SYSTEM_DIR, preset_path
from meshc.parallel.degrees import Parallel
from meshc.parallel.driver import compile_system
from meshc.studies.grid import (
    Axis,
    Grid,
    Point,
    check_parallel,
    parse_axis,
    parse_grid,
    settings,
)
from meshc.studies.run import run_task
from meshc.studies.sweep import Sweep, prepare
from meshc.studies.table import build
from meshc.studies.tasks import Task, resolve

TINY = str(Path(__file__).parents[2] / "fixtures" / "spec" / "tiny-llama.yaml")
SMALL = {"model": TINY, "mapper": "heft", "seq": 64, "kv_len": 64, "batch": 2}


def task(hw: str, **values: object) -> Task:
    return resolve(0, settings({**SMALL, "hw": hw}, Point(0, tuple(values.items()))))


def test_parallel_values_are_separated_by_semicolons() -> None:
    assert parse_axis("parallel=tp=2,pp=4,mlp_tp=16,mb=2; tp=8 ;auto").values == (
        "tp=2,pp=4,mlp_tp=16,mb=2", "tp=8", "auto")
    assert check_parallel("pp=2,tp=8") == "tp=8,pp=2,ep=1,dp=1,mb=1"
    assert check_parallel("tp=2,mlp_tp=16") == "tp=2,pp=1,ep=1,dp=1,mb=1,mlp_tp=16"
    assert parse_axis("objective=energy,throughput").values == ("energy", "throughput")


@pytest.mark.parametrize(("arg", "words"), [
    ("parallel=tp=8,tp=2", "tp is given twice"), ("parallel=tq=2", "'tq=2' is not one of"),
    ("parallel=tp=0", "tp=0 must be an integer"), ("parallel=tp=two", "not a whole number"),
    ("objective=fast", "'fast' is not one of"),
])
def test_a_bad_parallel_value_names_the_grid_key(arg: str, words: str) -> None:
    with pytest.raises(MeshcError, match=words) as e:
        parse_axis(arg)
    assert f"--grid {arg.split('=', 1)[0]}" in str(e.value)
    if arg.startswith("parallel=t") and "given twice" in words:
        assert "--grid parallel=tp=8,tp=2" in str(e.value)


def test_a_bad_fixed_parallel_fails_before_any_point() -> None:
    with pytest.raises(MeshcError, match="'parallel' repeats a value"):
        parse_grid(["parallel=tp=2;tp=2"])
    s = Sweep((TINY,), ("tpu-v6e-8",), Grid(()), {"parallel": "tp=8,pp"})
    with pytest.raises(MeshcError, match=r"--grid parallel=tp=8,pp"):
        prepare(s)


def test_paired_keys_zip_with_each_other_and_cross_the_rest() -> None:
    g = Grid((Axis("hw", ("a", "b")), Axis("parallel", ("tp=2", "tp=8")),
              Axis("batch", (1, 4))), paired=("hw", "parallel"))
    assert [tuple(v for _, v in p.values) for p in g.points()] == [
        ("a", "tp=2", 1), ("a", "tp=2", 4), ("b", "tp=8", 1), ("b", "tp=8", 4)]
    assert g.override([Axis("batch", (8,))]).paired == ("hw", "parallel")
    with pytest.raises(MeshcError, match="hw and parallel are paired: lists of one length, "
                                         "got hw: 2, parallel: 1"):
        Grid((Axis("hw", ("a", "b")), Axis("parallel", ("tp=2",))), paired=("hw", "parallel"))
    # the study's hws become the hw axis only in the full grid: paired there
    s = Sweep(("m",), ("a", "b"), Grid((Axis("parallel", ("tp=2", "tp=8")),),
                                       paired=("hw", "parallel")))
    assert [p.label for p in s.full_grid().points()] == ["hw=a parallel=tp=2",
                                                         "hw=b parallel=tp=8"]


def _system(tmp: Path, chip: str = "tpu-v6e-like") -> Path:
    path = tmp / "sys.yaml"
    data = yaml.safe_load((SYSTEM_DIR / "tpu-v6e-8.yaml").read_text())
    data["chips"]["tpu"]["hw"] = chip
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_system_points_key_follows_its_files_and_layout(tmp_path: Path) -> None:
    shutil.copy(preset_path("tpu-v6e-like"), tmp_path / "chip.yaml")
    sys_file = str(_system(tmp_path, "chip.yaml"))
    first = task(sys_file, parallel="tp=2")
    assert (first.system, first.parallel) == (True, "tp=2,pp=1,ep=1,dp=1,mb=1")
    assert task(sys_file, parallel="pp=1,tp=2").key == first.key  # the same degrees
    assert task(sys_file).parallel == "tp=1,pp=1,ep=1,dp=1,mb=1"  # a system's default
    keys = {first.key, task(sys_file, parallel="tp=4").key,
            task(sys_file, parallel="auto").key, task(sys_file, parallel="auto",
                                                      objective="energy").key}
    assert len(keys) == 4
    assert task(sys_file, parallel="tp=2", objective="energy").key == first.key  # not auto
    with (tmp_path / "chip.yaml").open("a") as f:  # the chip file the system names
        f.write("# edited\n")
    assert task(sys_file, parallel="tp=2").key != first.key
    second = task(sys_file, parallel="tp=2").key
    data = yaml.safe_load(Path(sys_file).read_text())
    data["links"]["bytes_per_s"] = 5e10
    Path(sys_file).write_text(yaml.safe_dump(data))  # the system file itself
    assert task(sys_file, parallel="tp=2").key != second
    # a chip with a layout is a system compile of one chip: not the chip compile's key
    chip = task("tpu-v6e-like", parallel="tp=1")
    assert (chip.system, chip.parallel) == (False, "tp=1,pp=1,ep=1,dp=1,mb=1")
    assert chip.key != task("tpu-v6e-like").key and task("tpu-v6e-like").parallel == ""


def test_hw_overrides_on_a_system_set_the_system_file(tmp_path: Path) -> None:
    shutil.copy(preset_path("tpu-v6e-like"), tmp_path / "chip.yaml")
    sys_file = str(_system(tmp_path, "chip.yaml"))
    t = task(sys_file, **{"hw.links.bytes_per_s": 5e10})
    data = yaml.safe_load(t.hw_text)
    assert data["links"]["bytes_per_s"] == 5e10
    assert data["chips"]["tpu"]["hw"] == str((tmp_path / "chip.yaml").resolve())
    assert task("tpu-v6e-8", **{"hw.links.bytes_per_s": 5e10}).key != task("tpu-v6e-8").key
    with pytest.raises(MeshcError, match=r"has no 'links\.colour'"):
        task("tpu-v6e-8", **{"hw.links.colour": 1})
    with pytest.raises(MeshcError, match=r"--grid hw\.chips\.tpu\.count=3.*topology\.dims"):
        task("tpu-v6e-8", **{"hw.chips.tpu.count": 3})


def test_a_system_point_has_the_system_figures_and_no_chip_only_ones() -> None:
    t = task("tpu-v6e-8", parallel="tp=2")
    out = run_task(t)
    assert out.ok, out.reason
    m = out.metrics
    direct = compile_system(ModelRequest(TINY, ("prefill", "decode"), Shape(2, 64, 64)),
                            "tpu-v6e-8", Parallel(tp=2), CompileOptions(mapper="heft")).result
    for ph in ("prefill", "decode"):
        p = direct.phase(ph)
        assert m[f"{ph}.latency_s"] == p.latency_s and m[f"{ph}.pj_per_token"] == p.pj_per_token
        assert m[f"{ph}.chips_used"] == 2 and m[f"{ph}.bottleneck"] == p.bottleneck
        assert m[f"{ph}.tokens_per_s_per_chip"] == pytest.approx(m[f"{ph}.tokens_per_s"] / 2)
        assert 0 <= m[f"{ph}.link_energy_share"] < 1
        assert f"{ph}.compute_utilization" not in m  # a chip's figure: left empty
    assert m["decode_over_prefill_cost_per_token"] == pytest.approx(
        m["decode.pj_per_token"] / m["prefill.pj_per_token"])
    assert m["layout"] == "tp=2" and m["quality_kind"] == "unknown"
    assert m["decode.kv_cache_bytes"] > m["prefill.kv_cache_bytes"] > 0  # + one token

    chip = {"ok": True, "reason": "", "metrics": {
        "decode.latency_s": 1.0, "decode.tokens_per_s": 4.0, "decode.tokens_per_s_per_chip": 4.0,
        "decode.chips_used": 1, "decode.compute_utilization": 0.5}}
    table = build(["hw"], [({"hw": "tpu-v6e-like"}, chip), ({"hw": "tpu-v6e-8"}, out.stored())])
    assert {"decode.bottleneck", "layout", "decode.compute_utilization"} <= set(table.columns)
    assert table.rows[1]["decode.compute_utilization"] is None
    assert table.rows[0]["decode.bottleneck"] is None
    alone = build(["hw"], [({"hw": "tpu-v6e-like"}, chip)])  # no system point: no system columns
    assert "decode.bottleneck" not in alone.columns and "layout" not in alone.columns


def test_a_point_that_does_not_fit_its_system_is_a_failed_row() -> None:
    out = run_task(task("tpu-v6e-8", parallel="tp=2,dp=8"))
    assert not out.ok and not out.internal
    assert "= 16 chips; tpu-v6e-8 has 8" in out.reason



def test_parallel_auto_keeps_the_best_layout_by_its_objective() -> None:
    def decode(**values: object) -> dict[str, Any]:
        out = run_task(task("tpu-v6e-8", phase="decode", **values))
        assert out.ok, out.reason
        return out.metrics

    best = decode(parallel="auto", objective="throughput")
    for other in ("tp=2", "tp=4", "tp=2,pp=2,mb=2"):
        tps = decode(parallel=other)["decode.tokens_per_s_per_chip"]
        assert best["decode.tokens_per_s_per_chip"] >= tps
    assert best["layout"] in ("tp=1", "tp=2", "tp=4", "tp=1,pp=2,mb=2")
