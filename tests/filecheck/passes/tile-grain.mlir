// tile-grain: each compute op becomes one tile.compute with its grid, tile shape, per-tile
// work and bytes, precision and HBM traffic; tfm.weight ops stay.
//
// Chunk 1: the one-layer decoder of partition-attn-mlp.mlir (hidden 128, 4 heads over 2
// KV heads of 32, MLP 1024, vocab 256, 16 cached tokens). Chunk 2: a 16384 x 16384 linear.
// Chunk 3: a softmax over rows of 1,048,576 (8 MiB double-buffered: fits no test core).
// mesh-1x1 / mesh-2x2: 16 x 16 output-stationary arrays, 512 KiB SRAM per core.
//
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'tile-grain{grain=64 hw=mesh-2x2}' | filecheck %s --check-prefix=G64
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{hw=mesh-2x2},tile-grain' | filecheck %s --check-prefix=RES
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{policy=disaggregate hw=mesh-4x4},tile-grain' | filecheck %s --check-prefix=DIS
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'lower-quant{weights=int4 acts=int8 kv=int8},partition-attn-mlp{policy=disaggregate hw=mesh-4x4},tile-grain' | filecheck %s --check-prefix=Q
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'lower-quant{kv=int8},tile-grain{hw=mesh-2x2}' | filecheck %s --check-prefix=KV8
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'tile-grain{hw=groq-like}' | filecheck %s --check-prefix=GROQ
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'tile-grain{grain=4096 hw=mesh-1x1}' | filecheck %s --check-prefix=BIG
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'tile-grain{grain=0}' | filecheck %s --check-prefix=GRAIN
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{hw=mesh-2x2},tile-grain{hw=mesh-4x4}' | filecheck %s --check-prefix=MISMATCH

func.func @decode(%0: tensor<1x1xi32>) -> tensor<1x1x256xbf16> {
  %1 = tfm.weight "embed.tokens" layer -1 other : tensor<256x128xbf16>
  %2 = tfm.embedding %0, %1 layer -1 other : tensor<1x1xi32>, tensor<256x128xbf16> -> tensor<1x1x128xbf16>
  %3 = tfm.weight "L0.attn_norm.weight" layer 0 attention : tensor<128xbf16>
  %4 = tfm.rmsnorm %2, %3 layer 0 attention : tensor<1x1x128xbf16>, tensor<128xbf16>
  %5 = tfm.weight "L0.q.weight" layer 0 attention : tensor<128x128xbf16>
  %6 = tfm.linear %4, %5 layer 0 attention : tensor<1x1x128xbf16>, tensor<128x128xbf16> -> tensor<1x1x128xbf16>
  %7 = tfm.weight "L0.k.weight" layer 0 attention : tensor<128x64xbf16>
  %8 = tfm.linear %4, %7 layer 0 attention : tensor<1x1x128xbf16>, tensor<128x64xbf16> -> tensor<1x1x64xbf16>
  %9 = tfm.weight "L0.v.weight" layer 0 attention : tensor<128x64xbf16>
  %10 = tfm.linear %4, %9 layer 0 attention : tensor<1x1x128xbf16>, tensor<128x64xbf16> -> tensor<1x1x64xbf16>
  %11 = tfm.rope %6 layer 0 attention : tensor<1x1x128xbf16>
  %12 = tfm.rope %8 layer 0 attention : tensor<1x1x64xbf16>
  %13 = tfm.kv_read "k" layer 0 attention : tensor<1x16x64xbf16>
  %14 = tfm.kv_append "k" %12 past %13 layer 0 attention : tensor<1x1x64xbf16>, tensor<1x16x64xbf16> -> tensor<1x17x64xbf16>
  %15 = tfm.kv_read "v" layer 0 attention : tensor<1x16x64xbf16>
  %16 = tfm.kv_append "v" %10 past %15 layer 0 attention : tensor<1x1x64xbf16>, tensor<1x16x64xbf16> -> tensor<1x17x64xbf16>
  %17 = tfm.attention gqa %11, %14, %16 heads 4 kv_heads 2 qk_dim 32 v_dim 32 causal layer 0 attention : tensor<1x1x128xbf16>, tensor<1x17x64xbf16>, tensor<1x17x64xbf16> -> tensor<1x1x128xbf16>
  %18 = tfm.weight "L0.o.weight" layer 0 attention : tensor<128x128xbf16>
  %19 = tfm.linear %17, %18 layer 0 attention : tensor<1x1x128xbf16>, tensor<128x128xbf16> -> tensor<1x1x128xbf16>
  %20 = tfm.add %2, %19 layer 0 attention : tensor<1x1x128xbf16>, tensor<1x1x128xbf16> -> tensor<1x1x128xbf16>
  %21 = tfm.weight "L0.mlp_norm.weight" layer 0 mlp : tensor<128xbf16>
  %22 = tfm.rmsnorm %20, %21 layer 0 mlp : tensor<1x1x128xbf16>, tensor<128xbf16>
  %23 = tfm.weight "L0.gate.weight" layer 0 mlp : tensor<128x1024xbf16>
  %24 = tfm.linear %22, %23 layer 0 mlp : tensor<1x1x128xbf16>, tensor<128x1024xbf16> -> tensor<1x1x1024xbf16>
  %25 = tfm.weight "L0.up.weight" layer 0 mlp : tensor<128x1024xbf16>
  %26 = tfm.linear %22, %25 layer 0 mlp : tensor<1x1x128xbf16>, tensor<128x1024xbf16> -> tensor<1x1x1024xbf16>
  %27 = tfm.activation "silu" %24 * %26 layer 0 mlp : tensor<1x1x1024xbf16>
  %28 = tfm.weight "L0.down.weight" layer 0 mlp : tensor<1024x128xbf16>
  %29 = tfm.linear %27, %28 layer 0 mlp : tensor<1x1x1024xbf16>, tensor<1024x128xbf16> -> tensor<1x1x128xbf16>
  %30 = tfm.add %20, %29 layer 0 mlp : tensor<1x1x128xbf16>, tensor<1x1x128xbf16> -> tensor<1x1x128xbf16>
  %31 = tfm.weight "final.norm.weight" layer -1 other : tensor<128xbf16>
  %32 = tfm.rmsnorm %30, %31 layer -1 other : tensor<1x1x128xbf16>, tensor<128xbf16>
  %33 = tfm.weight "lm_head" layer -1 other : tensor<256x128xbf16>
  %34 = tfm.lm_head %32, %33 layer -1 other : tensor<1x1x128xbf16>, tensor<256x128xbf16> -> tensor<1x1x256xbf16>
  func.return %34 : tensor<1x1x256xbf16>
}

// grain=64 without partitioning: region shared, weights in HBM (streamed once per op).
// q: [1 x 128] x [128 x 128] in tiles m=1 (the whole M), n=64, k=64: grid (1, 2, 2). One tile:
// 1*64*64 = 4096 MACs, in 64 x 2 B = 128 B, weight 64*64*2 = 8192 B, out 128 B, SRAM
// 2 x (128 + 8192 + 128) + 1*64*4 (f32 accumulator: K is split) = 17,152 B.
// G64:      %2 = tile.compute memory "tfm.embedding"(%0, %1) {label = "decode.other.embedding0", layer = -1 : i64, block = #tfm<block other>, region = "shared", precision = "bf16", grid = array<i64: 1, 1, 1>, tile_shape = array<i64: 1, 128, 1>, tile_work = array<i64: 0, 0, 0, 260, 0, 256, 1032>, padded_macs = 0 : i64, hbm_read_bytes = 256 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x1xi32>, tensor<256x128xbf16>) -> tensor<1x1x128xbf16>
// G64-NEXT: %3 = tfm.weight "L0.attn_norm.weight" layer 0 attention : tensor<128xbf16>
// G64:      %6 = tile.compute gemm "tfm.linear"(%4, %5) {label = "decode.L0.attention.q", layer = 0 : i64, block = #tfm<block attention>, region = "shared", precision = "bf16", grid = array<i64: 1, 2, 2>, tile_shape = array<i64: 1, 64, 64>, tile_work = array<i64: 4096, 0, 0, 128, 8192, 128, 17152>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 32768 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x1x128xbf16>, tensor<128x128xbf16>) -> tensor<1x1x128xbf16>
// The KV cache: 16 x 64 x 2 = 2,048 B per cache, read by the attention that streams it
// (kv_read moves nothing itself); one 64-wide row of 128 B appended.
// G64:      %13 = tile.compute memory "tfm.kv_read"() {label = "decode.L0.attention.kv_read.k", {{.*}} tile_work = array<i64: 0, 0, 0, 0, 0, 0, 0>, padded_macs = 0 : i64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64} : () -> tensor<1x16x64xbf16>
// G64-NEXT: %14 = tile.compute memory "tfm.kv_append"(%12, %13) {label = "decode.L0.attention.kv_append.k", {{.*}} tile_work = array<i64: 0, 0, 0, 128, 0, 0, 256>, padded_macs = 0 : i64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 128 : i64}
// Attention: 2 KV-head groups of 2 query rows (2 heads x 1 token) over 17 cached rows,
// n = qk + v = 64. One tile: 2*64*17 = 2,176 MACs (the op's 4,352 in 2 tiles, no padding),
// softmax 5 plain + 1 exp per score (34 scores), in: q 2x32x2 = 128 B + k,v 17x64x2 =
// 2,176 B, out 128 B, SRAM 2 x (2,304 + 128) + f32 scores and accumulator (34 + 64) x 4;
// it reads both caches from HBM: 2 x 2,048 B.
// G64:      %17 = tile.compute gemm "tfm.attention"(%11, %14, %16) {label = "decode.L0.attention.attention0", layer = 0 : i64, block = #tfm<block attention>, region = "shared", precision = "bf16", grid = array<i64: 2, 1, 1>, tile_shape = array<i64: 2, 64, 17>, tile_work = array<i64: 2176, 170, 34, 2304, 0, 128, 5256>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 4096 : i64, hbm_write_bytes = 0 : i64}
// G64:      tile.compute gemm "tfm.lm_head"{{.*}}label = "decode.other.lm_head"
// G64-NOT:  tfm.linear
// G64-NOT:  tfm.attention
// G64:      {{//}} -----
// G64:      label = "big.L0.mlp.up"{{.*}}grid = array<i64: 1, 256, 256>, tile_shape = array<i64: 1, 64, 64>
// G64:      {{//}} -----
// Vector ops ignore the grain and search; this row fits no core at all.
// G64:      tile-grain: wide.L0.attention.softmax0: no tile of tfm.softmax (layer 0, attention) fits a core of region 'shared' (mesh-2x2): the smallest tile (m, n, k) = (1, 1048576, 1) needs 8,388,608 B of SRAM with double buffering, but a core has 524,288 B for tiles

// After partitioning, resident weights stream nothing, and a core keeps its SRAM minus its
// share of them for tiles: 524,288 - 1,016,576 / 4 = 270,144 B.
// RES:      tile.compute gemm "tfm.linear"{{.*}}label = "decode.L0.attention.q"{{.*}}hbm_read_bytes = 0 : i64
// RES:      {{//}} -----
// RES:      tile.compute gemm "tfm.linear"{{.*}}label = "big.L0.mlp.up"{{.*}}region = "shared"{{.*}}hbm_read_bytes = 536870912 : i64

// Disaggregated on mesh-4x4: the q projection runs on the 8 x 8 output-stationary attention
// cores (n in multiples of 8), the gate on the 16 x 16 weight-stationary MLP cores (k, n in
// multiples of 16).
// DIS: tile.compute gemm "tfm.linear"{{.*}}label = "decode.L0.attention.q"{{.*}}region = "attention", precision = "bf16", grid = array<i64: 1, 4, 1>, tile_shape = array<i64: 1, 32, 128>
// DIS: tile.compute gemm "tfm.attention"{{.*}}region = "attention"
// DIS: tile.compute gemm "tfm.linear"{{.*}}label = "decode.L0.mlp.gate"{{.*}}region = "mlp", precision = "bf16", grid = array<i64: 1, 64, 8>, tile_shape = array<i64: 1, 16, 16>

// int4 weights with int8 activations execute at int8: one q tile holds 32 x 128 int4
// weights (2,048 B) + 32 x 128 / 128 bf16 scales (64 B); the array holds them at 4 bits +
// 16 / 128 of a scale (4.125), attention's K/V cache at its int8.
// Q: tile.compute gemm "tfm.linear"{{.*}}label = "decode.L0.attention.q"{{.*}}precision = "int8", {{.*}}tile_work = array<i64: 4096, 0, 0, 128, 2112, 32, 4544>{{.*}}stationary_bits = 4.125000e+00 : f64{{.*}} : (tensor<1x1x128xi8>, tensor<128x128xi4>) -> tensor<1x1x128xi8>
// Q: tile.compute gemm "tfm.attention"{{.*}}precision = "int8"{{.*}}stationary_bits = 8.000000e+00 : f64{{.*}}: (tensor<1x1x128xi8>, tensor<1x17x64xi8>, tensor<1x17x64xi8>) -> tensor<1x1x128xi8>

// An int8 KV cache under bf16 activations: attention executes at bf16 but its array holds
// the K/V cache at its stored 8 bits; vector tiles hold nothing.
// KV8: tile.compute vector "tfm.rmsnorm"{{.*}}label = "decode.L0.attention.rmsnorm0"{{.*}}padded_macs = {{[0-9]+}} : i64, hbm_read_bytes
// KV8: tile.compute gemm "tfm.attention"{{.*}}precision = "bf16"{{.*}}stationary_bits = 8.000000e+00 : f64{{.*}}: (tensor<1x1x128xbf16>, tensor<1x17x64xi8>, tensor<1x17x64xi8>) -> tensor<1x1x128xbf16>

// No HBM: nothing is streamed and the KV cache is read from SRAM.
// GROQ:     tile.compute gemm "tfm.linear"{{.*}}label = "decode.L0.attention.q"{{.*}}precision = "f16"{{.*}}hbm_read_bytes = 0 : i64
// GROQ:     label = "decode.L0.attention.kv_read.k"{{.*}}hbm_read_bytes = 0 : i64

// grain=4096 on the 16384 x 16384 linear: a (1, 4096, 4096) tile needs 2 x (8,192 + 33,554,432
// + 8,192) + 16,384 B.
// BIG:      {{//}} -----
// BIG-NEXT: tile-grain: big.L0.mlp.up: no tile of tfm.linear 'L0.up.weight' (layer 0, mlp) fits a core of region 'shared' (mesh-1x1): the grain-4096 tile (m, n, k) = (1, 4096, 4096) needs 67,158,016 B of SRAM with double buffering, but a core has 524,288 B for tiles

// GRAIN: tile-grain: grain must be auto or a positive integer, got '0'
// MISMATCH: tile-grain: the module is compiled for hardware 'mesh-2x2' but tile-grain{hw=mesh-4x4} asks for 'mesh-4x4'; use one hardware (drop hw= from the pass to use the module's)

// -----

func.func @big(%x: tensor<1x1x16384xbf16>) -> tensor<1x1x16384xbf16> {
  %w = tfm.weight "L0.up.weight" layer 0 mlp : tensor<16384x16384xbf16>
  %y = tfm.linear %x, %w layer 0 mlp : tensor<1x1x16384xbf16>, tensor<16384x16384xbf16> -> tensor<1x1x16384xbf16>
  func.return %y : tensor<1x1x16384xbf16>
}

// -----

func.func @wide(%x: tensor<1x1x1048576xbf16>) -> tensor<1x1x1048576xbf16> {
  %y = tfm.softmax %x layer 0 attention : tensor<1x1x1048576xbf16>
  func.return %y : tensor<1x1x1048576xbf16>
}
