"""Groups ONNX nodes into units, each emitted as one `tfm` op.

A unit is one node, or a recognised pattern of several:

- `linear`: MatMul or Gemm with a weight `[K, N]` (Gemm transB: `[N, K]`), with the bias
  `Add` that follows it folded in;
- `activation`: an elementwise region equal to GELU (erf or tanh form), SiLU (x*sigmoid(x))
  or sigmoid, optionally gated (`act(gate) * up`); also the `Gelu` and `Relu` ops;
- `norm`: a region equal to LayerNorm or RMSNorm over the last axis (the opset-14
  decompositions with ReduceMean/Sub/Pow/Sqrt/Div, with their scale and shift);
- `rope`: `x*cos + rotate_half(x)*sin` (rotate_half = Concat(Neg(Slice), Slice));
- `kv_append`: `Concat(past_kv_input, new, axis=seq)` of a decode-step graph.

Elementwise regions are recognised by what they compute, not by their spelling: a region
grown around an Erf/Tanh/Sigmoid or a last-axis ReduceMean is evaluated on sample inputs
and compared with the reference functions, so every way an exporter writes GELU or a
norm is accepted and nothing else is.

Identity, Dropout, same-type Cast, one-input Concat and shape-preserving reshapes are
aliases: their output is their input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import onnx

from meshc.frontends.onnx.fuse_match import (
    REGION_OPS,
    ancestors,
    match_activation,
    match_norm,
    match_rope,
)
from meshc.frontends.onnx.reader import Graph, attrs
from meshc.frontends.onnx.values import (
    ACT,
    CONST,
    FLOAT_TYPES,
    INPUT,
    WEIGHT,
    Val,
)

_MAX_REGION = 16


@dataclass(eq=False)
class Unit:
    """One future tfm op: a kind, the ONNX nodes it covers, what it reads and writes."""

    kind: str  # node | linear | activation | norm | rope | kv_append
    node: onnx.NodeProto  # the root node: its name and op type label the unit
    nodes: list[onnx.NodeProto]
    inputs: list[str]
    outputs: list[str]
    info: dict[str, Any] = field(default_factory=dict)
    pos: int = 0
    layer: int = -1
    block: str = "other"

    @property
    def op(self) -> str:
        return self.node.op_type


class Fuser:
    def __init__(self, graph: Graph, vals: dict[str, Val]) -> None:
        self.g, self.vals = graph, vals
        self.alias: dict[str, str] = {}
        self.live: list[onnx.NodeProto] = []
        self.pos: dict[int, int] = {}
        self.claimed: set[int] = set()
        self.units: list[Unit] = []

    # -- graph view ----------------------------------------------------------------------
    def resolve(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def ins(self, node: onnx.NodeProto) -> list[str]:
        return [self.resolve(x) if x else "" for x in node.input]

    def _index(self) -> None:
        outputs = {self.resolve(o.name) for o in self.g.outputs}
        self.escapes = outputs
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in self.live:
            for o in n.output:
                if o:
                    self.producer[o] = n
            for x in self.ins(n):
                if x:
                    self.consumers.setdefault(x, []).append(n)

    def users(self, name: str) -> list[onnx.NodeProto]:
        return self.consumers.get(name, [])

    def only_user(self, name: str) -> onnx.NodeProto | None:
        u = self.users(name)
        return u[0] if len(u) == 1 and name not in self.escapes else None

    def is_act(self, name: str) -> bool:
        return bool(name) and self.vals[name].kind in (ACT, INPUT)

    # -- entry -----------------------------------------------------------------------------
    def run(self) -> list[Unit]:
        self._select_live()
        self._index()
        for n in self.live:
            self._linear(n)
        for n in self.live:
            self._kv_append(n)
        for n in self.live:
            if id(n) not in self.claimed and n.op_type in ("Erf", "Tanh", "Sigmoid"):
                self._region(n, norm=False)
            elif id(n) not in self.claimed and n.op_type == "ReduceMean":
                self._region(n, norm=True)
        for n in self.live:
            if id(n) not in self.claimed and n.op_type in ("Gelu", "Relu"):
                kind = "relu" if n.op_type == "Relu" else (
                    "gelu_tanh" if _str(attrs(n).get("approximate", "none")) == "tanh"
                    else "gelu")
                self._add(Unit("activation", n, [n], [self.ins(n)[0]], [n.output[0]],
                               {"act": kind}))
        for u in list(self.units):
            if u.kind == "activation":
                self._gate(u)
        for n in self.live:
            if id(n) not in self.claimed and n.op_type == "Add":
                self._rope(n)
        for n in self.live:
            if id(n) not in self.claimed:
                outs = [o for o in n.output if o]
                self._add(Unit("node", n, [n], self.ins(n), outs))
        self.units.sort(key=lambda u: u.pos)
        return self.units

    def _add(self, u: Unit) -> None:
        for n in u.nodes:
            self.claimed.add(id(n))
        u.pos = max(self.pos[id(n)] for n in u.nodes)
        self.units.append(u)

    def _select_live(self) -> None:
        for k, n in enumerate(self.g.nodes):
            self.pos[id(n)] = k
            outs = [o for o in n.output if o]
            if not any(self.vals[o].kind == ACT for o in outs):
                continue  # folded to constants, or a view of a weight
            src = self.resolve(n.input[0]) if n.input and n.input[0] else ""
            if src and self._is_alias(n, src, outs):
                self.alias[outs[0]] = src
                continue
            self.live.append(n)

    def _is_alias(self, n: onnx.NodeProto, src: str, outs: list[str]) -> bool:
        op = n.op_type
        a, b = self.vals[src], self.vals[outs[0]]
        if a.kind not in (ACT, INPUT) or a.shape != b.shape or a.dtype != b.dtype:
            return False
        if op == "Dropout":
            return len(outs) == 1
        if op == "Concat":
            return len([x for x in n.input if x]) == 1
        if op == "Transpose":
            perm = attrs(n).get("perm")
            return len(a.shape) <= 1 or (perm is not None and list(perm) == sorted(perm))
        return op in ("Identity", "Cast", "CastLike", "Reshape", "Squeeze", "Unsqueeze",
                      "Flatten", "Expand", "Slice")

    # -- linear ----------------------------------------------------------------------------
    def _linear(self, n: onnx.NodeProto) -> None:
        if n.op_type not in ("MatMul", "Gemm") or id(n) in self.claimed:
            return
        ins = self.ins(n)
        if len(ins) < 2 or not self.is_act(ins[0]):
            return
        x, w = self.vals[ins[0]], self.vals[ins[1]]
        if w.kind != WEIGHT or len(w.shape) != 2 or not x.shape:
            return
        bias = None
        transposed = False
        if n.op_type == "Gemm":
            a = attrs(n)
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or len(x.shape) != 2:
                return
            transposed = bool(a.get("transB", 0))
            if len(ins) > 2 and ins[2]:
                c = self.vals[ins[2]]
                n_out = w.shape[0] if transposed else w.shape[1]
                if (c.kind != WEIGHT or c.numel != n_out or a.get("beta", 1.0) != 1.0
                        or c.shape[-1] != n_out):
                    return
                bias = c.init
        k, n_out = (w.shape[1], w.shape[0]) if transposed else w.shape
        if x.shape[-1] != k:
            return
        nodes = [n]
        out = n.output[0]
        if bias is None:
            add = self.only_user(out)
            if add is not None and add.op_type == "Add" and id(add) not in self.claimed:
                other = [v for v in self.ins(add) if v != out]
                if len(other) == 1:
                    b = self.vals[other[0]]
                    ob = self.vals[add.output[0]]
                    if (b.kind == WEIGHT and b.numel == n_out and b.shape and
                            b.shape[-1] == n_out and ob.shape == self.vals[out].shape):
                        bias = b.init
                        nodes.append(add)
                        out = add.output[0]
        self._add(Unit("linear", n, nodes, [ins[0]], [out],
                       {"weight": w.init, "k": k, "n": n_out, "bias": bias}))

    # -- KV cache --------------------------------------------------------------------------
    def _kv_append(self, n: onnx.NodeProto) -> None:
        if n.op_type != "Concat" or id(n) in self.claimed:
            return
        ins = [x for x in self.ins(n) if x]
        if len(ins) != 2:
            return
        past, new = self.vals[ins[0]], self.vals[ins[1]]
        r = len(past.shape)
        if past.kind != INPUT or new.kind != ACT or r not in (3, 4) or len(new.shape) != r:
            return
        axis = attrs(n)["axis"] % r
        if axis != r - 2 or past.dtype != new.dtype:
            return
        self._add(Unit("kv_append", n, [n], [ins[0], ins[1]], [n.output[0]],
                       {"cache": ins[0]}))

    # -- elementwise regions: activations and norms -------------------------------------------
    def _region_ok(self, n: onnx.NodeProto) -> bool:
        if id(n) in self.claimed or n.op_type not in REGION_OPS:
            return False
        if n.op_type == "Cast":
            return (self.vals[self.ins(n)[0]].dtype in FLOAT_TYPES
                    and self.vals[n.output[0]].dtype in FLOAT_TYPES)
        if n.op_type == "ReduceMean":
            return self._last_axis_mean(n)
        return True

    def _last_axis_mean(self, n: onnx.NodeProto) -> bool:
        a = attrs(n)
        x = self.vals[self.ins(n)[0]]
        axes = a.get("axes")
        if axes is None and len(n.input) > 1 and n.input[1]:
            v = self.vals[self.ins(n)[1]]
            axes = None if v.value is None else [int(t) for t in v.value.reshape(-1)]
        r = len(x.shape)
        return (axes is not None and len(axes) == 1 and axes[0] % max(r, 1) == r - 1
                and a.get("keepdims", 1) == 1)

    def _candidates(self, seed: onnx.NodeProto) -> list[str]:
        """Activations the region might start from: the seed's inputs and, through region
        ops, their inputs (a GELU's Tanh is a few ops away from its x)."""
        found: list[str] = []
        frontier = [seed]
        seen = {id(seed)}
        for _ in range(6):
            nxt = []
            for n in frontier:
                for x in self.ins(n):
                    if not x or not self.is_act(x):
                        continue
                    if x not in found:
                        found.append(x)
                    p = self.producer.get(x)
                    if p is not None and id(p) not in seen and self._region_ok(p):
                        seen.add(id(p))
                        nxt.append(p)
            frontier = nxt
        return found

    def _forward(self, x: str) -> list[onnx.NodeProto]:
        """Region ops reachable from x that read only x, the region, constants, weights."""
        region: dict[int, onnx.NodeProto] = {}
        outs: set[str] = set()
        changed = True
        while changed and len(region) <= _MAX_REGION:
            changed = False
            for v in sorted({x} | outs):
                for u in self.users(v):
                    if id(u) in region or not self._region_ok(u):
                        continue
                    if all(not y or y == x or y in outs
                           or self.vals[y].kind in (CONST, WEIGHT) for y in self.ins(u)):
                        region[id(u)] = u
                        outs.update(o for o in u.output if o)
                        changed = True
        return sorted(region.values(), key=lambda node: self.pos[id(node)])

    def _region(self, seed: onnx.NodeProto, norm: bool) -> None:
        for x in self._candidates(seed):
            nodes = self._forward(x)
            if seed not in nodes or len(nodes) > _MAX_REGION:
                continue
            if self._try_region(nodes, x, norm):
                return

    def _try_region(self, nodes: list[onnx.NodeProto], x: str, norm: bool) -> bool:
        """Finds the output y for which the nodes leading to it compute a norm or an
        activation of x, trying the last candidate outputs first."""
        by_out = {o: n for n in nodes for o in n.output if o}
        ids = {id(n) for n in nodes}
        escaping = [o for o in by_out if o in self.escapes or any(
            id(u) not in ids for u in self.users(o))]
        for y in sorted(escaping, key=lambda o: -self.pos[id(by_out[o])]):
            sub = ancestors(by_out, y, self)
            sub_ids = {id(n) for n in sub}
            sub_outs = {o for n in sub for o in n.output if o}
            esc = [o for o in sub_outs if o in self.escapes or any(
                id(u) not in sub_ids for u in self.users(o))]
            if esc != [y]:
                continue
            if self._accept(sub, x, y, norm):
                return True
        return False

    def _accept(self, nodes: list[onnx.NodeProto], x: str, y: str, norm: bool) -> bool:
        outs = {o for n in nodes for o in n.output if o}
        leaves = sorted({v for n in nodes for v in self.ins(n) if v and v not in outs})
        weights = [v for v in leaves if self.vals[v].kind == WEIGHT]
        if [v for v in leaves if self.is_act(v)] != [x]:
            return False
        xv, yv = self.vals[x], self.vals[y]
        if xv.shape != yv.shape or not xv.shape:
            return False
        d = xv.shape[-1]
        if norm:
            if len(weights) > 2 or any(self.vals[w].numel != d or self.vals[w].shape[-1] != d
                                       for w in weights):
                return False
            kind, roles = match_norm(self, nodes, x, y, weights, d)
            if kind is None:
                return False
            # the roles name values (maybe an Identity or Cast of a weight); emit wants
            # the initializer each one views
            init = {r: self.vals[w].init for r, w in roles.items()}
            self._add(Unit("norm", nodes[-1], nodes, [x], [y],
                           {"norm": kind, "gamma": init.get("gamma"),
                            "beta": init.get("beta")}))
            return True
        if weights:
            return False
        kind = match_activation(self, nodes, x, y)
        if kind is None:
            return False
        self._add(Unit("activation", nodes[-1], nodes, [x], [y], {"act": kind}))
        return True

    def _gate(self, u: Unit) -> None:
        """act(gate) * up -> the gated activation."""
        y = u.outputs[0]
        mul = self.only_user(y)
        if mul is None or mul.op_type != "Mul" or id(mul) in self.claimed:
            return
        other = [v for v in self.ins(mul) if v != y]
        if len(other) != 1 or not self.is_act(other[0]):
            return
        up, out = self.vals[other[0]], self.vals[mul.output[0]]
        yv = self.vals[y]
        if up.shape != yv.shape or up.dtype != yv.dtype or out.shape != yv.shape:
            return
        self.claimed.add(id(mul))
        u.nodes.append(mul)
        u.node = mul
        u.inputs.append(other[0])
        u.outputs = [mul.output[0]]
        u.info["gated"] = True
        u.pos = max(u.pos, self.pos[id(mul)])

    # -- rope --------------------------------------------------------------------------------
    def _rope(self, add: onnx.NodeProto) -> None:
        got = match_rope(self, add)
        if got is not None:
            x, nodes = got
            self._add(Unit("rope", add, [*nodes, add], [x], [add.output[0]]))


def _str(v: object) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
