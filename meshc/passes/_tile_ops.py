"""What tile-grain reads off each graph op: its `TileProblem`, storage precisions, HBM
traffic and a stable label. The tiling itself is in `_tiling.py` (no xDSL there)."""

from __future__ import annotations

from math import prod

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, SSAValue

from meshc.hardware.precision import PRECISIONS, wider_of
from meshc.ir.graph import (
    AttentionOp,
    AttentionVariant,
    ConcatOp,
    EmbeddingOp,
    GenericOp,
    GraphOp,
    KvAppendOp,
    KvReadOp,
    LayerNormOp,
    LinearOp,
    LmHeadOp,
    MatmulOp,
    MoeOp,
    RmsNormOp,
    SliceOp,
    SoftmaxOp,
    WeightOp,
)
from meshc.ir.work import element_bits, numel, precision_name
from meshc.passes._common import part_attr, weight_bytes, weight_of
from meshc.passes._tiling import ATTENTION, GEMM, MEMORY, VECTOR, TileProblem

MEMORY_OPS = (KvReadOp, KvAppendOp, EmbeddingOp, ConcatOp, SliceOp)
REDUCTIONS = (SoftmaxOp, LayerNormOp, RmsNormOp)


def _shape(t: Attribute) -> tuple[int, ...]:
    assert isinstance(t, TensorType)
    return tuple(t.get_shape())


def _bits(t: Attribute) -> int:
    assert isinstance(t, TensorType)
    return element_bits(t.element_type)


def _group(v: object) -> int:
    w = weight_of(v)  # type: ignore[arg-type]
    return w.group.value.data if w is not None and w.group is not None else 0


def storage_precision(t: Attribute) -> str | None:
    if not isinstance(t, TensorType):
        return None
    try:
        p = precision_name(t.element_type)
    except ValueError:
        return None
    return p if p in PRECISIONS else None


def gemm_operands(op: GraphOp) -> tuple[SSAValue, ...]:
    """The operands the systolic array multiplies (not biases, not the MoE router)."""
    if isinstance(op, LinearOp | LmHeadOp):
        return (op.input, op.weight)
    if isinstance(op, MatmulOp):
        return (op.lhs, op.rhs)
    if isinstance(op, AttentionOp):
        return tuple(v for v in (op.q, op.k, op.v, op.w_kv_b) if v is not None)
    if isinstance(op, MoeOp):
        return (op.input, op.w_gate, op.w_up, op.w_down)
    return tuple(op.operands)


def data_precision(op: GraphOp, gemm: bool = False) -> str:
    """The widest float/quantized precision among the op's operands and results, or with
    `gemm` among the operands the array multiplies (ids and other integers that are not
    meshc precisions are ignored); bf16 when there is none."""
    values = gemm_operands(op) if gemm else (*op.operands, *op.results)
    found = [p for v in values if (p := storage_precision(v.type))]
    out = found[0] if found else "bf16"
    for p in found[1:]:
        out = wider_of(out, p)
    return out


def describe(op: GraphOp, streamed: bool = False) -> TileProblem:
    """The op as a tiling problem (see `_tiling`); `streamed`: a kv_read whose cache its
    consumer streams from HBM (kv_consumer), which moves nothing itself."""
    w = op.work()
    if isinstance(op, LinearOp | LmHeadOp):
        x, wt, out = _shape(op.input.type), _shape(op.weight.type), _shape(op.result.type)
        if isinstance(op, LinearOp):
            m, (k, n) = prod(x[:-1]), wt
        else:
            m, (n, k) = out[0] * out[1], wt
        return TileProblem(GEMM, m=m, n=n, k=k, a_bits=_bits(op.input.type),
                           b_bits=_bits(op.weight.type), out_bits=_bits(op.result.type),
                           b_weight=True, group=_group(op.weight), macs=w.macs,
                           vector_ops=w.vector_ops)
    if isinstance(op, MatmulOp):
        a = _shape(op.lhs.type)
        k, n = op._kn()
        return TileProblem(GEMM, batch=prod(a[:-2]), m=a[-2], n=n, k=k,
                           a_bits=_bits(op.lhs.type), b_bits=_bits(op.rhs.type),
                           out_bits=_bits(op.result.type), macs=w.macs)
    if isinstance(op, AttentionOp):
        return _attention(op)
    if isinstance(op, MoeOp):
        return _moe(op)
    if isinstance(op, GenericOp) and w.macs > 0:
        out = _shape(op.results[0].type)
        rows, width = prod(out[:-1]), out[-1]
        bits = _bits(op.inputs[0].type) if op.inputs else _bits(op.results[0].type)
        return TileProblem(GEMM, m=rows, n=width, k=-(-w.macs // (rows * width)), a_bits=bits,
                           b_bits=bits, out_bits=_bits(op.results[0].type), macs=w.macs,
                           vector_ops=w.vector_ops)
    return _rows(op, streamed)


def _attention(op: AttentionOp) -> TileProblem:
    w = op.work()
    b, h, kvh, lq, lkv, dqk, dv = op.dims()
    extra, absorb = 0, 0
    if op.variant.data == AttentionVariant.MLA:
        latent, rope = op.latent_dims()
        qk, v, kv_width, groups, rows = latent + rope, latent, latent + rope, b, h * lq
        extra = w.linear_macs
        wk = weight_of(op.w_kv_b) if op.w_kv_b is not None else None
        absorb = weight_bytes(wk) if wk is not None else 0
    else:
        qk, v, kv_width, groups, rows = dqk, dv, dqk + dv, b * kvh, (h // kvh) * lq
    return TileProblem(ATTENTION, batch=groups, m=rows, n=qk + v, k=lkv,
                       a_bits=_bits(op.q.type), b_bits=_bits(op.k.type),
                       out_bits=_bits(op.result.type), macs=w.macs, extra_macs=extra,
                       vector_ops=w.vector_ops, transcendental_ops=w.transcendental_ops,
                       weight_bytes=absorb, qk=qk, kv_width=kv_width)


def moe_active(op: MoeOp) -> tuple[int, int, int]:
    """(tokens, active experts, token-expert pairs): with T tokens each picking top_k of the
    L routed experts the op holds (all, or a chip's share), min(L, T * top_k) routed experts
    run, plus the shared ones."""
    tokens = prod(_shape(op.input.type)[:-1])
    n, k, s = op.local_experts, op.top_k.value.data, op.shared.value.data
    return tokens, min(n, tokens * k) + s, tokens * (k + s)


def _moe(op: MoeOp) -> TileProblem:
    w = op.work()
    tokens, active, pairs = moe_active(op)
    dim, ffn = _shape(op.w_gate.type)[1:]
    return TileProblem(GEMM, batch=active, m=-(-pairs // active), n=3 * ffn, k=dim,
                       a_bits=_bits(op.input.type), b_bits=_bits(op.w_gate.type),
                       out_bits=_bits(op.result.type), b_weight=True, group=_group(op.w_gate),
                       macs=w.macs, extra_macs=tokens * dim * op.experts.value.data,
                       vector_ops=w.vector_ops, transcendental_ops=w.transcendental_ops)


def _rows(op: GraphOp, streamed: bool = False) -> TileProblem:
    """Vector and memory ops: rows x width of the result (of `new` for kv_append); a
    streamed kv_read moves no bytes (its consumer reads the cache from HBM)."""
    w = op.work()
    res = op.new.type if isinstance(op, KvAppendOp) else op.results[0].type
    shape = _shape(res)
    width = shape[-1]
    rows = numel(res) // width
    params = sum(weight_bytes(x) for v in op.operands if (x := weight_of(v)) is not None)
    memory = isinstance(op, MEMORY_OPS)
    in_bytes = w.kv_read_bytes if isinstance(op, KvReadOp) else w.in_bytes
    if not memory:
        in_bytes -= params
    out_bytes = w.out_bytes
    if streamed:
        in_bytes = out_bytes = 0
    return TileProblem(MEMORY if memory else VECTOR, m=rows, n=width,
                       a_bits=_bits(res), out_bits=_bits(res), in_bytes=in_bytes,
                       out_bytes=out_bytes, weight_bytes=0 if memory else params,
                       vector_ops=w.vector_ops, transcendental_ops=w.transcendental_ops,
                       split_n=not isinstance(op, REDUCTIONS))


def kv_consumer(op: KvReadOp) -> GraphOp | None:
    """The op that uses the cache `op` reads (through the kv_append that extends it), if
    it is its only use and a compute op (attention): that op streams the cache from HBM
    as it runs, so its HBM read is charged there, not to a kv_read it would wait for."""
    v: SSAValue = op.result
    while (user := v.get_user_of_unique_use()) is not None:
        if isinstance(user, KvAppendOp) and user.past is v:
            v = user.result
            continue
        return user if isinstance(user, GraphOp) and not isinstance(user, MEMORY_OPS) else None
    return None


def hbm_bytes(op: GraphOp, residency: dict[WeightOp, str], has_hbm: bool) -> tuple[int, int]:
    """(read, write) HBM bytes of one execution of `op`: its weights that live in HBM,
    streamed once (only the gathered rows of an embedding table, only the active experts of
    a MoE), the KV cache read (kv_read; tile-grain moves it to kv_consumer) and written
    (kv_append). Zero without HBM."""
    if not has_hbm:
        return 0, 0
    w = op.work()
    read = w.kv_read_bytes
    for v in op.operands:
        wt = weight_of(v)
        if wt is None or residency.get(wt) != "hbm":
            continue
        full = weight_bytes(wt)
        if isinstance(op, EmbeddingOp):
            read += -(-full * numel(op.ids.type) // _shape(wt.result.type)[0])
        elif isinstance(op, SliceOp):  # rows of a table (split-rows)
            read += -(-full * numel(op.result.type) // numel(op.input.type))
        elif isinstance(op, MoeOp) and v is not op.router:
            _, active, _ = moe_active(op)
            read += -(-full * active // _shape(wt.result.type)[0])
        else:
            read += full
    return read, w.kv_write_bytes


def short_name(op: GraphOp) -> str:
    """The readable part of a label: the weight's name for linears (`L3.down.weight` ->
    `down`), `lm_head`, `kv_read.k`, else the op's short name."""
    if isinstance(op, LmHeadOp):
        return "lm_head"
    if isinstance(op, LinearOp):
        wt = weight_of(op.weight)
        if wt is not None:
            name = wt.param.data.removesuffix(".weight")
            if op.layer_index >= 0:
                name = name.removeprefix(f"L{op.layer_index}.")
            return name
    if isinstance(op, KvReadOp | KvAppendOp):
        return f"{op.name.removeprefix('tfm.')}.{op.cache.data}"
    return op.name.removeprefix("tfm.")


class Labeler:
    """Stable unique labels `phase.L<layer>.<block>.<name>` (`phase.<block>.<name>` outside
    the layers); names without a weight get an index per (phase, layer, block, name). Row
    blocks of one op (`meshc.part`, from split-rows; they come one after another) share its
    name and end in `.p<part>`."""

    def __init__(self, phase: str) -> None:
        self.phase = phase
        self.counts: dict[str, int] = {}
        self.used: set[str] = set()

    def __call__(self, op: GraphOp) -> str:
        prefix = self.phase + (f".L{op.layer_index}" if op.layer_index >= 0 else "")
        name = short_name(op)
        base = f"{prefix}.{op.block_name}.{name}"
        part = part_attr(op)
        later_part = part is not None and part > 0
        if not isinstance(op, LinearOp | LmHeadOp | KvReadOp | KvAppendOp):
            i = self.counts.get(base, 1) - 1 if later_part else self.counts.get(base, 0)
            self.counts[base] = i + 1
            base = f"{base}{i}"
        if part is not None:
            base = f"{base}.p{part}"
        label, n = base, 1
        while label in self.used:
            label, n = f"{base}.{n}", n + 1
        self.used.add(label)
        return label
