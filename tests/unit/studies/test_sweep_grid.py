"""The grid: keys, values, products, pairings and overrides."""

from __future__ import annotations

import pytest

from meshc.errors import MeshcError
from meshc.studies.grid import DEFAULTS, Axis, Grid, Point, parse_axis, parse_grid, settings


def test_values_take_the_type_of_their_key() -> None:
    assert parse_axis("batch=1,8").values == (1, 8)
    assert parse_axis("budget=1,0.5").values == (1.0, 0.5)  # an integer budget is seconds
    assert parse_axis("cold=true,false").values == (True, False)
    assert parse_axis("weights=int8,int4").values == ("int8", "int4")
    assert parse_axis("model=8b").values == ("8b",)  # a name stays a name
    assert parse_axis("arch.gated=false").values == (False,)
    assert parse_axis("hw.noc.clock_hz=1e9").values == (1e9,)


@pytest.mark.parametrize(("arg", "words"), [
    ("batch=0", "finite number > 0"), ("budget=.nan", "finite number > 0"),
    ("seed=-1", ">= 0"), ("batch=1.5", "expected int"), ("mapper=ilp", "not one of"),
    ("color=red", "unknown key 'color'"), ("batch", "not KEY=V1,V2"), ("batch=1,,2", "not KEY"),
    ("arch.=1", "unknown key"), ("phase=both,x", "not one of"), ("batch=[1]", "single value"),
])
def test_bad_axes_name_the_key(arg: str, words: str) -> None:
    with pytest.raises(MeshcError, match=words) as e:
        parse_axis(arg)
    assert "--grid" in str(e.value)


def test_the_grid_is_the_product_in_key_order() -> None:
    g = parse_grid(["batch=1,2", "kv_len=8,16,32"])
    pts = g.points()
    assert len(pts) == 6
    assert pts[0] == Point(0, (("batch", 1), ("kv_len", 8)))
    assert pts[4].values == (("batch", 2), ("kv_len", 16))
    assert pts[4].label == "batch=2 kv_len=16"


def test_zip_pairs_lists_of_one_length_and_may_repeat() -> None:
    g = parse_grid(["arch.activation=relu,relu", "arch.gated=false,true"], zipped=True)
    assert [p.values for p in g.points()] == [
        (("arch.activation", "relu"), ("arch.gated", False)),
        (("arch.activation", "relu"), ("arch.gated", True))]
    with pytest.raises(MeshcError, match="one length"):
        parse_grid(["batch=1,2", "seq=1"], zipped=True)
    with pytest.raises(MeshcError, match="repeats"):
        parse_grid(["batch=1,1"])
    with pytest.raises(MeshcError, match="given twice"):
        parse_grid(["batch=1", "batch=2"])


def test_override_replaces_an_axis_in_place_and_appends_new_ones() -> None:
    g = parse_grid(["batch=1,2", "kv_len=8"]).override([Axis("kv_len", (4,)),
                                                         Axis("seq", (16,))])
    assert g.keys == ("batch", "kv_len", "seq")
    assert g.axes[1].values == (4,)


def test_settings_layer_defaults_fixed_and_point() -> None:
    s = settings({"mapper": "heft", "batch": 4}, Point(0, (("batch", 8),)))
    assert (s["mapper"], s["batch"], s["seq"]) == ("heft", 8, DEFAULTS["seq"])
    assert Grid(()).points() == (Point(0, ()),)  # no axis: one point, the defaults
