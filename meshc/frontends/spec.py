"""Model specs written by hand: an ONNX-like graph, or the compact transformer form.

A spec is a YAML or JSON file (docs/spec-format.md) holding one of

* `architecture:` the compact transformer form, the fields of `meshc.frontends.arch.Arch`,
  expanded by `meshc.frontends.transformer.build` into one function per phase;
* `graph:` named `inputs`, `weights`, `nodes` (a `tfm` op each) and `outputs`, built into
  one function named after `graph.phase` (default `prefill`). Result shapes follow from
  the op rules (spec_ops.py), so a node states only its inputs and outputs.

Every error is a `MeshcError` naming the file and the YAML path of the culprit, e.g.
`model.yaml: graph.nodes[3].inputs[1]: unknown value 'h7'`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import (
    ModuleOp,
    TensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.utils.exceptions import VerifyException

from meshc import limits
from meshc.errors import MeshcError, printable
from meshc.frontends.arch import arch_from_dict, shown
from meshc.frontends.builder import GraphBuilder, check_elements, module_of
from meshc.frontends.spec_ops import DTYPES, RULES, Node, Rule
from meshc.frontends.transformer import PHASES, Shape, build
from meshc.inputs import load_structured
from meshc.ir import graph as g
from meshc.ir.work import ACTIVATION_OPS

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
    return GraphSpec(top["graph"], file, shape).build(phases)


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


class GraphSpec:
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
        n = Node(self, where, op, attrs)
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


def _rule(spec: GraphSpec, op: Any, where: str) -> tuple[Rule, dict[str, Any]]:
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
