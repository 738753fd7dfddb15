"""Construction checks of the problem values and the feasibility errors users see."""

from __future__ import annotations

import dataclasses

import pytest
from mapper_builders import OpSpec, machine, problem

from meshc.errors import MeshcError
from meshc.mappers import MapperOptions, Op, lower_bounds, map_problem
from meshc.mappers.synthetic import decoder_problem


def test_cycle_is_rejected() -> None:
    with pytest.raises(MeshcError, match="cycle"):
        problem(machine(2, 2), [OpSpec(1, 5), OpSpec(1, 5)], [(0, 1, 0), (1, 0, 0)])


def test_ids_must_be_positions() -> None:
    p = problem(machine(2, 2), [OpSpec(1, 5)], [])
    bad = dataclasses.replace(p.ops[0], id=3)
    with pytest.raises(MeshcError, match="ids must be"):
        dataclasses.replace(p, ops=(bad,))


def test_tile_too_big_for_any_sram_names_demand_capacity_and_fix() -> None:
    with pytest.raises(MeshcError) as err:
        lower_bounds(decoder_problem(4, 4, grain=512))
    text = str(err.value)
    assert "tile needs 3,145,728 B of SRAM" in text
    assert "cores of type mlp have 1,048,576 B" in text
    assert "tile-grain{grain=...}" in text
    assert err.value.where is not None and err.value.where.startswith("op L0.")


def test_region_without_a_capable_core() -> None:
    p = decoder_problem(4, 4)
    op = p.ops[1]
    moved = Op(id=op.id, name=op.name, layer=op.layer, block=op.block, region="mlp",
               n_tiles=op.n_tiles, tile_cycles={"attn": 10}, sram_bytes_per_tile=64)
    p = dataclasses.replace(p, ops=(*p.ops[:1], moved, *p.ops[2:]))
    with pytest.raises(MeshcError, match=r"region 'mlp' has no core able to run it"):
        map_problem(p, MapperOptions(mapper="heft"))


def test_hbm_capacity() -> None:
    p = decoder_problem(4, 4)
    p = dataclasses.replace(p, hbm_resident_bytes=100 << 30)
    with pytest.raises(MeshcError) as err:
        map_problem(p, MapperOptions(mapper="heft"))
    assert "HBM must hold 107,374,182,400 B" in str(err.value)
    assert "has 85,899,345,920 B" in str(err.value)


def test_hbm_traffic_without_hbm() -> None:
    p = problem(machine(2, 2), [OpSpec(1, 5, hbm=100)], [])
    with pytest.raises(MeshcError, match="no HBM port"):
        map_problem(p, MapperOptions(mapper="heft"))


def test_bad_options() -> None:
    with pytest.raises(MeshcError, match="unknown constraint families"):
        MapperOptions(disabled_families=("nope",))
    with pytest.raises(MeshcError, match="choose cpsat or heft"):
        MapperOptions(mapper="greedy")  # type: ignore[arg-type]
