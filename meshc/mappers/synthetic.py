"""Synthetic mapping problems: decoder layers of a Llama-like model on a split mesh.

For tests and bench/bench_mapper.py only: a quick roofline, not meshc's cost model.

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
"""

from __future__ import annotations

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


class _LayerBuilder:
    def __init__(self, seq: int, grain: int, kv_len: int) -> None:
        self.seq, self.grain, self.kv_len = seq, grain, kv_len
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

    def linear(self, name: str, layer: int, block: str, region: str, k: int, n: int,
               write: int = 0) -> int:
        g, m = self.grain, min(self.seq, self.grain)
        cycles = {t: _cdiv(m * g * k, macs) + 64 for t, macs in MACS.items()}
        return self.add(name, layer, block, region, _cdiv(self.seq, g) * _cdiv(n, g), cycles,
                        12 * g * g, read=k * n * BF16, write=write, out=self.seq * n * BF16)

    def vector(self, name: str, layer: int, block: str, width: int, passes: int) -> int:
        g, m = self.grain, min(self.seq, self.grain)
        cyc = passes * _cdiv(m * g, VECTOR_LANES) + 32
        return self.add(name, layer, block, "all", _cdiv(self.seq, g) * _cdiv(width, g),
                        {"attn": cyc, "mlp": cyc}, 8 * g * g, out=self.seq * width * BF16)

    def attention(self, layer: int, heads: int, kv_heads: int, head_dim: int) -> int:
        """Fused attention of all heads: one op, one tile per (row block, head)."""
        g, m = self.grain, min(self.seq, self.grain)
        ctx = self.kv_len
        cyc = _cdiv(2 * m * ctx * head_dim, MACS["attn"]) + _cdiv(m * ctx, VECTOR_LANES) + 64
        kv = 2 * ctx * kv_heads * head_dim * BF16
        sram = 2 * 3 * g * head_dim * BF16 + 4 * g * g
        return self.add("attention", layer, "attention", "attn", _cdiv(self.seq, g) * heads,
                        {"attn": cyc}, sram, read=kv, out=self.seq * heads * head_dim * BF16)

    def head_group(self, layer: int, grp: int, heads: int, head_dim: int) -> tuple[int, ...]:
        """scores = Q K^T, softmax, P V for `heads` query heads sharing one KV head."""
        g, m, ctx = self.grain, min(self.seq, self.grain), self.kv_len
        rows, blocks = _cdiv(self.seq, g), _cdiv(ctx, g)
        kv = ctx * head_dim * BF16
        n = rows * heads * blocks
        score = self.add(f"g{grp}.scores", layer, "attention", "attn", n,
                         {"attn": _cdiv(m * g * head_dim, MACS["attn"]) + 64},
                         4 * g * head_dim * BF16 + 4 * g * g, read=kv,
                         out=self.seq * ctx * heads * 4)
        soft = self.add(f"g{grp}.softmax", layer, "attention", "attn", n,
                        {"attn": 3 * _cdiv(m * g, VECTOR_LANES) + 32}, 16 * g * g,
                        out=self.seq * ctx * heads * BF16)
        pv = self.add(f"g{grp}.pv", layer, "attention", "attn", rows * heads,
                      {"attn": _cdiv(m * ctx * head_dim, MACS["attn"]) + 64},
                      4 * g * head_dim * BF16 + 4 * g * g, read=kv,
                      out=self.seq * heads * head_dim * BF16)
        return score, soft, pv

    def edge(self, src: int, dst: int, n_bytes: int) -> None:
        self.edges.append(Edge(src=src, dst=dst, bytes=n_bytes))


def decoder_problem(
    rows: int = 4, cols: int = 4, *, grain: int = 128, layers: int = 1, seq: int = 512,
    kv_len: int | None = None, d_model: int = 4096, heads: int = 32, kv_heads: int = 8,
    d_ff: int = 14336, head_groups: bool = False, hbm_gib: int = 80,
) -> MappingProblem:
    """`layers` decoder layers (Llama-3-8B shapes by default) processing `seq` tokens against a
    context of `kv_len` (default: seq) on a `split_mesh(rows, cols)`. With `head_groups`,
    attention is one scores -> softmax -> pv chain per KV head (as partition-attn-mlp splits
    it); otherwise one fused attention op."""
    machine, regions = split_mesh(rows, cols, hbm_gib)
    b = _LayerBuilder(seq, grain, kv_len if kv_len is not None else seq)
    hd = d_model // heads
    kvd = kv_heads * hd
    act = seq * d_model * BF16
    prev: int | None = None
    for li in range(layers):
        n1 = b.vector("norm1", li, "attention", d_model, 2)
        q = b.linear("q", li, "attention", "all", d_model, d_model)
        k = b.linear("k", li, "attention", "all", d_model, kvd, write=seq * kvd * BF16)
        v = b.linear("v", li, "attention", "all", d_model, kvd, write=seq * kvd * BF16)
        o_inputs: list[tuple[int, int]] = []
        if head_groups:
            hpg = heads // kv_heads
            for grp in range(kv_heads):
                score, soft, pv = b.head_group(li, grp, hpg, hd)
                b.edge(q, score, seq * hpg * hd * BF16)
                b.edge(k, score, seq * hd * BF16)
                b.edge(score, soft, b.ops[score].out_bytes)
                b.edge(soft, pv, b.ops[soft].out_bytes)
                b.edge(v, pv, seq * hd * BF16)
                o_inputs.append((pv, seq * hpg * hd * BF16))
        else:
            at = b.attention(li, heads, kv_heads, hd)
            b.edge(q, at, act)
            b.edge(k, at, seq * kvd * BF16)
            b.edge(v, at, seq * kvd * BF16)
            o_inputs.append((at, act))
        o = b.linear("o", li, "attention", "all", d_model, d_model)
        n2 = b.vector("norm2", li, "mlp", d_model, 2)
        gate = b.linear("gate", li, "mlp", "mlp", d_model, d_ff)
        up = b.linear("up", li, "mlp", "mlp", d_model, d_ff)
        ac = b.vector("act", li, "mlp", d_ff, 1)
        down = b.linear("down", li, "mlp", "mlp", d_ff, d_model)
        if prev is not None:
            b.edge(prev, n1, act)
            b.edge(prev, n2, act)
        for dst, n_bytes in ((q, act), (k, act), (v, act)):
            b.edge(n1, dst, n_bytes)
        for src, n_bytes in o_inputs:
            b.edge(src, o, n_bytes)
        b.edge(o, n2, act)
        b.edge(n2, gate, act)
        b.edge(n2, up, act)
        b.edge(gate, ac, seq * d_ff * BF16)
        b.edge(up, ac, seq * d_ff * BF16)
        b.edge(ac, down, seq * d_ff * BF16)
        prev = down
    resident = layers * (2 * kv_heads * hd * (kv_len or seq) * BF16
                         + (2 * d_model * d_model + 2 * d_model * kvd + 3 * d_model * d_ff)
                         * BF16)
    return MappingProblem(machine=machine, ops=tuple(b.ops), edges=tuple(b.edges),
                          regions=regions, hbm_resident_bytes=resident,
                          name=f"decoder{layers}x{rows}x{cols}g{grain}")
