"""What the memory hierarchy needs to know of a tiled op, read from the IR once.

The mapper (map-mesh's problem) and the simulator (driver.sim_inputs) both ask these, so
that they price the same bytes: which weights an op keeps resident in SRAM, the bytes its
result leaves on chip, the phase inputs it reads (they start off chip) and the values the
phase returns (they end off chip). docs/simulator.md, "Memory", states the rule.
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.ir import BlockArgument, SSAValue

from meshc.ir.graph import KvAppendOp, KvReadOp, WeightOp
from meshc.ir.tile import ComputeOp
from meshc.ir.work import tensor_bytes
from meshc.passes._common import residency_attr, weight_bytes


def resident_params(op: ComputeOp, has_hbm: bool) -> tuple[tuple[str, int], ...]:
    """(parameter, bytes) of what `op` keeps in SRAM: its weights resident there and,
    without HBM, the KV cache its kv_append holds."""
    out = [(w.param.data, weight_bytes(w)) for v in op.inputs
           if isinstance(w := v.owner, WeightOp) and residency_attr(w, has_hbm) == "sram"]
    if not has_hbm and op.source.data == KvAppendOp.name:
        out.append((f"kv:{op.label.data}", tensor_bytes(op.result.type)))
    return tuple(sorted(set(out)))


def home_bytes(op: ComputeOp, has_hbm: bool) -> int:
    """Bytes the op's result leaves on chip. The KV cache has its own home: in HBM, where
    the attention streams the past from (its hbm_read_bytes), or resident in SRAM without
    HBM; so a kv_read leaves nothing and a kv_append only the rows it appends (with HBM)."""
    if op.source.data == KvReadOp.name or (op.source.data == KvAppendOp.name and not has_hbm):
        return 0
    if op.source.data == KvAppendOp.name:
        return op.hbm_write_bytes.value.data
    return tensor_bytes(op.result.type)


def phase_args(op: ComputeOp) -> tuple[tuple[int, int], ...]:
    """(phase input index, bytes) of the function arguments `op` reads."""
    args = {v for v in op.inputs if isinstance(v, BlockArgument)}
    return tuple(sorted((v.index, tensor_bytes(v.type)) for v in args))


def returned(f: func.FuncOp) -> set[SSAValue]:
    """The values the phase returns: they end in off-chip memory."""
    return {v for op in f.walk() if isinstance(op, func.ReturnOp) for v in op.operands}


def offchip_copy(op: ComputeOp, has_hbm: bool) -> bool:
    """Whether the op's result is in off-chip memory too (a KV cache append in HBM)."""
    return has_hbm and op.source.data == KvAppendOp.name
