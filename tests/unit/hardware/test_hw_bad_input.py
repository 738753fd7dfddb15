"""Bad hardware files: one MeshcError naming the file, the YAML path and what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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
     "core_types.mlp.sram_bytes", "greater than 0"),
    ("negative array", lambda s: s["core_types"]["attention"].update(array_rows=-8),
     "core_types.attention.array_rows", "greater than or equal to 0"),
    ("zero mesh rows", lambda s: s["mesh"].update(rows=0), "mesh.rows", "greater than 0"),
    ("negative hbm bytes", lambda s: s["hbm"]["stacks"][0].update(bytes=-1),
     "hbm.stacks[0].bytes", "greater than 0"),
    ("zero noc link", lambda s: s["noc"].update(link_bytes_per_cycle=0),
     "noc.link_bytes_per_cycle", "greater than 0"),
    ("zero clock", lambda s: s["core_types"]["mlp"].update(clock_hz=0.0),
     "core_types.mlp.clock_hz", "greater than 0"),
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
    ("core_types: [unclosed\n", "line 2, column 1", "malformed YAML"),
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
    assert info.value.file == str(path) and "cannot read" in info.value.message


def test_outside_the_mesh_and_unsupported_precision() -> None:
    hw = load_hardware("mesh-4x4")
    with pytest.raises(MeshcError, match="outside the 4x4 mesh"):
        hw.core_type_at(4, 0)
    with pytest.raises(MeshcError) as info:
        hw.core_types["mlp"].exec_precision("f32")
    assert info.value.where == "core_types.mlp.macs_per_cycle"
