"""shard-tensor: Megatron-style tensor parallelism, each function becomes one chip's shard."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, TensorType
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from meshc.ir.graph import (
    AddOp,
    AttentionOp,
    AttentionVariant,
    AttentionVariantAttr,
    Block,
    CollectiveKind,
    EmbeddingOp,
    GraphOp,
    LinearOp,
    LmHeadOp,
    MoeOp,
    QuantizeOp,
    WeightOp,
)
from meshc.passes._common import fail, functions, op_where, weight_of
from meshc.passes._sharding import (
    Shards,
    Weights,
    after,
    before,
    check_same_shards,
    group_of,
    part,
    plan,
    shape,
    with_shape,
)
from meshc.passes._stages import ROLES, stage_info

BLOCKS = tuple(b.value for b in Block)
ATTR_TP = "meshc.tp"


@dataclass(frozen=True)
class ShardTensorPass(ModulePass):
    """Turns every function into one chip's shard of a `tp`-chip tensor-parallel program
    (Megatron-LM: Shoeybi et al. 2019), with the data that crosses chips as tfm.collective.

    Input: `tfm` functions or split-stages' steps (after lower-quant, before
    lower-collectives and the per-chip passes).
    Output: each value is replicated (every chip holds it), sharded (its last axis, heads or
    MLP columns, divided by a factor) or a partial sum, by these rules:
    * A linear reading a replicated value is column-parallel (weight [K, N] -> [K, N/f], bias
      [N/f], result sharded) only when its result can stay sharded: every use, through ops
      that work on a shard (rope, activation incl. the gated operand, add/mul of two equally
      sharded values, quantize, dequantize, kv_append with its kv_read, softmax on a value
      split by heads), ends in a row-parallel linear, an attention's q or a (non-MLA)
      attention's k/v. Otherwise it stays whole (MLA's q_a, kv_a and k_rope: they feed a
      norm or a concat).
    * Attention: heads / tp per chip (variant re-derived: 8 heads over 8 KV heads at tp=8 is
      one head over one, MHA); K/V split f = min(tp, kv_heads) ways, so with fewer KV heads
      than chips each chip computes the one KV head its query heads use (K/V projection
      width kv_heads x head_dim / f, cache likewise: MACs x tp exceed the original by that
      duplication). MLA: the latent cache and its projections stay whole; q_b and the
      absorb (kv_b) weight split by heads. An attention must split: a value of its region
      that cannot (it comes from or goes to an op meshc cannot split) fails the pass.
    * A linear reading a sharded value is row-parallel: weight [K/tp, N], result a partial
      sum; its bias leaves it and is added after the all-reduce (once, not tp times).
    * tfm.moe: each expert's ffn axis / tp (gate/up [E+S, D, F/tp], down [E+S, F/tp, D]),
      the router whole, the result a partial sum.
    * Every partial sum gets one `tfm.collective all_reduce ... chips tp` right after its
      producer, in its layer and block; all uses read the reduced value.
    * lm_head: column-parallel over the vocabulary (table [ceil(V/tp), D]: a vocabulary
      that does not divide is padded, as Megatron pads it); its logits (through
      ops that work on a shard, e.g. lower-quant's dequantize) get an `all_gather` before
      the return, so the function type is kept. A table tied to the
      embedding: the embedding keeps the full table, lm_head gets its own tfm.weight with
      the same param name (the chip stores the table once; lm_head reads its rows of it).
    * The token embedding (a function's largest table): vocabulary-parallel when the
      vocabulary divides over tp (table [V/tp, D], each chip looks up the ids in its rows,
      zeros elsewhere: a partial sum; Megatron's VocabParallelEmbedding), else whole; a
      learned position table stays whole.
    * Norms, residual adds, routers and whatever else: replicated.
    * Weights get their shard types; a quantized one keeps its group (its groups run along
      K, so a row split needs K/tp to be a multiple of the group). Quantize ops on a shard
      keep per-token groups (a group of the full width becomes the shard's width).
    * The module records `meshc.tp` = tp (i64), and `meshc.tp.<block>` for each block
      sharded; with a role, each function sharded records `meshc.tp` instead.
    Options: tp (chips, default 1: the module is unchanged); blocks (comma list of
    attention, mlp, other, default all: ops of other blocks stay whole; `meshc.tp` is then
    not written); role (any, the default: every function; attention or mlp: only the step
    functions split-stages gave that role, for attention and MLP chips of different tp).
    Fails when: tp < 1 or a block is unknown; heads or a sharded width (but the vocabulary)
    does not divide over tp (or kv_heads neither divides nor is divided by tp); an attention's
    q, k, v or result, or an lm_head's logits, reach an op meshc cannot split (matmul,
    generic, concat, slice, norm, a softmax over the vocabulary, a return of anything but
    the logits ...); a row split cuts a quantized group; the phases would split one weight
    differently; a block or function is already sharded (`meshc.tp.<block>`, `meshc.tp`).
    """

    name = "shard-tensor"

    tp: int = 1
    blocks: tuple[str, ...] = BLOCKS
    role: str = "any"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not isinstance(self.tp, int) or self.tp < 1:
            fail(f"shard-tensor: tp must be a positive integer, got '{self.tp}'")
        blocks = (self.blocks,) if isinstance(self.blocks, str) else tuple(self.blocks)
        for b in blocks:
            if b not in BLOCKS:
                fail(f"shard-tensor: blocks={b} is not a block; use {', '.join(BLOCKS)}")
        if self.role not in ROLES:
            fail(f"shard-tensor: role={self.role} is not a role; use {', '.join(ROLES)}")
        if self.tp == 1:
            return
        chosen = frozenset(blocks)
        fs = [f for f in functions(op) if self.role == "any" or stage_info(f).role == self.role]
        done = sorted(k for b in chosen if (k := f"{ATTR_TP}.{b}") in op.attributes) + sorted(
            f"@{f.sym_name.data}" for f in fs if ATTR_TP in f.attributes)
        if done:
            fail(f"shard-tensor: already sharded ({', '.join(done)}); shard each once")
        weights = Weights(self.name)
        for f in fs:
            _Sharder(self.tp, chosen, weights).run(f)
            weights.finish()
            if self.role != "any":
                f.attributes[ATTR_TP] = IntegerAttr(self.tp, 64)
        check_same_shards(op.walk(), self.name, _role)
        if self.role != "any":
            return
        if chosen == frozenset(BLOCKS):
            op.attributes[ATTR_TP] = IntegerAttr(self.tp, 64)
        for b in sorted(chosen):
            op.attributes[f"{ATTR_TP}.{b}"] = IntegerAttr(self.tp, 64)


def _role(w: WeightOp) -> str:
    """A tied table is whole for the embedding and split for lm_head."""
    return ",".join(sorted({u.operation.name for u in w.result.uses}))


class _Sharder:
    def __init__(self, tp: int, blocks: frozenset[str], weights: Weights) -> None:
        self.tp, self.blocks, self.w = tp, blocks, weights

    def run(self, f: func.FuncOp) -> None:
        shards = plan(f, self.tp, self.blocks)
        ops = [op for op in f.body.block.ops if isinstance(op, GraphOp)]
        # read every decision off the original values before any is replaced
        col = [(o, shards[o.result]) for o in ops if isinstance(o, LinearOp) and o.result in shards]
        row = [o for o in ops if isinstance(o, LinearOp) and o.input in shards]
        attn = [o for o in ops if isinstance(o, AttentionOp) and o.q in shards]
        quant = [(o, shards[o.result]) for o in ops if isinstance(o, QuantizeOp)
                 and o.result in shards]
        moes = [o for o in ops if isinstance(o, MoeOp) and o.block_name in self.blocks]
        heads = [o for o in ops if isinstance(o, LmHeadOp) and o.block_name in self.blocks]
        # the token table (the largest; a learned position table is small and stays whole)
        tables = [o for o in ops if isinstance(o, EmbeddingOp) and o.block_name in self.blocks]
        token = max(tables, key=lambda o: shape(o.table)[0], default=None)
        embeds = [token] if token is not None and shape(token.table)[0] % self.tp == 0 else []
        rets = [(r, i, v.type) for r in f.body.block.ops if isinstance(r, func.ReturnOp)
                for i, v in enumerate(r.operands) if v in shards]  # logits, at full width
        self._retype(ops, shards)
        for lin, k in col:
            n = shape(lin.weight)[1]
            self._split(lin, 1, (shape(lin.weight)[0], n // k))
            if lin.bias is not None:
                self._split(lin, 2, (n // k,))
        for a in attn:
            self._attention(a)
        for q, k in quant:
            width = shape(q.input)[-1]
            group = q.group.value.data
            q.properties["group"] = IntegerAttr(width if group == width * k else
                                                min(group, width), 64)
        for m in moes:
            self._moe(m)
        for e in embeds:  # before lm_head: a tied table's shard is then defined first
            vocab, dim = shape(e.table)
            self._split(e, 1, (vocab // self.tp, dim))
            after(e, CollectiveKind.ALL_REDUCE, self.tp)
        for h in heads:
            self._lm_head(h)
        for r, i, t in rets:  # the function keeps its type: the chips' logits, gathered
            producer = r.operands[i].owner
            assert isinstance(producer, GraphOp) and isinstance(t, TensorType)
            before(r, i, CollectiveKind.ALL_GATHER, self.tp, producer, result=t)
        for lin in row:
            self._row_parallel(lin)

    def _retype(self, ops: list[GraphOp], shards: Shards) -> None:
        for o in ops:
            for r in list(o.results):
                k = shards.get(r)
                if k:
                    dims = shape(r)
                    Rewriter.replace_value_with_new_type(
                        r, with_shape(r.type, (*dims[:-1], part(dims[-1], k))))

    def _split(self, op: GraphOp, index: int, dims: tuple[int, ...]) -> None:
        self.w.split(op, index, dims)

    def _rows_keep_groups(self, op: GraphOp, index: int, rows: int) -> None:
        w = weight_of(op.operands[index])
        group = None if w is None else group_of(w)
        if w is not None and group is not None and rows % group:
            fail(f"shard-tensor: {op_where(op)}: a chip's {rows} rows of '{w.param.data}' "
                 f"cut its quantization groups of {group}; use a tp that keeps whole groups "
                 f"(or a smaller group in lower-quant)")

    def _attention(self, a: AttentionOp) -> None:
        heads, kvh = a.heads.value.data, a.kv_heads.value.data
        h = heads // self.tp
        kv = kvh if a.variant.data == AttentionVariant.MLA else kvh // min(self.tp, kvh)
        a.properties["heads"] = IntegerAttr(h, 64)
        a.properties["kv_heads"] = IntegerAttr(kv, 64)
        if a.variant.data != AttentionVariant.MLA:
            a.properties["variant"] = AttentionVariantAttr(
                AttentionVariant.MHA if h == kv else
                AttentionVariant.MQA if kv == 1 else AttentionVariant.GQA)
        if a.w_kv_b is not None:
            latent, width = shape(a.w_kv_b)
            self._split(a, 3, (latent, width // self.tp))

    def _moe(self, m: MoeOp) -> None:
        experts, dim, ffn = shape(m.w_gate)
        if ffn % self.tp:
            fail(f"shard-tensor: {op_where(m)}: the experts' {ffn} ffn columns do not divide "
                 f"over tp={self.tp} chips; use a tp that divides {ffn}")
        part = ffn // self.tp
        self._rows_keep_groups(m, 4, part)
        for i in (2, 3):
            self._split(m, i, (experts, dim, part))
        self._split(m, 4, (experts, part, dim))
        after(m, CollectiveKind.ALL_REDUCE, self.tp)

    def _lm_head(self, h: LmHeadOp) -> None:
        vocab, dim = shape(h.weight)
        self._split(h, 1, (part(vocab, self.tp), dim))

    def _row_parallel(self, lin: LinearOp) -> None:
        rows, n = shape(lin.weight)
        self._rows_keep_groups(lin, 1, rows // self.tp)
        self._split(lin, 1, (rows // self.tp, n))
        bias = lin.bias
        if bias is not None:
            lin.operands = [lin.input, lin.weight]
        reduced = after(lin, CollectiveKind.ALL_REDUCE, self.tp)
        if bias is not None:  # added once, to the sum (Megatron's RowParallelLinear)
            add: Operation = AddOp.create(
                operands=[reduced.result, bias], result_types=[reduced.result.type],
                properties={"layer": lin.layer, "block": lin.block},
                attributes=dict(lin.attributes))
            Rewriter.insert_op(add, InsertPoint.after(reduced))
            reduced.result.replace_uses_with_if(add.results[0],
                                                lambda u: u.operation is not add)
