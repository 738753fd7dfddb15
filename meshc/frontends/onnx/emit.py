"""Emits tagged units as one `func.func @graph` of `tfm` ops.

Conventions:
- a floating-point initializer of more than one element that an emitted op reads is one
  `tfm.weight` (its bytes counted once, however many ops read it); other constants
  (scalars, integer tensors, folded shape arithmetic) are attributes of the op that reads
  them and are materialised as a zero-work `tfm.generic "Constant"` only where a typed op
  needs an operand (e.g. position ids of an embedding);
- data movement (Reshape, Transpose, Expand, Gather of non-parameters, ...) is a
  `tfm.generic` with 0 MACs and 0 vector ops; elementwise ops count one vector op per
  output element; reductions one per input element;
- every MatMul/Gemm/Einsum/Conv/Attention keeps its exact MAC count: as `tfm.linear`,
  `tfm.lm_head`, `tfm.matmul`, `tfm.attention`, or a `tfm.generic` with `macs` (kind
  `linear` when one operand comes from a weight, e.g. gathered MoE experts);
- each `tfm.generic` has one result (a node with several outputs becomes one generic per
  output, its work on the first); rank-0 tensors are typed `[1]`; 4-D `[B, H, S, D]`
  head layouts are packed to `[B, S, H*D]` around `tfm.attention` and the KV cache ops.
"""

from __future__ import annotations

from xdsl.dialects.builtin import (
    ModuleOp,
)
from xdsl.utils.exceptions import DiagnosticException

from meshc.errors import MeshcError, one_line
from meshc.frontends.builder import module_of
from meshc.frontends.onnx.emit_ops import NodeEmitter
from meshc.frontends.onnx.emit_values import Empty, element_type, tensor_type
from meshc.frontends.onnx.fuse import Unit
from meshc.ir import graph as g


class Emitter(NodeEmitter):
    """Emits the fused, tagged units in order and closes the function."""

    # -- entry -------------------------------------------------------------------------------
    def run(self) -> ModuleOp:
        for u in self.units:
            self.node = u.node
            with self.b.at(u.layer, u.block):
                try:
                    self._unit(u)
                except Empty:
                    for o in u.outputs:
                        self.ssa[o] = None
                except ValueError as e:
                    raise self.g.error(f"cannot import: {e}", u.node) from None
        self.node = None
        results = []
        for out in self.g.outputs:
            name = self.f.resolve(out.name)
            v = self.value(name)
            if v is None:
                raise MeshcError(f"graph output '{out.name}' has a zero-size dimension "
                                 f"{list(self.vals[name].shape)}", file=self.g.path)
            results.append(v)
        module = module_of([self.b.finish(results)])
        _drop_dead_moves(module)
        try:
            module.verify()
        except DiagnosticException as e:
            raise MeshcError("internal error: the imported graph does not verify: "
                             + one_line(e), file=self.g.path) from None
        return module

    # -- units -------------------------------------------------------------------------------
    def _unit(self, u: Unit) -> None:
        if self._empty(u.outputs):
            raise Empty
        if u.kind == "linear":
            self._linear(u)
        elif u.kind == "activation":
            x = self.need(u.inputs[0])
            up = self.need(u.inputs[1]) if len(u.inputs) > 1 else None
            self._set(u.outputs[0], self.b.activation(u.info["act"], x, up))
        elif u.kind == "norm":
            self._norm(u, u.info["norm"], u.inputs[0], u.info.get("gamma"),
                       u.info.get("beta"))
        elif u.kind == "rope":
            self._set(u.outputs[0], self.b.rope(self.need(u.inputs[0])))
        elif u.kind == "kv_append":
            self._kv_append(u)
        else:
            self._node(u)

    def _linear(self, u: Unit) -> None:
        i = u.info
        x = self.need(u.inputs[0])
        if i.get("lm_head"):
            out = self.b.lm_head(x, self.weight(i["weight"], (i["n"], i["k"])), last=False)
        else:
            bias = self.weight(i["bias"], (i["n"],)) if i["bias"] else None
            out = self.b.linear(x, self.weight(i["weight"], (i["k"], i["n"])), bias)
        self._set(u.outputs[0], out)

    def _kv_append(self, u: Unit) -> None:
        cache = u.info["cache"]
        past, new = self.vals[u.inputs[0]], self.vals[u.inputs[1]]
        if 0 in past.shape:
            self._node(u)
            return
        news = self.need(u.inputs[1])
        elt = element_type(past.dtype)
        if len(past.shape) == 4:
            b, h, p, d = past.shape
            width = h * d
            news = self._pack(news, new)
        else:
            b, p, width = past.shape
        read = self.b.kv_read(cache, (b, p, width), elt)
        out = self.b.kv_append(cache, news, read)
        if len(past.shape) == 4:
            total = p + new.shape[2]
            out = self.b.generic("UnpackHeads", [out],
                                 [tensor_type(past.dtype, (b, h, total, d))])[0]
        self._set(u.outputs[0], out)


def _drop_dead_moves(module: ModuleOp) -> None:
    """Erases zero-work generics (data movement, constants) and weights nobody reads, e.g.
    the K/V head expansion that `tfm.attention` does not need."""
    for f in module.ops:
        block = f.regions[0].blocks.first
        if block is None:
            continue
        for op in reversed(list(block.ops)):
            dead = all(not r.uses for r in op.results) and op.results
            if not dead:
                continue
            if isinstance(op, g.WeightOp) or (
                    isinstance(op, g.GenericOp) and op.macs.value.data == 0
                    and op.vector_ops.value.data == 0):
                block.erase_op(op)
