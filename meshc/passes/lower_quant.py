"""lower-quant: weights, activations and the KV cache to narrower formats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float8E4M3FNType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    TensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from meshc.errors import MeshcError
from meshc.hardware.precision import precision_rank, wider_of
from meshc.ir.graph import (
    TFM,
    AttentionOp,
    Block,
    BlockAttr,
    DequantizeOp,
    EmbeddingOp,
    GraphOp,
    KvAppendOp,
    KvReadOp,
    QuantizeOp,
    WeightOp,
)
from meshc.passes._common import (
    ATTR_REGION,
    fail,
    functions,
    hardware,
    pass_hardware,
    quantized_operands,
)
from meshc.passes._tile_ops import storage_precision

WEIGHTS = ("bf16", "fp8", "int8", "int4")
ACTS = ("bf16", "fp8", "int8")
KV = ("bf16", "fp8", "int8", "int4")
NORMS = ("tfm.layernorm", "tfm.rmsnorm")
SCALE = BFloat16Type()  # group scales are stored in bf16 (ir.work.SCALE_BITS)
class Quantized(TypedDict):
    weights: str
    kv: str
    group: int


# The formats of the `quantized` named pipeline (partition-attn-mlp quotes them as a lever).
QUANTIZED: Quantized = {"weights": "int4", "kv": "int8", "group": 128}
OTHER_WEIGHTS = "bf16"  # the widest format for weights no array multiplies


def element_type(precision: str) -> Attribute:
    return {"bf16": BFloat16Type(), "fp8": Float8E4M3FNType(), "int8": IntegerType(8),
            "int4": IntegerType(4)}[precision]


def _narrowed(t: Attribute, target: str) -> Attribute:
    """`t` with `target` elements when that is narrower than its own, else `t`."""
    p = storage_precision(t)
    if p is None or precision_rank(target) >= precision_rank(p):
        return t
    assert isinstance(t, TensorType)
    return TensorType(element_type(target), t.get_shape())


def _with_elt(t: Attribute, like: Attribute) -> Attribute:
    assert isinstance(t, TensorType) and isinstance(like, TensorType)
    return TensorType(like.element_type, t.get_shape())


def keep_ops(names: tuple[str, ...]) -> frozenset[str]:
    """tfm op names for the `keep` option: `norm` is layernorm and rmsnorm, any other entry
    a tfm op's short name (softmax, rope, activation, attention ...)."""
    known = {o.name.removeprefix("tfm.") for o in TFM.operations} - {"weight"}
    out: set[str] = set()
    for n in names:
        if n == "norm":
            out.update(NORMS)
        elif n in known:
            out.add(f"tfm.{n}")
        else:
            fail(f"lower-quant: keep={n} is not an op; use norm or one of "
                 f"{', '.join(sorted(known))}")
    return frozenset(out)


@dataclass(frozen=True)
class LowerQuantPass(ModulePass):
    """Lowers weights, activations and the KV cache to narrower number formats.

    Input: a module of `tfm` functions.
    Output: the weights the array multiplies (of linears, LM heads, MoE experts, MLA absorb
    (kv_b), matmuls, and every weight of a tfm.generic with MACs, such as a Conv) are stored
    at `weights`; quantized formats (fp8, int8, int4) carry `group` and `scale bf16`, so
    their bytes count one bf16 scale per group (int4 g128: 4 + 16/128 bits per weight).
    Embedding tables used only for lookup, norm parameters, biases and MoE routers keep
    their type, but one wider than bf16 (an f32 export) is stored at bf16. The
    KV cache (kv_read results, kv_append operands and results) is stored at `kv`. Every other
    float activation is at `acts`, except around the ops in `keep`, which compute in their
    original precision: tfm.dequantize before them, tfm.quantize after. tfm.quantize
    (per-token groups for activations, `group` for the KV cache) or tfm.dequantize is
    inserted wherever a value meets a consumer of another precision, including the function
    results, which keep their declared types. Formats only narrow: a value already narrower
    than its target keeps its type. Embedding outputs take the table's type; attention reads
    the quantized cache directly (the core dequantizes, tile-grain prices it at the wider
    precision). Weights a pass already marked keep their `meshc.*` attributes; inserted ops
    take the consumer's `meshc.region`.
    Options: weights=bf16|fp8|int8|int4, acts=bf16|fp8|int8, kv=bf16|fp8|int8|int4, group
    (elements per scale, default 128), keep (comma list, default norm,softmax), hw (preset
    or YAML; default the module's `meshc.hw`; with neither, no check).
    Fails when: an option names an unknown format or op, group is not positive, hw names
    another machine than the module's `meshc.hw`, or with a hardware some format (at the
    wider of it and acts) is one no core of the machine can execute.
    """

    name = "lower-quant"

    weights: str = "bf16"
    acts: str = "bf16"
    kv: str = "bf16"
    group: int = 128
    keep: tuple[str, ...] = ("norm", "softmax")
    hw: str = ""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for opt, value, allowed in (("weights", self.weights, WEIGHTS), ("acts", self.acts, ACTS),
                                    ("kv", self.kv, KV)):
            if value not in allowed:
                fail(f"lower-quant: {opt}={value} is not one of {', '.join(allowed)}")
        if self.group <= 0:
            fail(f"lower-quant: group must be positive, got {self.group}")
        keep = keep_ops((self.keep,) if isinstance(self.keep, str) else tuple(self.keep))
        hw = pass_hardware(op, self.hw, self.name, default=None)
        if hw:
            self._check_hw(hw)
        for f in functions(op):
            self._weights(f)
            _Activations(self, keep).run(f)

    def _check_hw(self, name: str) -> None:
        hw = hardware(name, self.name)
        types = sorted({t for _, _, t in hw.cores if hw.core_types[t].can_gemm})
        for opt, p in (("acts", self.acts), ("weights", self.weights), ("kv", self.kv)):
            run = wider_of(p, self.acts)
            errors = []
            for t in types:
                try:
                    hw.core_types[t].exec_precision(run)
                    break
                except MeshcError as e:
                    errors.append(e.message)
            else:
                fail(f"lower-quant: {opt}={p} runs at {run}, which no core of {hw.name} can "
                     f"execute: {'; '.join(errors)}")

    def _weights(self, f: func.FuncOp) -> None:
        for op in list(f.body.walk()):
            if not isinstance(op, WeightOp):
                continue
            users = {u.operation for u in op.result.uses}
            multiplied = any(op.result in quantized_operands(u) for u in users)
            # the others (biases, norm parameters, routers, tables) at most at bf16: an f32
            # parameter is stored as the cores store it, not quantized
            target = self.weights if multiplied else OTHER_WEIGHTS
            new = _narrowed(op.result.type, target)
            if new == op.result.type:
                continue
            Rewriter.replace_value_with_new_type(op.result, new)
            if target == "bf16":
                op.properties.pop("group", None)
                op.properties.pop("scale_type", None)
            else:
                op.properties["group"] = IntegerAttr(self.group, 64)
                op.properties["scale_type"] = SCALE


class _Activations:
    """Retypes the activations of one function and inserts the conversions."""

    def __init__(self, p: LowerQuantPass, keep: frozenset[str]) -> None:
        self.p, self.keep = p, keep
        self.orig: dict[SSAValue, Attribute] = {}
        self.converted: dict[tuple[SSAValue, Attribute], SSAValue] = {}

    def run(self, f: func.FuncOp) -> None:
        for op in list(f.body.walk()):
            for r in op.results:
                self.orig[r] = r.type
        for op in list(f.body.walk()):
            if isinstance(op, func.ReturnOp):
                for i, t in enumerate(f.function_type.outputs.data):
                    self._feed(op, i, t)
            elif isinstance(op, GraphOp) and not isinstance(
                    op, WeightOp | QuantizeOp | DequantizeOp):
                self._op(op)

    def _op(self, op: GraphOp) -> None:
        p = self.p
        if isinstance(op, KvReadOp):
            self._retype(op.result, _narrowed(op.result.type, p.kv))
        elif isinstance(op, KvAppendOp):
            t = _narrowed(self.orig[op.result], p.kv)
            for i, v in enumerate(op.operands):
                self._feed(op, i, _with_elt(v.type, t))
            self._retype(op.result, t)
        elif isinstance(op, EmbeddingOp):
            self._retype(op.result, _with_elt(op.result.type, op.table.type))
        elif op.name in self.keep:
            for i, v in enumerate(op.operands):
                if not isinstance(v.owner, WeightOp):
                    self._feed(op, i, self.orig.get(v, v.type))
            for r in op.results:
                self._retype(r, self.orig[r])
        else:
            skip = {op.k, op.v} if isinstance(op, AttentionOp) else set()
            for i, v in enumerate(op.operands):
                if not isinstance(v.owner, WeightOp) and v not in skip:
                    self._feed(op, i, _narrowed(self.orig.get(v, v.type), p.acts))
            for r in op.results:
                self._retype(r, _narrowed(self.orig[r], p.acts))

    def _retype(self, v: SSAValue, t: Attribute) -> None:
        if v.type != t:
            new = Rewriter.replace_value_with_new_type(v, t)
            self.orig[new] = self.orig.pop(v)

    def _feed(self, user: Operation, index: int, t: Attribute) -> None:
        """Makes operand `index` of `user` have type `t`, converting it if needed."""
        v = user.operands[index]
        if v.type == t or storage_precision(v.type) is None or storage_precision(t) is None:
            return
        key = (v, t)
        if key not in self.converted:
            assert isinstance(t, TensorType)
            layer, block = (user.layer, user.block) if isinstance(user, GraphOp) else \
                _near(v)
            props = {"layer": layer, "block": block}
            narrower = (precision_rank(storage_precision(t) or "")
                        < precision_rank(storage_precision(v.type) or ""))
            if narrower:
                width = t.get_shape()[-1]
                grp = min(self.p.group, width) if isinstance(user, KvAppendOp) else width
                conv: GraphOp = QuantizeOp(operands=[v], result_types=[t],
                                           properties={**props, "group": IntegerAttr(grp, 64)})
            else:
                conv = DequantizeOp(operands=[v], result_types=[t], properties=props)
            region = user.attributes.get(ATTR_REGION)
            if region is not None:
                conv.attributes[ATTR_REGION] = region
            Rewriter.insert_op(conv, InsertPoint.before(user))
            self.converted[key] = conv.results[0]
        user.operands[index] = self.converted[key]


def _near(v: SSAValue) -> tuple[Attribute, Attribute]:
    """Layer and block for a conversion feeding a non-graph op (func.return): the
    producer's."""
    owner = v.owner
    if isinstance(owner, GraphOp):
        return owner.layer, owner.block
    return IntegerAttr(-1, 64), BlockAttr(Block.OTHER)
