"""Checks of a parsed ONNX model that run before anything else looks at it: its size (ops,
after local functions are inlined), every node against its op's schema (input and output
counts, required attributes, attribute types) and every tensor it stores. Whatever passes
here can be read by `infer`, `fuse` and `emit` without an index or key error.
"""

from __future__ import annotations

from typing import SupportsInt, cast

import onnx
from google.protobuf.message import Message
from onnx import AttributeProto, defs

from meshc import limits
from meshc.errors import MeshcError
from meshc.frontends.onnx.tensors import KNOWN_TYPES, check_tensor, type_name

_CONSTANT_VALUES = ("value", "value_float", "value_floats", "value_int", "value_ints",
                    "value_string", "value_strings", "sparse_value")
_TYPE_ATTRS = frozenset({"to", "dtype", "output_dtype", "stash_type"})
_FunctionKey = tuple[str, str, str]


def check_size(model: onnx.ModelProto, path: str) -> None:
    """Refuses a model with more ops than `--limit ops`, counting what its local functions
    expand to before the inliner runs (a function calling another twice, 60 levels deep,
    is 2^60 ops)."""
    funcs: dict[_FunctionKey, onnx.FunctionProto] = {
        (f.domain, f.name, f.overload): f for f in model.functions}
    sizes: dict[_FunctionKey, int] = {}

    def expanded(n: onnx.NodeProto, stack: tuple[_FunctionKey, ...]) -> int:
        key = (n.domain, n.op_type, n.overload)
        if key not in funcs:
            return 1
        if key in stack:
            raise MeshcError(f"local function '{key[1]}' calls itself", file=path)
        if key not in sizes:
            total = 0
            for m in funcs[key].node:
                total += expanded(m, (*stack, key))
            sizes[key] = total
        return sizes[key]

    try:
        total = sum(expanded(n, ()) for n in model.graph.node)
    except RecursionError:
        raise MeshcError("local functions are nested too deeply", file=path) from None
    if total > limits.get("ops"):
        what = "the model's graph" + (" with its local functions inlined" if funcs else "")
        raise limits.refuse("ops", min(total, 10**15), f"{what} is too large").located(
            file=path)


def check_text(model: onnx.ModelProto, path: str) -> None:
    """Every string field is text: protobuf hands back bytes for a name that is not UTF-8
    (proto2 does not validate), which no later step expects."""
    stack: list[Message] = [model]
    while stack:
        msg = stack.pop()
        for field, value in msg.ListFields():
            items = value if field.is_repeated else [value]
            if field.type == field.TYPE_STRING:
                bad = next((v for v in items if not isinstance(v, str)), None)
                if bad is not None:
                    raise MeshcError(f"{field.full_name.removeprefix('onnx.')} {bad[:40]!r} is "
                                     "not UTF-8 text", file=path)
            elif field.type == field.TYPE_MESSAGE:
                stack.extend(items)


def check_node(node: onnx.NodeProto, opset: int, where: str, path: str) -> None:
    """The node's arity and attributes against its op's schema, and its tensors."""
    def error(message: str) -> MeshcError:
        return MeshcError(message, file=path, where=where)

    if not any(node.output):
        raise error("the node has no outputs")
    for a in node.attribute:
        if a.ref_attr_name:
            raise error(f"attribute '{a.name}' refers to a function attribute outside a "
                        "function")
        if a.type == AttributeProto.UNDEFINED:
            raise error(f"attribute '{a.name}' has no type")
        for k, t in enumerate([a.t] if a.type == AttributeProto.TENSOR else list(a.tensors)
                              if a.type == AttributeProto.TENSORS else []):
            label = f"attribute '{a.name}'" + (f"[{k}]" if a.type == AttributeProto.TENSORS
                                               else "")
            try:
                check_tensor(t, f"the tensor of {label}")
            except MeshcError as e:
                raise e.located(file=path, where=where) from None
        if a.name in _TYPE_ATTRS and a.type == AttributeProto.INT and a.i not in KNOWN_TYPES:
            raise error(f"attribute '{a.name}' names an unknown {type_name(a.i)}")
    if node.op_type == "Constant":
        given = [a.name for a in node.attribute if a.name in _CONSTANT_VALUES]
        if len(given) != 1:
            raise error("a Constant needs exactly one value attribute, it has "
                        f"{len(given) or 'none'}")
    schema = _schema(node.op_type, opset)
    if schema is None:
        return
    n_in = len(node.input)
    if n_in < schema.min_input or n_in > schema.max_input:
        raise error(f"{node.op_type} takes {_range(schema.min_input, schema.max_input)} "
                    f"inputs, the node has {n_in}")
    required = [k for k, i in enumerate(schema.inputs) if k < n_in and not node.input[k]
                and i.option == defs.OpSchema.FormalParameterOption.Single]
    if required:
        raise error(f"{node.op_type} input {required[0]} is required but the node leaves it "
                    "empty")
    if not node.output[0]:
        raise error(f"{node.op_type} output 0 is required but the node leaves it empty")
    if len(node.output) > schema.max_output:
        raise error(f"{node.op_type} has {_range(schema.min_output, schema.max_output)} "
                    f"outputs, the node has {len(node.output)}")
    given_attrs = {a.name: a for a in node.attribute}
    for name, spec in schema.attributes.items():
        attr = given_attrs.get(name)
        wanted = int(cast(SupportsInt, spec.type))  # a pybind11 enum: its stub lacks __int__
        if attr is None:
            if spec.required:
                raise error(f"{node.op_type} needs attribute '{name}'")
        elif attr.type != wanted:
            raise error(f"attribute '{name}' is {AttributeProto.AttributeType.Name(attr.type)}, "
                        f"{node.op_type} takes {AttributeProto.AttributeType.Name(wanted)}")


def _schema(op: str, opset: int) -> defs.OpSchema | None:
    """The schema in force at the model's opset (the latest one for a newer op)."""
    try:
        return defs.get_schema(op, opset, "")
    except defs.SchemaError:
        pass
    try:
        return defs.get_schema(op, "")
    except defs.SchemaError:
        return None


def _range(lo: int, hi: int) -> str:
    if lo == hi:
        return str(lo)
    return f"at least {lo}" if hi > 1 << 20 else f"{lo} to {hi}"
