"""What the meshc passes share: attribute names, hardware lookup, weights, labels.

The attributes the passes write (docs/passes.md has the full contract; the typed ones are
the `meshc` dialect, meshc/ir/state.py):

module `meshc.hw`                   #meshc.hw<"NAME">: the hardware, set by the driver (or
                                    the first pass given hw=), read by every pass
module `meshc.regions`              DictionaryAttr: region -> DenseArrayBase i64 of
                                    row-major (row, col) pairs
module `meshc.sram_resident_bytes`  DictionaryAttr: region -> IntegerAttr i64, weights (and,
                                    without HBM, the KV cache) held in the region's SRAM
module `meshc.hbm_resident_bytes`   IntegerAttr i64: weights kept in HBM plus the KV cache
module `meshc.notes`                findings for the user (meshc/ir/notes.py)
op `meshc.region`                   #meshc<region shared|attention|mlp> on every tfm op
op `meshc.residency`                #meshc<residency sram|hbm> on every tfm.weight
op `meshc.part`                     #meshc.part<N>: the row block of an op split-rows cut
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NoReturn

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DictionaryAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    i64,
)
from xdsl.ir import Operation, SSAValue
from xdsl.utils.exceptions import PassFailedException, VerifyException

from meshc.errors import MeshcError
from meshc.hardware import Hardware, load_hardware
from meshc.hardware.load import preset_names, preset_path
from meshc.ir.graph import (
    AttentionOp,
    GenericOp,
    GraphOp,
    LinearOp,
    LmHeadOp,
    MatmulOp,
    MoeOp,
    WeightOp,
)
from meshc.ir.state import (
    ATTR_HW,
    ATTR_PART,
    ATTR_REGION,
    ATTR_RESIDENCY,
    HardwareAttr,
    PartAttr,
    Region,
    RegionAttr,
    Residency,
    ResidencyAttr,
    module_hardware,
    op_state,
)
from meshc.ir.summary import kv_caches
from meshc.ir.work import tensor_bytes
from meshc.passes._regions import Core

__all__ = ["ATTR_HW", "ATTR_PART", "ATTR_REGION", "ATTR_RESIDENCY", "PartAttr", "RegionAttr",
           "ResidencyAttr"]  # the passes import the typed attributes from here

ATTR_REGIONS = "meshc.regions"
ATTR_RESIDENT = "meshc.sram_resident_bytes"
ATTR_HBM = "meshc.hbm_resident_bytes"
ATTR_PHASE = "meshc.phase"  # on a step function (split-stages): the phase it is part of

DEFAULT_HW = "mesh-4x4"
SHARED = "shared"
REGION_NAMES = tuple(r.value for r in Region)


def fail(message: str) -> NoReturn:
    raise PassFailedException(message)


# --- the hardware ------------------------------------------------------------------------


def hardware(name: str, pass_name: str) -> Hardware:
    """The cached hardware model; an unknown name or a bad file fails the pass."""
    try:
        return load_hardware(name)
    except MeshcError as e:
        fail(f"{pass_name}: {e}")


def _hw_key(name: str) -> str:
    """One spelling per machine: a preset and its YAML file, or two paths to one file, are
    the same hardware."""
    return os.path.realpath(preset_path(name) if name in preset_names() else name)


def hardware_conflict(module: ModuleOp, asked: str, asked_by: str) -> str | None:
    """Why `asked` (requested by `asked_by`, e.g. `--hw` or `tile-grain{hw=...}`) cannot be
    used on `module`: the module already records another hardware. None when it can.
    Raises VerifyException when the module's `meshc.hw` is not the typed attribute."""
    given = module_hardware(module)
    if given is None or given == asked or _hw_key(given) == _hw_key(asked):
        return None
    return (f"the module is compiled for hardware '{given}' but {asked_by} asks for "
            f"'{asked}'; use one hardware (drop hw= from the pass to use the module's)")


def record_hardware(module: ModuleOp, name: str) -> None:
    """Sets the module's `meshc.hw` unless it has one (check `hardware_conflict` first)."""
    if module_hardware(module) is None:
        module.attributes[ATTR_HW] = HardwareAttr(name)


def pass_hardware(module: ModuleOp, option: str, pass_name: str,
                  default: str | None = DEFAULT_HW) -> str | None:
    """The hardware a pass works for: the module's `meshc.hw`, else the pass's `hw=`
    option, else `default`; it is recorded in the module so the passes after it agree.
    A `hw=` naming another machine than the module's fails the pass."""
    try:
        why = hardware_conflict(module, option, f"{pass_name}{{hw={option}}}") if option else None
        name = module_hardware(module) or option or default
    except VerifyException as e:
        fail(f"{pass_name}: {e}")
    if why:
        fail(f"{pass_name}: {why}")
    if name:
        record_hardware(module, name)
    return name


# --- the graph -------------------------------------------------------------------------------


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
    lm_head weights, MoE expert matrices, the MLA kv_b (absorb) weight, a matmul's operands
    and every operand of a tfm.generic with MACs (a Conv, an Einsum: meshc cannot tell its
    kernel from its bias, and tile-grain prices the array at the widest of them). Not:
    biases of linears, norm parameters, MoE routers, embedding tables used only by
    tfm.embedding."""
    if isinstance(op, LinearOp | LmHeadOp):
        return (op.weight,)
    if isinstance(op, MoeOp):
        return (op.w_gate, op.w_up, op.w_down)
    if isinstance(op, AttentionOp) and op.w_kv_b is not None:
        return (op.w_kv_b,)
    if isinstance(op, MatmulOp):
        return (op.lhs, op.rhs)
    if isinstance(op, GenericOp) and op.macs.value.data > 0:
        return tuple(op.inputs)
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
    `region_of` maps a block to a region; default: every block in the op's meshc.region.
    The step functions of one phase (split-stages' `meshc.phase`) that a chip runs all
    keep their caches on it: they add up."""
    phases: dict[str, dict[str, int]] = {}
    for f in functions(module):
        per = phases.setdefault(phase_name(f), {})
        for op in kv_caches(f):
            r = (region_of or {}).get(op.block_name) or region_attr(op)
            per[r] = per.get(r, 0) + tensor_bytes(op.result.type)
    out: dict[str, int] = {}
    for per in phases.values():
        for r, b in per.items():
            out[r] = max(out.get(r, 0), b)
    return out


def phase_name(f: func.FuncOp) -> str:
    """The phase a function computes (part of): split-stages' `meshc.phase`, else its name."""
    attr = f.attributes.get(ATTR_PHASE)
    return attr.data if isinstance(attr, StringAttr) else f.sym_name.data


# --- reading the pass state: the typed form only -------------------------------------------


def _state(op: Operation, key: str) -> object:
    """The value of the typed `key` attribute of `op` (None when absent); any other form
    fails the pass, naming the op."""
    try:
        a = op_state(op, key)
    except VerifyException as e:
        fail(f"{op_where(op) if isinstance(op, GraphOp) else op.name}: {e}")
    return None if a is None else a.data  # type: ignore[attr-defined]


def region_attr(op: Operation) -> str:
    """The op's region; `shared` without the attribute."""
    r = _state(op, ATTR_REGION)
    return SHARED if r is None else str(r)


def residency_attr(op: WeightOp, has_hbm: bool) -> str:
    """"sram" or "hbm"; without the attribute, "hbm" when the machine has HBM."""
    r = _state(op, ATTR_RESIDENCY)
    if r is not None:
        return str(r)
    return str(Residency.HBM if has_hbm else Residency.SRAM)


def part_attr(op: Operation) -> int | None:
    """The row block split-rows gave the op, None when it was not cut."""
    p = _state(op, ATTR_PART)
    return p if isinstance(p, int) else None


def cores_attr(cores: tuple[Core, ...] | list[Core]) -> DenseArrayBase:
    from meshc.ir.tile import int_array

    return int_array([x for rc in cores for x in rc])


def read_regions(module: ModuleOp, hw: Hardware) -> dict[str, tuple[Core, ...]]:
    """The module's regions (from partition-attn-mlp), plus `shared` = every core."""
    all_cores = tuple((r, c) for r, c, _ in hw.cores)
    out: dict[str, tuple[Core, ...]] = {}
    attr = module.attributes.get(ATTR_REGIONS)
    if attr is not None and not isinstance(attr, DictionaryAttr):
        fail(f"module attribute {ATTR_REGIONS} must be a dictionary of region -> "
             f"array<i64: row, col, ...>, got {attr}")
    for name, arr in (attr.data.items() if isinstance(attr, DictionaryAttr) else ()):
        if name not in REGION_NAMES:
            fail(f"{ATTR_REGIONS} names region '{name}'; regions are {', '.join(REGION_NAMES)}")
        if not (isinstance(arr, DenseArrayBase) and arr.elt_type == i64):
            fail(f"{ATTR_REGIONS}[{name}] must be array<i64: row, col, ...>, got {arr}")
        flat = [int(x) for x in arr.get_values()]
        cores = tuple(zip(flat[0::2], flat[1::2], strict=False))  # an odd length fails below
        bad = [c for c in cores if not (0 <= c[0] < hw.mesh_rows and 0 <= c[1] < hw.mesh_cols)]
        if bad or len(flat) % 2 or not flat:
            fail(f"region '{name}' lists cores {bad or flat} outside the "
                 f"{hw.mesh_rows}x{hw.mesh_cols} mesh of {hw.name}")
        out[name] = cores
    out.setdefault(SHARED, all_cores)
    return out


def hbm_resident_bytes(module: ModuleOp) -> int:
    """`meshc.hbm_resident_bytes` (0 without it); another form fails the pass."""
    a = module.attributes.get(ATTR_HBM)
    if a is None:
        return 0
    if not (isinstance(a, IntegerAttr) and a.value.data >= 0):
        fail(f"module attribute {ATTR_HBM} must be a non-negative i64, got {a}")
    return a.value.data


def resident_bytes_attr(values: dict[str, int]) -> DictionaryAttr:
    return DictionaryAttr({k: IntegerAttr(v, 64) for k, v in sorted(values.items())})


def op_where(op: GraphOp) -> str:
    """How messages name a graph op: `tfm.linear 'L3.down.weight' (layer 3, mlp)`."""
    name = ""
    for v in op.operands:
        w = weight_of(v)
        if w is not None and v in quantized_operands(op):
            name = f" '{w.param.data}'"
            break
    return f"{op.name}{name} (layer {op.layer_index}, {op.block_name})"
