"""Systems of chips (meshc/hardware/system.py): presets, the fabric they give the
collectives, a chip as a system of one, and bad system files named by file and YAML path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from meshc.cli import main
from meshc.errors import MeshcError
from meshc.hardware import load_hardware
from meshc.hardware.load import preset_path
from meshc.hardware.system import (
    SYSTEM_DIR,
    SystemSpec,
    load_system,
    parse_system,
    system_names,
    system_of_one,
)

EXPECTED = {"b200-8", "cerebras-like-wafer", "dojo-tile", "groq-like-576", "h100-8",
            "hetero-v6e-groq", "tpu-v6e-256", "tpu-v6e-8"}


def two_chips(**over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "schema_version": 1, "name": "pair",
        "chips": {"a": {"hw": "mesh-2x2", "count": 2}},
        "topology": {"kind": "ring"},
        "links": {"bytes_per_s": 1e9, "latency_s": 1e-6, "pj_per_bit": 1.0, "per_chip": 2},
    }
    return spec | over


def refused(spec: dict[str, Any], tmp_path: Path, file: str = "sys.yaml") -> MeshcError:
    """The error loading `spec` from tmp_path/sys.yaml; it names `file` in tmp_path."""
    path = tmp_path / "sys.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(MeshcError) as e:
        load_system(path)
    assert e.value.file == str(tmp_path / file)
    return e.value


def test_preset_list() -> None:
    assert set(system_names()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_preset_loads_and_cites_every_number(name: str) -> None:
    s = load_system(name)
    assert s.name == name and s.n_chips == s.fabric.chips > 1
    assert s.spec.sources and s.peak_flops("bf16") > 0
    for line in (SYSTEM_DIR / f"{name}.yaml").read_text().splitlines():
        body = line.split("#")[0].strip()
        if any(ch.isdigit() for ch in body.split(":", 1)[-1]) and ":" in body \
                and not body.startswith(("schema_version", "name", "description", "- ")):
            assert "#" in line, f"{name}: uncommented number: {line.strip()}"


def test_published_figures() -> None:
    pod = load_system("tpu-v6e-256")
    assert pod.peak_flops("bf16") == pytest.approx(234.9e15, rel=2e-3)  # [P] per pod
    assert pod.hbm_bytes == 256 * 32e9
    assert load_system("h100-8").link_bytes_per_s_per_chip == 450e9  # 900 GB/s both ways
    assert load_system("b200-8").link_bytes_per_s_per_chip == 900e9  # 1.8 TB/s both ways
    assert load_system("dojo-tile").peak_flops("bf16") == pytest.approx(9e15, rel=0.01)
    groq = load_system("groq-like-576")
    assert groq.hbm_bytes == 0 and groq.sram_bytes == pytest.approx(576 * 230e6)
    wafer = load_system("cerebras-like-wafer")
    assert wafer.sram_bytes == pytest.approx(44e9, rel=0.03)  # 45 GB for 44 [S]: +2.4% cores


@pytest.mark.parametrize(("name", "tflops", "hbm_bytes", "hbm_bytes_per_s"), [
    ("b200-like", 2250, 180e9, 8e12), ("dojo-d1-like", 362, 0, 0)])
def test_new_chip_presets_keep_their_published_figures(name: str, tflops: float,
                                                       hbm_bytes: float,
                                                       hbm_bytes_per_s: float) -> None:
    hw = load_hardware(name)
    assert hw.peak_flops("bf16") / 1e12 == pytest.approx(tflops, rel=2e-3)
    assert hw.peak_flops("fp8") == pytest.approx(2 * hw.peak_flops("bf16")
                                                 if name == "b200-like" else hw.peak_flops("bf16"))
    assert (hw.hbm_bytes, hw.hbm_bytes_per_s) == (hbm_bytes, hbm_bytes_per_s)


def test_fabrics() -> None:
    v8 = load_system("tpu-v6e-8").fabric
    assert (v8.kind, v8.dims, v8.wrap, v8.links_per_hop) == ("grid", (2, 4), (False, False), 1)
    assert load_system("tpu-v6e-256").fabric.wrap == (True, True)
    h = load_system("h100-8").fabric
    assert (h.kind, h.dims, h.hop_bytes_per_s) == ("switch", (8,), 450e9)
    assert load_system("cerebras-like-wafer").fabric.links_per_hop == 64  # 256 over 4 sides
    ring = parse_system(yaml.safe_dump(two_chips(chips={"a": {"hw": "mesh-2x2", "count": 5}})))
    assert (ring.fabric.dims, ring.fabric.wrap, ring.fabric.links_per_hop) == ((5,), (True,), 1)


def test_heterogeneous_groups_keep_their_roles_and_order() -> None:
    s = load_system("hetero-v6e-groq")
    assert [(g.name, g.hw.name, g.count, g.role) for g in s.groups] == [
        ("attn", "tpu-v6e-like", 8, "attention"), ("mlp", "groq-like", 64, "mlp")]
    assert s.hbm_bytes == 8 * 32e9
    assert s.peak_flops("bf16") == pytest.approx(8 * 918e12 + 64 * 187.5e12, rel=1e-3)


def test_a_chip_is_a_system_of_one() -> None:
    hw = load_hardware("tpu-v6e-like")
    one = system_of_one(hw)
    assert (one.n_chips, one.fabric.chips, one.spec.links, one.groups[0].hw) == (1, 1, None, hw)
    assert one.peak_flops("bf16") == hw.peak_flops("bf16")
    assert one.link_bytes_per_s_per_chip == 0.0
    assert load_system("tpu-v6e-like").groups[0].hw == hw  # a chip preset's name
    r = CliRunner().invoke(main, ["system", "show", "h100-like", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["all_reduce_1GB"]["time_s"] == 0.0


def test_chip_files_resolve_next_to_the_system_file(tmp_path: Path) -> None:
    (tmp_path / "chips").mkdir()
    (tmp_path / "chips" / "mine.yaml").write_text(preset_path("mesh-2x2").read_text())
    path = tmp_path / "sys.yaml"
    path.write_text(yaml.safe_dump(two_chips(chips={"a": {"hw": "chips/mine.yaml",
                                                          "count": 2}})))
    assert load_system(path).groups[0].hw.name == "mesh-2x2"


@pytest.mark.parametrize(("over", "where", "words"), [
    ({"topology": {"kind": "torus2d", "dims": [2, 2]}}, "topology.dims", "4 chips"),
    ({"topology": {"kind": "switch", "dims": [2]}}, "topology.dims", "takes no dims"),
    ({"topology": {"kind": "torus3d", "dims": [1, 2]}}, "topology.dims", "needs 3 values"),
    ({"topology": {"kind": "mesh2d", "dims": [1, 2]}}, "links.per_chip", "4 neighbours"),
    ({"links": None}, "links", "the system has 2 chips"),
    ({"chips": {"a": {"hw": "nope", "count": 2}}}, "chips.a.hw", "neither a chip preset"),
    ({"chips": {"a": {"hw": "mesh-2x2", "count": 0}}}, "chips.a.count", "greater than"),
    ({"chips": {"a": {"hw": "mesh-2x2", "count": True}}}, "chips.a.count", "number"),
    ({"linx": {}}, "linx", "unknown field"),
])
def test_bad_system_files_name_the_yaml_path(tmp_path: Path, over: dict[str, Any], where: str,
                                             words: str) -> None:
    e = refused(two_chips(**over), tmp_path)
    assert e.where == where and words in str(e)


def test_a_misspelt_field_gets_a_suggestion(tmp_path: Path) -> None:
    spec = two_chips()
    spec["links"] = spec["links"] | {"latency_sec": 1e-6}
    del spec["links"]["latency_s"]
    e = refused(spec, tmp_path)
    assert e.where == "links.latency_sec" and "did you mean 'latency_s'" in str(e)


def test_a_bad_chip_file_is_named_by_its_own_path(tmp_path: Path) -> None:
    (tmp_path / "chip.yaml").write_text("schema_version: 1\nname: x\n")
    e = refused(two_chips(chips={"a": {"hw": "chip.yaml", "count": 2}}), tmp_path, "chip.yaml")
    assert e.where == "core_types"


def test_json_schema_lists_the_fields() -> None:
    props = SystemSpec.model_json_schema()["properties"]
    assert {"chips", "topology", "links", "schema_version"} <= set(props)


def test_cli_show_list_schema_and_errors(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["system", "show", "tpu-v6e-8", "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["chips"] == 8 and out["all_reduce_1GB"]["algorithm"] == "ring"
    assert set(out["all_reduce_1GB"]["options"]) == {"ring", "torus2d"}
    r = CliRunner().invoke(main, ["system", "show", "h100-8"])
    assert r.exit_code == 0 and "all-reduce 1 GB" in r.output and "halving-doubling" in r.output
    assert "tpu-v6e-256" in CliRunner().invoke(main, ["system", "list"]).output
    assert "links" in json.loads(CliRunner().invoke(main, ["system", "schema"]).output)["properties"]
    (tmp_path / "bad.yaml").write_text("schema_version: 1\nname: x\nchips: {}\n")
    r = CliRunner().invoke(main, ["system", "show", str(tmp_path / "bad.yaml")])
    assert r.exit_code == 2 and "bad.yaml: chips:" in r.output and "Traceback" not in r.output


def test_a_system_where_a_chip_is_expected_is_named_and_its_chips_given() -> None:
    from meshc.errors import MeshcError
    from meshc.hardware import load_hardware
    from meshc.hardware.load import SYSTEM_DIR

    for source in ("tpu-v6e-8", str(SYSTEM_DIR / "tpu-v6e-8.yaml")):
        with pytest.raises(MeshcError, match="system of chips") as e:
            load_hardware(source)
        assert "give one of its chips: tpu-v6e-like" in str(e.value)
