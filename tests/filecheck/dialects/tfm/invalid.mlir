// Invalid tfm IR: one case per verifier rule, each with a comment saying why it must fail.
// The diagnostic is anchored to the op that breaks the rule.
// RUN: MESHC_VERIFY_DIAG

// Layer indices start at 0; -1 marks ops outside the layer stack, so -2 means nothing.
func.func @layer(%x: tensor<1x8x32xbf16>) {
  %0 = tfm.softmax %x layer -2 other : tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.softmax"
// CHECK: Operation does not verify: layer must be >= -1, got -2

// -----

// A tensor with a zero dimension holds nothing: no op may produce one.
func.func @zero_dim() {
  %0 = tfm.weight "w" layer 0 mlp : tensor<0x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.weight"
// CHECK: Operation does not verify: result shape (0, 32) has a non-positive dimension

// -----

// A quantized weight needs both its group size and the type of its scales.
func.func @weight_group_without_scale() {
  %0 = "tfm.weight"() <{param = "w", group = 128 : i64, layer = 0 : i64, block = #tfm<block mlp>}> : () -> tensor<32x32xi4>
  func.return
}
// CHECK: %0 = "tfm.weight"
// CHECK: Operation does not verify: group and scale must be given together

// -----

// One scale per group of elements: a group of 0 elements is meaningless.
func.func @weight_group_zero() {
  %0 = tfm.weight "w" group 0 scale f16 layer 0 mlp : tensor<32x32xi4>
  func.return
}
// CHECK: %0 = "tfm.weight"
// CHECK: Operation does not verify: group must be positive, got 0

// -----

// The embedding result is [batch, tokens, hidden of the table]: 64 is not the table's 32.
func.func @embedding(%ids: tensor<1x8xi32>, %t: tensor<50x32xbf16>) {
  %0 = tfm.embedding %ids, %t layer -1 other : tensor<1x8xi32>, tensor<50x32xbf16> -> tensor<1x8x64xbf16>
  func.return
}
// CHECK: %0 = "tfm.embedding"
// CHECK: Operation does not verify: embedding of ids (1, 8) in table (50, 32) cannot give (1, 8, 64)

// -----

// Linear: the weight's rows (16) must equal the activation's features (32).
func.func @linear_k(%x: tensor<1x8x32xbf16>, %w: tensor<16x64xbf16>) {
  %0 = tfm.linear %x, %w layer 0 mlp : tensor<1x8x32xbf16>, tensor<16x64xbf16> -> tensor<1x8x64xbf16>
  func.return
}
// CHECK: %0 = "tfm.linear"
// CHECK: Operation does not verify: linear of (1, 8, 32) by weight (16, 64) cannot give (1, 8, 64)

// -----

// Linear: the bias has one entry per output feature (64), not 32.
func.func @linear_bias(%x: tensor<1x8x32xbf16>, %w: tensor<32x64xbf16>, %b: tensor<32xbf16>) {
  %0 = tfm.linear %x, %w bias %b layer 0 mlp : tensor<1x8x32xbf16>, tensor<32x64xbf16>, tensor<32xbf16> -> tensor<1x8x64xbf16>
  func.return
}
// CHECK: %0 = "tfm.linear"
// CHECK: Operation does not verify: bias (32,) does not match width 64

// -----

// LM head with `last` projects one token per sequence, not all 8.
func.func @lm_head_last(%x: tensor<1x8x32xbf16>, %t: tensor<50x32xbf16>) {
  %0 = tfm.lm_head %x, %t last layer -1 other : tensor<1x8x32xbf16>, tensor<50x32xbf16> -> tensor<1x8x50xbf16>
  func.return
}
// CHECK: %0 = "tfm.lm_head"
// CHECK: Operation does not verify: lm_head of (1, 8, 32) by table (50, 32) cannot give (1, 8, 50)

// -----

// Batched matmul needs operands of the same rank.
func.func @matmul_rank(%a: tensor<1x8x32xbf16>, %b: tensor<32x8xbf16>) {
  %0 = tfm.matmul %a, %b layer 0 attention : tensor<1x8x32xbf16>, tensor<32x8xbf16> -> tensor<1x8x8xbf16>
  func.return
}
// CHECK: %0 = "tfm.matmul"
// CHECK: Operation does not verify: matmul operands (1, 8, 32) and (32, 8) must have the same rank >= 2

// -----

// With transpose_b, b is [.., N, K]: its last axis (8) must match a's K (32).
func.func @matmul_k(%a: tensor<1x8x32xbf16>, %b: tensor<1x32x8xbf16>) {
  %0 = tfm.matmul %a, %b transpose_b layer 0 attention : tensor<1x8x32xbf16>, tensor<1x32x8xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.matmul"
// CHECK: Operation does not verify: matmul of (1, 8, 32) by (1, 32, 8) cannot give (1, 8, 32)

// -----

// GQA shares each KV head among heads / kv_heads query heads: 4 heads over 3 does not divide.
func.func @attention_heads(%q: tensor<1x8x32xbf16>, %k: tensor<1x8x24xbf16>) {
  %0 = tfm.attention gqa %q, %k, %k heads 4 kv_heads 3 qk_dim 8 v_dim 8 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x24xbf16>, tensor<1x8x24xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.attention"
// CHECK: Operation does not verify: heads (4) must be a positive multiple of kv_heads (3)

// -----

// K and V must hold the same number of entries (8 and 9 here).
func.func @attention_kv_len(%q: tensor<1x8x32xbf16>, %k: tensor<1x8x32xbf16>, %v: tensor<1x9x32xbf16>) {
  %0 = tfm.attention mha %q, %k, %v heads 4 kv_heads 4 qk_dim 8 v_dim 8 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x32xbf16>, tensor<1x9x32xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.attention"
// CHECK: Operation does not verify: attention operands (1, 8, 32), (1, 8, 32), (1, 9, 32) are not [B, len, features]

// -----

// The result is [batch, q_len, heads * v_dim] = (1, 8, 32), not 64 features.
func.func @attention_result(%q: tensor<1x8x32xbf16>) {
  %0 = tfm.attention mha %q, %q, %q heads 4 kv_heads 4 qk_dim 8 v_dim 8 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x64xbf16>
  func.return
}
// CHECK: %0 = "tfm.attention"
// CHECK: Operation does not verify: attention result (1, 8, 64) should be (1, 8, 32)

// -----

// The variant follows from the head counts: 4 heads over 1 KV head is MQA, not GQA.
func.func @attention_variant(%q: tensor<1x8x32xbf16>, %k: tensor<1x8x8xbf16>) {
  %0 = tfm.attention gqa %q, %k, %k heads 4 kv_heads 1 qk_dim 8 v_dim 8 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x8xbf16>, tensor<1x8x8xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.attention"
// CHECK: Operation does not verify: 4 heads over 1 kv_heads is mqa, not gqa

// -----

// Only MLA has different qk and v head widths (and an absorbed kv_b weight).
func.func @attention_dims(%q: tensor<1x8x32xbf16>, %v: tensor<1x8x16xbf16>) {
  %0 = tfm.attention mha %q, %q, %v heads 4 kv_heads 4 qk_dim 8 v_dim 4 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x32xbf16>, tensor<1x8x16xbf16> -> tensor<1x8x16xbf16>
  func.return
}
// CHECK: %0 = "tfm.attention"
// CHECK: Operation does not verify: absorb and qk_dim != v_dim are only allowed for mla

// -----

// q packs heads * qk_dim = 4 * 8 = 32 features; 48 does not.
func.func @attention_packing(%q: tensor<1x8x48xbf16>, %k: tensor<1x8x32xbf16>) {
  %0 = tfm.attention mha %q, %k, %k heads 4 kv_heads 4 qk_dim 8 v_dim 8 layer 0 attention : tensor<1x8x48xbf16>, tensor<1x8x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.attention"
// CHECK: Operation does not verify: q (1, 8, 48), k (1, 8, 32), v (1, 8, 32) do not pack heads=4, kv_heads=4, qk_dim=8, v_dim=8

// -----

// MLA attends over the latent cache only through the absorbed kv_b weight.
func.func @mla_absorb(%q: tensor<1x8x32xbf16>, %c: tensor<1x8x20xbf16>) {
  %0 = tfm.attention mla %q, %c, %c heads 4 kv_heads 1 qk_dim 8 v_dim 8 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x20xbf16>, tensor<1x8x20xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.attention"
// CHECK: Operation does not verify: mla attention needs `absorb` (the kv_b weight) and rope_dim

// -----

// MLA has one shared latent "KV head", and its rope part is narrower than the qk head.
func.func @mla_heads(%q: tensor<1x8x32xbf16>, %c: tensor<1x8x20xbf16>, %w: tensor<16x48xbf16>) {
  %0 = tfm.attention mla %q, %c, %c absorb %w rope_dim 8 heads 4 kv_heads 1 qk_dim 8 v_dim 8 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x20xbf16>, tensor<1x8x20xbf16>, tensor<16x48xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.attention"
// CHECK: Operation does not verify: mla needs kv_heads = 1 and 0 <= rope_dim < qk_dim (8)

// -----

// The latent cache holds latent + rope_dim = 16 + 4 = 20 features per token, not 24.
func.func @mla_latent(%q: tensor<1x8x32xbf16>, %c: tensor<1x8x24xbf16>, %w: tensor<16x48xbf16>) {
  %0 = tfm.attention mla %q, %c, %c absorb %w rope_dim 4 heads 4 kv_heads 1 qk_dim 8 v_dim 8 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x24xbf16>, tensor<1x8x24xbf16>, tensor<16x48xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.attention"
// CHECK: Operation does not verify: mla q (1, 8, 32), latent k (1, 8, 24), v (1, 8, 24) do not match heads=4, qk_dim=8, latent=16, rope_dim=4

// -----

// kv_b is [latent, heads * (qk_dim - rope_dim + v_dim)] = [16, 4 * 12]; 40 columns is wrong.
func.func @mla_kv_b(%q: tensor<1x8x32xbf16>, %c: tensor<1x8x20xbf16>, %w: tensor<16x40xbf16>) {
  %0 = tfm.attention mla %q, %c, %c absorb %w rope_dim 4 heads 4 kv_heads 1 qk_dim 8 v_dim 8 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x20xbf16>, tensor<1x8x20xbf16>, tensor<16x40xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.attention"
// CHECK: Operation does not verify: mla kv_b weight (16, 40) should be (16, 48)

// -----

// A norm scales each of the 32 features: its gamma has 32 entries, not 16.
func.func @rmsnorm_gamma(%x: tensor<1x8x32xbf16>, %g: tensor<16xbf16>) {
  %0 = tfm.rmsnorm %x, %g layer 0 mlp : tensor<1x8x32xbf16>, tensor<16xbf16>
  func.return
}
// CHECK: %0 = "tfm.rmsnorm"
// CHECK: Operation does not verify: norm parameter (16,) must be (32,)

// -----

// The same rule holds for LayerNorm's shift (beta).
func.func @layernorm_beta(%x: tensor<1x8x32xbf16>, %g: tensor<32xbf16>, %b: tensor<1x32xbf16>) {
  %0 = tfm.layernorm %x, %g, %b layer 0 mlp : tensor<1x8x32xbf16>, tensor<32xbf16>, tensor<1x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.layernorm"
// CHECK: Operation does not verify: norm parameter (1, 32) must be (32,)

// -----

// meshc knows the cost of relu, gelu, gelu_tanh, silu and sigmoid only.
func.func @activation_kind(%x: tensor<1x8x32xbf16>) {
  %0 = tfm.activation "swish" %x layer 0 mlp : tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.activation"
// CHECK: Operation does not verify: unknown activation 'swish'; known: relu, gelu, gelu_tanh, silu, sigmoid

// -----

// Unary ops keep their operand's type (generic form: the custom form cannot even say this).
func.func @softmax_type(%x: tensor<1x8x32xbf16>) {
  %0 = "tfm.softmax"(%x) <{layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>) -> tensor<1x8x32xf32>
  func.return
}
// CHECK: %0 = "tfm.softmax"
// CHECK: Operation does not verify: result 'result' at position 0 does not verify:

// -----

// The gated form multiplies act(gate) by up elementwise: both must have one type.
func.func @activation_up(%x: tensor<1x8x32xbf16>, %u: tensor<1x8x16xbf16>) {
  %0 = "tfm.activation"(%x, %u) <{kind = "silu", layer = 0 : i64, block = #tfm<block mlp>}> : (tensor<1x8x32xbf16>, tensor<1x8x16xbf16>) -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.activation"
// CHECK: Operation does not verify: operand 'up' at position 1 does not verify:

// -----

// Elementwise ops broadcast like numpy: 32 and 16 features do not broadcast.
func.func @add_broadcast(%a: tensor<1x8x32xbf16>, %b: tensor<1x8x16xbf16>) {
  %0 = tfm.add %a, %b layer 0 mlp : tensor<1x8x32xbf16>, tensor<1x8x16xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.add"
// CHECK: Operation does not verify: cannot broadcast (1, 8, 32) and (1, 8, 16) to (1, 8, 32)

// -----

// Concatenation on the last axis: 32 + 16 features make 48, not 64.
func.func @concat(%a: tensor<1x8x32xbf16>, %b: tensor<1x8x16xbf16>) {
  %0 = tfm.concat %a, %b layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x16xbf16> -> tensor<1x8x64xbf16>
  func.return
}
// CHECK: %0 = "tfm.concat"
// CHECK: Operation does not verify: concatenating [(1, 8, 32), (1, 8, 16)] on the last axis cannot give (1, 8, 64)

// -----

// Concatenation on the rows (axis 1) needs equal features: 32 and 16 differ.
func.func @concat_rows(%a: tensor<1x8x32xbf16>, %b: tensor<1x4x16xbf16>) {
  %0 = tfm.concat %a, %b axis 1 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x4x16xbf16> -> tensor<1x12x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.concat"
// CHECK: Operation does not verify: concatenating [(1, 8, 32), (1, 4, 16)] on axis 1 cannot give (1, 12, 32)

// -----

// Rows [6, 10) of an 8-row activation do not exist.
func.func @slice(%a: tensor<1x8x32xbf16>) {
  %0 = tfm.slice %a start 6 layer 0 attention : tensor<1x8x32xbf16> -> tensor<1x4x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.slice"
// CHECK: Operation does not verify: rows [6, 10) of (1, 8, 32) cannot give (1, 4, 32)

// -----

// A token cannot be routed to more experts (5) than there are (4).
func.func @moe_top_k(%x: tensor<1x8x32xbf16>, %r: tensor<32x4xbf16>, %g: tensor<4x32x16xbf16>, %d: tensor<4x16x32xbf16>) {
  %0 = tfm.moe %x, %r, %g, %g, %d experts 4 top_k 5 shared 0 layer 1 mlp : tensor<1x8x32xbf16>, tensor<32x4xbf16>, tensor<4x32x16xbf16>, tensor<4x32x16xbf16>, tensor<4x16x32xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.moe"
// CHECK: Operation does not verify: need 0 < top_k (5) <= experts (4), 0 < local (4) <= experts and shared (0) >= 0

// -----

// The expert weights stack experts + shared = 4 + 1 = 5 experts, but hold only 4.
func.func @moe_weights(%x: tensor<1x8x32xbf16>, %r: tensor<32x4xbf16>, %g: tensor<4x32x16xbf16>, %d: tensor<4x16x32xbf16>) {
  %0 = tfm.moe %x, %r, %g, %g, %d experts 4 top_k 2 shared 1 layer 1 mlp : tensor<1x8x32xbf16>, tensor<32x4xbf16>, tensor<4x32x16xbf16>, tensor<4x32x16xbf16>, tensor<4x16x32xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.moe"
// CHECK: Operation does not verify: moe weights router (32, 4), gate (4, 32, 16), up (4, 32, 16), down (4, 16, 32) do not match input (1, 8, 32) with 4 of 4 experts + 1 shared

// -----

// Experts map the hidden state back to its own shape.
func.func @moe_result(%x: tensor<1x8x32xbf16>, %r: tensor<32x4xbf16>, %g: tensor<4x32x16xbf16>, %d: tensor<4x16x32xbf16>) {
  %0 = tfm.moe %x, %r, %g, %g, %d experts 4 top_k 2 shared 0 layer 1 mlp : tensor<1x8x32xbf16>, tensor<32x4xbf16>, tensor<4x32x16xbf16>, tensor<4x32x16xbf16>, tensor<4x16x32xbf16> -> tensor<1x1x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.moe"
// CHECK: Operation does not verify: moe result must have the input's shape

// -----

// Past and new cache entries must agree in batch (1 vs 2) and width.
func.func @kv_append_past(%new: tensor<1x1x16xbf16>, %past: tensor<2x5x16xbf16>) {
  %0 = tfm.kv_append "k" %new past %past layer 0 attention : tensor<1x1x16xbf16>, tensor<2x5x16xbf16> -> tensor<1x6x16xbf16>
  func.return
}
// CHECK: %0 = "tfm.kv_append"
// CHECK: Operation does not verify: past (2, 5, 16) and new (1, 1, 16) differ

// -----

// Appending 1 entry to 5 gives a cache of 6 entries, not 5.
func.func @kv_append_len(%new: tensor<1x1x16xbf16>, %past: tensor<1x5x16xbf16>) {
  %0 = tfm.kv_append "k" %new past %past layer 0 attention : tensor<1x1x16xbf16>, tensor<1x5x16xbf16> -> tensor<1x5x16xbf16>
  func.return
}
// CHECK: %0 = "tfm.kv_append"
// CHECK: Operation does not verify: appending (1, 1, 16) to 5 entries cannot give (1, 5, 16)

// -----

// Quantization changes the element type, never the shape.
func.func @quantize_shape(%x: tensor<1x8x32xbf16>) {
  %0 = tfm.quantize %x group 32 layer 0 mlp : tensor<1x8x32xbf16> -> tensor<1x8x16xi8>
  func.return
}
// CHECK: %0 = "tfm.quantize"
// CHECK: Operation does not verify: quantize must keep the shape

// -----

// One scale per group of elements: a group of 0 elements is meaningless.
func.func @quantize_group(%x: tensor<1x8x32xbf16>) {
  %0 = tfm.quantize %x group 0 layer 0 mlp : tensor<1x8x32xbf16> -> tensor<1x8x32xi8>
  func.return
}
// CHECK: %0 = "tfm.quantize"
// CHECK: Operation does not verify: group must be positive

// -----

// Dequantization widens the element type, never changes the shape.
func.func @dequantize_shape(%x: tensor<1x8x32xi8>) {
  %0 = tfm.dequantize %x layer 0 mlp : tensor<1x8x32xi8> -> tensor<8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.dequantize"
// CHECK: Operation does not verify: dequantize must keep the shape

// -----

// A generic op states its work; negative work is impossible.
func.func @generic_work(%x: tensor<1x8x32xbf16>) {
  %0 = tfm.generic "TopK"(%x) macs -1 vector_ops 0 layer -1 other : (tensor<1x8x32xbf16>) -> tensor<1x8x2xi32>
  func.return
}
// CHECK: %0 = "tfm.generic"
// CHECK: Operation does not verify: macs and vector_ops must be >= 0

// -----

// A generic op's MACs are either activation x weight (linear) or activation x activation
// (attention); there is no third share to count them in.
func.func @generic_mac_kind(%x: tensor<1x8x32xbf16>) {
  %0 = tfm.generic "Conv"(%x) macs 10 kind "conv" vector_ops 0 layer -1 other : (tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.generic"
// CHECK: Operation does not verify: mac kind must be one of linear, attention, got 'conv'

// -----

// Rank checks come before any shape arithmetic: the LM head needs a [B, T, D] input.
func.func @lm_head_rank(%x: tensor<32xbf16>, %t: tensor<50x32xbf16>) {
  %0 = tfm.lm_head %x, %t layer -1 other : tensor<32xbf16>, tensor<50x32xbf16> -> tensor<1x1x50xbf16>
  func.return
}
// CHECK: %0 = "tfm.lm_head"
// CHECK: Operation does not verify: lm_head of (32,) by table (50, 32) cannot give (1, 1, 50)

// -----

// Attention operands are [B, len, features]; a rank-1 q has no batch or length.
func.func @attention_rank(%q: tensor<32xbf16>) {
  %0 = tfm.attention mha %q, %q, %q heads 4 kv_heads 4 qk_dim 8 v_dim 8 layer 0 attention : tensor<32xbf16>, tensor<32xbf16>, tensor<32xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.attention"
// CHECK: Operation does not verify: attention operands (32,), (32,), (32,) are not [B, len, features]

// -----

// The past of a KV cache is [B, len, width] like the new entries.
func.func @kv_append_past_rank(%n: tensor<1x1x16xbf16>, %p: tensor<16xbf16>) {
  %0 = tfm.kv_append "k" %n past %p layer 0 attention : tensor<1x1x16xbf16>, tensor<16xbf16> -> tensor<1x2x16xbf16>
  func.return
}
// CHECK: %0 = "tfm.kv_append"
// CHECK: Operation does not verify: past (16,) is not [B, len, width]

// -----

// A linear multiplies the last axis of its input: a rank-0 input has none.
func.func @linear_rank(%x: tensor<bf16>, %w: tensor<32x64xbf16>) {
  %0 = tfm.linear %x, %w layer 0 mlp : tensor<bf16>, tensor<32x64xbf16> -> tensor<1x8x64xbf16>
  func.return
}
// CHECK: %0 = "tfm.linear"
// CHECK: Operation does not verify: linear of () by weight (32, 64) cannot give (1, 8, 64)

// -----

// A norm normalises over the last axis: a rank-0 input has none.
func.func @norm_rank(%x: tensor<bf16>, %g: tensor<32xbf16>) {
  %0 = tfm.rmsnorm %x, %g layer 0 mlp : tensor<bf16>, tensor<32xbf16>
  func.return
}
// CHECK: %0 = "tfm.rmsnorm"
// CHECK: Operation does not verify: a norm needs an input of rank >= 1

// -----

// A collective crosses chips: one chip has no one to exchange with.
func.func @collective_one_chip(%x: tensor<1x1x32xbf16>) {
  %0 = tfm.collective all_reduce %x chips 1 layer 0 mlp : tensor<1x1x32xbf16> -> tensor<1x1x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.collective"
// CHECK: Operation does not verify: a collective needs at least 2 chips, got 1

// -----

// An all-gather of 4 shards of 32 holds 128 features, not 64.
func.func @collective_gather(%x: tensor<1x1x32xbf16>) {
  %0 = tfm.collective all_gather %x chips 4 layer -1 other : tensor<1x1x32xbf16> -> tensor<1x1x64xbf16>
  func.return
}
// CHECK: %0 = "tfm.collective"
// CHECK: Operation does not verify: all_gather of (1, 1, 32) over 4 chips gives (1, 1, 128), not (1, 1, 64)

// -----

// Only an all-to-all sends a row to several chips (a MoE's top-k), at most to all of them.
func.func @collective_fanout(%x: tensor<1x1x32xbf16>) {
  %0 = tfm.collective all_reduce %x chips 4 fanout 2 layer 0 mlp : tensor<1x1x32xbf16> -> tensor<1x1x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.collective"
// CHECK: Operation does not verify: fanout 2: only an all_to_all has one, 1 .. 4

// -----

// A chip's share of a MoE's experts is at most all of them.
func.func @moe_local(%x: tensor<1x8x32xbf16>, %r: tensor<32x4xbf16>, %g: tensor<8x32x16xbf16>, %d: tensor<8x16x32xbf16>) {
  %0 = tfm.moe %x, %r, %g, %g, %d experts 4 local 8 top_k 2 shared 0 layer 1 mlp : tensor<1x8x32xbf16>, tensor<32x4xbf16>, tensor<8x32x16xbf16>, tensor<8x32x16xbf16>, tensor<8x16x32xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.moe"
// CHECK: Operation does not verify: need 0 < top_k (2) <= experts (4), 0 < local (8) <= experts and shared (0) >= 0

// -----

// A padded all-gather drops at most the last shard's padding: 4 shards of 32 hold 97..128.
func.func @collective_gather_padding(%x: tensor<1x1x32xbf16>) {
  %0 = tfm.collective all_gather %x chips 4 layer -1 other : tensor<1x1x32xbf16> -> tensor<1x1x96xbf16>
  func.return
}
// CHECK: %0 = "tfm.collective"
// CHECK: Operation does not verify: all_gather of (1, 1, 32) over 4 chips gives (1, 1, 128), not (1, 1, 96)
