"""The `tile` dialect: one tiled compute op per graph op.

`tile.compute` keeps the operands and result of the graph op it replaces and records how
the op is cut into tiles: the tile grid and shape, the work and bytes of one tile, the
precision the core executes at, the stored bits per element of the operand the systolic
array holds (`stationary_bits`: gemm tiles), and the padding waste of ragged edges. Individual tiles
are not IR ops (notes/xdsl.md: too slow at model scale); the mapper and the simulator
expand them into numpy arrays. After mapping, `placement` (core rectangle r0, c0, r1, c1,
plus row and column steps when strided) and `start`/`end` (cycles) are filled in.
"""

from __future__ import annotations

from xdsl.dialects.builtin import (
    I64,
    DenseArrayBase,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Dialect, SpacedOpaqueSyntaxAttribute
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_attr_definition,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    result_def,
    var_operand_def,
)
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from meshc.ir.graph import BlockAttr


class TileKind(StrEnum):
    GEMM = "gemm"  # systolic array: activation x weight, act x act, attention
    VECTOR = "vector"  # vector unit: norms, softmax, activations, elementwise
    MEMORY = "memory"  # data movement only: embedding gather, KV cache append


@irdl_attr_definition
class TileKindAttr(EnumAttribute[TileKind], SpacedOpaqueSyntaxAttribute):
    name = "tile.kind"


def _ints(a: DenseArrayBase[IntegerType]) -> tuple[int, ...]:
    return tuple(int(x) for x in a.get_values())


def int_array(values: tuple[int, ...] | list[int]) -> DenseArrayBase[IntegerType]:
    return DenseArrayBase.from_list(i64, list(values))


# Per-tile quantities, in this order, in the `tile_work` property.
TILE_WORK_FIELDS = (
    "macs", "vector_ops", "transcendental_ops", "in_bytes", "weight_bytes", "out_bytes",
    "sram_bytes",
)


@irdl_op_definition
class ComputeOp(IRDLOperation):
    """A graph op cut into a grid of identical tiles (edge tiles padded)."""

    name = "tile.compute"
    source = prop_def(StringAttr)  # the graph op it came from, e.g. "tfm.linear"
    label = prop_def(StringAttr)  # stable name, e.g. "L3.mlp.up"
    kind = prop_def(TileKindAttr)
    layer = prop_def(IntegerAttr[I64])
    block = prop_def(BlockAttr)
    region = prop_def(StringAttr)
    precision = prop_def(StringAttr)  # what the core executes at
    # stored bits per element of the operand a weight-stationary array holds and loads
    # fold by fold (cost.load_cycles): a linear's / lm_head's / MoE's weight (+ its 16-bit
    # group scales spread per element: int4 g128 = 4.125), a matmul's B, attention's K/V
    # cache; gemm tiles only (optional for vector and memory tiles)
    stationary_bits = opt_prop_def(FloatAttr[Float64Type])
    grid = prop_def(DenseArrayBase.constr(i64))  # tiles along (M, N, K)
    tile_shape = prop_def(DenseArrayBase.constr(i64))  # (m, n, k) of one tile
    tile_work = prop_def(DenseArrayBase.constr(i64))  # TILE_WORK_FIELDS of one tile
    padded_macs = prop_def(IntegerAttr[I64])  # MACs spent on padding over the whole op
    hbm_read_bytes = prop_def(IntegerAttr[I64])  # weights streamed + KV cache read
    hbm_write_bytes = prop_def(IntegerAttr[I64])
    placement = opt_prop_def(DenseArrayBase.constr(i64))  # (r0, c0, r1, c1[, rs, cs])
    start = opt_prop_def(IntegerAttr[I64])
    end = opt_prop_def(IntegerAttr[I64])
    inputs = var_operand_def(TensorType)
    result = result_def(TensorType)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$kind $source `(` $inputs `)` attr-dict `:` functional-type($inputs, $result)"

    def verify_(self) -> None:
        grid, shape, work = _ints(self.grid), _ints(self.tile_shape), _ints(self.tile_work)
        if len(grid) != 3 or len(shape) != 3 or min(grid + shape) <= 0:
            raise VerifyException(f"grid {grid} and tile_shape {shape} need 3 positive entries")
        if len(work) != len(TILE_WORK_FIELDS) or min(work) < 0:
            raise VerifyException(f"tile_work needs {len(TILE_WORK_FIELDS)} entries >= 0")
        bits = self.stationary_bits_value()
        if bits is None and self.kind.data == TileKind.GEMM:
            raise VerifyException("a gemm tile needs stationary_bits, the stored bits per "
                                  "element of the operand its systolic array holds")
        if bits is not None and not 0 < bits <= 64:
            raise VerifyException(f"stationary_bits {bits} is not a bit width in (0, 64]")
        if self.placement is not None:
            place = _ints(self.placement)
            if len(place) not in (4, 6):
                raise VerifyException(f"placement {place} needs r0, c0, r1, c1 and optionally "
                                      "the row and column steps")
            r0, c0, r1, c1, rs, cs = (*place, 1, 1)[:6]
            if not (0 <= r0 <= r1 and 0 <= c0 <= c1 and rs >= 1 and cs >= 1
                    and (r1 - r0) % rs == 0 and (c1 - c0) % cs == 0):
                raise VerifyException(f"placement {place} is not a rectangle")
        if (self.start is None) != (self.end is None):
            raise VerifyException("start and end go together")
        if self.start is not None and self.end is not None and (
            self.end.value.data < self.start.value.data or self.start.value.data < 0
        ):
            raise VerifyException("need 0 <= start <= end")

    @property
    def n_tiles(self) -> int:
        g = _ints(self.grid)
        return g[0] * g[1] * g[2]

    def work_per_tile(self) -> dict[str, int]:
        return dict(zip(TILE_WORK_FIELDS, _ints(self.tile_work), strict=True))

    def stationary_bits_value(self) -> float | None:
        """`stationary_bits` as a number (None when absent: vector and memory tiles)."""
        return None if self.stationary_bits is None else self.stationary_bits.value.data


TILE = Dialect("tile", [ComputeOp], [TileKindAttr])
