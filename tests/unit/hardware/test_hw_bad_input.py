"""Bad hardware files: one MeshcError naming the file, the YAML path and what is wrong."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from meshc import limits
from meshc.errors import MeshcError
from meshc.hardware import load_hardware

Spec = dict[str, Any]


def _no_array(s: Spec) -> None:
    for ct in s["core_types"].values():
        ct.update(array_rows=0, array_cols=0)
        del ct["macs_per_cycle"], ct["dataflow"]


def _second_stack_inside(s: Spec) -> None:
    s["hbm"]["stacks"].append(dict(s["hbm"]["stacks"][0], attach=[[1, 1]]))


def _vector_core_everywhere(s: Spec) -> None:
    s["core_types"]["vec"] = {k: v for k, v in s["core_types"]["mlp"].items()
                              if k not in ("macs_per_cycle", "dataflow")}
    s["core_types"]["vec"].update(array_rows=0, array_cols=0)
    s["mesh"].update(fill="vec", regions=[])


# (case id, mutation of mesh-4x4, YAML path the error must name, words it must contain)
CASES: list[tuple[str, Callable[[Spec], object], str, str]] = [
    ("missing field", lambda s: s["core_types"]["mlp"].pop("sram_bytes"),
     "core_types.mlp.sram_bytes", "required field is missing"),
    ("missing section", lambda s: s.pop("hbm"), "hbm", "required field is missing"),
    ("zero sram", lambda s: s["core_types"]["mlp"].update(sram_bytes=0),
     "core_types.mlp.sram_bytes", "greater than or equal to 1"),
    ("negative array", lambda s: s["core_types"]["attention"].update(array_rows=-8),
     "core_types.attention.array_rows", "greater than or equal to 0"),
    ("zero mesh rows", lambda s: s["mesh"].update(rows=0), "mesh.rows", "greater than or equal to 1"),
    ("negative hbm bytes", lambda s: s["hbm"]["stacks"][0].update(bytes=-1),
     "hbm.stacks[0].bytes", "greater than or equal to 1"),
    ("zero noc link", lambda s: s["noc"].update(link_bytes_per_cycle=0),
     "noc.link_bytes_per_cycle", "greater than or equal to 0.125"),
    ("zero clock", lambda s: s["core_types"]["mlp"].update(clock_hz=0.0),
     "core_types.mlp.clock_hz", "greater than or equal to 1000"),
    ("infinite clock", lambda s: s["core_types"]["mlp"].update(clock_hz=float("inf")),
     "core_types.mlp.clock_hz", "finite number"),
    ("hbm on an inner core", _second_stack_inside, "hbm.stacks[1].attach[0]",
     "not on the mesh edge"),
    ("hbm off the mesh", lambda s: s["hbm"]["stacks"][0].update(attach=[[0, 0], [9, 0]]),
     "hbm.stacks[0].attach[1]", "not on the 4x4 mesh"),
    ("hbm attach duplicated", lambda s: s["hbm"]["stacks"][0].update(attach=[[0, 0], [0, 0]]),
     "hbm.stacks[0].attach[1]", "listed twice"),
    ("hbm attach not a pair", lambda s: s["hbm"]["stacks"][0].update(attach=[[0, 0, 1]]),
     "hbm.stacks[0].attach[0]", "at most 2 items"),
    ("unsupported precision", lambda s: s["core_types"]["mlp"]["macs_per_cycle"].update(fp4=8),
     "core_types.mlp.macs_per_cycle.fp4", "key 'fp4'"),
    ("no gemm core", _no_array, "mesh", "no core on the mesh can run GEMMs"),
    ("only vector cores placed", _vector_core_everywhere, "mesh", "can run GEMMs"),
    ("unknown core in region", lambda s: s["mesh"]["regions"][0].update(core="attn"),
     "mesh.regions[0].core", "unknown core type 'attn'"),
    ("unknown fill", lambda s: s["mesh"].update(fill="mpl"), "mesh.fill",
     "unknown core type 'mpl'"),
    ("region past the mesh", lambda s: s["mesh"]["regions"][0].update(rows=[0, 4]),
     "mesh.regions[0].rows", "reaches past the mesh"),
    ("region reversed", lambda s: s["mesh"]["regions"][0].update(cols=[3, 0]),
     "mesh.regions[0].cols", "first index 3 is after last index 0"),
    ("misspelt field", lambda s: s["core_types"]["mlp"].update(sram_byte=1),
     "core_types.mlp.sram_byte", "unknown field"),
    ("one array dimension zero", lambda s: s["core_types"]["mlp"].update(array_cols=0),
     "core_types.mlp.array_cols", "must be positive"),
    ("array without dataflow", lambda s: s["core_types"]["mlp"].pop("dataflow"),
     "core_types.mlp.dataflow", "needs a dataflow"),
    ("bad dataflow", lambda s: s["core_types"]["mlp"].update(dataflow="row_stationary"),
     "core_types.mlp.dataflow", "output_stationary"),
    ("macs without array", lambda s: s["core_types"]["mlp"].update(array_rows=0, array_cols=0),
     "core_types.mlp.macs_per_cycle", "array_rows and array_cols are 0"),
    ("double buffer without array",
     lambda s: (_no_array(s), s["core_types"]["mlp"].update(double_buffered=True)),
     "core_types.mlp.double_buffered", "array_rows and array_cols are 0"),
    ("wrong type", lambda s: s["core_types"]["mlp"].update(sram_bytes="lots"),
     "core_types.mlp.sram_bytes", "valid integer"),
    ("unknown energy node", lambda s: s["energy"].update(node="3nm"), "energy.node", "'7nm'"),
    ("narrower costs more", lambda s: s["energy"].update(pj_per_mac={"int8": 5.0}),
     "energy.pj_per_mac", "int8 costs 5.0 pJ per MAC, more than fp8"),
    ("no core types", lambda s: s.update(core_types={}), "core_types", "at least 1"),
    ("bad core type name", lambda s: s["core_types"].update({"my core": {}}),
     "core_types.my core", "pattern"),
    ("future schema", lambda s: s.update(schema_version=2), "schema_version", "not supported"),
]


def _stack(**kw: object) -> Callable[[Spec], object]:
    return lambda s: s["hbm"]["stacks"][0].update(**kw)


def _mlp(**kw: object) -> Callable[[Spec], object]:
    return lambda s: s["core_types"]["mlp"].update(**kw)


# Absurd numbers: every field has a physical range (model.py); NaN and inf are not numbers.
ABSURD: list[tuple[str, Callable[[Spec], object], str, str]] = [
    ("hbm 1e-30 B/s", _stack(bytes_per_s=1e-30), "hbm.stacks[0].bytes_per_s",
     "greater than or equal to 1000000"),
    ("hbm 0 B/s", _stack(bytes_per_s=0), "hbm.stacks[0].bytes_per_s", "greater than or equal"),
    ("hbm negative B/s", _stack(bytes_per_s=-5e9), "hbm.stacks[0].bytes_per_s",
     "greater than or equal"),
    ("hbm NaN B/s", _stack(bytes_per_s=float("nan")), "hbm.stacks[0].bytes_per_s",
     "finite number"),
    ("hbm inf B/s", _stack(bytes_per_s=float("inf")), "hbm.stacks[0].bytes_per_s",
     "finite number"),
    ("hbm 1e300 B/s", _stack(bytes_per_s=1e300), "hbm.stacks[0].bytes_per_s",
     "less than or equal to 1000000000000000"),
    ("hbm 1e300 bytes", _stack(bytes=1e300), "hbm.stacks[0].bytes", "integer"),
    ("hbm 10^30 bytes", _stack(bytes=10**30), "hbm.stacks[0].bytes",
     "less than or equal to 1000000000000000, got 1000000000000000000000000000000"),
    ("clock 1e-30 Hz", _mlp(clock_hz=1e-30), "core_types.mlp.clock_hz",
     "greater than or equal to 1000, got 1e-30"),
    ("clock 1 THz", _mlp(clock_hz=1e12), "core_types.mlp.clock_hz", "less than or equal to"),
    ("noc clock NaN", lambda s: s["noc"].update(clock_hz=float("nan")), "noc.clock_hz",
     "finite number"),
    ("sram 1e14 bytes", _mlp(sram_bytes=10**14), "core_types.mlp.sram_bytes",
     "less than or equal to 10000000000000"),
    ("sram 0.5 B/cycle", _mlp(sram_bytes_per_cycle=0.5), "core_types.mlp.sram_bytes_per_cycle",
     "greater than or equal to 1"),
    ("1e-30 transcendentals", _mlp(transcendental_per_cycle=1e-30),
     "core_types.mlp.transcendental_per_cycle", "greater than or equal to 0.001"),
    ("array 10^6 wide", _mlp(array_cols=10**6), "core_types.mlp.array_cols",
     "less than or equal to 4096"),
    ("true as a number", _mlp(vector_lanes=True), "core_types.mlp.vector_lanes",
     "expected a number, got true"),
    ("negative energy", lambda s: s["energy"].update(pj_per_mac={"bf16": -1.0}),
     "energy.pj_per_mac.bf16", "greater than 0"),
    ("megawatt core", lambda s: s["energy"].update(static_w_per_core=1e6),
     "energy.static_w_per_core", "less than or equal to 10000"),
    ("router 1e9 cycles", lambda s: s["noc"].update(router_latency_cycles=10**9),
     "noc.router_latency_cycles", "less than or equal to 10000"),
    ("mesh side 1e9", lambda s: s["mesh"].update(rows=10**9), "mesh.rows",
     "less than or equal to 10000"),
    ("mesh 100x100 cores", lambda s: s["mesh"].update(rows=100, cols=100), "mesh",
     "a 100x100 mesh has too many cores: 10,000 cores is over the limit of 4,096 cores"),
]
CASES += ABSURD


@pytest.mark.parametrize(("mutate", "where", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_spec(spec: Spec, write_spec: Callable[..., Path], mutate: Callable[[Spec], object],
                  where: str, words: str) -> None:
    mutate(spec)
    path = write_spec(spec)
    with pytest.raises(MeshcError) as info:
        load_hardware(path)
    err = info.value
    assert err.file == str(path)
    assert err.where == where
    assert words in err.message
    text = str(err)
    assert str(path) in text and where in text and "Traceback" not in text


@pytest.mark.parametrize(("text", "where", "words"), [
    ("core_types: [unclosed\n", "line 2, column 1", "not valid YAML"),
    ("name: a\nname: b\n", "line 2, column 1", "duplicate key 'name'"),
    ("- just\n- a list\n", None, "expected a mapping"),
    ("", None, "expected a mapping"),
    ("schema_version: 1\n", None, "required field is missing"),
])
def test_bad_yaml(write_spec: Callable[..., Path], text: str, where: str | None,
                  words: str) -> None:
    path = write_spec(text)
    with pytest.raises(MeshcError) as info:
        load_hardware(path)
    assert info.value.file == str(path)
    assert words in info.value.message
    if where:
        assert info.value.where == where


def test_many_errors_are_counted(spec: Spec, write_spec: Callable[..., Path]) -> None:
    spec["noc"].update(link_bytes_per_cycle=0, clock_hz=0)
    with pytest.raises(MeshcError, match="1 more problem"):
        load_hardware(write_spec(spec))


def test_misspelling_gets_a_suggestion(spec: Spec, write_spec: Callable[..., Path]) -> None:
    spec["core_types"]["mlp"]["sram_byts"] = spec["core_types"]["mlp"].pop("sram_bytes")
    with pytest.raises(MeshcError) as info:
        load_hardware(write_spec(spec))
    assert "did you mean 'sram_bytes'" in str(info.value)


def test_unknown_preset_suggests_a_name() -> None:
    with pytest.raises(MeshcError) as info:
        load_hardware("mesh-4x5")
    assert "unknown hardware preset 'mesh-4x5'" in str(info.value)
    assert "did you mean 'mesh-4x4'" in str(info.value)


def test_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(MeshcError) as info:
        load_hardware(path)
    assert info.value.file == str(path) and info.value.message == "no such hardware file"


def test_outside_the_mesh_and_unsupported_precision() -> None:
    hw = load_hardware("mesh-4x4")
    with pytest.raises(MeshcError, match="outside the 4x4 mesh"):
        hw.core_type_at(4, 0)
    with pytest.raises(MeshcError) as info:
        hw.core_types["mlp"].exec_precision("f32")
    assert info.value.where == "core_types.mlp.macs_per_cycle"


# -- the file itself -------------------------------------------------------------------


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "hw.yaml"
    os.mkfifo(path)
    return path


def _loop(tmp_path: Path) -> Path:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    return tmp_path / "a.yaml"


def _not_utf8(tmp_path: Path) -> Path:
    path = tmp_path / "hw.yaml"
    path.write_bytes(b"schema_version: 1\nname: caf\xe9\n")
    return path


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "hw.yaml").mkdir()
    return tmp_path / "hw.yaml"


def _huge_int(tmp_path: Path) -> Path:
    path = tmp_path / "hw.yaml"
    path.write_text(f"schema_version: 1\nmesh: {{rows: {'9' * 5000}}}\n")
    return path


@pytest.mark.parametrize(("make", "words"), [
    (_fifo, "is a FIFO, not a regular hardware file"),
    (_loop, "a loop of symbolic links"),
    (_not_utf8, "not UTF-8 text (byte 0xe9)"),
    (_directory, "is a directory"),
    (_huge_int, "an integer with thousands of digits"),
    (lambda _: Path("/dev/zero"), "is a character device, not a regular hardware file"),
], ids=["fifo", "symlink loop", "not utf-8", "directory", "5000-digit int", "/dev/zero"])
def test_unreadable_file_is_one_located_error(tmp_path: Path, make: Callable[[Path], Path],
                                              words: str) -> None:
    path = make(tmp_path)
    with pytest.raises(MeshcError) as info:
        load_hardware(path)  # a FIFO or /dev/zero would block or exhaust memory if read
    assert info.value.file == str(path)
    assert words in info.value.message


@pytest.mark.parametrize("source", ["", "  ", "mesh\x004x4"])
def test_empty_or_nul_name_is_refused(source: str) -> None:
    with pytest.raises(MeshcError, match="not a hardware preset name or file path"):
        load_hardware(source)


def test_the_cores_limit_can_be_raised(spec: Spec, write_spec: Callable[..., Path]) -> None:
    spec["mesh"].update(rows=65, cols=64)
    path = write_spec(spec)
    limits.set_limits(("cores=4160",))
    try:
        assert load_hardware(path).n_cores == 4160
    finally:
        limits.reset()
    with pytest.raises(MeshcError, match="4,160 cores is over the limit"):
        load_hardware(path)  # not the cached machine: the limit is part of the cache key


def test_cache_is_per_file_and_mtime(spec: Spec, write_spec: Callable[..., Path]) -> None:
    path = write_spec(spec)
    first = load_hardware(path)
    assert load_hardware(str(path)) is first
    spec["name"] = "renamed"
    write_spec(spec)
    os.utime(path, ns=(1, 1))  # a new mtime even on a coarse-clock file system
    assert load_hardware(path).name == "renamed"


FIXTURES = Path(__file__).parents[1] / "passes" / "fixtures"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.name)
def test_schema_1_files_of_the_tests_still_load(path: Path) -> None:
    assert load_hardware(path).schema_version == 1
