"""What the meshc passes share: attribute names, hardware lookup, weights, labels.

The attributes the passes write (docs/passes.md has the full contract):

module `meshc.hw`                   StringAttr: the hardware the regions were made for
module `meshc.regions`              DictionaryAttr: region -> DenseArrayBase i64 of
                                    row-major (row, col) pairs
module `meshc.sram_resident_bytes`  DictionaryAttr: region -> IntegerAttr i64, weights (and,
                                    without HBM, the KV cache) held in the region's SRAM
module `meshc.hbm_resident_bytes`   IntegerAttr i64: weights kept in HBM plus the KV cache
module `meshc.partition_note`       StringAttr: which weights miss the SRAM, by how much, and
                                    what would make them fit
op `meshc.region`                   StringAttr on every tfm op
op `meshc.residency`                StringAttr "sram" | "hbm" on every tfm.weight
op `meshc.part`                     IntegerAttr i64: the row block of an op split-rows cut
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn

from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, DictionaryAttr, IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.utils.exceptions import PassFailedException

from meshc.errors import MeshcError
from meshc.hardware import Hardware, load_hardware
from meshc.ir.graph import (
    AttentionOp,
    GraphOp,
    LinearOp,
    LmHeadOp,
    MoeOp,
    WeightOp,
)
from meshc.ir.summary import kv_caches
from meshc.ir.work import tensor_bytes
from meshc.passes._regions import Core

ATTR_HW = "meshc.hw"
ATTR_REGIONS = "meshc.regions"
ATTR_RESIDENT = "meshc.sram_resident_bytes"
ATTR_HBM = "meshc.hbm_resident_bytes"
ATTR_NOTE = "meshc.partition_note"
ATTR_REGION = "meshc.region"
ATTR_RESIDENCY = "meshc.residency"
ATTR_PART = "meshc.part"

DEFAULT_HW = "mesh-4x4"
SHARED = "shared"


def fail(message: str) -> NoReturn:
    raise PassFailedException(message)


def hardware(name: str, pass_name: str) -> Hardware:
    """The cached hardware model; an unknown name or a bad file fails the pass."""
    try:
        return load_hardware(name)
    except MeshcError as e:
        fail(f"{pass_name}: {e}")


def functions(module: ModuleOp) -> list[func.FuncOp]:
    return [op for op in module.ops if isinstance(op, func.FuncOp)]


def graph_ops(f: func.FuncOp) -> Iterator[GraphOp]:
    for op in f.body.walk():
        if isinstance(op, GraphOp):
            yield op


def weight_of(value: SSAValue) -> WeightOp | None:
    owner = value.owner
    return owner if isinstance(owner, WeightOp) else None


def quantized_operands(op: Operation) -> tuple[SSAValue, ...]:
    """The operands of `op` that lower-quant quantizes when they are weights: linear and
    lm_head weights, MoE expert matrices, the MLA kv_b (absorb) weight. Not: biases, norm
    parameters, MoE routers, embedding tables used only by tfm.embedding."""
    if isinstance(op, LinearOp | LmHeadOp):
        return (op.weight,)
    if isinstance(op, MoeOp):
        return (op.w_gate, op.w_up, op.w_down)
    if isinstance(op, AttentionOp) and op.w_kv_b is not None:
        return (op.w_kv_b,)
    return ()


def weight_bytes(w: WeightOp) -> int:
    """Stored bytes of a weight, group scales included."""
    return tensor_bytes(w.result.type) + w.scale_bytes()


def unique_weights(module: ModuleOp) -> dict[str, WeightOp]:
    """One tfm.weight per parameter name (phases repeat the same parameters), first seen."""
    out: dict[str, WeightOp] = {}
    for f in functions(module):
        for op in graph_ops(f):
            if isinstance(op, WeightOp):
                out.setdefault(op.param.data, op)
    return out


def kv_cache_bytes(module: ModuleOp, region_of: dict[str, str] | None = None) -> dict[str, int]:
    """KV cache bytes per region (the largest phase): what kv_append results hold.
    `region_of` maps a block to a region; default: every block in the op's meshc.region."""
    out: dict[str, int] = {}
    for f in functions(module):
        per: dict[str, int] = {}
        for op in kv_caches(f):
            r = (region_of or {}).get(op.block_name) or region_attr(op)
            per[r] = per.get(r, 0) + tensor_bytes(op.result.type)
        for r, b in per.items():
            out[r] = max(out.get(r, 0), b)
    return out


def region_attr(op: Operation) -> str:
    a = op.attributes.get(ATTR_REGION)
    return a.data if isinstance(a, StringAttr) else SHARED


def residency_attr(op: WeightOp, has_hbm: bool) -> str:
    """"sram" or "hbm"; without the attribute, "hbm" when the machine has HBM."""
    a = op.attributes.get(ATTR_RESIDENCY)
    if isinstance(a, StringAttr):
        return a.data
    return "hbm" if has_hbm else "sram"


def cores_attr(cores: tuple[Core, ...] | list[Core]) -> DenseArrayBase:
    from meshc.ir.tile import int_array

    return int_array([x for rc in cores for x in rc])


def read_regions(module: ModuleOp, hw: Hardware) -> dict[str, tuple[Core, ...]]:
    """The module's regions (from partition-attn-mlp), plus `shared` = every core."""
    all_cores = tuple((r, c) for r, c, _ in hw.cores)
    out: dict[str, tuple[Core, ...]] = {}
    attr = module.attributes.get(ATTR_REGIONS)
    if isinstance(attr, DictionaryAttr):
        for name, arr in attr.data.items():
            if not isinstance(arr, DenseArrayBase):
                fail(f"{ATTR_REGIONS}[{name}] is not a dense i64 array")
            flat = [int(x) for x in arr.get_values()]
            cores = tuple(zip(flat[0::2], flat[1::2], strict=True))
            bad = [c for c in cores if not (0 <= c[0] < hw.mesh_rows and 0 <= c[1] < hw.mesh_cols)]
            if bad or len(flat) % 2:
                fail(f"region '{name}' lists cores {bad or flat} outside the "
                     f"{hw.mesh_rows}x{hw.mesh_cols} mesh of {hw.name}")
            out[name] = cores
    out.setdefault(SHARED, all_cores)
    return out


def resident_bytes_attr(values: dict[str, int]) -> DictionaryAttr:
    return DictionaryAttr({k: IntegerAttr(v, 64) for k, v in sorted(values.items())})


def module_hw(module: ModuleOp) -> str | None:
    a = module.attributes.get(ATTR_HW)
    return a.data if isinstance(a, StringAttr) else None


def op_where(op: GraphOp) -> str:
    """How messages name a graph op: `tfm.linear 'L3.down.weight' (layer 3, mlp)`."""
    name = ""
    for v in op.operands:
        w = weight_of(v)
        if w is not None and v in quantized_operands(op):
            name = f" '{w.param.data}'"
            break
    return f"{op.name}{name} (layer {op.layer_index}, {op.block_name})"
