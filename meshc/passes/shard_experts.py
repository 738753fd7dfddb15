"""shard-experts: expert parallelism, each chip holds 1/ep of every MoE's routed experts."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp
from xdsl.passes import ModulePass

from meshc.ir.graph import CollectiveKind, MoeOp
from meshc.passes._common import fail, functions, graph_ops, op_where
from meshc.passes._sharding import Weights, after, before, check_same_shards, shape

ATTR_EP = "meshc.ep"


@dataclass(frozen=True)
class ShardExpertsPass(ModulePass):
    """Spreads the routed experts of every tfm.moe over `ep` chips (GShard, Lepikhin et al.
    2020; DeepSeek-V3's EP): each function becomes one chip's share.

    Input: `tfm` functions with at least one tfm.moe (after lower-quant; with or without
    shard-tensor before it). The system runs attention data-parallel across the ep chips,
    so the function's batch is already the chip's own tokens.
    Output: every tfm.moe holds E/ep routed experts (gate/up [E/ep + S, D, F], down
    [E/ep + S, F, D]); the S shared experts stay on every chip. Its input is dispatched and
    its result combined by `tfm.collective all_to_all ... chips ep fanout k`, k = min(top_k,
    ep) (a token's row goes once to each chip holding one of its experts, at most ep), both
    in the MoE's layer and block. The op keeps top_k: each of the chip's tokens still runs
    top_k experts, so the work per chip is its tokens x top_k expert rows over E/ep experts'
    weights. Which experts a chip's tokens reach, and that the tokens arriving from the
    other chips balance those leaving, is approximated this way (balanced routing, as
    docs/conventions.md assumes). The op records its share as `local` E/ep; the router stays
    whole (every chip scores its tokens against all E experts). The module records
    `meshc.ep` = ep (i64).
    Options: ep (chips, default 1: the module is unchanged).
    Fails when: ep < 1; the module has no tfm.moe; a MoE's routed experts do not divide
    over ep; the phases would split one weight differently; the module has `meshc.ep`.
    """

    name = "shard-experts"

    ep: int = 1

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not isinstance(self.ep, int) or self.ep < 1:
            fail(f"shard-experts: ep must be a positive integer, got '{self.ep}'")
        if self.ep == 1:
            return
        if ATTR_EP in op.attributes:
            fail(f"shard-experts: the module is already sharded ({ATTR_EP}); run it once")
        moes = [[o for o in graph_ops(f) if isinstance(o, MoeOp)] for f in functions(op)]
        if not any(moes):
            fail("shard-experts: ep needs a mixture-of-experts model; this one has no tfm.moe "
                 "(use tp or pp to spread it)")
        weights = Weights(self.name)
        for ops in moes:
            for m in ops:
                self._shard(m, weights)
            weights.finish()
        check_same_shards(op.walk(), self.name, lambda w: "")
        op.attributes[ATTR_EP] = IntegerAttr(self.ep, 64)

    def _shard(self, m: MoeOp, weights: Weights) -> None:
        e, k, s = m.experts.value.data, m.top_k.value.data, m.shared.value.data
        if e % self.ep:
            fail(f"shard-experts: {op_where(m)}: its {e} routed experts do not divide over "
                 f"ep={self.ep} chips; use an ep that divides {e}")
        local = e // self.ep
        _, dim, ffn = shape(m.w_gate)
        for i in (2, 3):
            weights.split(m, i, (local + s, dim, ffn))
        weights.split(m, 4, (local + s, ffn, dim))
        m.properties["local"] = IntegerAttr(local, 64)
        fanout = min(k, self.ep)
        before(m, 0, CollectiveKind.ALL_TO_ALL, self.ep, m, fanout)  # dispatch
        after(m, CollectiveKind.ALL_TO_ALL, self.ep, fanout)  # combine
