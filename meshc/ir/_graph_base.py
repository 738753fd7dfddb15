"""The base of the `tfm` dialect (meshc/ir/graph.py): the block an op belongs to, the
operation class every graph op derives from, and the helpers the op definitions share."""

from __future__ import annotations

from abc import abstractmethod

from xdsl.dialects.builtin import (
    I64,
    IntegerAttr,
    TensorType,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Attribute, SpacedOpaqueSyntaxAttribute
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    prop_def,
)
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from meshc.ir.state import verify_op_state
from meshc.ir.work import (
    Work,
    tensor_bytes,
)


class Block(StrEnum):
    ATTENTION = "attention"
    MLP = "mlp"
    OTHER = "other"


@irdl_attr_definition
class BlockAttr(EnumAttribute[Block], SpacedOpaqueSyntaxAttribute):
    """Which block of a layer an op belongs to: `#tfm<block mlp>`."""

    name = "tfm.block"


def _shape(v: Attribute) -> tuple[int, ...]:
    assert isinstance(v, TensorType)
    return tuple(v.get_shape())


def _int(a: IntegerAttr) -> int:
    return a.value.data


def _without(shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
    return shape[:axis] + shape[axis + 1:]


class GraphOp(IRDLOperation):
    """Common part of every tfm op: layer index and block."""

    layer = prop_def(IntegerAttr[I64])
    block = prop_def(BlockAttr)

    @property
    def layer_index(self) -> int:
        return _int(self.layer)

    @property
    def block_name(self) -> str:
        return self.block.data.value

    def verify_(self) -> None:
        verify_op_state(self)  # meshc.region, meshc.residency, meshc.part: the typed form only
        if self.layer_index < -1:
            raise VerifyException(f"layer must be >= -1, got {self.layer_index}")
        for r in self.results:
            if isinstance(r.type, TensorType) and any(d <= 0 for d in r.type.get_shape()):
                raise VerifyException(f"result shape {_shape(r.type)} has a non-positive dimension")
        self.verify_shapes()

    def verify_shapes(self) -> None:
        pass

    @abstractmethod
    def work(self) -> Work: ...

    def _io(self) -> Work:
        return Work(
            in_bytes=sum(tensor_bytes(o.type) for o in self.operands),
            out_bytes=sum(tensor_bytes(r.type) for r in self.results),
        )


def _common(layer: int, block: str | Block) -> dict[str, Attribute]:
    return {"layer": IntegerAttr(layer, 64), "block": BlockAttr(Block(block))}


_LB = "`layer` $layer $block attr-dict"

