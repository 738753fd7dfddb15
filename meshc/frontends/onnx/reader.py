"""Reads an ONNX file into a checked, topologically ordered graph.

Only the file itself is read: external data (`.onnx.data`) is never loaded and no path
named inside the model is opened. Bad input (a truncated file, bytes that are not ONNX,
an op meshc does not know, a dangling input name, a cycle) is one `MeshcError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx
from google.protobuf.message import DecodeError

from meshc.errors import MeshcError, printable
from meshc.frontends.onnx.checks import check_node, check_size, check_text
from meshc.frontends.onnx.ops import KNOWN_OPS
from meshc.frontends.onnx.tensors import check_tensor
from meshc.inputs import read_bytes

DEFAULT_DOMAINS = ("", "ai.onnx")


def show(name: str, width: int = 80) -> str:
    """A name from the model as error text: one line, control characters escaped, long
    names cut in the middle."""
    text = printable(name)
    return text if len(text) <= width else f"{text[:width // 2 - 2]} ... {text[-width // 2 + 3:]}"


def where(node: onnx.NodeProto, index: int | None = None) -> str:
    """How errors name a node: `node 'name' (OpType)`."""
    op = show(node.op_type)
    if node.name:
        return f"node '{show(node.name)}' ({op})"
    out = next((o for o in node.output if o), None)
    if out is not None:
        return f"node #{index if index is not None else '?'} ({op}) producing '{show(out)}'"
    return f"node #{index if index is not None else '?'} ({op})"


@dataclass
class Graph:
    """The main graph of a model, checked and in topological order."""

    path: str
    opset: int
    nodes: list[onnx.NodeProto]
    inputs: list[onnx.ValueInfoProto]  # graph inputs that are not initializers
    outputs: list[onnx.ValueInfoProto]
    initializers: dict[str, onnx.TensorProto]
    declared: dict[str, onnx.ValueInfoProto]  # value_info, inputs and outputs by name
    producer: dict[str, int] = field(default_factory=dict)  # value -> index in nodes
    index: dict[int, int] = field(default_factory=dict)  # id(node) -> its original index

    def where(self, node: onnx.NodeProto) -> str:
        return where(node, self.index.get(id(node)))

    def error(self, message: str, node: onnx.NodeProto | None = None,
              hint: str | None = None) -> MeshcError:
        return MeshcError(message, file=self.path, where=self.where(node) if node else None,
                          hint=hint)


def read_model(path: Path) -> onnx.ModelProto:
    """Parses the file's bytes as a ModelProto; never touches external data."""
    data = read_bytes(path, limit="onnx_mb", what="ONNX model")
    if not data:
        raise MeshcError("the file is empty, not an ONNX model", file=str(path))
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as e:
        raise MeshcError(
            "not a valid ONNX model: the protobuf does not parse (the file is truncated or is "
            f"not ONNX): {e}", file=str(path)) from None
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise MeshcError("not an ONNX model: no IR version or no graph", file=str(path))
    if not model.graph.output:
        raise MeshcError("the ONNX graph has no outputs (is the file truncated?)",
                         file=str(path))
    check_size(model, str(path))
    check_text(model, str(path))
    return model


def _inline_functions(model: onnx.ModelProto, path: str) -> onnx.ModelProto:
    if not model.functions:
        return model
    from onnx import inliner

    try:
        return inliner.inline_local_functions(model)
    except Exception as e:  # the inliner raises plain C++ errors
        raise MeshcError(f"cannot inline the model's local functions: {e}", file=path) from None


def _opset(model: onnx.ModelProto, path: str) -> int:
    newest = onnx.defs.onnx_opset_version()
    for o in model.opset_import:
        if o.domain in DEFAULT_DOMAINS:
            if not 1 <= o.version <= newest:
                raise MeshcError(f"the model imports ONNX opset {o.version}; meshc knows opsets 1 "
                                 f"to {newest}", file=path,
                                 hint=f"export with an opset up to {newest}")
            return int(o.version)
    if model.ir_version < 3:  # IR < 3 had no opset_import; treat as opset 1
        return 1
    raise MeshcError("the model imports no version of the default ONNX opset", file=path)


def build_graph(model: onnx.ModelProto, path: str) -> Graph:
    """Checks names and ops and orders the nodes; raises MeshcError on the first problem."""
    model = _inline_functions(model, path)
    opset = _opset(model, path)
    g = model.graph
    inits = _initializers(g, path)
    nodes = list(g.node)
    graph = Graph(path=path, opset=opset, nodes=[], inputs=[i for i in g.input if
                                                            i.name not in inits],
                  outputs=list(g.output), initializers=inits, declared={},
                  index={id(n): i for i, n in enumerate(nodes)})
    for vi in (*g.value_info, *g.input, *g.output):
        graph.declared.setdefault(vi.name, vi)

    defined: dict[str, str] = {}
    for name in inits:
        defined[name] = "an initializer"
    for vi in graph.inputs:
        if vi.name in defined:
            raise MeshcError(f"graph input '{vi.name}' is defined twice", file=path)
        defined[vi.name] = "a graph input"
    for i, n in enumerate(nodes):
        _check_op(n, i, graph)
        check_node(n, opset, where(n, i), path)
        for o in n.output:
            if not o:
                continue
            if o in defined:
                raise MeshcError(f"value '{show(o)}' is defined twice: by {defined[o]} and by "
                                 f"{where(n, i)}", file=path, where=where(n, i))
            defined[o] = where(n, i)
    for i, n in enumerate(nodes):
        for k, x in enumerate(n.input):
            if x and x not in defined:
                raise MeshcError(f"input {k} '{show(x)}' is produced by nothing: no node, graph "
                                 "input or initializer defines it (a dangling name)",
                                 file=path, where=where(n, i))
    for out in g.output:
        if out.name not in defined:
            raise MeshcError(f"graph output '{out.name}' is not produced by any node, input or "
                             "initializer", file=path)
    graph.nodes = _toposort(nodes, inits, graph, path)
    graph.producer = {o: k for k, n in enumerate(graph.nodes) for o in n.output if o}
    return graph


def _initializers(g: onnx.GraphProto, path: str) -> dict[str, onnx.TensorProto]:
    """The initializers by name, each checked (type, dims, stored length; never external
    data). Older exporters also list them as graph inputs; that is not a second definition."""
    if len(g.sparse_initializer):
        name = g.sparse_initializer[0].values.name
        raise MeshcError(f"initializer '{name}' is sparse; meshc reads dense initializers only",
                         file=path, hint="re-export the model without sparse initializers")
    inits: dict[str, onnx.TensorProto] = {}
    for t in g.initializer:
        if not t.name:
            raise MeshcError("an initializer has no name", file=path)
        if t.name in inits:
            raise MeshcError(f"initializer '{t.name}' is defined twice", file=path)
        try:
            check_tensor(t, f"initializer '{t.name}'")
        except MeshcError as e:
            raise e.located(file=path) from None
        inits[t.name] = t
    return inits


def _check_op(node: onnx.NodeProto, i: int, graph: Graph) -> None:
    if node.domain not in DEFAULT_DOMAINS:
        raise MeshcError(
            f"unknown op '{node.op_type}' of domain '{node.domain}': meshc reads the default "
            "ONNX domain only", file=graph.path, where=where(node, i))
    if node.op_type in ("If", "Loop", "Scan", "SequenceMap"):
        raise MeshcError(
            f"control flow ('{node.op_type}') is not supported: export the model with static "
            "control flow", file=graph.path, where=where(node, i))
    if node.op_type not in KNOWN_OPS:
        raise MeshcError(
            f"unknown op '{node.op_type}': meshc has no model of its work",
            file=graph.path, where=where(node, i),
            hint="see docs/onnx.md for the ops meshc imports")


def _toposort(nodes: list[onnx.NodeProto], inits: dict[str, onnx.TensorProto], graph: Graph,
              path: str) -> list[onnx.NodeProto]:
    """Kahn's algorithm, keeping file order among ready nodes; names a cycle if any."""
    import heapq

    producer = {o: k for k, n in enumerate(nodes) for o in n.output if o}
    deps: list[set[int]] = []
    users: list[list[int]] = [[] for _ in nodes]
    for k, n in enumerate(nodes):
        d = {producer[x] for x in n.input if x in producer}
        deps.append(d)
        for p in d:
            users[p].append(k)
    missing = [len(d) for d in deps]
    ready = [k for k, m in enumerate(missing) if m == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        k = heapq.heappop(ready)
        order.append(k)
        for u in users[k]:
            missing[u] -= 1
            if missing[u] == 0:
                heapq.heappush(ready, u)
    if len(order) < len(nodes):
        left = {k for k, m in enumerate(missing) if m > 0}
        cycle = _find_cycle(left, deps)
        names = " -> ".join(where(nodes[k], k) for k in cycle)
        raise MeshcError(f"the graph has a cycle: {names}", file=path,
                         where=where(nodes[cycle[0]], cycle[0]))
    return [nodes[k] for k in order]


def _find_cycle(left: set[int], deps: list[set[int]]) -> list[int]:
    """One cycle among the nodes that could not be ordered."""
    start = min(left)
    seen: dict[int, int] = {}
    path: list[int] = []
    k = start
    while k not in seen:
        seen[k] = len(path)
        path.append(k)
        k = min(d for d in deps[k] if d in left)
    return [*path[seen[k]:], k]


def attrs(node: onnx.NodeProto) -> dict[str, Any]:
    """The node's attributes as Python values (tensors as TensorProto)."""
    out = {}
    for a in node.attribute:
        if a.type == onnx.AttributeProto.GRAPH or a.type == onnx.AttributeProto.GRAPHS:
            continue
        out[a.name] = onnx.helper.get_attribute_value(a)
    return out


def iter_dims(vi: onnx.ValueInfoProto) -> Iterator[tuple[int | None, str | None]]:
    """(dim_value, dim_param) per axis of a declared tensor type."""
    for d in vi.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            yield d.dim_value, None
        elif d.HasField("dim_param") and d.dim_param:
            yield None, d.dim_param
        else:
            yield None, None
