// tfm IR the parser rejects: enum attributes with a value outside their enum.
// RUN: meshc opt %s --parsing-diagnostics --split-input-file | filecheck %s

// A block is attention, mlp or other.
func.func @block(%x: tensor<1x8x32xbf16>) {
  %0 = "tfm.softmax"(%x) <{layer = 0 : i64, block = #tfm<block ffn>}> : (tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: Expected `attention`, `mlp`, or `other`.

// -----

// The attention variants are mha, gqa, mqa and mla.
func.func @variant(%x: tensor<1x8x32xbf16>) {
  %0 = tfm.attention flash %x, %x, %x heads 4 kv_heads 4 qk_dim 8 v_dim 8 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: Expected `mha`, `gqa`, `mqa`, or `mla`.

// -----

// Every tfm op states its layer and block.
func.func @no_layer(%x: tensor<1x8x32xbf16>) {
  %0 = tfm.softmax %x : tensor<1x8x32xbf16>
  func.return
}
// CHECK: Expected 'layer'
