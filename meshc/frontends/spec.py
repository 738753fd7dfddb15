"""Model specs written by hand: an ONNX-like graph, or the compact transformer form.

A spec is a YAML or JSON file (docs/spec-format.md) holding one of

* `architecture:` the compact transformer form, the fields of `meshc.frontends.arch.Arch`,
  expanded by `meshc.frontends.transformer.build` into one function per phase;
* `graph:` named `inputs`, `weights`, `nodes` (a `tfm` op each) and `outputs`, built into
  one function named after `graph.phase` (default `prefill`). Result shapes follow from
  the op rules, so a node states only its inputs and outputs.

Every error is a `MeshcError` naming the file and the YAML path of the culprit, e.g.
`model.yaml: graph.nodes[3].inputs[1]: unknown value 'h7'`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import (
    BFloat16Type,
    Float8E4M3FNType,
    Float8E5M2Type,
    Float16Type,
    Float32Type,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.utils.exceptions import VerifyException

from meshc import limits
from meshc.errors import MeshcError
from meshc.frontends.arch import MAX_INT, arch_from_dict, printable, shown
from meshc.frontends.builder import GraphBuilder, check_elements, module_of
from meshc.frontends.transformer import PHASES, Shape, build
from meshc.inputs import load_structured
from meshc.ir import graph as g
from meshc.ir.work import ACTIVATION_OPS

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

# Dimension names bound from the requested phase shape (`--batch`, `--seq`, `--kv-len`).
SYMBOLIC_DIMS = ("batch", "seq", "kv_len")

_TOP_KEYS = ("name", "description", "architecture", "graph")
_GRAPH_KEYS = ("phase", "dtype", "inputs", "weights", "nodes", "outputs")
_VALUE_KEYS = ("name", "shape", "dtype")
_WEIGHT_KEYS = ("name", "shape", "dtype", "layer", "block")
_NODE_KEYS = ("name", "op", "inputs", "outputs", "attributes", "layer", "block")


def load(path: Path, phases: tuple[str, ...], shape: Shape) -> ModuleOp:
    """Imports a spec file as a verified `tfm` module."""
    return from_data(load_structured(path, what="spec file"), str(path), phases, shape)


def from_data(data: Any, file: str, phases: tuple[str, ...] = PHASES,
              shape: Shape | None = None) -> ModuleOp:
    """Builds a module from already parsed spec data; `file` names it in errors."""
    shape = shape or Shape()
    top = _mapping(data, file, "", "a spec", _TOP_KEYS)
    forms = [k for k in ("architecture", "graph") if k in top]
    if len(forms) != 1:
        raise MeshcError(
            "a spec needs exactly one of `architecture:` and `graph:`" if not forms else
            "a spec has either `architecture:` or `graph:`, not both", file=file,
            hint="see docs/spec-format.md")
    name = top.get("name", Path(file).stem)
    if not isinstance(name, str):
        raise MeshcError(f"name must be a string, got {shown(name)}", file=file, where="name")
    if forms[0] == "architecture":
        return _from_architecture(top["architecture"], name, file, phases, shape)
    return _GraphSpec(top["graph"], file, shape).build(phases)


# -- the compact transformer form -----------------------------------------------------------


def _from_architecture(data: Any, name: str, file: str, phases: tuple[str, ...],
                       shape: Shape) -> ModuleOp:
    if not isinstance(data, dict):
        raise MeshcError(f"expected a mapping of architecture fields, got {_kind(data)}",
                         file=file, where="architecture")
    try:
        arch = arch_from_dict({"name": name, "source": file, **data}, file)
    except MeshcError as e:
        where = f"architecture.{e.where}" if e.where else "architecture"
        raise MeshcError(e.message, file=file, where=where, hint=e.hint) from None
    if arch.kind == "encoder" and phases == PHASES:
        phases = ("prefill",)  # an encoder has one forward pass
    try:
        return build(arch, phases, shape)
    except MeshcError as e:
        raise e.located(file=file, where="architecture") from None


# -- the graph form -------------------------------------------------------------------------


@dataclass
class _Weight:
    name: str
    type: TensorType
    layer: int | None
    block: str | None
    where: str
    value: SSAValue | None = None


@dataclass(frozen=True)
class _Rule:
    """How one spec op becomes a `tfm` op: input count, attributes, builder call."""

    inputs: tuple[int, int | None]  # (min, max); max None: any number
    attrs: dict[str, Callable[[_Node, str, Any], Any]]
    emit: Callable[[_Node, list[SSAValue]], list[SSAValue]]
    outputs: int | None = 1  # None: as many as the node names


@dataclass
class _Node:
    """One node while it is built: its spec, place, attributes and the builder."""

    spec: _GraphSpec
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


class _GraphSpec:
    def __init__(self, data: Any, file: str, shape: Shape) -> None:
        self.file, self.shape = file, shape
        self.data = _mapping(data, file, "graph", "the graph", _GRAPH_KEYS)
        self.phase = self.data.get("phase", "prefill")
        if self.phase not in PHASES:
            raise self.fail(f"unknown phase {shown(self.phase)}; known: {', '.join(PHASES)}",
                            "graph.phase")
        self.dtype = self.dtype_of(self.data.get("dtype", "bf16"), "graph.dtype")
        self.values: dict[str, tuple[SSAValue | _Weight, str]] = {}
        self.b: GraphBuilder

    def fail(self, message: str, where: str, hint: str | None = None) -> MeshcError:
        return MeshcError(message, file=self.file, where=where, hint=hint)

    # -- fields ---------------------------------------------------------------------------
    def list_of(self, key: str, required: bool = True) -> list[Any]:
        if key not in self.data:
            if required:
                raise self.fail(f"missing field '{key}'", "graph")
            return []
        items = self.data[key]
        if not isinstance(items, list):
            raise self.fail(f"expected a list, got {_kind(items)}", f"graph.{key}")
        return items

    def name_of(self, raw: Any, where: str) -> str:
        if isinstance(raw, bool) or raw is None or not isinstance(raw, str | int):
            raise self.fail(f"a name must be a string, got {_kind(raw)}", where,
                            hint="quote it: YAML reads yes/no/on/off/null as non-strings")
        if not str(raw).isprintable() or not str(raw):
            raise self.fail(f"a name is printable text on one line, got {shown(str(raw))}", where)
        return str(raw)

    def dtype_of(self, raw: Any, where: str) -> Attribute:
        if not isinstance(raw, str) or raw not in DTYPES:
            near = difflib.get_close_matches(str(raw), DTYPES, n=1)
            hint = f"did you mean '{near[0]}'?" if near else None
            raise self.fail(f"unknown dtype {shown(raw)}; known: {', '.join(DTYPES)}", where, hint)
        return DTYPES[raw]()

    def dims_of(self, raw: Any, where: str) -> list[int]:
        if not isinstance(raw, list) or not raw:
            raise self.fail(f"a shape is a non-empty list of dimensions, got {shown(raw)}", where)
        dims = []
        for i, d in enumerate(raw):
            if isinstance(d, str) and d in SYMBOLIC_DIMS:
                d = getattr(self.shape, d)
            elif isinstance(d, bool) or not isinstance(d, int):
                raise self.fail(f"a dimension is a positive integer or one of "
                                f"{', '.join(SYMBOLIC_DIMS)}; got {shown(d)}", f"{where}[{i}]")
            if d <= 0:
                raise self.fail(f"dimension must be positive, got {d}", f"{where}[{i}]")
            try:
                check_elements([d], "a dimension")
            except MeshcError as e:
                raise e.located(file=self.file, where=f"{where}[{i}]") from None
            dims.append(d)
        try:
            check_elements(dims)
        except MeshcError as e:
            raise e.located(file=self.file, where=where) from None
        return dims

    def tensor_of(self, entry: dict[str, Any], where: str) -> TensorType:
        if "shape" not in entry:
            raise self.fail("missing field 'shape'", where)
        dims = self.dims_of(entry["shape"], f"{where}.shape")
        dtype = (self.dtype_of(entry["dtype"], f"{where}.dtype") if "dtype" in entry
                 else self.dtype)
        return TensorType(dtype, dims)

    def layer_block(self, entry: dict[str, Any], where: str) -> tuple[int | None, str | None]:
        layer, block = entry.get("layer"), entry.get("block")
        if layer is not None and (isinstance(layer, bool) or not isinstance(layer, int)
                                  or layer < -1):
            raise self.fail(f"layer is an integer >= -1 (-1: outside the layer stack), "
                            f"got {shown(layer)}", f"{where}.layer")
        blocks = [b.value for b in g.Block]
        if block is not None and block not in blocks:
            raise self.fail(f"unknown block {shown(block)}; known: {', '.join(blocks)}",
                            f"{where}.block")
        return layer, block

    def define(self, name: str, value: SSAValue | _Weight, where: str) -> None:
        if name in self.values:
            raise self.fail(f"duplicate name '{name}' (first defined at "
                            f"{self.values[name][1]})", where)
        self.values[name] = (value, where)
        if isinstance(value, SSAValue) and SSAValue.is_valid_name(name):
            value.name_hint = name

    def use(self, raw: Any, where: str, later: dict[str, str]) -> SSAValue:
        name = self.name_of(raw, where)
        if name not in self.values:
            if name in later:
                raise self.fail(f"value '{name}' is used before {later[name]} defines it",
                                where, hint="list nodes in the order they run")
            near = difflib.get_close_matches(name, self.values, n=1)
            raise self.fail(f"unknown value '{name}'", where,
                            hint=f"did you mean '{near[0]}'?" if near else None)
        value, _ = self.values[name]
        if isinstance(value, _Weight):
            if value.value is None:  # created at first use, in the first user's layer/block
                layer = self.b.layer if value.layer is None else value.layer
                block = self.b.blk if value.block is None else value.block
                with self.b.at(layer, block):
                    value.value = self.b.weight(value.name, value.type.get_shape(),
                                                value.type.element_type)
                value.value.name_hint = name if SSAValue.is_valid_name(name) else None
            return value.value
        return value

    # -- building -------------------------------------------------------------------------
    def build(self, phases: tuple[str, ...]) -> ModuleOp:
        if self.phase not in phases:
            raise self.fail(f"this graph spec defines only the '{self.phase}' phase, not "
                            f"{', '.join(phases)}", "graph.phase",
                            hint=f"ask for --phase {self.phase}")
        inputs = self.list_of("inputs")
        arg_types, arg_names = [], []
        for i, raw in enumerate(inputs):
            where = f"graph.inputs[{i}]"
            entry = _mapping(raw, self.file, where, "an input", _VALUE_KEYS)
            if "name" not in entry:
                raise self.fail("missing field 'name'", where)
            arg_names.append(self.name_of(entry["name"], f"{where}.name"))
            arg_types.append(self.tensor_of(entry, where))
        self.b = GraphBuilder(self.phase, arg_types, self.dtype)
        for i, (name, arg) in enumerate(zip(arg_names, self.b.args, strict=True)):
            self.define(name, arg, f"graph.inputs[{i}]")
        for i, raw in enumerate(self.list_of("weights", required=False)):
            where = f"graph.weights[{i}]"
            entry = _mapping(raw, self.file, where, "a weight", _WEIGHT_KEYS)
            if "name" not in entry:
                raise self.fail("missing field 'name'", where)
            name = self.name_of(entry["name"], f"{where}.name")
            layer, block = self.layer_block(entry, where)
            self.define(name, _Weight(name, self.tensor_of(entry, where), layer, block, where),
                        where)
        nodes = self.list_of("nodes")
        try:  # each node and weight is an op or two; refuse before building any
            limits.check("ops", len(nodes) + len(self.values), "the graph has too many nodes")
        except MeshcError as e:
            raise e.located(file=self.file, where="graph.nodes") from None
        later = self.outputs_by_node(nodes)
        names: dict[str, str] = {}
        for i, raw in enumerate(nodes):
            self.node(raw, f"graph.nodes[{i}]", names, later)
        with self.b.at(-1, "other"):  # unused weights are parameters all the same
            for name, (value, where) in self.values.items():
                if isinstance(value, _Weight) and value.value is None:
                    self.use(name, where, {})
        outs = self.list_of("outputs")
        if not outs:
            raise self.fail("a graph needs at least one output", "graph.outputs")
        results = [self.use(o, f"graph.outputs[{i}]", {}) for i, o in enumerate(outs)]
        module = module_of([self.b.finish(results)])
        module.verify()
        return module

    def outputs_by_node(self, nodes: list[Any]) -> dict[str, str]:
        """Which node defines each value, to tell 'defined later' from 'unknown'."""
        found: dict[str, str] = {}
        for i, raw in enumerate(nodes):
            outs = raw.get("outputs") if isinstance(raw, dict) else None
            for o in outs if isinstance(outs, list) else []:
                if isinstance(o, str | int) and not isinstance(o, bool):
                    found.setdefault(str(o), f"graph.nodes[{i}]")
        return found

    def node(self, raw: Any, where: str, names: dict[str, str], later: dict[str, str]) -> None:
        entry = _mapping(raw, self.file, where, "a node", _NODE_KEYS)
        for key in ("name", "op", "outputs"):
            if key not in entry:
                raise self.fail(f"missing field '{key}'", where)
        name = self.name_of(entry["name"], f"{where}.name")
        if name in names:
            raise self.fail(f"duplicate node name '{name}' (first at {names[name]})",
                            f"{where}.name")
        names[name] = where
        op = entry["op"]
        rule, attrs = _rule(self, op, where)
        n = _Node(self, where, op, attrs)
        raw_attrs = entry.get("attributes", {})
        if not isinstance(raw_attrs, dict):
            raise n.fail(f"expected a mapping of attributes, got {_kind(raw_attrs)}",
                         ".attributes")
        for key, value in raw_attrs.items():
            if key in attrs:
                raise n.fail(f"op {op} sets {key} already", f".attributes.{key}")
            if key not in rule.attrs:
                known = ", ".join(sorted(rule.attrs)) or "none"
                raise n.fail(f"{op} has no attribute '{printable(key)}'; known: {known}",
                             f".attributes.{printable(key)}")
            n.attrs[key] = rule.attrs[key](n, f".attributes.{key}", value)
        ins, outs = entry.get("inputs", []), entry["outputs"]
        for key, items in (("inputs", ins), ("outputs", outs)):
            if not isinstance(items, list):
                raise n.fail(f"expected a list of value names, got {_kind(items)}", f".{key}")
        lo, hi = rule.inputs
        if not lo <= len(ins) <= (hi if hi is not None else len(ins)):
            count = (f"{lo}" if lo == hi else f"{lo} to {hi}" if hi is not None
                     else f"at least {lo}")
            raise n.fail(f"{op} takes {count} inputs, got {len(ins)}", ".inputs")
        want = rule.outputs if rule.outputs is not None else max(len(outs), 1)
        if len(outs) != want:
            raise n.fail(f"{op} gives {want} output{'s' if want > 1 else ''}, "
                         f"got {len(outs)} names", ".outputs")
        n.n_outputs = want
        layer, block = self.layer_block(entry, where)
        with self.b.at(-1 if layer is None else layer, block or "other"):
            values = [self.use(v, f"{where}.inputs[{i}]", later) for i, v in enumerate(ins)]
            try:
                results = rule.emit(n, values)
            except MeshcError as e:  # a result over the `dim` limit
                raise e.located(file=self.file, where=where) from None
        owner = results[0].owner
        assert isinstance(owner, Operation)
        try:
            owner.verify()
        except VerifyException as e:
            msg = " ".join(str(e).split())
            raise n.fail(msg if msg.startswith(f"{op} ") else f"{op}: {msg}") from None
        for i, (o, r) in enumerate(zip(outs, results, strict=True)):
            self.define(self.name_of(o, f"{where}.outputs[{i}]"), r, f"{where}.outputs[{i}]")


def _rule(spec: _GraphSpec, op: Any, where: str) -> tuple[_Rule, dict[str, Any]]:
    """The rule of an op name; the activation names are short for `activation`."""
    if isinstance(op, str) and op in RULES:
        return RULES[op], {}
    if isinstance(op, str) and op in ACTIVATION_OPS:
        return RULES["activation"], {"kind": op}
    known = sorted([*RULES, *ACTIVATION_OPS])
    near = difflib.get_close_matches(str(op), known, n=1)
    hint = (f"did you mean '{near[0]}'?" if near else
            "declare parameters under graph.weights" if op == "weight" else None)
    raise spec.fail(f"unknown op {shown(op)}; known: {', '.join(known)}", f"{where}.op", hint)


# -- attribute checkers -----------------------------------------------------------------------


def _int(minimum: int) -> Callable[[_Node, str, Any], int]:
    def check(n: _Node, where: str, v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not minimum <= v <= MAX_INT:
            raise n.fail(f"expected an integer from {minimum} to {MAX_INT:,}, got {shown(v)}",
                         where)
        return v

    return check


def _bool(n: _Node, where: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise n.fail(f"expected true or false, got {shown(v)}", where)
    return v


def _str(n: _Node, where: str, v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise n.fail(f"expected a non-empty string, got {shown(v)}", where)
    return v


def _choice(options: Sequence[str]) -> Callable[[_Node, str, Any], str]:
    def check(n: _Node, where: str, v: Any) -> str:
        if v not in options:
            raise n.fail(f"unknown value {shown(v)}; known: {', '.join(options)}", where)
        return v

    return check


def _dtype(n: _Node, where: str, v: Any) -> Attribute:
    return n.spec.dtype_of(v, n.where + where)


def _dims(n: _Node, where: str, v: Any) -> list[int]:
    return n.spec.dims_of(v, n.where + where)


def _shapes(n: _Node, where: str, v: Any) -> list[list[int]]:
    if not isinstance(v, list) or not v:
        raise n.fail(f"expected a list of shapes, got {shown(v)}", where)
    return [n.spec.dims_of(s, f"{n.where}{where}[{i}]") for i, s in enumerate(v)]


# -- emitters: one per op ---------------------------------------------------------------------


def _shape(v: SSAValue) -> tuple[int, ...]:
    assert isinstance(v.type, TensorType)
    return tuple(v.type.get_shape())


def _emit_op(n: _Node, cls: type[g.GraphOp], operands: list[SSAValue],
             result: TensorType, **props: Attribute) -> list[SSAValue]:
    """Ops the builder has no method for (quantize, dequantize, typed kv_read)."""
    return [n.b._emit(cls.create(operands=operands, result_types=[result],
                                 properties=n.b._props(**props)))]


def _embedding(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(1, 2, 3), (2,)])
    return [n.b.embedding(v[0], v[1])]


def _linear(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(1, 2, 3, 4), (2,), (1,)])
    return [n.b.linear(v[0], v[1], v[2] if len(v) > 2 else None)]


def _lm_head(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(3,), (2,)])
    return [n.b.lm_head(v[0], v[1], last=n.attr("last", False))]


def _matmul(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(2, 3, 4), (2, 3, 4)])
    return [n.b.matmul(v[0], v[1], transpose_b=n.attr("transpose_b", False))]


def _attention(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
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


def _head_width(n: _Node, width: int, heads: int, key: str, what: str) -> int:
    """The width of one head, when the heads split the tensor evenly (a floor would be a
    silently different model)."""
    if width % heads:
        raise n.fail(f"{key} ({heads}) do not divide the {what} width ({width})",
                     f".attributes.{key}", hint="give head_dim (or qk_dim and v_dim)")
    return width // heads


def _call(method: str) -> Callable[[_Node, list[SSAValue]], list[SSAValue]]:
    def emit(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
        return [getattr(n.b, method)(*v)]

    return emit


def _norm(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    if n.op == "rmsnorm":
        return [n.b.rmsnorm(v[0], v[1])]
    return [n.b.layernorm(v[0], v[1], v[2] if len(v) > 2 else None)]


def _activation(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    return [n.b.activation(n.need("kind"), v[0], v[1] if len(v) > 1 else None)]


def _concat(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    return [n.b.concat(v)]


def _moe(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(2, 3), (2,), (3,), (3,), (3,)])
    return [n.b.moe(*v, experts=n.attr("experts", _shape(v[1])[1]), top_k=n.need("top_k"),
                    shared=n.attr("shared", 0))]


def _kv_read(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    dims = n.need("shape")
    if len(dims) != 3:
        raise n.fail(f"a KV cache is [batch, length, width], got {dims}", ".attributes.shape")
    t = TensorType(n.attr("dtype", n.b.dtype), dims)
    return _emit_op(n, g.KvReadOp, [], t, cache=StringAttr(n.need("cache")))


def _kv_append(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    n.rank(v, [(3,), (3,)])
    return [n.b.kv_append(n.need("cache"), v[0], v[1] if len(v) > 1 else None)]


def _quantize(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    t = TensorType(n.need("dtype"), _shape(v[0]))
    return _emit_op(n, g.QuantizeOp, v, t, group=IntegerAttr(n.need("group"), 64))


def _dequantize(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    t = TensorType(n.attr("dtype", n.b.dtype), _shape(v[0]))
    return _emit_op(n, g.DequantizeOp, v, t)


def _generic(n: _Node, v: list[SSAValue]) -> list[SSAValue]:
    shapes = n.need("shapes")
    if len(shapes) != n.n_outputs:
        raise n.fail(f"{len(shapes)} shapes for {n.n_outputs} outputs", ".attributes.shapes")
    dtype = n.attr("dtype", n.b.dtype)
    return n.b.generic(n.need("op_type"), v, [TensorType(dtype, s) for s in shapes],
                       macs=n.attr("macs", 0), vector_ops=n.attr("vector_ops", 0),
                       mac_kind=n.attr("mac_kind"))


_ATTN_ATTRS: dict[str, Callable[[_Node, str, Any], Any]] = {
    "heads": _int(1), "kv_heads": _int(1), "head_dim": _int(1), "qk_dim": _int(1),
    "v_dim": _int(1), "rope_dim": _int(0), "causal": _bool,
    "variant": _choice([v.value for v in g.AttentionVariant]),
}

RULES: dict[str, _Rule] = {
    "embedding": _Rule((2, 2), {}, _embedding),
    "linear": _Rule((2, 3), {}, _linear),
    "lm_head": _Rule((2, 2), {"last": _bool}, _lm_head),
    "matmul": _Rule((2, 2), {"transpose_b": _bool}, _matmul),
    "attention": _Rule((3, 4), _ATTN_ATTRS, _attention),
    "softmax": _Rule((1, 1), {}, _call("softmax")),
    "rope": _Rule((1, 1), {}, _call("rope")),
    "rmsnorm": _Rule((2, 2), {}, _norm),
    "layernorm": _Rule((2, 3), {}, _norm),
    "activation": _Rule((1, 2), {"kind": _choice(list(ACTIVATION_OPS))}, _activation),
    "add": _Rule((2, 2), {}, _call("add")),
    "mul": _Rule((2, 2), {}, _call("mul")),
    "concat": _Rule((1, None), {}, _concat),
    "moe": _Rule((5, 5), {"experts": _int(1), "top_k": _int(1), "shared": _int(0)}, _moe),
    "kv_read": _Rule((0, 0), {"cache": _str, "shape": _dims, "dtype": _dtype}, _kv_read),
    "kv_append": _Rule((1, 2), {"cache": _str}, _kv_append),
    "quantize": _Rule((1, 1), {"dtype": _dtype, "group": _int(1)}, _quantize),
    "dequantize": _Rule((1, 1), {"dtype": _dtype}, _dequantize),
    "generic": _Rule((0, None), {"op_type": _str, "shapes": _shapes, "dtype": _dtype,
                                 "macs": _int(0), "vector_ops": _int(0),
                                 "mac_kind": _choice(g.GenericOp.MAC_KINDS)}, _generic,
                     outputs=None),
}


# -- helpers ----------------------------------------------------------------------------------


def _kind(v: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}.get(
        type(v), f"{type(v).__name__} {shown(v)}")


def _mapping(data: Any, file: str, where: str, what: str, keys: Sequence[str]) -> dict[str, Any]:
    """`data` as a mapping with only the `keys` known; unknown keys are located errors."""
    if not isinstance(data, dict):
        raise MeshcError(f"expected {what} (a mapping), got {_kind(data)}", file=file,
                         where=where or None)
    for key in data:
        if key not in keys:
            near = difflib.get_close_matches(str(key), keys, n=1)
            raise MeshcError(
                f"unknown field '{printable(key)}'; known: {', '.join(keys)}", file=file,
                where=f"{where}.{printable(key)}" if where else printable(key),
                hint=f"did you mean '{near[0]}'?" if near else None)
    return data
