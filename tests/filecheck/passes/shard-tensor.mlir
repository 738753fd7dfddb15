// shard-tensor: one chip's shard of a tensor-parallel decoder. Chunk 1: one GQA layer
// (hidden 16, 4 heads of 4 over 2 KV heads, MLP 32, a biased o projection, the table tied
// to lm_head). At tp=2 q and K/V split in two, o and down are row-parallel with an
// all-reduce (o's bias added after it), the tied table is vocabulary-parallel: the embedding
// all-reduces its lookup and lm_head all-gathers its logits before the return. At tp=4 K/V split only 2 ways (each KV head on 2 chips).
// Chunk 2: a linear whose result meets an op meshc cannot split stays whole.
//
// RUN: meshc opt %s --split-input-file -p 'shard-tensor{tp=2}' | filecheck %s
// RUN: meshc opt %s --split-input-file -p 'shard-tensor{tp=4}' | filecheck %s --check-prefix=FOUR
// RUN: meshc opt %s --split-input-file -p 'shard-tensor{tp=1}' | filecheck %s --check-prefix=ONE
// RUN: not meshc opt %s --split-input-file -p 'shard-tensor{tp=3}' 2>&1 | filecheck %s --check-prefix=BAD

func.func @decode(%0: tensor<1x1xi32>) -> tensor<1x1x32xbf16> {
  %1 = tfm.weight "embed.tokens" layer -1 other : tensor<32x16xbf16>
  %2 = tfm.embedding %0, %1 layer -1 other : tensor<1x1xi32>, tensor<32x16xbf16> -> tensor<1x1x16xbf16>
  %3 = tfm.weight "L0.attn_norm.weight" layer 0 attention : tensor<16xbf16>
  %4 = tfm.rmsnorm %2, %3 layer 0 attention : tensor<1x1x16xbf16>, tensor<16xbf16>
  %5 = tfm.weight "L0.q.weight" layer 0 attention : tensor<16x16xbf16>
  %6 = tfm.linear %4, %5 layer 0 attention : tensor<1x1x16xbf16>, tensor<16x16xbf16> -> tensor<1x1x16xbf16>
  %7 = tfm.weight "L0.k.weight" layer 0 attention : tensor<16x8xbf16>
  %8 = tfm.linear %4, %7 layer 0 attention : tensor<1x1x16xbf16>, tensor<16x8xbf16> -> tensor<1x1x8xbf16>
  %9 = tfm.weight "L0.v.weight" layer 0 attention : tensor<16x8xbf16>
  %10 = tfm.linear %4, %9 layer 0 attention : tensor<1x1x16xbf16>, tensor<16x8xbf16> -> tensor<1x1x8xbf16>
  %11 = tfm.rope %6 layer 0 attention : tensor<1x1x16xbf16>
  %12 = tfm.rope %8 layer 0 attention : tensor<1x1x8xbf16>
  %13 = tfm.kv_read "k" layer 0 attention : tensor<1x6x8xbf16>
  %14 = tfm.kv_append "k" %12 past %13 layer 0 attention : tensor<1x1x8xbf16>, tensor<1x6x8xbf16> -> tensor<1x7x8xbf16>
  %15 = tfm.kv_read "v" layer 0 attention : tensor<1x6x8xbf16>
  %16 = tfm.kv_append "v" %10 past %15 layer 0 attention : tensor<1x1x8xbf16>, tensor<1x6x8xbf16> -> tensor<1x7x8xbf16>
  %17 = tfm.attention gqa %11, %14, %16 heads 4 kv_heads 2 qk_dim 4 v_dim 4 causal layer 0 attention : tensor<1x1x16xbf16>, tensor<1x7x8xbf16>, tensor<1x7x8xbf16> -> tensor<1x1x16xbf16>
  %18 = tfm.weight "L0.o.weight" layer 0 attention : tensor<16x16xbf16>
  %19 = tfm.weight "L0.o.bias" layer 0 attention : tensor<16xbf16>
  %20 = tfm.linear %17, %18 bias %19 layer 0 attention : tensor<1x1x16xbf16>, tensor<16x16xbf16>, tensor<16xbf16> -> tensor<1x1x16xbf16>
  %21 = tfm.add %2, %20 layer 0 attention : tensor<1x1x16xbf16>, tensor<1x1x16xbf16> -> tensor<1x1x16xbf16>
  %22 = tfm.weight "L0.mlp_norm.weight" layer 0 mlp : tensor<16xbf16>
  %23 = tfm.rmsnorm %21, %22 layer 0 mlp : tensor<1x1x16xbf16>, tensor<16xbf16>
  %24 = tfm.weight "L0.gate.weight" layer 0 mlp : tensor<16x32xbf16>
  %25 = tfm.linear %23, %24 layer 0 mlp : tensor<1x1x16xbf16>, tensor<16x32xbf16> -> tensor<1x1x32xbf16>
  %26 = tfm.weight "L0.up.weight" layer 0 mlp : tensor<16x32xbf16>
  %27 = tfm.linear %23, %26 layer 0 mlp : tensor<1x1x16xbf16>, tensor<16x32xbf16> -> tensor<1x1x32xbf16>
  %28 = tfm.activation "silu" %25 * %27 layer 0 mlp : tensor<1x1x32xbf16>
  %29 = tfm.weight "L0.down.weight" layer 0 mlp : tensor<32x16xbf16>
  %30 = tfm.linear %28, %29 layer 0 mlp : tensor<1x1x32xbf16>, tensor<32x16xbf16> -> tensor<1x1x16xbf16>
  %31 = tfm.add %21, %30 layer 0 mlp : tensor<1x1x16xbf16>, tensor<1x1x16xbf16> -> tensor<1x1x16xbf16>
  %32 = tfm.weight "final.norm.weight" layer -1 other : tensor<16xbf16>
  %33 = tfm.rmsnorm %31, %32 layer -1 other : tensor<1x1x16xbf16>, tensor<16xbf16>
  %34 = tfm.lm_head %33, %1 layer -1 other : tensor<1x1x16xbf16>, tensor<32x16xbf16> -> tensor<1x1x32xbf16>
  func.return %34 : tensor<1x1x32xbf16>
}

// CHECK:      builtin.module attributes {meshc.tp = 2 : i64, meshc.tp.attention = 2 : i64, meshc.tp.mlp = 2 : i64, meshc.tp.other = 2 : i64} {
// CHECK:        %1 = tfm.weight "embed.tokens" layer -1 other : tensor<16x16xbf16>
// CHECK-NEXT:   %2 = tfm.embedding %0, %1 layer -1 other : tensor<1x1xi32>, tensor<16x16xbf16> -> tensor<1x1x16xbf16>
// CHECK-NEXT:   %3 = tfm.collective all_reduce %2 chips 2 layer -1 other : tensor<1x1x16xbf16> -> tensor<1x1x16xbf16>
// CHECK:        %6 = tfm.weight "L0.q.weight" layer 0 attention : tensor<16x8xbf16>
// CHECK:        %8 = tfm.weight "L0.k.weight" layer 0 attention : tensor<16x4xbf16>
// CHECK:        %10 = tfm.weight "L0.v.weight" layer 0 attention : tensor<16x4xbf16>
// CHECK:        %14 = tfm.kv_read "k" layer 0 attention : tensor<1x6x4xbf16>
// CHECK-NEXT:   %15 = tfm.kv_append "k" %13 past %14 layer 0 attention : tensor<1x1x4xbf16>, tensor<1x6x4xbf16> -> tensor<1x7x4xbf16>
// CHECK:        %18 = tfm.attention mqa %12, %15, %17 heads 2 kv_heads 1 qk_dim 4 v_dim 4 causal layer 0 attention : tensor<1x1x8xbf16>, tensor<1x7x4xbf16>, tensor<1x7x4xbf16> -> tensor<1x1x8xbf16>
// CHECK-NEXT:   %19 = tfm.weight "L0.o.weight" layer 0 attention : tensor<8x16xbf16>
// CHECK-NEXT:   %20 = tfm.weight "L0.o.bias" layer 0 attention : tensor<16xbf16>
// CHECK-NEXT:   %21 = tfm.linear %18, %19 layer 0 attention : tensor<1x1x8xbf16>, tensor<8x16xbf16> -> tensor<1x1x16xbf16>
// CHECK-NEXT:   %22 = tfm.collective all_reduce %21 chips 2 layer 0 attention : tensor<1x1x16xbf16> -> tensor<1x1x16xbf16>
// CHECK-NEXT:   %23 = tfm.add %22, %20 layer 0 attention : tensor<1x1x16xbf16>, tensor<16xbf16> -> tensor<1x1x16xbf16>
// CHECK-NEXT:   %24 = tfm.add %3, %23 layer 0 attention
// CHECK:        %27 = tfm.weight "L0.gate.weight" layer 0 mlp : tensor<16x16xbf16>
// CHECK:        %29 = tfm.weight "L0.up.weight" layer 0 mlp : tensor<16x16xbf16>
// CHECK:        %31 = tfm.activation "silu" %28 * %30 layer 0 mlp : tensor<1x1x16xbf16>
// CHECK-NEXT:   %32 = tfm.weight "L0.down.weight" layer 0 mlp : tensor<16x16xbf16>
// CHECK-NEXT:   %33 = tfm.linear %31, %32 layer 0 mlp : tensor<1x1x16xbf16>, tensor<16x16xbf16> -> tensor<1x1x16xbf16>
// CHECK-NEXT:   %34 = tfm.collective all_reduce %33 chips 2 layer 0 mlp : tensor<1x1x16xbf16> -> tensor<1x1x16xbf16>
// CHECK-NEXT:   %35 = tfm.add %24, %34 layer 0 mlp
// CHECK:        %38 = tfm.lm_head %37, %1 layer -1 other : tensor<1x1x16xbf16>, tensor<16x16xbf16> -> tensor<1x1x16xbf16>
// CHECK-NEXT:   %39 = tfm.collective all_gather %38 chips 2 layer -1 other : tensor<1x1x16xbf16> -> tensor<1x1x32xbf16>
// CHECK-NEXT:   func.return %39 : tensor<1x1x32xbf16>

// FOUR:       tfm.weight "L0.q.weight" layer 0 attention : tensor<16x4xbf16>
// FOUR:       tfm.weight "L0.k.weight" layer 0 attention : tensor<16x4xbf16>
// FOUR:       tfm.kv_read "k" layer 0 attention : tensor<1x6x4xbf16>
// FOUR:       tfm.attention mha %{{.*}} heads 1 kv_heads 1 qk_dim 4 v_dim 4 causal layer 0 attention : tensor<1x1x4xbf16>, tensor<1x7x4xbf16>, tensor<1x7x4xbf16> -> tensor<1x1x4xbf16>
// FOUR:       tfm.weight "L0.o.weight" layer 0 attention : tensor<4x16xbf16>
// FOUR:       tfm.collective all_reduce %{{.*}} chips 4 layer 0 attention
// FOUR:       tfm.weight "L0.down.weight" layer 0 mlp : tensor<8x16xbf16>
// FOUR:       tfm.collective all_gather %{{.*}} chips 4 layer -1 other : tensor<1x1x8xbf16> -> tensor<1x1x32xbf16>

// ONE:        builtin.module {
// ONE:        tfm.weight "L0.q.weight" layer 0 attention : tensor<16x16xbf16>
// ONE-NOT:    tfm.collective

// BAD: tfm.attention (layer 0, attention) has 4 heads, which do not divide over tp=3 chips; use a tp that divides 4

// -----

func.func @prefill(%0: tensor<1x4x16xbf16>) -> tensor<1x4x8xbf16> {
  %1 = tfm.weight "proj" layer 0 mlp : tensor<16x8xbf16>
  %2 = tfm.linear %0, %1 layer 0 mlp : tensor<1x4x16xbf16>, tensor<16x8xbf16> -> tensor<1x4x8xbf16>
  %3 = tfm.generic "Erf" (%2) macs 0 vector_ops 32 layer 0 mlp : (tensor<1x4x8xbf16>) -> tensor<1x4x8xbf16>
  func.return %3 : tensor<1x4x8xbf16>
}

// CHECK-LABEL: func.func @prefill
// CHECK-NEXT:    %1 = tfm.weight "proj" layer 0 mlp : tensor<16x8xbf16>
// CHECK-NEXT:    %2 = tfm.linear %0, %1 layer 0 mlp : tensor<1x4x16xbf16>, tensor<16x8xbf16> -> tensor<1x4x8xbf16>
// CHECK-NOT:     tfm.collective
