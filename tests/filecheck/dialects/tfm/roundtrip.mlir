// The tfm dialect: every op in its custom form, printed generically, re-parsed and printed
// back in the custom form (MESHC_ROUNDTRIP), and its generic form (MESHC_GENERIC_ROUNDTRIP).
// RUN: MESHC_ROUNDTRIP
// RUN: MESHC_GENERIC_ROUNDTRIP

func.func @prefill(%ids: tensor<1x8xi32>) -> (tensor<1x1x50xbf16>, tensor<1x8x8xbf16>, tensor<1x8x2xi32>) {
  %table = tfm.weight "embed.tokens" layer -1 other : tensor<50x32xbf16>
  %x = tfm.embedding %ids, %table layer -1 other : tensor<1x8xi32>, tensor<50x32xbf16> -> tensor<1x8x32xbf16>
  %gamma = tfm.weight "L0.attn_norm.weight" layer 0 attention : tensor<32xbf16>
  %beta = tfm.weight "L0.attn_norm.bias" layer 0 attention : tensor<32xbf16>
  %n = tfm.layernorm %x, %gamma, %beta layer 0 attention : tensor<1x8x32xbf16>, tensor<32xbf16>, tensor<32xbf16>
  %n2 = tfm.layernorm %x, %gamma layer 0 attention : tensor<1x8x32xbf16>, tensor<32xbf16>
  %r = tfm.rmsnorm %n, %gamma layer 0 attention : tensor<1x8x32xbf16>, tensor<32xbf16>
  %wq = tfm.weight "L0.q.weight" group 128 scale f16 layer 0 attention : tensor<32x32xi4>
  %q = tfm.linear %r, %wq layer 0 attention : tensor<1x8x32xbf16>, tensor<32x32xi4> -> tensor<1x8x32xbf16>
  %wkv = tfm.weight "L0.kv.weight" layer 0 attention : tensor<32x16xbf16>
  %bkv = tfm.weight "L0.kv.bias" layer 0 attention : tensor<16xbf16>
  %kv = tfm.linear %r, %wkv bias %bkv layer 0 attention : tensor<1x8x32xbf16>, tensor<32x16xbf16>, tensor<16xbf16> -> tensor<1x8x16xbf16>
  %rq = tfm.rope %q layer 0 attention : tensor<1x8x32xbf16>
  %past = tfm.kv_read "k" layer 0 attention : tensor<1x5x16xbf16>
  %c = tfm.kv_append "k" %kv past %past layer 0 attention : tensor<1x8x16xbf16>, tensor<1x5x16xbf16> -> tensor<1x13x16xbf16>
  %c0 = tfm.kv_append "v" %kv layer 0 attention : tensor<1x8x16xbf16> -> tensor<1x8x16xbf16>
  %o = tfm.attention gqa %rq, %c, %c heads 4 kv_heads 2 qk_dim 8 v_dim 8 causal layer 0 attention : tensor<1x8x32xbf16>, tensor<1x13x16xbf16>, tensor<1x13x16xbf16> -> tensor<1x8x32xbf16>
  %o2 = tfm.attention mha %q, %q, %q heads 4 kv_heads 4 qk_dim 8 v_dim 8 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
  %s = tfm.matmul %q, %q transpose_b layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x8xbf16>
  %s2 = tfm.matmul %s, %q layer 0 attention : tensor<1x8x8xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
  %p = tfm.softmax %s layer 0 attention : tensor<1x8x8xbf16>
  %oo = tfm.concat %o, %o2 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x64xbf16>
  %rows = tfm.slice %o start 2 layer 0 attention : tensor<1x8x32xbf16> -> tensor<1x5x32xbf16>
  %joined = tfm.concat %rows, %o axis 1 layer 0 attention : tensor<1x5x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x13x32xbf16>
  %a = tfm.activation "silu" %o * %q layer 1 mlp : tensor<1x8x32xbf16>
  %a2 = tfm.activation "gelu_tanh" %o layer 1 mlp : tensor<1x8x32xbf16>
  %sum = tfm.add %a, %a2 layer 1 mlp : tensor<1x8x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
  %am = tfm.mul %sum, %gamma layer 1 mlp : tensor<1x8x32xbf16>, tensor<32xbf16> -> tensor<1x8x32xbf16>
  %router = tfm.weight "L1.router.weight" layer 1 mlp : tensor<32x4xbf16>
  %gate = tfm.weight "L1.experts.gate" layer 1 mlp : tensor<5x32x16xbf16>
  %up = tfm.weight "L1.experts.up" layer 1 mlp : tensor<5x32x16xbf16>
  %down = tfm.weight "L1.experts.down" layer 1 mlp : tensor<5x16x32xbf16>
  %mo = tfm.moe %am, %router, %gate, %up, %down experts 4 top_k 2 shared 1 layer 1 mlp : tensor<1x8x32xbf16>, tensor<32x4xbf16>, tensor<5x32x16xbf16>, tensor<5x32x16xbf16>, tensor<5x16x32xbf16> -> tensor<1x8x32xbf16>
  %qz = tfm.quantize %mo group 32 layer 1 mlp : tensor<1x8x32xbf16> -> tensor<1x8x32xf8E4M3FN>
  %dq = tfm.dequantize %qz layer 1 mlp : tensor<1x8x32xf8E4M3FN> -> tensor<1x8x32xbf16>
  %ar = tfm.collective all_reduce %dq chips 4 layer 1 mlp : tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
  %a2a = tfm.collective all_to_all %ar chips 4 fanout 2 layer 1 mlp : tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
  %lat = tfm.kv_read "kv" layer 2 attention : tensor<1x8x20xbf16>
  %kv_b = tfm.weight "L2.kv_b.weight" layer 2 attention : tensor<16x48xbf16>
  %mla = tfm.attention mla %dq, %lat, %lat absorb %kv_b rope_dim 4 heads 4 kv_heads 1 qk_dim 8 v_dim 8 causal layer 2 attention : tensor<1x8x32xbf16>, tensor<1x8x20xbf16>, tensor<1x8x20xbf16>, tensor<16x48xbf16> -> tensor<1x8x32xbf16>
  %g1, %g2 = tfm.generic "TopK"(%mla, %oo) macs 0 vector_ops 7 layer -1 other : (tensor<1x8x32xbf16>, tensor<1x8x64xbf16>) -> (tensor<1x8x2xi32>, tensor<1x8x2xi32>)
  %gm = tfm.generic "Einsum"(%mla) macs 1024 kind "linear" vector_ops 0 layer 2 mlp : (tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
  %y = tfm.lm_head %dq, %table last layer -1 other : tensor<1x8x32xbf16>, tensor<50x32xbf16> -> tensor<1x1x50xbf16>
  %y2 = tfm.lm_head %dq, %table layer -1 other : tensor<1x8x32xbf16>, tensor<50x32xbf16> -> tensor<1x8x50xbf16>
  func.return %y, %p, %g1 : tensor<1x1x50xbf16>, tensor<1x8x8xbf16>, tensor<1x8x2xi32>
}

// CHECK:      builtin.module {
// CHECK-NEXT: func.func @prefill(%ids: tensor<1x8xi32>) -> (tensor<1x1x50xbf16>, tensor<1x8x8xbf16>, tensor<1x8x2xi32>) {
// CHECK-NEXT: %table = tfm.weight "embed.tokens" layer -1 other : tensor<50x32xbf16>
// CHECK-NEXT: %x = tfm.embedding %ids, %table layer -1 other : tensor<1x8xi32>, tensor<50x32xbf16> -> tensor<1x8x32xbf16>
// CHECK-NEXT: %gamma = tfm.weight "L0.attn_norm.weight" layer 0 attention : tensor<32xbf16>
// CHECK-NEXT: %beta = tfm.weight "L0.attn_norm.bias" layer 0 attention : tensor<32xbf16>
// CHECK-NEXT: %n = tfm.layernorm %x, %gamma, %beta layer 0 attention : tensor<1x8x32xbf16>, tensor<32xbf16>, tensor<32xbf16>
// CHECK-NEXT: %n2 = tfm.layernorm %x, %gamma layer 0 attention : tensor<1x8x32xbf16>, tensor<32xbf16>
// CHECK-NEXT: %r = tfm.rmsnorm %n, %gamma layer 0 attention : tensor<1x8x32xbf16>, tensor<32xbf16>
// CHECK-NEXT: %wq = tfm.weight "L0.q.weight" group 128 scale f16 layer 0 attention : tensor<32x32xi4>
// CHECK-NEXT: %q = tfm.linear %r, %wq layer 0 attention : tensor<1x8x32xbf16>, tensor<32x32xi4> -> tensor<1x8x32xbf16>
// CHECK-NEXT: %wkv = tfm.weight "L0.kv.weight" layer 0 attention : tensor<32x16xbf16>
// CHECK-NEXT: %bkv = tfm.weight "L0.kv.bias" layer 0 attention : tensor<16xbf16>
// CHECK-NEXT: %kv = tfm.linear %r, %wkv bias %bkv layer 0 attention : tensor<1x8x32xbf16>, tensor<32x16xbf16>, tensor<16xbf16> -> tensor<1x8x16xbf16>
// CHECK-NEXT: %rq = tfm.rope %q layer 0 attention : tensor<1x8x32xbf16>
// CHECK-NEXT: %past = tfm.kv_read "k" layer 0 attention : tensor<1x5x16xbf16>
// CHECK-NEXT: %c = tfm.kv_append "k" %kv past %past layer 0 attention : tensor<1x8x16xbf16>, tensor<1x5x16xbf16> -> tensor<1x13x16xbf16>
// CHECK-NEXT: %c0 = tfm.kv_append "v" %kv layer 0 attention : tensor<1x8x16xbf16> -> tensor<1x8x16xbf16>
// CHECK-NEXT: %o = tfm.attention gqa %rq, %c, %c heads 4 kv_heads 2 qk_dim 8 v_dim 8 causal layer 0 attention : tensor<1x8x32xbf16>, tensor<1x13x16xbf16>, tensor<1x13x16xbf16> -> tensor<1x8x32xbf16>
// CHECK-NEXT: %o2 = tfm.attention mha %q, %q, %q heads 4 kv_heads 4 qk_dim 8 v_dim 8 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
// CHECK-NEXT: %s = tfm.matmul %q, %q transpose_b layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x8xbf16>
// CHECK-NEXT: %s2 = tfm.matmul %s, %q layer 0 attention : tensor<1x8x8xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
// CHECK-NEXT: %p = tfm.softmax %s layer 0 attention : tensor<1x8x8xbf16>
// CHECK-NEXT: %oo = tfm.concat %o, %o2 layer 0 attention : tensor<1x8x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x64xbf16>
// CHECK-NEXT: %rows = tfm.slice %o start 2 layer 0 attention : tensor<1x8x32xbf16> -> tensor<1x5x32xbf16>
// CHECK-NEXT: %joined = tfm.concat %rows, %o axis 1 layer 0 attention : tensor<1x5x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x13x32xbf16>
// CHECK-NEXT: %a = tfm.activation "silu" %o * %q layer 1 mlp : tensor<1x8x32xbf16>
// CHECK-NEXT: %a2 = tfm.activation "gelu_tanh" %o layer 1 mlp : tensor<1x8x32xbf16>
// CHECK-NEXT: %sum = tfm.add %a, %a2 layer 1 mlp : tensor<1x8x32xbf16>, tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
// CHECK-NEXT: %am = tfm.mul %sum, %gamma layer 1 mlp : tensor<1x8x32xbf16>, tensor<32xbf16> -> tensor<1x8x32xbf16>
// CHECK-NEXT: %router = tfm.weight "L1.router.weight" layer 1 mlp : tensor<32x4xbf16>
// CHECK-NEXT: %gate = tfm.weight "L1.experts.gate" layer 1 mlp : tensor<5x32x16xbf16>
// CHECK-NEXT: %up = tfm.weight "L1.experts.up" layer 1 mlp : tensor<5x32x16xbf16>
// CHECK-NEXT: %down = tfm.weight "L1.experts.down" layer 1 mlp : tensor<5x16x32xbf16>
// CHECK-NEXT: %mo = tfm.moe %am, %router, %gate, %up, %down experts 4 top_k 2 shared 1 layer 1 mlp : tensor<1x8x32xbf16>, tensor<32x4xbf16>, tensor<5x32x16xbf16>, tensor<5x32x16xbf16>, tensor<5x16x32xbf16> -> tensor<1x8x32xbf16>
// CHECK-NEXT: %qz = tfm.quantize %mo group 32 layer 1 mlp : tensor<1x8x32xbf16> -> tensor<1x8x32xf8E4M3FN>
// CHECK-NEXT: %dq = tfm.dequantize %qz layer 1 mlp : tensor<1x8x32xf8E4M3FN> -> tensor<1x8x32xbf16>
// CHECK-NEXT: %ar = tfm.collective all_reduce %dq chips 4 layer 1 mlp : tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
// CHECK-NEXT: %a2a = tfm.collective all_to_all %ar chips 4 fanout 2 layer 1 mlp : tensor<1x8x32xbf16> -> tensor<1x8x32xbf16>
// CHECK-NEXT: %lat = tfm.kv_read "kv" layer 2 attention : tensor<1x8x20xbf16>
// CHECK-NEXT: %kv_b = tfm.weight "L2.kv_b.weight" layer 2 attention : tensor<16x48xbf16>
// CHECK-NEXT: %mla = tfm.attention mla %dq, %lat, %lat absorb %kv_b rope_dim 4 heads 4 kv_heads 1 qk_dim 8 v_dim 8 causal layer 2 attention : tensor<1x8x32xbf16>, tensor<1x8x20xbf16>, tensor<1x8x20xbf16>, tensor<16x48xbf16> -> tensor<1x8x32xbf16>
// CHECK-NEXT: %g1, %g2 = tfm.generic "TopK"(%mla, %oo) macs 0 vector_ops 7 layer -1 other : (tensor<1x8x32xbf16>, tensor<1x8x64xbf16>) -> (tensor<1x8x2xi32>, tensor<1x8x2xi32>)
// CHECK-NEXT: %gm = tfm.generic "Einsum"(%mla) macs 1024 kind "linear" vector_ops 0 layer 2 mlp : (tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-NEXT: %y = tfm.lm_head %dq, %table last layer -1 other : tensor<1x8x32xbf16>, tensor<50x32xbf16> -> tensor<1x1x50xbf16>
// CHECK-NEXT: %y2 = tfm.lm_head %dq, %table layer -1 other : tensor<1x8x32xbf16>, tensor<50x32xbf16> -> tensor<1x8x50xbf16>
// CHECK-NEXT: func.return %y, %p, %g1 : tensor<1x1x50xbf16>, tensor<1x8x8xbf16>, tensor<1x8x2xi32>
// CHECK-NEXT: }
// CHECK-NEXT: }

// CHECK-GENERIC:      "builtin.module"() ({
// CHECK-GENERIC-NEXT: "func.func"() <{sym_name = "prefill", function_type = (tensor<1x8xi32>) -> (tensor<1x1x50xbf16>, tensor<1x8x8xbf16>, tensor<1x8x2xi32>)}> ({
// CHECK-GENERIC-NEXT: ^bb0(%ids: tensor<1x8xi32>):
// CHECK-GENERIC-NEXT: %table = "tfm.weight"() <{param = "embed.tokens", layer = -1 : i64, block = #tfm<block other>}> : () -> tensor<50x32xbf16>
// CHECK-GENERIC-NEXT: %x = "tfm.embedding"(%ids, %table) <{layer = -1 : i64, block = #tfm<block other>}> : (tensor<1x8xi32>, tensor<50x32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %gamma = "tfm.weight"() <{param = "L0.attn_norm.weight", layer = 0 : i64, block = #tfm<block attention>}> : () -> tensor<32xbf16>
// CHECK-GENERIC-NEXT: %beta = "tfm.weight"() <{param = "L0.attn_norm.bias", layer = 0 : i64, block = #tfm<block attention>}> : () -> tensor<32xbf16>
// CHECK-GENERIC-NEXT: %n = "tfm.layernorm"(%x, %gamma, %beta) <{layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>, tensor<32xbf16>, tensor<32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %n2 = "tfm.layernorm"(%x, %gamma) <{layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>, tensor<32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %r = "tfm.rmsnorm"(%n, %gamma) <{layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>, tensor<32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %wq = "tfm.weight"() <{param = "L0.q.weight", group = 128 : i64, scale_type = f16, layer = 0 : i64, block = #tfm<block attention>}> : () -> tensor<32x32xi4>
// CHECK-GENERIC-NEXT: %q = "tfm.linear"(%r, %wq) <{layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>, tensor<32x32xi4>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %wkv = "tfm.weight"() <{param = "L0.kv.weight", layer = 0 : i64, block = #tfm<block attention>}> : () -> tensor<32x16xbf16>
// CHECK-GENERIC-NEXT: %bkv = "tfm.weight"() <{param = "L0.kv.bias", layer = 0 : i64, block = #tfm<block attention>}> : () -> tensor<16xbf16>
// CHECK-GENERIC-NEXT: %kv = "tfm.linear"(%r, %wkv, %bkv) <{layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>, tensor<32x16xbf16>, tensor<16xbf16>) -> tensor<1x8x16xbf16>
// CHECK-GENERIC-NEXT: %rq = "tfm.rope"(%q) <{layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %past = "tfm.kv_read"() <{cache = "k", layer = 0 : i64, block = #tfm<block attention>}> : () -> tensor<1x5x16xbf16>
// CHECK-GENERIC-NEXT: %c = "tfm.kv_append"(%kv, %past) <{cache = "k", layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x16xbf16>, tensor<1x5x16xbf16>) -> tensor<1x13x16xbf16>
// CHECK-GENERIC-NEXT: %c0 = "tfm.kv_append"(%kv) <{cache = "v", layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x16xbf16>) -> tensor<1x8x16xbf16>
// CHECK-GENERIC-NEXT: %o = "tfm.attention"(%rq, %c, %c) <{variant = #tfm<attention_variant gqa>, heads = 4 : i64, kv_heads = 2 : i64, qk_dim = 8 : i64, v_dim = 8 : i64, causal, layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>, tensor<1x13x16xbf16>, tensor<1x13x16xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %o2 = "tfm.attention"(%q, %q, %q) <{variant = #tfm<attention_variant mha>, heads = 4 : i64, kv_heads = 4 : i64, qk_dim = 8 : i64, v_dim = 8 : i64, layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>, tensor<1x8x32xbf16>, tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %s = "tfm.matmul"(%q, %q) <{transpose_b, layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>, tensor<1x8x32xbf16>) -> tensor<1x8x8xbf16>
// CHECK-GENERIC-NEXT: %s2 = "tfm.matmul"(%s, %q) <{layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x8xbf16>, tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %p = "tfm.softmax"(%s) <{layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x8xbf16>) -> tensor<1x8x8xbf16>
// CHECK-GENERIC-NEXT: %oo = "tfm.concat"(%o, %o2) <{layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>, tensor<1x8x32xbf16>) -> tensor<1x8x64xbf16>
// CHECK-GENERIC-NEXT: %rows = "tfm.slice"(%o) <{start = 2 : i64, layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>) -> tensor<1x5x32xbf16>
// CHECK-GENERIC-NEXT: %joined = "tfm.concat"(%rows, %o) <{axis = 1 : i64, layer = 0 : i64, block = #tfm<block attention>}> : (tensor<1x5x32xbf16>, tensor<1x8x32xbf16>) -> tensor<1x13x32xbf16>
// CHECK-GENERIC-NEXT: %a = "tfm.activation"(%o, %q) <{kind = "silu", layer = 1 : i64, block = #tfm<block mlp>}> : (tensor<1x8x32xbf16>, tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %a2 = "tfm.activation"(%o) <{kind = "gelu_tanh", layer = 1 : i64, block = #tfm<block mlp>}> : (tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %sum = "tfm.add"(%a, %a2) <{layer = 1 : i64, block = #tfm<block mlp>}> : (tensor<1x8x32xbf16>, tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %am = "tfm.mul"(%sum, %gamma) <{layer = 1 : i64, block = #tfm<block mlp>}> : (tensor<1x8x32xbf16>, tensor<32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %router = "tfm.weight"() <{param = "L1.router.weight", layer = 1 : i64, block = #tfm<block mlp>}> : () -> tensor<32x4xbf16>
// CHECK-GENERIC-NEXT: %gate = "tfm.weight"() <{param = "L1.experts.gate", layer = 1 : i64, block = #tfm<block mlp>}> : () -> tensor<5x32x16xbf16>
// CHECK-GENERIC-NEXT: %up = "tfm.weight"() <{param = "L1.experts.up", layer = 1 : i64, block = #tfm<block mlp>}> : () -> tensor<5x32x16xbf16>
// CHECK-GENERIC-NEXT: %down = "tfm.weight"() <{param = "L1.experts.down", layer = 1 : i64, block = #tfm<block mlp>}> : () -> tensor<5x16x32xbf16>
// CHECK-GENERIC-NEXT: %mo = "tfm.moe"(%am, %router, %gate, %up, %down) <{experts = 4 : i64, top_k = 2 : i64, shared = 1 : i64, layer = 1 : i64, block = #tfm<block mlp>}> : (tensor<1x8x32xbf16>, tensor<32x4xbf16>, tensor<5x32x16xbf16>, tensor<5x32x16xbf16>, tensor<5x16x32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %qz = "tfm.quantize"(%mo) <{group = 32 : i64, layer = 1 : i64, block = #tfm<block mlp>}> : (tensor<1x8x32xbf16>) -> tensor<1x8x32xf8E4M3FN>
// CHECK-GENERIC-NEXT: %dq = "tfm.dequantize"(%qz) <{layer = 1 : i64, block = #tfm<block mlp>}> : (tensor<1x8x32xf8E4M3FN>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %ar = "tfm.collective"(%dq) <{kind = #tfm<collective_kind all_reduce>, chips = 4 : i64, layer = 1 : i64, block = #tfm<block mlp>}> : (tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %a2a = "tfm.collective"(%ar) <{kind = #tfm<collective_kind all_to_all>, chips = 4 : i64, fanout = 2 : i64, layer = 1 : i64, block = #tfm<block mlp>}> : (tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %lat = "tfm.kv_read"() <{cache = "kv", layer = 2 : i64, block = #tfm<block attention>}> : () -> tensor<1x8x20xbf16>
// CHECK-GENERIC-NEXT: %kv_b = "tfm.weight"() <{param = "L2.kv_b.weight", layer = 2 : i64, block = #tfm<block attention>}> : () -> tensor<16x48xbf16>
// CHECK-GENERIC-NEXT: %mla = "tfm.attention"(%dq, %lat, %lat, %kv_b) <{variant = #tfm<attention_variant mla>, rope_dim = 4 : i64, heads = 4 : i64, kv_heads = 1 : i64, qk_dim = 8 : i64, v_dim = 8 : i64, causal, layer = 2 : i64, block = #tfm<block attention>}> : (tensor<1x8x32xbf16>, tensor<1x8x20xbf16>, tensor<1x8x20xbf16>, tensor<16x48xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %g1, %g2 = "tfm.generic"(%mla, %oo) <{op_type = "TopK", macs = 0 : i64, vector_ops = 7 : i64, layer = -1 : i64, block = #tfm<block other>}> : (tensor<1x8x32xbf16>, tensor<1x8x64xbf16>) -> (tensor<1x8x2xi32>, tensor<1x8x2xi32>)
// CHECK-GENERIC-NEXT: %gm = "tfm.generic"(%mla) <{op_type = "Einsum", macs = 1024 : i64, mac_kind = "linear", vector_ops = 0 : i64, layer = 2 : i64, block = #tfm<block mlp>}> : (tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
// CHECK-GENERIC-NEXT: %y = "tfm.lm_head"(%dq, %table) <{last, layer = -1 : i64, block = #tfm<block other>}> : (tensor<1x8x32xbf16>, tensor<50x32xbf16>) -> tensor<1x1x50xbf16>
// CHECK-GENERIC-NEXT: %y2 = "tfm.lm_head"(%dq, %table) <{layer = -1 : i64, block = #tfm<block other>}> : (tensor<1x8x32xbf16>, tensor<50x32xbf16>) -> tensor<1x8x50xbf16>
// CHECK-GENERIC-NEXT: "func.return"(%y, %p, %g1) : (tensor<1x1x50xbf16>, tensor<1x8x8xbf16>, tensor<1x8x2xi32>) -> ()
// CHECK-GENERIC-NEXT: }) : () -> ()
// CHECK-GENERIC-NEXT: }) : () -> ()
