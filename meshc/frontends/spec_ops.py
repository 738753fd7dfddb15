"""The op rules of a spec's graph form: how each spec op becomes a `tfm` op (its inputs,
checked attributes and builder call), and the element type names a spec may use.
spec.py walks the graph and asks these rules; every error names the node's YAML path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xdsl.dialects.builtin import (
    BFloat16Type,
    Float8E4M3FNType,
    Float8E5M2Type,
    Float16Type,
    Float32Type,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, SSAValue

from meshc.errors import MeshcError
from meshc.frontends.arch import MAX_INT, shown
from meshc.frontends.builder import GraphBuilder
from meshc.ir import graph as g
from meshc.ir.work import ACTIVATION_OPS

if TYPE_CHECKING:
    from meshc.frontends.spec import GraphSpec

# Element type names a spec may use; several spellings name one type.
DTYPES: dict[str, Callable[[], Attribute]] = {
    "bf16": BFloat16Type,
    "f16": Float16Type,
    "fp16": Float16Type,
    "f32": Float32Type,
    "fp32": Float32Type,
    "fp8": Float8E4M3FNType,
    "f8E4M3FN": Float8E4M3FNType,
    "f8E5M2": Float8E5M2Type,
    "int8": lambda: IntegerType(8),
    "i8": lambda: IntegerType(8),
    "int4": lambda: IntegerType(4),
    "i4": lambda: IntegerType(4),
    "int32": lambda: IntegerType(32),
    "i32": lambda: IntegerType(32),
    "int64": lambda: IntegerType(64),
    "i64": lambda: IntegerType(64),
}


@dataclass(frozen=True)
class Rule:
    """How one spec op becomes a `tfm` op: input count, attributes, builder call."""

    inputs: tuple[int, int | None]  # (min, max); max None: any number
    attrs: dict[str, Callable[[Node, str, Any], Any]]
    emit: Callable[[Node, list[SSAValue]], list[SSAValue]]
    outputs: int | None = 1  # None: as many as the node names


@dataclass
class Node:
    """One node while it is built: its spec, place, attributes and the builder."""

    spec: GraphSpec
    where: str
    op: str
    attrs: dict[str, Any] = field(default_factory=dict)
    n_outputs: int = 1

    @property
    def b(self) -> GraphBuilder:
        return self.spec.b

    def fail(self, message: str, where: str = "", hint: str | None = None) -> MeshcError:
        return MeshcError(message, file=self.spec.file, where=self.where + where, hint=hint)

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def need(self, name: str) -> Any:
        if name not in self.attrs:
            raise self.fail(f"{self.op} needs attribute '{name}'", ".attributes")
        return self.attrs[name]

    def rank(self, values: Sequence[SSAValue], ranks: Sequence[tuple[int, ...]]) -> None:
        """Checks operand ranks before the builder infers a result shape from them."""
        for i, (v, allowed) in enumerate(zip(values, ranks, strict=False)):
            r = len(_shape(v))
            if r not in allowed:
                want = " or ".join(str(a) for a in allowed)
                raise self.fail(f"{self.op} input {i} must have rank {want}, got shape "
                                f"{list(_shape(v))}", f".inputs[{i}]")


# -- attribute checkers -----------------------------------------------------------------------


def _int(minimum: int) -> Callable[[Node, str, Any], int]:
    def check(n: Node, where: str, v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not minimum <= v <= MAX_INT:
            raise n.fail(f"expected an integer from {minimum} to {MAX_INT:,}, got {shown(v)}",
                         where)
        return v

    return check


def _bool(n: Node, where: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise n.fail(f"expected true or false, got {shown(v)}", where)
    return v


def _str(n: Node, where: str, v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise n.fail(f"expected a non-empty string, got {shown(v)}", where)
    return v


def _choice(options: Sequence[str]) -> Callable[[Node, str, Any], str]:
    def check(n: Node, where: str, v: Any) -> str:
        if v not in options:
            raise n.fail(f"unknown value {shown(v)}; known: {', '.join(options)}", where)
        return str(v)

    return check


def _dtype(n: Node, where: str, v: Any) -> Attribute:
    return n.spec.dtype_of(v, n.where + where)


def _dims(n: Node, where: str, v: Any) -> list[int]:
    return n.spec.dims_of(v, n.where + where)


def _shapes(n: Node, where: str, v: Any) -> list[list[int]]:
    if not isinstance(v, list) or not v:
        raise n.fail(f"expected a list of shapes, got {shown(v)}", where)
    return [n.spec.dims_of(s, f"{n.where}{where}[{i}]") for i, s in enumerate(v)]


# -- emitters: one per op ---------------------------------------------------------------------


def _shape(v: SSAValue) -> tuple[int, ...]:
    assert isinstance(v.type, TensorType)
    return tuple(v.type.get_shape())


def _emit_op(n: Node, cls: type[g.GraphOp], operands: list[SSAValue],
             result: TensorType, **props: Attribute) -> list[SSAValue]:
    """Ops the builder has no method for (quantize, dequantize, typed kv_read)."""
    return [n.b._emit(cls.create(operands=operands, result_types=[result],
                                 properties=n.b._props(**props)))]


def _embedding(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(1, 2, 3), (2,)])
    return [n.b.embedding(v[0], v[1])]


def _linear(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(1, 2, 3, 4), (2,), (1,)])
    return [n.b.linear(v[0], v[1], v[2] if len(v) > 2 else None)]


def _lm_head(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(3,), (2,)])
    return [n.b.lm_head(v[0], v[1], last=n.attr("last", False))]


def _matmul(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(2, 3, 4), (2, 3, 4)])
    return [n.b.matmul(v[0], v[1], transpose_b=n.attr("transpose_b", False))]


def _attention(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(3,), (3,), (3,), (2,)])
    heads = n.need("heads")
    mla = n.attr("variant") == "mla" or len(v) == 4
    if mla and n.attr("variant", "mla") != "mla":
        raise n.fail(f"a fourth input (the kv_b weight) is only for mla, not "
                     f"{n.attr('variant')}", ".inputs")
    kv_heads = n.attr("kv_heads", 1 if mla else heads)
    q, _, vv = (_shape(x) for x in v[:3])
    if mla:
        rope = n.need("rope_dim")
        qk = n.attr("qk_dim") or _head_width(n, q[2], heads, "heads", "query")
        if len(v) != 4:
            raise n.fail("mla attention takes 4 inputs: q, latent cache (as k and v) and "
                         "the kv_b weight", ".inputs")
        vd = n.attr("v_dim", _shape(v[3])[1] // heads - (qk - rope))
        if vd <= 0:
            raise n.fail(f"cannot infer v_dim from kv_b weight {list(_shape(v[3]))}",
                         hint="give attributes.v_dim")
        return [n.b.attention(v[0], v[1], v[2], heads=heads, kv_heads=kv_heads, qk_dim=qk,
                              v_dim=vd, causal=n.attr("causal", False), variant="mla",
                              absorb=v[3], rope_dim=rope)]
    if "rope_dim" in n.attrs:
        raise n.fail("rope_dim is only for mla attention", ".attributes.rope_dim")
    hd = n.attr("head_dim")
    kv_key = "kv_heads" if "kv_heads" in n.attrs else "heads"
    qk = n.attr("qk_dim", hd) or _head_width(n, q[2], heads, "heads", "query")
    vd = n.attr("v_dim", hd) or _head_width(n, vv[2], kv_heads, kv_key, "value")
    if heads * qk != q[2]:  # before the builder makes a [.., heads * v_dim] result of it
        raise n.fail(f"heads ({heads}) x qk_dim ({qk}) is not the query width ({q[2]})",
                     ".attributes.heads")
    return [n.b.attention(v[0], v[1], v[2], heads=heads, kv_heads=kv_heads, qk_dim=qk,
                          v_dim=vd, causal=n.attr("causal", False), variant=n.attr("variant"))]


def _head_width(n: Node, width: int, heads: int, key: str, what: str) -> int:
    """The width of one head, when the heads split the tensor evenly (a floor would be a
    silently different model)."""
    if width % heads:
        raise n.fail(f"{key} ({heads}) do not divide the {what} width ({width})",
                     f".attributes.{key}", hint="give head_dim (or qk_dim and v_dim)")
    return width // heads


def _call(method: str) -> Callable[[Node, list[SSAValue]], list[SSAValue]]:
    def emit(n: Node, v: list[SSAValue]) -> list[SSAValue]:
        return [getattr(n.b, method)(*v)]

    return emit


def _norm(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    if n.op == "rmsnorm":
        return [n.b.rmsnorm(v[0], v[1])]
    return [n.b.layernorm(v[0], v[1], v[2] if len(v) > 2 else None)]


def _activation(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    return [n.b.activation(n.need("kind"), v[0], v[1] if len(v) > 1 else None)]


def _concat(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    return [n.b.concat(v)]


def _moe(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(2, 3), (2,), (3,), (3,), (3,)])
    return [n.b.moe(*v, experts=n.attr("experts", _shape(v[1])[1]), top_k=n.need("top_k"),
                    shared=n.attr("shared", 0))]


def _kv_read(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    dims = n.need("shape")
    if len(dims) != 3:
        raise n.fail(f"a KV cache is [batch, length, width], got {dims}", ".attributes.shape")
    t = TensorType(n.attr("dtype", n.b.dtype), dims)
    return _emit_op(n, g.KvReadOp, [], t, cache=StringAttr(n.need("cache")))


def _kv_append(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(3,), (3,)])
    return [n.b.kv_append(n.need("cache"), v[0], v[1] if len(v) > 1 else None)]


def _quantize(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    t = TensorType(n.need("dtype"), _shape(v[0]))
    return _emit_op(n, g.QuantizeOp, v, t, group=IntegerAttr(n.need("group"), 64))


def _dequantize(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    t = TensorType(n.attr("dtype", n.b.dtype), _shape(v[0]))
    return _emit_op(n, g.DequantizeOp, v, t)


def _generic(n: Node, v: list[SSAValue]) -> list[SSAValue]:
    shapes = n.need("shapes")
    if len(shapes) != n.n_outputs:
        raise n.fail(f"{len(shapes)} shapes for {n.n_outputs} outputs", ".attributes.shapes")
    dtype = n.attr("dtype", n.b.dtype)
    return n.b.generic(n.need("op_type"), v, [TensorType(dtype, s) for s in shapes],
                       macs=n.attr("macs", 0), vector_ops=n.attr("vector_ops", 0),
                       mac_kind=n.attr("mac_kind"))


_ATTN_ATTRS: dict[str, Callable[[Node, str, Any], Any]] = {
    "heads": _int(1), "kv_heads": _int(1), "head_dim": _int(1), "qk_dim": _int(1),
    "v_dim": _int(1), "rope_dim": _int(0), "causal": _bool,
    "variant": _choice([v.value for v in g.AttentionVariant]),
}

RULES: dict[str, Rule] = {
    "embedding": Rule((2, 2), {}, _embedding),
    "linear": Rule((2, 3), {}, _linear),
    "lm_head": Rule((2, 2), {"last": _bool}, _lm_head),
    "matmul": Rule((2, 2), {"transpose_b": _bool}, _matmul),
    "attention": Rule((3, 4), _ATTN_ATTRS, _attention),
    "softmax": Rule((1, 1), {}, _call("softmax")),
    "rope": Rule((1, 1), {}, _call("rope")),
    "rmsnorm": Rule((2, 2), {}, _norm),
    "layernorm": Rule((2, 3), {}, _norm),
    "activation": Rule((1, 2), {"kind": _choice(list(ACTIVATION_OPS))}, _activation),
    "add": Rule((2, 2), {}, _call("add")),
    "mul": Rule((2, 2), {}, _call("mul")),
    "concat": Rule((1, None), {}, _concat),
    "moe": Rule((5, 5), {"experts": _int(1), "top_k": _int(1), "shared": _int(0)}, _moe),
    "kv_read": Rule((0, 0), {"cache": _str, "shape": _dims, "dtype": _dtype}, _kv_read),
    "kv_append": Rule((1, 2), {"cache": _str}, _kv_append),
    "quantize": Rule((1, 1), {"dtype": _dtype, "group": _int(1)}, _quantize),
    "dequantize": Rule((1, 1), {"dtype": _dtype}, _dequantize),
    "generic": Rule((0, None), {"op_type": _str, "shapes": _shapes, "dtype": _dtype,
                                 "macs": _int(0), "vector_ops": _int(0),
                                 "mac_kind": _choice(g.GenericOp.MAC_KINDS)}, _generic,
                     outputs=None),
}
