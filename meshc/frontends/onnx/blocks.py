"""Tags every unit with its layer and block (attention / mlp / other).

From the graph's structure first:

1. Attention cores, in topological order, are the layers: a fused `Attention`, or a
   `Softmax` between two activation x activation MatMuls (QK^T before it, PV after it,
   through scale/mask/IsNaN-Where ops).
2. The residual stream: after core l, the first `Add` that joins a value derived from the
   core with a value that is not (the skip `S_l`, an ancestor of the core) closes the
   attention block; then the first `Add` that joins that sum (or its post-norm, BERT) with
   a value computed from it through a matmul closes the MLP block.
3. Attention block l = the units that descend from `S_l` and lead to the attention sum
   (or its post-norm); MLP block l = the units that descend from that and lead to the next
   layer's skip (or, after the last layer, to the MLP sum and its post-norm).

Everything else (embeddings, masks, rope tables, final norm, LM head) is layer -1, block
`other`. When the structure does not give a layer for every core, node names are used
instead (`/model/layers.3/self_attn/...`, `h.3/mlp`, dynamo `name_scopes` metadata).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meshc.frontends.onnx.fuse import Fuser, Unit
from meshc.frontends.onnx.values import WEIGHT

_THROUGH_BACK = frozenset({"Add", "Sub", "Mul", "Div", "Where", "Cast", "Reshape",
                           "Transpose", "Tanh", "Squeeze", "Unsqueeze"})
_THROUGH_FWD = frozenset({"Where", "Cast", "Reshape", "Mul", "Dropout", "Squeeze",
                          "Unsqueeze", "Transpose"})
_NORM_OPS = ("LayerNormalization", "RMSNormalization")


@dataclass
class Layers:
    """What tagging found: the number of layers and how it found them."""

    count: int
    method: str  # structure | names | none


@dataclass(frozen=True)
class _Layer:
    """One layer found from the residual structure: the residual value entering it (skip),
    the one between its attention and MLP halves (mid) and its last unit (end)."""

    skip: str
    mid: str
    end: int


class Tagger:
    def __init__(self, units: list[Unit], fuser: Fuser, input_names: list[str]) -> None:
        self.u = units
        self.f = fuser
        self.vals = fuser.vals
        n = len(units)
        self.prod = {o: i for i, unit in enumerate(units) for o in unit.outputs}
        self.src = {name: n + k for k, name in enumerate(input_names)}
        self.users: list[list[int]] = [[] for _ in units]
        self.anc = [0] * n
        for i, unit in enumerate(units):
            m = 0
            for x in unit.inputs:
                if x in self.prod:
                    p = self.prod[x]
                    m |= self.anc[p] | (1 << p)
                    self.users[p].append(i)
                elif x in self.src:
                    m |= 1 << self.src[x]
            self.anc[i] = m

    # -- helpers ---------------------------------------------------------------------------
    def bit(self, name: str) -> int:
        """The bit of the unit (or graph input) that produces a value; 0 for constants."""
        if name in self.prod:
            return 1 << self.prod[name]
        if name in self.src:
            return 1 << self.src[name]
        return 0

    def anc_val(self, name: str) -> int:
        """Ancestors of a value, its producer included."""
        if name in self.prod:
            p = self.prod[name]
            return self.anc[p] | (1 << p)
        return self.bit(name)

    def is_act(self, name: str) -> bool:
        return self.f.is_act(name)

    def act_mm(self, i: int) -> bool:
        u = self.u[i]
        if u.kind != "node" or u.op != "MatMul":
            return False
        ins = [x for x in u.inputs if x]
        return len(ins) == 2 and all(
            self.is_act(x) and not self.vals[x].from_weight and self.vals[x].kind != WEIGHT
            for x in ins)

    # -- cores -----------------------------------------------------------------------------
    def cores(self) -> list[tuple[int, int]]:
        out = []
        for i, u in enumerate(self.u):
            if u.kind == "node" and u.op == "Attention":
                out.append((i, i))
            elif u.kind == "node" and u.op == "Softmax":
                qk, pv = self._search(i, back=True), self._search(i, back=False)
                if qk is not None and pv is not None:
                    out.append((qk, pv))
        return sorted(set(out), key=lambda c: c[1])

    def _search(self, start: int, back: bool) -> int | None:
        frontier, seen = [start], {start}
        for _ in range(4):
            nxt = []
            for i in frontier:
                step = ([self.prod[x] for x in self.u[i].inputs if x in self.prod] if back
                        else self.users[i])
                for j in step:
                    if j in seen:
                        continue
                    seen.add(j)
                    if self.act_mm(j):
                        return j
                    if self.u[j].kind == "node" and self.u[j].op in (
                            _THROUGH_BACK if back else _THROUGH_FWD):
                        nxt.append(j)
            frontier = nxt
        return None

    # -- residual structure ------------------------------------------------------------------
    def _adds(self, lo: int, hi: int) -> list[int]:
        return [j for j in range(lo, hi) if self.u[j].kind == "node" and self.u[j].op == "Add"
                and len([x for x in self.u[j].inputs if x and self.is_act(x)]) == 2]

    def structure(self) -> list[_Layer] | None:
        cores = self.cores()
        if not cores:
            return None
        n = len(self.u)
        found: list[tuple[str, str, int, bool]] = []  # skip, mid, r_mlp, post-norm per layer
        for li, (qk, pv) in enumerate(cores):
            hi = cores[li + 1][0] if li + 1 < len(cores) else n
            r_attn = skip = None
            for j in self._adds(pv + 1, hi):
                if not self.anc[j] >> pv & 1:
                    continue
                a, b = self.u[j].inputs[:2]
                for s, t in ((a, b), (b, a)):
                    if (self.anc_val(t) >> pv & 1 and not self.anc_val(s) >> pv & 1
                            and self.bit(s) & (self.anc[qk] | (1 << qk))):
                        r_attn, skip = j, s
                        break
                if r_attn is not None:
                    break
            if r_attn is None:
                return None
            y0 = self.u[r_attn].outputs[0]
            ys = [y0] + [self.u[k].outputs[0] for k in self.users[r_attn] if self._is_norm(k)
                         and self.u[k].inputs[0] == y0]
            r_mlp = mid = None
            for j in self._adds(r_attn + 1, hi):
                a, b = self.u[j].inputs[:2]
                for s, t in ((a, b), (b, a)):
                    if s in ys and t != s and self.anc_val(t) & self.bit(s) and \
                            self._matmul_between(s, t):
                        r_mlp, mid = j, s
                        break
                if r_mlp is not None:
                    break
            if r_mlp is None or mid is None or skip is None:
                return None
            found.append((skip, mid, r_mlp, mid != y0))
        layers = []
        for li, (skip, mid, r_mlp, post_norm) in enumerate(found):
            end: int | None = r_mlp
            if li + 1 < len(found):
                end = self.prod.get(found[li + 1][0])
            elif post_norm:
                out = self.u[r_mlp].outputs[0]
                post = [k for k in self.users[r_mlp] if self._is_norm(k)
                        and self.u[k].inputs[0] == out]
                if post:
                    end = post[0]
            if end is None:
                return None
            layers.append(_Layer(skip, mid, end))
        return layers

    def _is_norm(self, k: int) -> bool:
        u = self.u[k]
        return u.kind == "norm" or (u.kind == "node" and u.op in _NORM_OPS)

    def _matmul_between(self, s: str, t: str) -> bool:
        sb = self.bit(s)
        between = self.anc_val(t)
        lo = self.prod.get(s, -1) + 1
        hi = self.prod.get(t, len(self.u) - 1) + 1
        return any(self._is_mm(k) and between >> k & 1 and self.anc[k] & sb
                   for k in range(lo, hi))

    def _is_mm(self, k: int) -> bool:
        u = self.u[k]
        return u.kind == "linear" or (u.kind == "node" and u.op in (
            "MatMul", "Gemm", "Einsum", "Conv"))

    # -- tagging -----------------------------------------------------------------------------
    def tag(self) -> Layers:
        layers = self.structure()
        if layers is not None:
            self._tag_structure(layers)
            self._lm_head(layers[-1].end)
            return Layers(len(layers), "structure")
        count = self._tag_names()
        for u in self.u:  # the LM head: a bias-free linear on [B, T, D] giving an output
            if (u.kind == "linear" and u.block == "other" and u.info.get("bias") is None
                    and len(self.vals[u.inputs[0]].shape) == 3
                    and (u.outputs[0] in self.f.escapes
                         or any("lm_head" in n for n in _names(u)))):
                u.info["lm_head"] = True
        return Layers(count, "names" if count else "none")

    def _tag_structure(self, layers: list[_Layer]) -> None:
        for li, lay in enumerate(layers):
            s_bit = self.bit(lay.skip)
            mid_anc = self.anc_val(lay.mid)
            mid_bit = self.bit(lay.mid)
            end = lay.end
            end_anc = self.anc[end] | (1 << end)
            for i, u in enumerate(self.u):
                if u.block != "other":
                    continue
                if self.anc[i] & s_bit and mid_anc >> i & 1:
                    u.layer, u.block = li, "attention"
                elif self.anc[i] & mid_bit and end_anc >> i & 1:
                    u.layer, u.block = li, "mlp"

    def _lm_head(self, end: int) -> None:
        """The bias-free linear after the last layer whose input is [B, T, D]."""
        for i, u in enumerate(self.u):
            if (u.kind == "linear" and u.block == "other" and u.info.get("bias") is None
                    and self.anc[i] >> end & 1 and len(self.vals[u.inputs[0]].shape) == 3):
                u.info["lm_head"] = True

    def _tag_names(self) -> int:
        found = -1
        prev: dict[int, str] = {}
        for u in self.u:
            text = " ".join(_names(u))
            m = _LAYER.search(text)
            if not m:
                continue
            li = int(m.group(1))
            if re.search(r"post_attention_layernorm|ln_2|ffn_norm|pre_feedforward", text):
                block = "mlp"
            elif re.search(r"attn|attention|input_layernorm|ln_1", text, re.I):
                block = "attention"
            elif re.search(r"mlp|ffn|feed_forward|intermediate|expert|moe|/output/", text,
                           re.I):
                block = "mlp"
            else:
                block = prev.get(li, "attention")
            prev[li] = block
            u.layer, u.block = li, block
            found = max(found, li)
        return found + 1


_LAYER = re.compile(r"(?:^|[/.\s])(?:layers|layer|h|blocks|block)[._/](\d+)(?:[/._\s]|$)")


def _names(u: Unit) -> list[str]:
    out = []
    for n in u.nodes:
        out.append(n.name)
        for p in n.metadata_props:
            if p.key == "pkg.torch.onnx.name_scopes":
                out.append(p.value)
    return out


def tag_units(units: list[Unit], fuser: Fuser, input_names: list[str]) -> Layers:
    return Tagger(units, fuser, input_names).tag()
