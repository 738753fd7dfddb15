"""Synthetic mapping problems: decoder layers of a Llama-like model on a split mesh.

For the mapper tests and bench/bench_mapper.py only (test code, not part of the meshc
package): a quick roofline, not meshc's cost model.

Machine (`split_mesh`): the two edge columns are "attn" cores (2,048 MAC/cycle, 2 MiB SRAM,
one 32 B/cycle HBM port each), the inner columns "mlp" cores (4,096 MAC/cycle, 1 MiB SRAM);
32 B/cycle links, 2-cycle routers, 1 GHz. Regions: "attn", "mlp" and "all".

Layer (`decoder_problem`): norm1 -> q, k, v -> attention -> o -> norm2 -> gate, up -> act ->
down, with residual edges. Attention is one scores -> softmax -> pv chain per KV head (or one
fused op), on "attn" (it reads the KV cache from HBM); MLP linears on "mlp", the rest on
"all". Linears stream their weights from HBM, k and v write the KV
cache. A linear tile is a grain x grain output block; its working set is 12 * grain^2 bytes
(double-buffered bf16 operand blocks plus an fp32 accumulator), so grain 512 does not fit the
1 MiB mlp cores.

Row blocks (`parts` > 1, as the split-rows pass splits prefill): every op of a layer is split
into `parts` blocks of seq / parts token rows (near-even, larger blocks first), emitted block
by block (norm1, q, k, v, attention, o, norm2, gate, up, act, down of block j, names
`L<layer>.p<j>.<op>`). Block j of an op consumes block j of its inputs; attention is causal:
block j depends on q of block j and on k and v of blocks 0..j, and attends to the rows up to
its own (plus any past context, kv_len - seq), so its work and KV reads grow with j. Block j of
layer l + 1 depends on block j of layer l. Edge bytes are those of the block. Every block of a
linear reads the whole weight from HBM again, unless `resident_mlp` keeps gate/up/down weights
in SRAM (no HBM reads, not counted in HBM capacity; SRAM capacity for them is not modelled).
"""

from __future__ import annotations

from dataclasses import dataclass

from meshc.mappers.problem import Edge, HbmPort, Machine, MappingProblem, Op

BF16 = 2
MACS = {"attn": 2048, "mlp": 4096}
VECTOR_LANES = 64


def split_mesh(rows: int, cols: int, hbm_gib: int = 80) -> tuple[
    Machine, dict[str, tuple[tuple[int, int], ...]]
]:
    """A rows x cols mesh with attention cores on the edge columns, and its regions."""
    edge = {0, cols - 1}
    types = tuple(tuple("attn" if c in edge else "mlp" for c in range(cols))
                  for _ in range(rows))
    ports = tuple(HbmPort(core=(r, c), bytes_per_cycle=32.0) for r in range(rows)
                  for c in sorted(edge))
    machine = Machine(rows=rows, cols=cols, core_types=types,
                      sram_bytes={"attn": 2 << 20, "mlp": 1 << 20}, clock_hz=1e9,
                      link_bytes_per_cycle=32.0, router_latency_cycles=2, hbm_ports=ports,
                      hbm_capacity_bytes=hbm_gib << 30)
    cores = [(r, c) for r in range(rows) for c in range(cols)]
    regions = {
        "all": tuple(cores),
        "attn": tuple(k for k in cores if k[1] in edge),
        "mlp": tuple(k for k in cores if k[1] not in edge) or tuple(cores),
    }
    return machine, regions


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True, slots=True)
class _Dims:
    d_model: int
    heads: int
    kv_heads: int
    d_ff: int

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    @property
    def kv_width(self) -> int:
        return self.kv_heads * self.head_dim


@dataclass(frozen=True, slots=True)
class _Part:
    """One row block of a layer: its `rows` tokens attend to a context of `ctx` tokens."""

    tag: str
    rows: int
    ctx: int


def _row_parts(seq: int, kv_len: int, parts: int) -> tuple[_Part, ...]:
    """`parts` row blocks of `seq` tokens (near-even, larger blocks first); causal: block j
    attends to the past context (`kv_len - seq`) and the rows of blocks 0..j."""
    if not 1 <= parts <= seq:
        raise ValueError(f"parts is {parts}; it must be between 1 and seq ({seq})")
    past = kv_len - seq
    if parts > 1 and past < 0:
        raise ValueError(f"kv_len ({kv_len}) < seq ({seq}) cannot be split into row blocks")
    out: list[_Part] = []
    done = 0
    for j in range(parts):
        rows = seq // parts + (1 if j < seq % parts else 0)
        done += rows
        out.append(_Part(f"p{j}." if parts > 1 else "", rows, past + done))
    return tuple(out)


class _LayerBuilder:
    def __init__(self, grain: int) -> None:
        self.grain = grain
        self.ops: list[Op] = []
        self.edges: list[Edge] = []

    def add(self, name: str, layer: int, block: str, region: str, n_tiles: int,
            cycles: dict[str, int], sram: int, read: int = 0, write: int = 0,
            out: int = 0) -> int:
        self.ops.append(Op(id=len(self.ops), name=f"L{layer}.{name}", layer=layer,
                           block=block, region=region, n_tiles=n_tiles,  # type: ignore[arg-type]
                           tile_cycles=cycles, sram_bytes_per_tile=sram, hbm_read_bytes=read,
                           hbm_write_bytes=write, out_bytes=out))
        return len(self.ops) - 1

    def linear(self, name: str, layer: int, block: str, region: str, rows: int, k: int, n: int,
               write: int = 0, streamed: bool = True) -> int:
        """`rows` x k times k x n; the weight is read from HBM when `streamed`."""
        g, m = self.grain, min(rows, self.grain)
        cycles = {t: _cdiv(m * g * k, macs) + 64 for t, macs in MACS.items()}
        return self.add(name, layer, block, region, _cdiv(rows, g) * _cdiv(n, g), cycles,
                        12 * g * g, read=k * n * BF16 if streamed else 0, write=write,
                        out=rows * n * BF16)

    def vector(self, name: str, layer: int, block: str, rows: int, width: int,
               passes: int) -> int:
        g, m = self.grain, min(rows, self.grain)
        cyc = passes * _cdiv(m * g, VECTOR_LANES) + 32
        return self.add(name, layer, block, "all", _cdiv(rows, g) * _cdiv(width, g),
                        {"attn": cyc, "mlp": cyc}, 8 * g * g, out=rows * width * BF16)

    def attention(self, layer: int, part: _Part, dims: _Dims) -> int:
        """Fused attention of all heads: one op, one tile per (row block, head)."""
        g, m, ctx, hd = self.grain, min(part.rows, self.grain), part.ctx, dims.head_dim
        cyc = _cdiv(2 * m * ctx * hd, MACS["attn"]) + _cdiv(m * ctx, VECTOR_LANES) + 64
        kv = 2 * ctx * dims.kv_width * BF16
        sram = 2 * 3 * g * hd * BF16 + 4 * g * g
        return self.add(f"{part.tag}attention", layer, "attention", "attn",
                        _cdiv(part.rows, g) * dims.heads, {"attn": cyc}, sram, read=kv,
                        out=part.rows * dims.heads * hd * BF16)

    def head_group(self, layer: int, grp: int, part: _Part, heads: int,
                   head_dim: int) -> tuple[int, ...]:
        """scores = Q K^T, softmax, P V for `heads` query heads sharing one KV head."""
        g, m, ctx, seq = self.grain, min(part.rows, self.grain), part.ctx, part.rows
        rows, blocks = _cdiv(seq, g), _cdiv(ctx, g)
        kv = ctx * head_dim * BF16
        n = rows * heads * blocks
        name = f"{part.tag}g{grp}"
        score = self.add(f"{name}.scores", layer, "attention", "attn", n,
                         {"attn": _cdiv(m * g * head_dim, MACS["attn"]) + 64},
                         4 * g * head_dim * BF16 + 4 * g * g, read=kv,
                         out=seq * ctx * heads * 4)
        soft = self.add(f"{name}.softmax", layer, "attention", "attn", n,
                        {"attn": 3 * _cdiv(m * g, VECTOR_LANES) + 32}, 16 * g * g,
                        out=seq * ctx * heads * BF16)
        pv = self.add(f"{name}.pv", layer, "attention", "attn", rows * heads,
                      {"attn": _cdiv(m * ctx * head_dim, MACS["attn"]) + 64},
                      4 * g * head_dim * BF16 + 4 * g * g, read=kv,
                      out=seq * heads * head_dim * BF16)
        return score, soft, pv

    def edge(self, src: int, dst: int, n_bytes: int) -> None:
        self.edges.append(Edge(src=src, dst=dst, bytes=n_bytes))


def _attention(b: _LayerBuilder, li: int, part: _Part, dims: _Dims, q: int,
               kvs: list[tuple[int, int, int]], head_groups: bool) -> list[tuple[int, int]]:
    """Attention of one row block with its edges from q and from the (k, v, rows) of every
    block so far (causal); returns the (op, bytes) inputs of o."""
    hd = dims.head_dim
    if not head_groups:
        at = b.attention(li, part, dims)
        b.edge(q, at, part.rows * dims.d_model * BF16)
        for k, _, rows in kvs:
            b.edge(k, at, rows * dims.kv_width * BF16)
        for _, v, rows in kvs:
            b.edge(v, at, rows * dims.kv_width * BF16)
        return [(at, part.rows * dims.d_model * BF16)]
    hpg = dims.heads // dims.kv_heads
    o_inputs = []
    for grp in range(dims.kv_heads):
        score, soft, pv = b.head_group(li, grp, part, hpg, hd)
        b.edge(q, score, part.rows * hpg * hd * BF16)
        for k, _, rows in kvs:
            b.edge(k, score, rows * hd * BF16)
        b.edge(score, soft, b.ops[score].out_bytes)
        b.edge(soft, pv, b.ops[soft].out_bytes)
        for _, v, rows in kvs:
            b.edge(v, pv, rows * hd * BF16)
        o_inputs.append((pv, part.rows * hpg * hd * BF16))
    return o_inputs


def _layer(b: _LayerBuilder, li: int, parts: tuple[_Part, ...], dims: _Dims,
           prev: list[int] | None, head_groups: bool, resident_mlp: bool) -> list[int]:
    """One decoder layer, block by block; `prev` holds the previous layer's output op per
    block. Returns this layer's output op (down) per block."""
    d, f, kvd = dims.d_model, dims.d_ff, dims.kv_width
    streamed = not resident_mlp
    kvs: list[tuple[int, int, int]] = []
    outs = []
    for j, part in enumerate(parts):
        t, rows = part.tag, part.rows
        act = rows * d * BF16
        n1 = b.vector(f"{t}norm1", li, "attention", rows, d, 2)
        q = b.linear(f"{t}q", li, "attention", "all", rows, d, d)
        k = b.linear(f"{t}k", li, "attention", "all", rows, d, kvd, write=rows * kvd * BF16)
        v = b.linear(f"{t}v", li, "attention", "all", rows, d, kvd, write=rows * kvd * BF16)
        kvs.append((k, v, rows))
        o_inputs = _attention(b, li, part, dims, q, kvs, head_groups)
        o = b.linear(f"{t}o", li, "attention", "all", rows, d, d)
        n2 = b.vector(f"{t}norm2", li, "mlp", rows, d, 2)
        gate = b.linear(f"{t}gate", li, "mlp", "mlp", rows, d, f, streamed=streamed)
        up = b.linear(f"{t}up", li, "mlp", "mlp", rows, d, f, streamed=streamed)
        ac = b.vector(f"{t}act", li, "mlp", rows, f, 1)
        down = b.linear(f"{t}down", li, "mlp", "mlp", rows, f, d, streamed=streamed)
        if prev is not None:
            b.edge(prev[j], n1, act)
            b.edge(prev[j], n2, act)
        for dst in (q, k, v):
            b.edge(n1, dst, act)
        for src, n_bytes in o_inputs:
            b.edge(src, o, n_bytes)
        b.edge(o, n2, act)
        b.edge(n2, gate, act)
        b.edge(n2, up, act)
        b.edge(gate, ac, rows * f * BF16)
        b.edge(up, ac, rows * f * BF16)
        b.edge(ac, down, rows * f * BF16)
        outs.append(down)
    return outs


def decoder_problem(
    rows: int = 4, cols: int = 4, *, grain: int = 128, layers: int = 1, seq: int = 512,
    kv_len: int | None = None, d_model: int = 4096, heads: int = 32, kv_heads: int = 8,
    d_ff: int = 14336, head_groups: bool = False, hbm_gib: int = 80, parts: int = 1,
    resident_mlp: bool = False,
) -> MappingProblem:
    """`layers` decoder layers (Llama-3-8B shapes by default) processing `seq` tokens against a
    context of `kv_len` (default: seq) on a `split_mesh(rows, cols)`. With `head_groups`,
    attention is one scores -> softmax -> pv chain per KV head (as partition-attn-mlp splits
    it); otherwise one fused attention op. `parts` > 1 splits every op into that many row
    blocks (module docstring; 1 <= parts <= seq, else ValueError); `resident_mlp` keeps the
    gate/up/down weights in SRAM, as the disaggregated pipeline does when they fit."""
    machine, regions = split_mesh(rows, cols, hbm_gib)
    ctx = kv_len if kv_len is not None else seq
    dims = _Dims(d_model, heads, kv_heads, d_ff)
    blocks = _row_parts(seq, ctx, parts)
    b = _LayerBuilder(grain)
    prev: list[int] | None = None
    for li in range(layers):
        prev = _layer(b, li, blocks, dims, prev, head_groups, resident_mlp)
    hd, kvd = dims.head_dim, dims.kv_width
    mlp_weights = 0 if resident_mlp else 3 * d_model * d_ff
    resident = layers * (2 * kv_heads * hd * (kv_len or seq) * BF16
                         + (2 * d_model * d_model + 2 * d_model * kvd + mlp_weights) * BF16)
    suffix = (f"p{parts}" if parts > 1 else "") + ("m" if resident_mlp else "")
    return MappingProblem(machine=machine, ops=tuple(b.ops), edges=tuple(b.edges),
                          regions=regions, hbm_resident_bytes=resident,
                          name=f"decoder{layers}x{rows}x{cols}g{grain}{suffix}")
