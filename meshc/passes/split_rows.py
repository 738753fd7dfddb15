"""split-rows: cuts every multi-token op into row blocks that can pipeline across regions."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from meshc import limits
from meshc.ir.graph import (
    ActivationOp,
    AddOp,
    AttentionOp,
    ConcatOp,
    DequantizeOp,
    EmbeddingOp,
    GraphOp,
    KvAppendOp,
    LayerNormOp,
    LinearOp,
    LmHeadOp,
    MoeOp,
    MulOp,
    QuantizeOp,
    RmsNormOp,
    RopeOp,
    SliceOp,
    SoftmaxOp,
    WeightOp,
)
from meshc.passes._common import ATTR_PART, PartAttr, fail, functions, weight_of

ROW_AXIS = 1
# ops whose result row t depends only on row t of their row operands
ROWWISE = (EmbeddingOp, LinearOp, RmsNormOp, LayerNormOp, RopeOp, SoftmaxOp, ActivationOp,
           AddOp, MulOp, QuantizeOp, DequantizeOp, MoeOp, ConcatOp, LmHeadOp)


@dataclass(frozen=True)
class SplitRowsPass(ModulePass):
    """Cuts the ops of every phase that processes many tokens (prefill) into `parts` row
    blocks along the tokens axis, so that block j of a layer's MLP can run while block j+1
    is in attention: Stream's layer fusion, decided by the mapper.

    Input: `tfm` functions (any time before tile-grain; after partition-attn-mlp the blocks
    keep their op's region). Output: every row-wise op (embedding, linear, norms, rope,
    softmax, activation, add, mul, quantize, dequantize, MoE, concat on the feature axis,
    lm_head over all tokens) whose result has at least `parts` rows becomes `parts` ops of
    the same kind, block j taking rows [start_j, end_j) (near-even) of its row operands and
    marked `meshc.part = #meshc.part<j>`; weights are shared, so a weight kept in HBM is streamed once
    per block (except one an add or mul broadcasts along the tokens, a position table: it
    is cut like an activation). A KV cache is appended block by block: block j's
    kv_append takes block j's rows and, as past, block j-1's result (the cache so far). An
    elementwise op whose operand runs along the tokens on another axis is left whole. A
    causal attention's block j reads the cache up to its last row (block-causal: fully
    masked blocks are skipped, so its MACs fall to (parts + 1) / (2 parts) of the unsplit
    op's); a non-causal one reads the whole cache. lm_head over the last token reads only
    the last block. Where a block operand has no blocks (a function argument, an op left
    whole) a `tfm.slice` cuts it; where an op left whole (matmul, generic, kv_read, a short
    phase) reads blocks, a `tfm.concat axis 1` joins them. Functions with fewer than
    `parts` tokens (decode) are unchanged. Options: parts (>= 1, default 4; 1 leaves the module unchanged).
    Fails when: parts is below 1.
    """

    name = "split-rows"

    parts: int = 4

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not isinstance(self.parts, int) or self.parts < 1:
            fail(f"split-rows: parts must be a positive integer, got '{self.parts}'")
        if self.parts == 1:
            return
        if self.parts > limits.get("row_blocks"):  # the ops, and their cost, grow with parts
            e = limits.refuse("row_blocks", self.parts, f"split-rows{{parts={self.parts}}}")
            fail(f"split-rows: {e}")
        for f in functions(op):
            _Splitter(self.parts).run(f)


def bounds(rows: int, parts: int) -> list[tuple[int, int]]:
    """[start, end) of each of `parts` near-even blocks of `rows` (the first ones longer)."""
    size, extra = divmod(rows, parts)
    out, start = [], 0
    for j in range(parts):
        end = start + size + (1 if j < extra else 0)
        out.append((start, end))
        start = end
    return out


def _tensor(v: SSAValue) -> TensorType:
    assert isinstance(v.type, TensorType)
    return v.type


def _shape(v: SSAValue) -> tuple[int, ...]:
    return tuple(_tensor(v).get_shape())


def _rows_of(op: GraphOp) -> int:
    """The tokens `op` would be split over; 0 when it is not split."""
    if isinstance(op, AttentionOp):
        return _shape(op.q)[ROW_AXIS]
    if isinstance(op, KvAppendOp):
        return _shape(op.new)[ROW_AXIS]
    if isinstance(op, LmHeadOp) and op.last is not None:
        return 0
    if isinstance(op, ConcatOp) and op.axis_index() == ROW_AXIS:
        return 0
    if isinstance(op, ROWWISE) and len(_shape(op.results[0])) == 3:
        return _shape(op.results[0])[ROW_AXIS]
    return 0


class _Splitter:
    """Splits one function; values map to their blocks (`blocks`) or, for a KV cache, to
    the cache after each block (`caches`)."""

    def __init__(self, parts: int) -> None:
        self.n = parts
        self.blocks: dict[SSAValue, list[SSAValue]] = {}
        self.caches: dict[SSAValue, list[SSAValue]] = {}
        self.made: dict[tuple[SSAValue, int, int], SSAValue] = {}  # slices and joins
        # attributes are immutable: one per value (a third of the pass's time on llama3-70b)
        self.types: dict[tuple[TensorType, int], TensorType] = {}
        self.ints: dict[int, IntegerAttr] = {}
        self.parts: dict[int, PartAttr] = {}

    def run(self, f: func.FuncOp) -> None:
        done: list[Operation] = []
        for op in list(f.body.block.ops):
            if isinstance(op, GraphOp) and not isinstance(op, WeightOp):
                rows = _rows_of(op)
                if rows >= self.n and all(self._row_axis(op, v, rows) in (None, ROW_AXIS)
                                          for v in op.operands):
                    self._split(op, rows)
                    done.append(op)
                    continue
            self._join_operands(op)
        for op in reversed(done):  # every use now reads the blocks
            Rewriter.erase_op(op)

    # -- splitting ----------------------------------------------------------------------
    def _split(self, op: GraphOp, rows: int) -> None:
        results: list[SSAValue] = []
        for j, (start, end) in enumerate(bounds(rows, self.n)):
            out_rows = end - start
            if isinstance(op, AttentionOp):
                operands = self._attention_operands(op, rows, j, end)
            elif isinstance(op, KvAppendOp):  # past: the cache after the previous block
                past = (results[-1] if results else
                        None if op.past is None else self._whole(op.past, op))
                operands = [self._block(op.new, rows, j, op)] + ([] if past is None else [past])
                out_rows += 0 if past is None else _shape(past)[ROW_AXIS]
            else:
                operands = [v if self._row_axis(op, v, rows) is None
                            else self._block(v, rows, j, op) for v in op.operands]
            out = self._with_rows(op.results[0], out_rows)
            results.append(self._insert(type(op), op, op, operands, out, j, dict(op.properties)))
        (self.caches if isinstance(op, KvAppendOp) else self.blocks)[op.results[0]] = results

    def _attention_operands(self, op: AttentionOp, rows: int, j: int,
                            end: int) -> list[SSAValue]:
        kv_len = _shape(op.k)[ROW_AXIS]
        seen = kv_len - rows + end if op.causal is not None else kv_len  # cache rows read
        kv = [self._prefix(v, seen, op) for v in (op.k, op.v)]
        return [self._block(op.q, rows, j, op), *kv, *op.operands[3:]]

    @staticmethod
    def _row_axis(op: GraphOp, v: SSAValue, rows: int) -> int | None:
        """The axis of operand `v` that runs along op's `rows` tokens, None if it has none.
        An elementwise operand aligns to the result's trailing axes (numpy broadcasting),
        weights included (a position table added to the tokens); other ops' weights have
        no token axis."""
        shape = _shape(v) if isinstance(v.type, TensorType) else ()
        if isinstance(op, AddOp | MulOp):
            axis = len(shape) - 2  # the result is [batch, tokens, features]
            return axis if axis >= 0 and shape[axis] == rows != 1 else None
        if len(shape) >= 2 and shape[ROW_AXIS] == rows and weight_of(v) is None:
            return ROW_AXIS
        return None

    def _block(self, v: SSAValue, rows: int, j: int, user: GraphOp) -> SSAValue:
        """Block j of the `rows` rows of `v`."""
        if v in self.blocks:
            return self.blocks[v][j]
        start, end = bounds(rows, self.n)[j]
        return self._slice(self._whole(v, user), start, end, user, j)

    def _prefix(self, v: SSAValue, rows: int, user: GraphOp) -> SSAValue:
        """The first `rows` rows of `v` (a KV cache or keys/values)."""
        for cache in self.caches.get(v, ()):
            if _shape(cache)[ROW_AXIS] == rows:
                return cache
        if v in self.blocks:
            covered = 0
            for count, b in enumerate(self.blocks[v], 1):
                covered += _shape(b)[ROW_AXIS]
                if covered == rows:
                    return self._join(v, count, user)
        whole = self._whole(v, user)
        if _shape(whole)[ROW_AXIS] == rows:
            return whole
        return self._slice(whole, 0, rows, user, None)

    # -- joining ------------------------------------------------------------------------
    def _join_operands(self, op: Operation) -> None:
        """An op left whole reads whole values (lm_head over the last token: the last
        block, which holds that token)."""
        if not any(v in self.blocks or v in self.caches for v in op.operands):
            return
        if isinstance(op, LmHeadOp) and op.last is not None and op.input in self.blocks:
            new = [self.blocks[op.input][-1], op.weight]
        else:
            new = [self._whole(v, op) for v in op.operands]
        op.operands = new

    def _whole(self, v: SSAValue, user: Operation) -> SSAValue:
        if v in self.caches:
            return self.caches[v][-1]
        if v in self.blocks:
            return self._join(v, len(self.blocks[v]), user)
        return v

    def _join(self, v: SSAValue, count: int, user: Operation) -> SSAValue:
        """The first `count` blocks of `v`, concatenated along the rows."""
        key = (v, -1, count)
        if key not in self.made:
            parts = self.blocks[v][:count]
            rows = sum(_shape(b)[ROW_AXIS] for b in parts)
            part = count - 1 if count < len(self.blocks[v]) else None
            producer = parts[0].owner
            assert isinstance(producer, GraphOp)
            out = self._with_rows(v, rows)
            self.made[key] = self._insert(ConcatOp, user, producer, parts, out, part,
                                          {"axis": self._i64(ROW_AXIS)})
        return self.made[key]

    def _slice(self, v: SSAValue, start: int, end: int, user: GraphOp,
               part: int | None) -> SSAValue:
        key = (v, start, end)
        if key not in self.made:
            out = self._with_rows(v, end - start)
            self.made[key] = self._insert(SliceOp, user, user, [v], out, part,
                                          {"start": self._i64(start)})
        return self.made[key]

    def _with_rows(self, v: SSAValue, rows: int) -> TensorType:
        """v's type with `rows` along the tokens axis."""
        t = _tensor(v)
        if (t, rows) not in self.types:
            shape = list(t.get_shape())
            shape[ROW_AXIS] = rows
            self.types[t, rows] = TensorType(t.element_type, shape)
        return self.types[t, rows]

    def _i64(self, value: int) -> IntegerAttr:
        if value not in self.ints:
            self.ints[value] = IntegerAttr(value, 64)
        return self.ints[value]

    def _insert(self, kind: type[GraphOp], at: Operation, like: GraphOp, operands: list[SSAValue],
                out: Attribute, part: int | None, props: dict[str, Attribute]) -> SSAValue:
        """A new op before `at`, in the layer, block and region of `like`."""
        props = {"layer": like.layer, "block": like.block, **props}
        attrs = dict(like.attributes)
        if part is not None:
            if part not in self.parts:
                self.parts[part] = PartAttr(part)
            attrs[ATTR_PART] = self.parts[part]
        else:
            attrs.pop(ATTR_PART, None)
        new = kind.create(operands=operands, result_types=[out], properties=props,
                          attributes=attrs)
        Rewriter.insert_op(new, InsertPoint.before(at))
        return new.results[0]
