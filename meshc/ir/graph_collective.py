"""`tfm.collective`: data that crosses chips. Part of the `tfm` dialect (graph.py registers
it).

The partitioning passes (shard-tensor, shard-experts, split-stages) insert collectives where
a chip's shard of the model needs data another chip holds; `lower-collectives` then moves
each one out of the chip's function into the system schedule, where
meshc/hardware/collectives.py prices it on the system's fabric (docs/systems.md). A
collective computes nothing on the chip's cores.

    %r = tfm.collective all_reduce %x chips 8 layer 3 attention
        : tensor<1x1x8192xbf16> -> tensor<1x1x8192xbf16>

kinds, over a group of `chips` chips each holding `x`:
  all_reduce     sum the partial results: the result has x's shape
  all_gather     concatenate the shards along the last axis: last dim x chips (or less,
                 the last shard's padding dropped: a vocabulary tp does not divide)
  reduce_scatter sum, keep one shard: last dim / chips
  all_to_all     each chip sends x's rows to the chips that own them (MoE dispatch and
                 combine), each row to `fanout` chips (a MoE's top-k; default 1): the
                 result has x's shape
  send           to the next pipeline stage (`chips` counts both ends, 2): x's shape
"""

from __future__ import annotations

from xdsl.dialects.builtin import I64, IntegerAttr, TensorType
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Attribute, SpacedOpaqueSyntaxAttribute, SSAValue
from xdsl.irdl import (
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
)
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from meshc.ir._graph_base import _LB, GraphOp, _common, _int, _shape
from meshc.ir.work import Work, tensor_bytes


class CollectiveKind(StrEnum):
    ALL_REDUCE = "all_reduce"
    ALL_GATHER = "all_gather"
    REDUCE_SCATTER = "reduce_scatter"
    ALL_TO_ALL = "all_to_all"
    SEND = "send"


@irdl_attr_definition
class CollectiveKindAttr(EnumAttribute[CollectiveKind], SpacedOpaqueSyntaxAttribute):
    name = "tfm.collective_kind"


@irdl_op_definition
class CollectiveOp(GraphOp):
    """Data exchanged among `chips` chips (module docstring)."""

    name = "tfm.collective"
    kind = prop_def(CollectiveKindAttr)
    input = operand_def(TensorType)
    chips = prop_def(IntegerAttr[I64])
    fanout = opt_prop_def(IntegerAttr[I64])
    result = result_def(TensorType)
    assembly_format = ("$kind $input `chips` $chips (`fanout` $fanout^)? " + _LB
                       + " `:` type($input) `->` type($result)")

    def __init__(self, kind: CollectiveKind, x: SSAValue, chips: int, result_type: TensorType,
                 layer: int, block: str, fanout: int = 1) -> None:
        props: dict[str, Attribute] = {"kind": CollectiveKindAttr(kind),
                                       "chips": IntegerAttr(chips, 64), **_common(layer, block)}
        if fanout != 1:
            props["fanout"] = IntegerAttr(fanout, 64)
        super().__init__(operands=[x], result_types=[result_type], properties=props)

    @property
    def kind_name(self) -> CollectiveKind:
        return self.kind.data

    @property
    def n_chips(self) -> int:
        return _int(self.chips)

    @property
    def fanout_count(self) -> int:
        return 1 if self.fanout is None else _int(self.fanout)

    def verify_shapes(self) -> None:
        x, out, p = _shape(self.input.type), _shape(self.result.type), self.n_chips
        if p < 2:
            raise VerifyException(f"a collective needs at least 2 chips, got {p}")
        if not 1 <= self.fanout_count <= p or (
                self.fanout_count > 1 and self.kind_name != CollectiveKind.ALL_TO_ALL):
            raise VerifyException(f"fanout {self.fanout_count}: only an all_to_all has one, "
                                  f"1 .. {p}")
        kind = self.kind_name
        want = x
        if kind == CollectiveKind.ALL_GATHER:  # a padded last shard's padding is dropped
            if len(out) == len(x) and out[:-1] == x[:-1] and x[-1] * (p - 1) < out[-1]:
                return
            want = (*x[:-1], x[-1] * p)
        elif kind == CollectiveKind.REDUCE_SCATTER:
            if x[-1] % p:
                raise VerifyException(f"reduce_scatter of last dim {x[-1]} over {p} chips")
            want = (*x[:-1], x[-1] // p)
        if out != want:
            raise VerifyException(f"{kind} of {x} over {p} chips gives {want}, not {out}")

    def payload_bytes(self) -> int:
        """The `nbytes` the cost functions of meshc/hardware/collectives.py take: the buffer
        each chip reduces (all_reduce), the full buffer (all_gather, reduce_scatter), what
        each chip sends (all_to_all: x times fanout; send)."""
        if self.kind_name == CollectiveKind.ALL_GATHER:
            return tensor_bytes(self.result.type)
        return tensor_bytes(self.input.type) * self.fanout_count

    def work(self) -> Work:
        return Work()  # no core work: the links carry it (lower-collectives)
