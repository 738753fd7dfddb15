"""Work that would not finish is refused up front, with the figure and the option."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from xdsl.dialects import func

from meshc import limits
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model
from meshc.frontends.transformer import Shape
from meshc.ir.tile import ComputeOp
from meshc.pipelines import apply, set_hardware


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    limits.reset()
    yield
    limits.reset()


def tiled(spec: str = "lower-quant,partition-attn-mlp,tile-grain") -> dict[str, int]:
    m = load_model(ModelRequest("gpt2", ("prefill", "decode"), Shape(1, 64, 63), ()))
    set_hardware(m, "mesh-4x4")
    apply(m, spec)
    return {f.sym_name.data: sum(op.n_tiles for op in f.walk() if isinstance(op, ComputeOp))
            for f in m.ops if isinstance(f, func.FuncOp)}


def test_tile_grain_refuses_a_phase_over_the_tile_limit_and_no_less() -> None:
    counts = tiled()
    most = max(counts.values())
    phase = max(counts, key=lambda k: counts[k])
    limits.set_limits((f"tiles={most}",))
    assert tiled() == counts  # at the limit: accepted
    limits.set_limits((f"tiles={most - 1}",))
    with pytest.raises(MeshcError) as err:
        tiled()
    text = str(err.value)
    assert f"@{phase} has too many tiles: {most:,} tiles is over the limit of {most - 1:,}" in text
    assert "alone has" in text and "grain=auto" in text and "meshc --limit tiles=N" in text
    assert "\n" not in text


def test_a_finer_grain_is_refused_before_map_mesh() -> None:
    limits.set_limits(("tiles=100000",))
    with pytest.raises(MeshcError, match="pass tile-grain: @prefill has too many tiles"):
        tiled("lower-quant,partition-attn-mlp,tile-grain{grain=1},map-mesh{mapper=heft}")


def test_split_rows_refuses_more_blocks_than_the_limit() -> None:
    limits.set_limits(("row_blocks=4",))
    assert tiled("split-rows{parts=4}")  # at the limit
    with pytest.raises(MeshcError) as err:
        tiled("split-rows{parts=5}")
    assert str(err.value).startswith("pass split-rows: split-rows{parts=5}: 5 blocks is over "
                                     "the limit of 4 blocks")
