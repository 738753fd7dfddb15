"""A point's settings resolved into a compile: overrides, pass options and the content key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshc.errors import MeshcError
from meshc.studies.grid import Point, settings
from meshc.studies.tasks import resolve, with_pass_options

TINY = str(Path(__file__).parents[2] / "fixtures" / "spec" / "tiny-llama.yaml")


def task(**values: object):  # type: ignore[no-untyped-def]
    s = settings({"model": TINY, "hw": "mesh-2x2", "mapper": "heft"},
                 Point(0, tuple(values.items())))
    return resolve(0, s)


def test_pass_options_set_the_named_steps() -> None:
    spec = "lower-quant{weights=bf16 acts=bf16 kv=bf16},tile-grain{grain=auto},map-mesh"
    assert with_pass_options(spec, {"weights": "int4", "group": 64, "grain": 32}) == (
        "lower-quant{weights=int4 acts=bf16 kv=bf16 group=64},tile-grain{grain=32},map-mesh")
    with pytest.raises(MeshcError, match="no tile-grain step"):
        with_pass_options("map-mesh", {"grain": 8})


def test_a_quant_key_makes_an_explicit_pass_list() -> None:
    t = task(kv="int8")
    assert t.options.passes.startswith("lower-quant{weights=bf16 acts=bf16 kv=int8}")
    assert "mapper=heft" in t.options.passes
    assert task().options.passes == ""  # no pass key: the named pipeline as compile runs it


def test_arch_overrides_write_a_compact_spec() -> None:
    t = task(**{"arch.mlp_mult": 2.5, "arch.layers": 3})
    arch = yaml.safe_load(t.model_text)["architecture"]
    assert (arch["intermediate"], arch["layers"], arch["hidden"]) == (1280, 3, 256)  # 512 x 2.5
    assert yaml.safe_load(t.model_text)["name"] == "tiny-llama"


@pytest.mark.parametrize(("key", "value", "words"), [
    ("arch.layers", 0, "arch.layers"), ("arch.moe.experts", 8, "has no 'moe'"),
    ("arch.colour", 1, "has no 'colour'"), ("arch.mlp_mult", -1, "arch.mlp_mult"),
    ("hw.mesh.depth", 2, "has no 'mesh.depth'"), ("hw.mesh.rows", 1, "hw.mesh.rows=1"),
    ("hw.hbm.stacks.7.bytes", 1, "'hbm.stacks.7'"),
])
def test_bad_overrides_name_the_key(key: str, value: object, words: str) -> None:
    with pytest.raises(MeshcError, match=words.replace(".", r"\.")):
        task(**{key: value})


def test_hw_overrides_set_the_path_in_the_yaml() -> None:
    t = task(**{"hw.hbm.stacks.0.bytes_per_s": 32e9})
    assert yaml.safe_load(t.hw_text)["hbm"]["stacks"][0]["bytes_per_s"] == 32e9


def test_the_key_follows_content_not_spelling() -> None:
    assert task(batch=2).key == task(batch=2).key
    assert len({task(batch=2).key, task(batch=3).key, task(kv="int8").key,
                task(**{"arch.mlp_mult": 1}).key}) == 4
    # the same architecture, spelt as an override: the same spec text, the same key
    assert task(**{"arch.layers": 2}).key == task(**{"arch.mlp_mult": 1}).key


def test_arch_overrides_need_the_compact_form(tmp_path: Path) -> None:
    spec = tmp_path / "g.yaml"
    spec.write_text("graph: {}\n")
    with pytest.raises(MeshcError, match="compact form"):
        resolve(0, settings({"model": str(spec), "hw": "mesh-2x2", "arch.layers": 2},
                            Point(0, ())))


def test_a_shape_over_a_limit_is_a_point_failure_not_a_bad_grid() -> None:
    from meshc.studies.grid import parse_grid
    from meshc.studies.sweep import Sweep, prepare
    from meshc.studies.tasks import PointFailure

    with pytest.raises(PointFailure, match=r"kv-len .* over the limit"):
        task(kv_len=10**15)
    done = prepare(Sweep((TINY,), ("mesh-2x2",), parse_grid(["kv_len=64,1000000000000000"])))
    failed = done[1][1]
    assert not isinstance(done[0][1], dict) and isinstance(failed, dict)
    assert failed["ok"] is False and "over the limit" in failed["reason"]
