"""Per-phase and per-op figures of a `tfm` module: what `meshc inspect` reports."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType

from meshc.ir.graph import EmbeddingOp, GraphOp, KvAppendOp, WeightOp
from meshc.ir.work import Work, numel, tensor_bytes


def phases(module: ModuleOp) -> list[func.FuncOp]:
    return [op for op in module.ops if isinstance(op, func.FuncOp)]


def graph_ops(f: func.FuncOp) -> list[GraphOp]:
    return [op for op in f.walk() if isinstance(op, GraphOp)]


def kv_caches(f: func.FuncOp) -> list[KvAppendOp]:
    """The kv_append holding each KV cache of `f` whole: per cache and layer, the largest
    (split-rows appends a cache in row blocks, each result the cache so far)."""
    out: dict[tuple[str, int], KvAppendOp] = {}
    for op in graph_ops(f):
        if isinstance(op, KvAppendOp):
            key = (op.cache.data, op.layer_index)
            if key not in out or (tensor_bytes(op.result.type)
                                  > tensor_bytes(out[key].result.type)):
                out[key] = op
    return list(out.values())


def phase_summary(f: func.FuncOp) -> dict[str, int]:
    """Integer totals of one phase (one function)."""
    total = Work()
    params = 0
    for op in graph_ops(f):
        total = total + op.work()
        if isinstance(op, WeightOp):
            params += numel(op.result.type)
    kv_cache = sum(tensor_bytes(op.result.type) for op in kv_caches(f))
    out = asdict(total)
    out.update(flops=total.flops, parameters=params, kv_cache_bytes=kv_cache,
               activation_bytes=total.out_bytes, ops=len(graph_ops(f)))
    return out


def model_parameters(module: ModuleOp) -> tuple[int, int]:
    """(parameters, embedding parameters) of the whole model, each parameter once (phases
    repeat them): the embedding ones are the tables tfm.embedding looks up (token, position,
    token type; a tied table the LM head also reads counts there, as Kaplan et al. count)."""
    weights: dict[str, WeightOp] = {}
    tables: set[str] = set()
    for f in phases(module):
        for op in graph_ops(f):
            if isinstance(op, WeightOp):
                weights.setdefault(op.param.data, op)
            elif isinstance(op, EmbeddingOp) and isinstance(w := op.table.owner, WeightOp):
                tables.add(w.param.data)
    return (sum(numel(w.result.type) for w in weights.values()),
            sum(numel(weights[t].result.type) for t in sorted(tables)))


def op_rows(f: func.FuncOp) -> list[dict[str, Any]]:
    """One row per compute op (weights are folded into the totals)."""
    rows = []
    for op in graph_ops(f):
        if isinstance(op, WeightOp):
            continue
        w = op.work()
        row: dict[str, Any] = {"op": op.name, "layer": op.layer_index, "block": op.block_name}
        row.update({fl.name: getattr(w, fl.name) for fl in fields(w) if getattr(w, fl.name)})
        res = op.results[0].type if op.results else None
        row["shape"] = list(res.get_shape()) if isinstance(res, TensorType) else []
        rows.append(row)
    return rows


def inspect_module(module: ModuleOp, per_op: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"phases": {}}
    for f in phases(module):
        entry: dict[str, Any] = phase_summary(f)
        if per_op:
            entry["op_rows"] = op_rows(f)
        out["phases"][f.sym_name.data] = entry
    return out
