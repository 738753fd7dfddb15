"""Construction checks of the problem values and the feasibility errors users see."""

from __future__ import annotations

import dataclasses

import pytest
from mapper_builders import OpSpec, machine, problem
from mapper_synthetic import decoder_problem

from meshc.errors import MeshcError
from meshc.mappers import MapperOptions, MappingProblem, Op, lower_bounds, map_problem


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
    assert "tile needs 3.15 MB (3,145,728 B) of SRAM" in text
    assert "cores of type mlp have 1.05 MB (1,048,576 B)" in text
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
    assert "HBM must hold 107 GB (107,374,182,400 B)" in str(err.value)
    assert "has 85.9 GB (85,899,345,920 B)" in str(err.value)


def test_hbm_traffic_without_hbm() -> None:
    p = problem(machine(2, 2), [OpSpec(1, 5, hbm=100)], [])
    with pytest.raises(MeshcError, match="no HBM port"):
        map_problem(p, MapperOptions(mapper="heft"))


def test_bad_options() -> None:
    with pytest.raises(MeshcError, match="unknown constraint families"):
        MapperOptions(disabled_families=("nope",))
    with pytest.raises(MeshcError, match="choose cpsat or heft"):
        MapperOptions(mapper="greedy")  # type: ignore[arg-type]


def _fingerprint(p: MappingProblem) -> tuple[object, ...]:
    return (len(p.ops), len(p.edges), sum(o.n_tiles for o in p.ops),
            sum(o.hbm_read_bytes for o in p.ops), sum(o.hbm_write_bytes for o in p.ops),
            sum(e.bytes for e in p.edges), sum(sum(o.tile_cycles.values()) for o in p.ops),
            p.hbm_resident_bytes, p.name)


def test_synthetic_layer_is_unchanged_without_row_blocks() -> None:
    """Pinned from the builder before row blocks existed: parts=1 is the same problem."""
    assert _fingerprint(decoder_problem(4, 4, parts=1)) == (
        11, 13, 2176, 438304768, 2097152, 79691776, 479872, 438304768, "decoder1x4x4g128")
    assert _fingerprint(decoder_problem(4, 4, layers=2, head_groups=True, grain=256)) == (
        68, 116, 1664, 876609536, 4194304, 268435456, 4006528, 876609536, "decoder2x4x4g256")


def test_synthetic_row_blocks_pipeline_causally() -> None:
    whole = decoder_problem(4, 4)
    p = decoder_problem(4, 4, parts=4)
    names = [op.name for op in p.ops]
    assert len(p.ops) == 44 and names[:2] == ["L0.p0.norm1", "L0.p0.q"]
    assert names[-1] == "L0.p3.down" and p.name == "decoder1x4x4g128p4"
    op = {o.name: o for o in (*whole.ops, *p.ops)}
    inputs = {o.name: sorted(p.ops[e.src].name for e in p.edges if e.dst == o.id)
              for o in p.ops}
    assert inputs["L0.p2.attention"] == sorted(
        ["L0.p2.q"] + [f"L0.p{i}.{x}" for i in range(3) for x in "kv"])
    assert inputs["L0.p2.gate"] == ["L0.p2.norm2"]
    reads = [op[f"L0.p{j}.attention"].hbm_read_bytes for j in range(4)]
    assert reads == [(j + 1) * op["L0.attention"].hbm_read_bytes // 4 for j in range(4)]
    cycles = [op[f"L0.p{j}.attention"].tile_cycles["attn"] for j in range(4)]
    assert cycles == sorted(cycles) and cycles[0] < cycles[-1]
    assert all(op[f"L0.p{j}.q"].hbm_read_bytes == op["L0.q"].hbm_read_bytes for j in range(4))
    assert sum(op[f"L0.p{j}.up"].out_bytes for j in range(4)) == op["L0.up"].out_bytes
    kv_edge = next(e for e in p.edges if e.src == op["L0.p0.k"].id
                   and e.dst == op["L0.p3.attention"].id)
    assert kv_edge.bytes == 128 * 1024 * 2  # part 0's 128 rows of K
    assert p.hbm_resident_bytes == whole.hbm_resident_bytes


def test_synthetic_row_blocks_near_even_and_across_layers() -> None:
    p = decoder_problem(4, 4, seq=10, parts=4, layers=2)
    norm1 = [o.out_bytes // (4096 * 2) for o in p.ops if o.name.endswith("norm1")]
    assert norm1 == [3, 3, 2, 2] * 2
    names = {o.id: o.name for o in p.ops}
    cross = sorted((names[e.src], names[e.dst]) for e in p.edges
                   if names[e.src][:2] != names[e.dst][:2])
    assert cross == sorted((f"L0.p{j}.down", f"L1.p{j}.{x}") for j in range(4)
                           for x in ("norm1", "norm2"))
    with pytest.raises(ValueError, match="between 1 and seq"):
        decoder_problem(4, 4, seq=1, parts=2)


def test_synthetic_resident_mlp_weights_skip_hbm() -> None:
    streamed = decoder_problem(4, 4, parts=2)
    p = decoder_problem(4, 4, parts=2, resident_mlp=True)
    for a, b in zip(streamed.ops, p.ops, strict=True):
        mlp = a.name.split(".")[-1] in ("gate", "up", "down")
        assert b.hbm_read_bytes == (0 if mlp else a.hbm_read_bytes)
    assert streamed.hbm_resident_bytes - p.hbm_resident_bytes == 3 * 4096 * 14336 * 2
