"""--parallel parsing and the layout of its degrees on a system's chip groups."""

from __future__ import annotations

import pytest

from meshc.errors import MeshcError
from meshc.hardware import load_hardware
from meshc.hardware.system import load_system, system_of_one
from meshc.parallel.degrees import Parallel, parse_parallel
from meshc.parallel.layout import layout


def test_parse_gives_the_degrees_and_ones_elsewhere() -> None:
    p = parse_parallel("tp=8, pp=2,mb=4")
    assert (p.tp, p.pp, p.ep, p.dp, p.mb, p.mlp) == (8, 2, 1, 1, 4, 8)
    assert p.chips == 16 and p.stage_chips == 8
    assert p.text() == "tp=8,pp=2,mb=4"
    assert Parallel().text() == "tp=1"


@pytest.mark.parametrize(("text", "says"), [
    ("tp=8,tp=2", "given twice"), ("xp=2", "is not one of"), ("tp", "is not one of"),
    ("tp=two", "not a whole number"), ("tp=0", "from 1"), ("tp=-1", "not a whole number"),
])
def test_parse_refuses_bad_text(text: str, says: str) -> None:
    with pytest.raises(MeshcError, match=says):
        parse_parallel(text)


def test_homogeneous_layout_counts_chips_and_splits_the_batch() -> None:
    s = load_system("tpu-v6e-8")
    lay = layout(s, Parallel(tp=4, pp=2, mb=2), batch=4)
    assert not lay.disaggregated and lay.batch_split == 2 and lay.chips_used() == 8
    assert lay.subgroup_chips(lay.groups[0]) == 4
    with pytest.raises(MeshcError, match="= 16 chips; tpu-v6e-8 has 8"):
        layout(s, Parallel(tp=8, pp=2), batch=1)
    with pytest.raises(MeshcError, match=r"--batch 3 does not split into .* 2 equal parts"):
        layout(s, Parallel(tp=4, pp=2, mb=2), batch=3)
    with pytest.raises(MeshcError, match="mlp_tp applies"):
        layout(s, Parallel(tp=4, mlp_tp=2), batch=1)


def test_disaggregated_layout_puts_attention_and_mlp_on_their_groups() -> None:
    s = load_system("hetero-v6e-groq")
    lay = layout(s, Parallel(tp=4, pp=2, mlp_tp=32), batch=1)
    assert lay.disaggregated
    assert lay.group_of("attention").role == "attention" and lay.group_of("mlp").role == "mlp"
    assert lay.subgroup_chips(lay.group_of("mlp")) == 32 and lay.chips_used() == 72
    with pytest.raises(MeshcError, match="the mlp chips: tp x pp x dp = 64 x 2 x 1 = 128"):
        layout(s, Parallel(tp=4, pp=2, mlp_tp=64), batch=1)
    with pytest.raises(MeshcError, match="ep with attention/MLP disaggregation"):
        layout(s, Parallel(tp=4, ep=2), batch=2)


def test_one_chip_is_a_system_of_one() -> None:
    s = system_of_one(load_hardware("tpu-v6e-like"))
    assert layout(s, Parallel(), batch=1).chips_used() == 1
    with pytest.raises(MeshcError, match="has 1"):
        layout(s, Parallel(tp=2), batch=1)
