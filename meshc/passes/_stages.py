"""What the passes after split-stages read off a step function: its place in the chain
(`stage_info`) and a key that is equal for steps a chip runs identically (`step_key`).

split-stages (meshc/passes/split_stages.py) writes on every step function:

    meshc.phase    StringAttr     the phase function it was cut from (`decode`)
    meshc.step     IntegerAttr    its position in the phase's chain of steps, from 0
    meshc.stage    IntegerAttr    its pipeline stage: the index of its range of layers
    meshc.role     RoleAttr       the chips that run it: #meshc<role any|attention|mlp>
    meshc.layers   array<i64>     the first and last layer it holds (-1, -1: none)
    meshc.sources  array<i64>     per argument a pair (step, index): result `index` of the
                                  earlier step `step`, or (-1, k): argument k of the phase
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, StringAttr, i64
from xdsl.ir import Attribute, Block, Operation, SSAValue

from meshc.errors import MeshcError
from meshc.ir.graph import GraphOp, WeightOp
from meshc.ir.state import Role, RoleAttr
from meshc.passes._common import ATTR_PHASE

ATTR_STEP = "meshc.step"
ATTR_STAGE = "meshc.stage"
ATTR_ROLE = "meshc.role"
ATTR_LAYERS = "meshc.layers"
ATTR_SOURCES = "meshc.sources"
STEP_ATTRS = (ATTR_PHASE, ATTR_STEP, ATTR_STAGE, ATTR_ROLE, ATTR_LAYERS)
ROLES: tuple[str, ...] = tuple(r.value for r in Role)  # the chip groups' roles
PHASE_INPUT = -1  # the `step` of a source that is an argument of the phase (the host's)


@dataclass(frozen=True)
class StageInfo:
    """A step function's place: `sources[i]` says where argument i comes from, (step,
    result index) of an earlier step or (PHASE_INPUT, argument index) of the phase."""

    phase: str
    step: int
    stage: int
    role: str
    layers: tuple[int, int]
    sources: tuple[tuple[int, int], ...] = ()


def step_attributes(info: StageInfo) -> dict[str, Attribute]:
    """The function attributes that record `info` (what `stage_info` reads back)."""
    return {
        ATTR_PHASE: StringAttr(info.phase),
        ATTR_STEP: IntegerAttr(info.step, 64),
        ATTR_STAGE: IntegerAttr(info.stage, 64),
        ATTR_ROLE: RoleAttr(info.role),
        ATTR_LAYERS: DenseArrayBase.from_list(i64, list(info.layers)),
        ATTR_SOURCES: DenseArrayBase.from_list(i64, [x for s in info.sources for x in s]),
    }


def _ints(f: func.FuncOp, key: str) -> tuple[int, ...]:
    a = f.attributes[key]
    if not (isinstance(a, DenseArrayBase) and a.elt_type == i64):
        raise MeshcError(f"must be array<i64: ...>, got {a}", where=f"@{f.sym_name.data} {key}")
    return tuple(int(x) for x in a.get_values())


def _int(f: func.FuncOp, key: str) -> int:
    a = f.attributes[key]
    if not (isinstance(a, IntegerAttr) and a.value.data >= 0):
        raise MeshcError(f"must be a non-negative integer, got {a}",
                         where=f"@{f.sym_name.data} {key}")
    return a.value.data


def _str(f: func.FuncOp, key: str, allowed: tuple[str, ...] = ()) -> str:
    a = f.attributes[key]
    if not (isinstance(a, StringAttr) and a.data and (not allowed or a.data in allowed)):
        want = " | ".join(allowed) if allowed else "a non-empty string"
        raise MeshcError(f"must be {want}, got {a}", where=f"@{f.sym_name.data} {key}")
    return a.data


def _role(f: func.FuncOp) -> str:
    a = f.attributes[ATTR_ROLE]
    if not isinstance(a, RoleAttr):
        raise MeshcError(f"must be #meshc<role {'|'.join(ROLES)}>, got {a}",
                         where=f"@{f.sym_name.data} {ATTR_ROLE}")
    return a.data.value


def _own_layers(f: func.FuncOp) -> tuple[int, int]:
    layers = [op.layer_index for op in f.walk() if isinstance(op, GraphOp)
              and op.layer_index >= 0]
    return (min(layers), max(layers)) if layers else (-1, -1)


def stage_info(f: func.FuncOp) -> StageInfo:
    """The step attributes of `f`, validated. A function without them is a whole phase: step
    0, stage 0, role any, its own first and last layer, every argument the phase's. A missing
    meshc.sources means the same (every argument the phase's). Raises MeshcError naming the
    function and the attribute that is missing or malformed."""
    name = f.sym_name.data
    args = len(f.body.block.args) if f.body.blocks else len(f.function_type.inputs.data)
    phase_args = tuple((PHASE_INPUT, k) for k in range(args))
    present = [k for k in STEP_ATTRS if k in f.attributes]
    if not present:
        return StageInfo(name, 0, 0, "any", _own_layers(f), phase_args)
    missing = [k for k in STEP_ATTRS if k not in f.attributes]
    if missing:
        raise MeshcError(f"has {', '.join(present)} but not {', '.join(missing)}",
                         where=f"@{name}", hint="split-stages writes all of them")
    step = _int(f, ATTR_STEP)
    layers = _ints(f, ATTR_LAYERS)
    if len(layers) != 2 or min(layers) < -1 or layers[0] > layers[1] or (
            -1 in layers and layers != (-1, -1)):
        raise MeshcError(f"must be [first, last] layer (or [-1, -1]), got {list(layers)}",
                         where=f"@{name} {ATTR_LAYERS}")
    sources = phase_args
    if ATTR_SOURCES in f.attributes:
        flat = _ints(f, ATTR_SOURCES)
        sources = tuple(zip(flat[0::2], flat[1::2], strict=False))
        if len(flat) != 2 * args or any(
                not (PHASE_INPUT <= s < step and i >= 0) for s, i in sources):
            raise MeshcError(f"must be {args} pairs (step, index), each step -1 or an earlier "
                             f"step than {step}, got {list(flat)}",
                             where=f"@{name} {ATTR_SOURCES}")
    return StageInfo(_str(f, ATTR_PHASE), step, _int(f, ATTR_STAGE),
                     _role(f), (layers[0], layers[1]), sources)


# --- step_key ----------------------------------------------------------------------------


_LAYER_NAMES: dict[int, re.Pattern[str]] = {}


def param_kind(name: str, layer: int) -> str:
    """A weight's parameter name without its layer index: `L12.q.weight` (layer 12) ->
    `L#.q.weight`, `model.layers.3.mlp.w1` (layer 3) -> `model.layers.#.mlp.w1`. The first
    number standing alone (or after `L`) that equals the layer is replaced, so `w1` stays."""
    if layer < 0:
        return name
    if layer not in _LAYER_NAMES:
        _LAYER_NAMES[layer] = re.compile(rf"(?<![0-9A-Za-z])(L?){layer}(?![0-9])")
    return _LAYER_NAMES[layer].sub(r"\g<1>#", name, count=1)


class _Canon:
    """A canonical printing of one function: values numbered in definition order,
    attributes printed once each (xDSL's printer is the slow part)."""

    def __init__(self) -> None:
        self.ids: dict[SSAValue, int] = {}
        self.text: list[str] = []

    @staticmethod
    def attr(a: Attribute) -> str:
        try:
            return _attr_text(a)
        except TypeError:  # an unhashable attribute
            return str(a)

    def number(self, v: SSAValue) -> int:
        self.ids[v] = len(self.ids)
        return self.ids[v]

    def block(self, b: Block) -> None:
        args = ",".join(f"%{self.number(a)}:{self.attr(a.type)}" for a in b.args)
        self.text.append(f"^({args})")
        for op in b.ops:
            self.op(op)

    def op(self, op: Operation) -> None:
        operands = ",".join(str(self.ids.get(v, -1)) for v in op.operands)
        props = []
        for k in sorted(op.properties):
            if isinstance(op, GraphOp) and k == "layer":
                continue
            p = op.properties[k]
            if isinstance(op, WeightOp) and k == "param":
                props.append(f"param={param_kind(op.param.data, op.layer_index)!r}")
            else:
                props.append(f"{k}={self.attr(p)}")
        attrs = [f"{k}={self.attr(op.attributes[k])}" for k in sorted(op.attributes)]
        results = ",".join(f"%{self.number(r)}:{self.attr(r.type)}" for r in op.results)
        self.text.append(f"{op.name}({operands})<{';'.join(props)}>{{{';'.join(attrs)}}}"
                         f"->{results}")
        for region in op.regions:
            self.text.append("{")
            for b in region.blocks:
                self.block(b)
            self.text.append("}")


@lru_cache(maxsize=4096)
def _attr_text(a: Attribute) -> str:
    return str(a)


def step_key(f: func.FuncOp) -> str:
    """A key equal for two functions exactly when a chip does the same work for them: the
    same ops in the same order, with the same types, properties, attributes and structure.
    Ignored: the function's name and meshc.* attributes, every op's layer index, the layer
    index inside a weight's parameter name (`param_kind`), SSA names. A sha256 hex digest."""
    c = _Canon()
    for k in sorted(f.attributes):
        if not k.startswith("meshc."):
            c.text.append(f"{k}={c.attr(f.attributes[k])}")
    for k in ("arg_attrs", "res_attrs"):
        a = f.properties.get(k)
        if a is not None:
            c.text.append(f"{k}={c.attr(a)}")
    c.text.append(c.attr(f.function_type))
    for b in f.body.blocks:
        c.block(b)
    return hashlib.sha256("\n".join(c.text).encode()).hexdigest()
