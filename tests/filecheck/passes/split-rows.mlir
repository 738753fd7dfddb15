// split-rows: every multi-token op becomes row blocks; the KV cache is appended block by
// block and causal attention reads it up to its last row; decode is left alone.
//
// Chunk 1: a one-layer decoder (hidden 32, 2 heads over 1 KV head of 16, MLP 64), prefill of
// 10 tokens in 3 blocks (4, 3, 3 rows) and decode. Chunk 2: no KV cache, bidirectional
// attention, a matmul left whole and a softmax after it.
//
// RUN: meshc opt %s --split-input-file -p 'split-rows{parts=3}' | filecheck %s
// RUN: meshc opt %s --split-input-file -p 'split-rows{parts=3},tile-grain{hw=mesh-2x2}' | filecheck %s --check-prefix=LABEL
// RUN: meshc opt %s --split-input-file -p 'split-rows{parts=1}' | filecheck %s --check-prefix=ONE
// RUN: not meshc opt %s -p 'split-rows{parts=0}' 2>&1 | filecheck %s --check-prefix=BAD

func.func @prefill(%0: tensor<1x10xi32>) -> tensor<1x1x64xbf16> {
  %1 = tfm.weight "embed.tokens" layer -1 other : tensor<64x32xbf16>
  %2 = tfm.embedding %0, %1 layer -1 other : tensor<1x10xi32>, tensor<64x32xbf16> -> tensor<1x10x32xbf16>
  %3 = tfm.weight "L0.attn_norm.weight" layer 0 attention : tensor<32xbf16>
  %4 = tfm.rmsnorm %2, %3 layer 0 attention : tensor<1x10x32xbf16>, tensor<32xbf16>
  %5 = tfm.weight "L0.q.weight" layer 0 attention : tensor<32x32xbf16>
  %6 = tfm.linear %4, %5 layer 0 attention : tensor<1x10x32xbf16>, tensor<32x32xbf16> -> tensor<1x10x32xbf16>
  %7 = tfm.weight "L0.k.weight" layer 0 attention : tensor<32x16xbf16>
  %8 = tfm.linear %4, %7 layer 0 attention : tensor<1x10x32xbf16>, tensor<32x16xbf16> -> tensor<1x10x16xbf16>
  %9 = tfm.weight "L0.v.weight" layer 0 attention : tensor<32x16xbf16>
  %10 = tfm.linear %4, %9 layer 0 attention : tensor<1x10x32xbf16>, tensor<32x16xbf16> -> tensor<1x10x16xbf16>
  %11 = tfm.rope %6 layer 0 attention : tensor<1x10x32xbf16>
  %12 = tfm.rope %8 layer 0 attention : tensor<1x10x16xbf16>
  %13 = tfm.kv_append "k" %12 layer 0 attention : tensor<1x10x16xbf16> -> tensor<1x10x16xbf16>
  %14 = tfm.kv_append "v" %10 layer 0 attention : tensor<1x10x16xbf16> -> tensor<1x10x16xbf16>
  %15 = tfm.attention mqa %11, %13, %14 heads 2 kv_heads 1 qk_dim 16 v_dim 16 causal layer 0 attention : tensor<1x10x32xbf16>, tensor<1x10x16xbf16>, tensor<1x10x16xbf16> -> tensor<1x10x32xbf16>
  %16 = tfm.weight "L0.o.weight" layer 0 attention : tensor<32x32xbf16>
  %17 = tfm.linear %15, %16 layer 0 attention : tensor<1x10x32xbf16>, tensor<32x32xbf16> -> tensor<1x10x32xbf16>
  %18 = tfm.add %2, %17 layer 0 attention : tensor<1x10x32xbf16>, tensor<1x10x32xbf16> -> tensor<1x10x32xbf16>
  %19 = tfm.weight "L0.mlp_norm.weight" layer 0 mlp : tensor<32xbf16>
  %20 = tfm.rmsnorm %18, %19 layer 0 mlp : tensor<1x10x32xbf16>, tensor<32xbf16>
  %21 = tfm.weight "L0.gate.weight" layer 0 mlp : tensor<32x64xbf16>
  %22 = tfm.linear %20, %21 layer 0 mlp : tensor<1x10x32xbf16>, tensor<32x64xbf16> -> tensor<1x10x64xbf16>
  %23 = tfm.weight "L0.up.weight" layer 0 mlp : tensor<32x64xbf16>
  %24 = tfm.linear %20, %23 layer 0 mlp : tensor<1x10x32xbf16>, tensor<32x64xbf16> -> tensor<1x10x64xbf16>
  %25 = tfm.activation "silu" %22 * %24 layer 0 mlp : tensor<1x10x64xbf16>
  %26 = tfm.weight "L0.down.weight" layer 0 mlp : tensor<64x32xbf16>
  %27 = tfm.linear %25, %26 layer 0 mlp : tensor<1x10x64xbf16>, tensor<64x32xbf16> -> tensor<1x10x32xbf16>
  %28 = tfm.add %18, %27 layer 0 mlp : tensor<1x10x32xbf16>, tensor<1x10x32xbf16> -> tensor<1x10x32xbf16>
  %29 = tfm.weight "final.norm.weight" layer -1 other : tensor<32xbf16>
  %30 = tfm.rmsnorm %28, %29 layer -1 other : tensor<1x10x32xbf16>, tensor<32xbf16>
  %31 = tfm.lm_head %30, %1 last layer -1 other : tensor<1x10x32xbf16>, tensor<64x32xbf16> -> tensor<1x1x64xbf16>
  func.return %31 : tensor<1x1x64xbf16>
}
func.func @decode(%0: tensor<1x1xi32>) -> tensor<1x1x64xbf16> {
  %1 = tfm.weight "embed.tokens" layer -1 other : tensor<64x32xbf16>
  %2 = tfm.embedding %0, %1 layer -1 other : tensor<1x1xi32>, tensor<64x32xbf16> -> tensor<1x1x32xbf16>
  %3 = tfm.weight "L0.attn_norm.weight" layer 0 attention : tensor<32xbf16>
  %4 = tfm.rmsnorm %2, %3 layer 0 attention : tensor<1x1x32xbf16>, tensor<32xbf16>
  %5 = tfm.weight "L0.q.weight" layer 0 attention : tensor<32x32xbf16>
  %6 = tfm.linear %4, %5 layer 0 attention : tensor<1x1x32xbf16>, tensor<32x32xbf16> -> tensor<1x1x32xbf16>
  %7 = tfm.weight "L0.k.weight" layer 0 attention : tensor<32x16xbf16>
  %8 = tfm.linear %4, %7 layer 0 attention : tensor<1x1x32xbf16>, tensor<32x16xbf16> -> tensor<1x1x16xbf16>
  %9 = tfm.weight "L0.v.weight" layer 0 attention : tensor<32x16xbf16>
  %10 = tfm.linear %4, %9 layer 0 attention : tensor<1x1x32xbf16>, tensor<32x16xbf16> -> tensor<1x1x16xbf16>
  %11 = tfm.rope %6 layer 0 attention : tensor<1x1x32xbf16>
  %12 = tfm.rope %8 layer 0 attention : tensor<1x1x16xbf16>
  %13 = tfm.kv_read "k" layer 0 attention : tensor<1x6x16xbf16>
  %14 = tfm.kv_append "k" %12 past %13 layer 0 attention : tensor<1x1x16xbf16>, tensor<1x6x16xbf16> -> tensor<1x7x16xbf16>
  %15 = tfm.kv_read "v" layer 0 attention : tensor<1x6x16xbf16>
  %16 = tfm.kv_append "v" %10 past %15 layer 0 attention : tensor<1x1x16xbf16>, tensor<1x6x16xbf16> -> tensor<1x7x16xbf16>
  %17 = tfm.attention mqa %11, %14, %16 heads 2 kv_heads 1 qk_dim 16 v_dim 16 causal layer 0 attention : tensor<1x1x32xbf16>, tensor<1x7x16xbf16>, tensor<1x7x16xbf16> -> tensor<1x1x32xbf16>
  %18 = tfm.weight "L0.o.weight" layer 0 attention : tensor<32x32xbf16>
  %19 = tfm.linear %17, %18 layer 0 attention : tensor<1x1x32xbf16>, tensor<32x32xbf16> -> tensor<1x1x32xbf16>
  %20 = tfm.add %2, %19 layer 0 attention : tensor<1x1x32xbf16>, tensor<1x1x32xbf16> -> tensor<1x1x32xbf16>
  %21 = tfm.weight "L0.mlp_norm.weight" layer 0 mlp : tensor<32xbf16>
  %22 = tfm.rmsnorm %20, %21 layer 0 mlp : tensor<1x1x32xbf16>, tensor<32xbf16>
  %23 = tfm.weight "L0.gate.weight" layer 0 mlp : tensor<32x64xbf16>
  %24 = tfm.linear %22, %23 layer 0 mlp : tensor<1x1x32xbf16>, tensor<32x64xbf16> -> tensor<1x1x64xbf16>
  %25 = tfm.weight "L0.up.weight" layer 0 mlp : tensor<32x64xbf16>
  %26 = tfm.linear %22, %25 layer 0 mlp : tensor<1x1x32xbf16>, tensor<32x64xbf16> -> tensor<1x1x64xbf16>
  %27 = tfm.activation "silu" %24 * %26 layer 0 mlp : tensor<1x1x64xbf16>
  %28 = tfm.weight "L0.down.weight" layer 0 mlp : tensor<64x32xbf16>
  %29 = tfm.linear %27, %28 layer 0 mlp : tensor<1x1x64xbf16>, tensor<64x32xbf16> -> tensor<1x1x32xbf16>
  %30 = tfm.add %20, %29 layer 0 mlp : tensor<1x1x32xbf16>, tensor<1x1x32xbf16> -> tensor<1x1x32xbf16>
  %31 = tfm.weight "final.norm.weight" layer -1 other : tensor<32xbf16>
  %32 = tfm.rmsnorm %30, %31 layer -1 other : tensor<1x1x32xbf16>, tensor<32xbf16>
  %33 = tfm.lm_head %32, %1 layer -1 other : tensor<1x1x32xbf16>, tensor<64x32xbf16> -> tensor<1x1x64xbf16>
  func.return %33 : tensor<1x1x64xbf16>
}


// CHECK-LABEL: func.func @prefill
// CHECK:      %[[IDS0:.*]] = tfm.slice %0 start 0 layer -1 other {meshc.part = #meshc.part<0>} : tensor<1x10xi32> -> tensor<1x4xi32>
// CHECK-NEXT: %[[E0:.*]] = tfm.embedding %[[IDS0]], %1 layer -1 other {meshc.part = #meshc.part<0>} : tensor<1x4xi32>, tensor<64x32xbf16> -> tensor<1x4x32xbf16>
// CHECK-NEXT: tfm.slice %0 start 4 {{.*}} -> tensor<1x3xi32>
// CHECK:      tfm.slice %0 start 7 {{.*}} -> tensor<1x3xi32>
// CHECK:      %[[K0:.*]] = tfm.kv_append "k" %{{.*}} layer 0 attention {meshc.part = #meshc.part<0>} : tensor<1x4x16xbf16> -> tensor<1x4x16xbf16>
// CHECK-NEXT: %[[K1:.*]] = tfm.kv_append "k" %{{.*}} past %[[K0]] {{.*}}{meshc.part = #meshc.part<1>} : tensor<1x3x16xbf16>, tensor<1x4x16xbf16> -> tensor<1x7x16xbf16>
// CHECK-NEXT: %[[K2:.*]] = tfm.kv_append "k" %{{.*}} past %[[K1]] {{.*}}{meshc.part = #meshc.part<2>} : tensor<1x3x16xbf16>, tensor<1x7x16xbf16> -> tensor<1x10x16xbf16>
// CHECK:      %[[V0:.*]] = tfm.kv_append "v"
// CHECK-NEXT: %[[V1:.*]] = tfm.kv_append "v"
// CHECK-NEXT: %[[V2:.*]] = tfm.kv_append "v"
// CHECK-NEXT: tfm.attention mqa %{{.*}}, %[[K0]], %[[V0]] {{.*}} causal {{.*}} -> tensor<1x4x32xbf16>
// CHECK-NEXT: tfm.attention mqa %{{.*}}, %[[K1]], %[[V1]] {{.*}} tensor<1x3x32xbf16>, tensor<1x7x16xbf16>, tensor<1x7x16xbf16> -> tensor<1x3x32xbf16>
// CHECK-NEXT: tfm.attention mqa %{{.*}}, %[[K2]], %[[V2]] {{.*}} tensor<1x3x32xbf16>, tensor<1x10x16xbf16>, tensor<1x10x16xbf16> -> tensor<1x3x32xbf16>
// CHECK:      tfm.add %[[E0]], %{{.*}} layer 0 attention {meshc.part = #meshc.part<0>} : tensor<1x4x32xbf16>, tensor<1x4x32xbf16>
// CHECK:      %[[N2:.*]] = tfm.rmsnorm %{{.*}}, %{{.*}} layer -1 other {meshc.part = #meshc.part<2>} : tensor<1x3x32xbf16>
// CHECK-NEXT: %[[LOGITS:.*]] = tfm.lm_head %[[N2]], %1 last layer -1 other : tensor<1x3x32xbf16>, tensor<64x32xbf16> -> tensor<1x1x64xbf16>
// CHECK-NEXT: func.return %[[LOGITS]]
// CHECK-LABEL: func.func @decode
// CHECK-NOT:  meshc.part
// CHECK-NOT:  tfm.slice
// CHECK:      func.return

// LABEL-LABEL: func.func @prefill
// LABEL:      label = "prefill.other.slice0.p0"
// LABEL:      label = "prefill.other.embedding0.p0"
// LABEL:      label = "prefill.other.slice0.p1"
// LABEL:      label = "prefill.L0.attention.q.p2"
// LABEL:      label = "prefill.L0.attention.kv_append.k.p1"
// LABEL:      label = "prefill.L0.attention.attention0.p2"
// LABEL:      label = "prefill.other.lm_head"
// LABEL-LABEL: func.func @decode
// LABEL:      label = "decode.L0.attention.q"

// ONE-NOT: meshc.part
// ONE-NOT: tfm.slice

// BAD: meshc opt: error: {{.*}}split-rows: parts must be a positive integer, got '0'
// -----

// No KV cache, bidirectional attention (every block reads all keys), a matmul left whole
// (it reads the blocks joined) and a softmax after it (it reads slices); the function
// returns the blocks joined.
func.func @encoder(%x: tensor<1x6x32xbf16>) -> tensor<1x6x6xbf16> {
  %w = tfm.weight "L0.q.weight" layer 0 attention : tensor<32x32xbf16>
  %q = tfm.linear %x, %w layer 0 attention : tensor<1x6x32xbf16>, tensor<32x32xbf16> -> tensor<1x6x32xbf16>
  %a = tfm.attention mha %q, %q, %q heads 2 kv_heads 2 qk_dim 16 v_dim 16 layer 0 attention : tensor<1x6x32xbf16>, tensor<1x6x32xbf16>, tensor<1x6x32xbf16> -> tensor<1x6x32xbf16>
  %s = tfm.matmul %a, %q transpose_b layer 0 attention : tensor<1x6x32xbf16>, tensor<1x6x32xbf16> -> tensor<1x6x6xbf16>
  %p = tfm.softmax %s layer 0 attention : tensor<1x6x6xbf16>
  func.return %p : tensor<1x6x6xbf16>
}

// CHECK-LABEL: func.func @encoder
// CHECK:      %[[X0:.*]] = tfm.slice %x start 0 layer 0 attention {meshc.part = #meshc.part<0>} : tensor<1x6x32xbf16> -> tensor<1x2x32xbf16>
// CHECK-NEXT: %[[Q0:.*]] = tfm.linear %[[X0]], %w
// CHECK:      %[[Q:.*]] = tfm.concat %[[Q0]], %{{.*}}, %{{.*}} axis 1 layer 0 attention : {{.*}} -> tensor<1x6x32xbf16>
// CHECK-NEXT: tfm.attention mha %[[Q0]], %[[Q]], %[[Q]] {{.*}} -> tensor<1x2x32xbf16>
// CHECK-NEXT: tfm.attention mha %{{.*}}, %[[Q]], %[[Q]]
// CHECK-NEXT: tfm.attention mha %{{.*}}, %[[Q]], %[[Q]]
// CHECK-NEXT: %[[A:.*]] = tfm.concat {{.*}} axis 1
// CHECK-NEXT: %[[S:.*]] = tfm.matmul %[[A]], %[[Q]] transpose_b
// CHECK-NEXT: tfm.slice %[[S]] start 0 {{.*}} -> tensor<1x2x6xbf16>
// CHECK-NEXT: tfm.softmax
// CHECK:      %[[P:.*]] = tfm.concat {{.*}} axis 1 {{.*}} -> tensor<1x6x6xbf16>
// CHECK-NEXT: func.return %[[P]]

// -----

// A position table added to the tokens (as torch's exporters emit it): the weight is cut
// along the tokens too; a bias row ([1, 1, 32]) broadcasts and stays whole.
func.func @positions(%x: tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16> {
  %pos = tfm.weight "pos" layer -1 other : tensor<1x8x32xbf16>
  %bias = tfm.weight "bias" layer -1 other : tensor<1x1x32xbf16>
  %a = tfm.add %x, %pos layer -1 other : tensor<1x8x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
  %b = tfm.add %a, %bias layer -1 other : tensor<1x8x32xbf16>, tensor<1x1x32xbf16> -> tensor<1x8x32xbf16>
  func.return %b : tensor<1x8x32xbf16>
}

// CHECK-LABEL: func.func @positions
// CHECK:      %[[X0:.*]] = tfm.slice %x start 0 {{.*}} -> tensor<1x3x32xbf16>
// CHECK-NEXT: %[[P0:.*]] = tfm.slice %pos start 0 {{.*}} -> tensor<1x3x32xbf16>
// CHECK-NEXT: %[[A0:.*]] = tfm.add %[[X0]], %[[P0]] {{.*}} : tensor<1x3x32xbf16>, tensor<1x3x32xbf16> -> tensor<1x3x32xbf16>
// CHECK:      tfm.slice %pos start 6 {{.*}} -> tensor<1x2x32xbf16>
// CHECK:      tfm.add %[[A0]], %bias {{.*}} : tensor<1x3x32xbf16>, tensor<1x1x32xbf16> -> tensor<1x3x32xbf16>
// CHECK:      %[[B:.*]] = tfm.concat {{.*}} axis 1 {{.*}} -> tensor<1x8x32xbf16>
// CHECK-NEXT: func.return %[[B]]
