"""lower-collectives: moves the chip-to-chip data out of each chip function into the system
schedule."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FunctionType,
    IntegerAttr,
    ModuleOp,
    StringAttr,
)
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from meshc.errors import MeshcError
from meshc.ir.graph import BlockAttr, CollectiveKindAttr, CollectiveOp
from meshc.passes._common import functions

ATTR_COLLECTIVES = "meshc.collectives"
_FIELDS = ("kind", "label", "chips", "bytes", "layer", "block")


@dataclass(frozen=True)
class Recorded:
    """One collective a chip function takes part in, in program order: `nbytes` is what
    meshc/hardware/collectives.py takes for that kind (CollectiveOp.payload_bytes)."""

    kind: str
    label: str
    chips: int
    nbytes: int
    layer: int
    block: str


@dataclass(frozen=True)
class LowerCollectivesPass(ModulePass):
    """Records every `tfm.collective` of each function on the function and removes it, so
    that the per-chip pipeline (partition-attn-mlp, tile-grain, map-mesh) maps only what the
    chip's cores compute; the system driver prices the recorded collectives on the system's
    fabric and runs them with the chip's work (meshc/parallel).

    Input: `tfm` functions, after shard-tensor, shard-experts and split-stages.
    Output: no `tfm.collective` left; each function that had some carries
    `meshc.collectives`, an array of dictionaries (kind #tfm<collective_kind ...>, label,
    chips, bytes, layer, block #tfm<block ...>) in program order (`recorded(f)` reads
    them); every use of a collective's result reads its input instead (an all_gather or
    reduce_scatter the function returns changes the function's result type to the shard
    the chip holds).
    Options: none.
    Fails when: never, on verified IR.
    """

    name = "lower-collectives"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for f in functions(op):
            ops = [o for o in f.walk() if isinstance(o, CollectiveOp)]
            if not ops:
                continue
            seen: dict[str, int] = {}
            entries = []
            for c in ops:
                where = f"L{c.layer_index}." if c.layer_index >= 0 else ""
                base = f"{where}{c.block_name}.{c.kind_name.value}"
                label = f"{base}{seen.get(base, 0)}"
                seen[base] = seen.get(base, 0) + 1
                entries.append(DictionaryAttr({
                    "kind": c.kind, "label": StringAttr(label),
                    "chips": IntegerAttr(c.n_chips, 64), "bytes": IntegerAttr(c.payload_bytes(), 64),
                    "layer": c.layer, "block": c.block}))
                c.result.replace_all_uses_with(c.input)
                Rewriter.erase_op(c)
            f.attributes[ATTR_COLLECTIVES] = ArrayAttr(entries)
            _retype(f)


def _retype(f: func.FuncOp) -> None:
    """The function's result types from what it now returns."""
    ret = f.body.block.last_op
    if isinstance(ret, func.ReturnOp):
        f.function_type = FunctionType.from_lists(f.function_type.inputs.data,
                                                  [v.type for v in ret.arguments])


def recorded(f: func.FuncOp) -> tuple[Recorded, ...]:
    """The collectives lower-collectives recorded on `f` (none: an empty tuple)."""
    attr = f.attributes.get(ATTR_COLLECTIVES)
    if attr is None:
        return ()
    where = f"@{f.sym_name.data} {ATTR_COLLECTIVES}"
    if not isinstance(attr, ArrayAttr):
        raise MeshcError("is not an array", where=where)
    out = []
    for i, e in enumerate(attr.data):
        d = e.data if isinstance(e, DictionaryAttr) else {}
        kind, label, block = d.get("kind"), d.get("label"), d.get("block")
        ints = [d.get(k) for k in ("chips", "bytes", "layer")]
        if not (sorted(d) == sorted(_FIELDS) and isinstance(kind, CollectiveKindAttr)
                and isinstance(label, StringAttr) and isinstance(block, BlockAttr)):
            raise MeshcError(f"entry {i} needs kind (#tfm<collective_kind ...>), label, chips, "
                             "bytes, layer, block (#tfm<block ...>)", where=where)
        chips, nbytes, layer = (a.value.data if isinstance(a, IntegerAttr) else -2 for a in ints)
        if chips < 2 or nbytes < 0 or layer < -1:
            raise MeshcError(f"entry {i}: chips {chips}, bytes {nbytes} or layer {layer} out of "
                             "range", where=where)
        out.append(Recorded(kind.data.value, label.data, chips, nbytes, layer,
                            block.data.value))
    return tuple(out)
