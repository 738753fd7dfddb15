"""What shard-tensor decides before it rewrites (which values a chip holds a shard of), and
the IR edits shard-tensor and shard-experts share.

A *class* is a set of values that must be split alike: the operands and result of an op
that works per feature (rope, activation, same-shape add and mul, quantize, dequantize,
softmax) and of a kv_append (new, past, result). A *region* is classes that an attention
joins (q, k, v and its result; MLA: q and result). A region is sharded as a whole or not at
all; one holding an attention must be (the heads are split), another only when it can be.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from xdsl.dialects import func
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from meshc.ir.graph import (
    ActivationOp,
    AddOp,
    AttentionOp,
    AttentionVariant,
    CollectiveKind,
    CollectiveOp,
    DequantizeOp,
    GraphOp,
    KvAppendOp,
    KvReadOp,
    LinearOp,
    LmHeadOp,
    MulOp,
    QuantizeOp,
    RopeOp,
    SoftmaxOp,
    WeightOp,
)
from meshc.passes._common import fail, op_where, weight_of

Shards = dict[SSAValue, int]  # a sharded value -> the factor its last axis is divided by


def part(width: int, k: int) -> int:
    """A chip's share of `width` split `k` ways: a vocabulary that does not divide is padded
    to the next multiple of k (Megatron pads it), every other width divides."""
    return -(-width // k)


def shape(v: SSAValue) -> tuple[int, ...]:
    assert isinstance(v.type, TensorType)
    return tuple(v.type.get_shape())


def with_shape(t: Attribute, dims: Iterable[int]) -> TensorType:
    assert isinstance(t, TensorType)
    return TensorType(t.element_type, list(dims))


def linked(op: Operation) -> tuple[SSAValue, ...]:
    """The values `op` keeps split alike (its activation operands and its result); () when
    `op` is not one that can work on a shard."""
    if isinstance(op, AddOp | MulOp):
        same = all(weight_of(v) is None and shape(v) == shape(op.result)
                   for v in (op.lhs, op.rhs))  # a broadcast operand has no shard to pair with
        return (op.lhs, op.rhs, op.result) if same else ()
    if isinstance(op, ActivationOp):
        return (op.input, op.result) if op.up is None else (op.input, op.up, op.result)
    if isinstance(op, KvAppendOp):
        return (op.new, op.result) if op.past is None else (op.new, op.past, op.result)
    if isinstance(op, RopeOp | SoftmaxOp | QuantizeOp | DequantizeOp):
        return () if weight_of(op.input) is not None else (op.input, op.result)
    return ()


class _Sets:
    """Union-find; the representative is the member seen first (deterministic)."""

    def __init__(self) -> None:
        self.up: dict[SSAValue, SSAValue] = {}

    def find(self, v: SSAValue) -> SSAValue:
        root = v
        while self.up.get(root, root) is not root:
            root = self.up[root]
        while v is not root:
            self.up[v], v = root, self.up.get(v, root)
        return root

    def union(self, a: SSAValue, b: SSAValue) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra is not rb:
            self.up[rb] = ra


def kv_factor(op: AttentionOp, tp: int) -> int:
    """How many ways K/V split: min(tp, kv_heads); with fewer KV heads than chips each chip
    computes the one its query heads use (Megatron replicates them). Fails the pass on
    heads that do not divide."""
    heads, kv = op.heads.value.data, op.kv_heads.value.data
    if heads % tp:
        fail(f"shard-tensor: {op_where(op)} has {heads} heads, which do not divide over "
             f"tp={tp} chips; use a tp that divides {heads}")
    if op.variant.data == AttentionVariant.MLA:
        return 1  # the latent cache is shared by all heads: every chip keeps it whole
    if kv % tp and tp % kv:
        fail(f"shard-tensor: {op_where(op)} has {kv} KV heads: tp={tp} must divide them or "
             f"be a multiple of them; use such a tp")
    return min(tp, kv)


@dataclass(frozen=True)
class _Region:
    classes: tuple[SSAValue, ...]  # class representatives, in program order
    forcer: AttentionOp | LmHeadOp | None  # the first op it holds that must split


def plan(f: func.FuncOp, tp: int, blocks: frozenset[str]) -> Shards:
    """The values of `f` each chip holds 1/factor of, for `tp` chips; ops outside `blocks`
    stay whole. Fails the pass when the region of an attention or an lm_head cannot be
    sharded, or when a sharded width does not divide."""
    ops = [op for op in f.body.block.ops if isinstance(op, GraphOp)]
    pos: dict[Operation, int] = {op: i for i, op in enumerate(ops)}
    links = {op: linked(op) for op in ops}
    classes = _Sets()
    for vals in links.values():
        for v in vals[1:]:
            classes.union(vals[0], v)
    forcers = [op for op in ops if isinstance(op, AttentionOp | LmHeadOp)
               and op.block_name in blocks]
    factor: dict[SSAValue, int] = {}  # class -> the factor an attention or lm_head needs
    regions = _Sets()
    for op in forcers:
        roles: list[tuple[SSAValue, int]]
        if isinstance(op, LmHeadOp):
            roles = [(op.result, tp)]
        else:
            fkv = kv_factor(op, tp)
            roles = [(op.q, tp), (op.result, tp)]
            if op.variant.data != AttentionVariant.MLA:
                roles += [(op.k, fkv), (op.v, fkv)]
        for v, k in roles:
            c = classes.find(v)
            if factor.setdefault(c, k) != k:
                fail(f"shard-tensor: {op_where(op)} needs one value split both {k} and "
                     f"{factor[c]} ways; use tp=1")
            regions.union(classes.find(roles[0][0]), c)
    members: dict[SSAValue, list[SSAValue]] = {}
    for v in _values(f, ops):
        members.setdefault(classes.find(v), []).append(v)
    grouped: dict[SSAValue, list[SSAValue]] = {}
    for c in members:
        grouped.setdefault(regions.find(c), []).append(c)
    first = {regions.find(classes.find(op.results[0])): op for op in reversed(forcers)}
    checker = _Checker(tp, blocks, set(forcers), links, classes, members, factor)
    for root in grouped:  # members are in program order, so regions are by first value
        checker.decide(_Region(tuple(grouped[root]), first.get(root)), pos)
    return checker.shards


def _values(f: func.FuncOp, ops: list[GraphOp]) -> list[SSAValue]:
    out: list[SSAValue] = list(f.body.block.args)
    for op in ops:
        if not isinstance(op, WeightOp):
            out.extend(op.results)
    return out


class _Checker:
    """Decides regions in program order: a region's linears read values decided before."""

    def __init__(self, tp: int, blocks: frozenset[str], forcers: set[GraphOp],
                 links: dict[GraphOp, tuple[SSAValue, ...]], classes: _Sets,
                 members: dict[SSAValue, list[SSAValue]], factor: dict[SSAValue, int]) -> None:
        self.tp, self.blocks, self.forcers, self.links = tp, blocks, forcers, links
        self.classes, self.members, self.factor = classes, members, factor
        self.decided: set[SSAValue] = set()  # classes decided (sharded or not)
        self.shards: Shards = {}

    def decide(self, region: _Region, pos: dict[Operation, int]) -> None:
        problems = sorted((p for c in region.classes for v in self.members[c]
                           for p in self._problems(v, region, pos)), key=lambda p: p[0])
        self.decided.update(region.classes)
        op = region.forcer
        if problems and op is not None:
            what = "its heads" if isinstance(op, AttentionOp) else "the vocabulary"
            fail(f"shard-tensor: {problems[0][1]}, but {op_where(op)} splits {what} over "
                 f"tp={self.tp} chips and needs the value sharded; use tp=1 for this model")
        if problems:
            return  # it stays whole on every chip
        for c in region.classes:
            k = self.factor.get(c, self.tp)
            for v in self.members[c]:
                width = shape(v)[-1]
                if width % k and not isinstance(op, LmHeadOp):  # logits: a padded vocabulary
                    owner = v.owner
                    where = op_where(owner) if isinstance(owner, GraphOp) else "a value"
                    fail(f"shard-tensor: {where}: its {width} columns do not divide over "
                         f"{k} chips; use a tp that divides {width}")
                self.shards[v] = k

    def _problems(self, v: SSAValue, region: _Region,
                  pos: dict[Operation, int]) -> Iterable[tuple[int, str]]:
        """Why `v` cannot be sharded: (program position, reason) pairs."""
        owner = v.owner
        if isinstance(v, BlockArgument) or not isinstance(owner, GraphOp):
            yield -1, "a function argument cannot be split"
        elif v not in self.links[owner]:
            why = self._producer(owner, region)
            if why:
                yield pos[owner], f"{op_where(owner)} {why}"
        elif isinstance(owner, SoftmaxOp) and not isinstance(region.forcer, AttentionOp):
            yield pos[owner], f"{op_where(owner)} normalizes over more than one head"
        k = self.factor.get(self.classes.find(v), self.tp)
        gathers = isinstance(region.forcer, LmHeadOp)
        for use in sorted(v.uses, key=lambda u: (pos.get(u.operation, len(pos)), u.index)):
            user = use.operation
            if isinstance(user, GraphOp) and v in self.links[user]:
                continue
            if gathers and isinstance(user, func.ReturnOp):
                continue  # the logits: gathered for the return
            if not self._sink_ok(user, use.index, k):
                name = op_where(user) if isinstance(user, GraphOp) else "the function's return"
                yield pos.get(user, len(pos)), f"{name} reads a shard and meshc cannot split it"

    def _producer(self, op: GraphOp, region: _Region) -> str:
        """'' when `op` can give its result sharded, else why not."""
        if isinstance(op, AttentionOp | LmHeadOp):
            return "" if op in self.forcers else "is not split"
        if isinstance(op, KvReadOp) and op.block_name in self.blocks:
            return ""
        if not isinstance(op, LinearOp) or op.block_name not in self.blocks:
            return "gives it and meshc can split only a linear's columns"
        src = self.classes.find(op.input)
        if src in region.classes or op.input in self.shards:
            return "reads a shard, so its result is a partial sum, not a shard"
        if src not in self.decided:
            return "reads a value computed later"
        return ""

    def _sink_ok(self, user: Operation, index: int, k: int) -> bool:
        if not isinstance(user, GraphOp) or user.block_name not in self.blocks:
            return False
        if isinstance(user, LinearOp):
            return index == 0 and k == self.tp  # row-parallel: all chips' partial sums
        if isinstance(user, AttentionOp) and user in self.forcers:
            return index == 0 or (index in (1, 2) and user.variant.data != AttentionVariant.MLA)
        return False


# --- edits ---------------------------------------------------------------------------------


class Weights:
    """Gives weight operands their shard types; a weight op other ops also read is copied
    (same param name) for the op that needs the shard."""

    def __init__(self, pass_name: str) -> None:
        self.pass_name = pass_name
        self.copies: dict[tuple[WeightOp, TensorType], SSAValue] = {}
        self.copied: list[WeightOp] = []

    def split(self, user: Operation, index: int, dims: Iterable[int]) -> None:
        v = user.operands[index]
        w = weight_of(v)
        if w is None:
            where = op_where(user) if isinstance(user, GraphOp) else user.name
            fail(f"{self.pass_name}: {where}: operand {index} is not a tfm.weight, and meshc "
                 f"splits only weights; spread this model another way")
        t = with_shape(v.type, dims)
        if t == v.type:
            return
        if v.has_one_use() and not any(c is w for c, _ in self.copies):
            Rewriter.replace_value_with_new_type(v, t)
            return
        if (w, t) not in self.copies:
            new = WeightOp.create(result_types=[t], properties=dict(w.properties),
                                  attributes=dict(w.attributes))
            Rewriter.insert_op(new, InsertPoint.before(user))
            self.copies[w, t] = new.result
            self.copied.append(w)
        user.operands[index] = self.copies[w, t]

    def finish(self) -> None:
        for w in self.copied:  # the original once no op reads it any more
            if w.parent is not None and not w.result.uses:
                Rewriter.erase_op(w)
        self.copies.clear()
        self.copied.clear()


def group_of(w: WeightOp) -> int | None:
    return None if w.group is None else w.group.value.data


def after(producer: GraphOp, kind: CollectiveKind, chips: int, fanout: int = 1,
          result: TensorType | None = None) -> CollectiveOp:
    """A collective of `producer`'s result, right after it, that every other use reads."""
    v = producer.results[0]
    assert isinstance(v.type, TensorType)
    coll = CollectiveOp(kind, v, chips, result or v.type, producer.layer_index,
                        producer.block_name, fanout)
    Rewriter.insert_op(coll, InsertPoint.after(producer))
    v.replace_uses_with_if(coll.result, lambda u: u.operation is not coll)
    return coll


def before(user: Operation, index: int, kind: CollectiveKind, chips: int, like: GraphOp,
           fanout: int = 1, result: TensorType | None = None) -> CollectiveOp:
    """A collective of operand `index` of `user`, right before it, in `like`'s layer and
    block; only `user` reads it."""
    v = user.operands[index]
    assert isinstance(v.type, TensorType)
    coll = CollectiveOp(kind, v, chips, result or v.type, like.layer_index, like.block_name,
                        fanout)
    Rewriter.insert_op(coll, InsertPoint.before(user))
    user.operands[index] = coll.result
    return coll


def check_same_shards(ops: Iterable[Operation], pass_name: str,
                      role: Callable[[WeightOp], str]) -> None:
    """Every parameter gets one shard type for one role (phases share their weights)."""
    seen: dict[tuple[str, str], Attribute] = {}
    for op in ops:
        if isinstance(op, WeightOp):
            key = (op.param.data, role(op))
            t = seen.setdefault(key, op.result.type)
            if t != op.result.type:
                fail(f"{pass_name}: weight '{key[0]}' would be split as {t} in one function "
                     f"and {op.result.type} in another; the phases must use it alike")
