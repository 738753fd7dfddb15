// lower-quant: weight, activation and KV-cache formats, with tfm.quantize / tfm.dequantize
// where a value meets a consumer of another precision.
//
// The function: a tied embedding / LM head table, an RMSNorm, q and k projections (k with
// a bias), a KV cache, MQA attention, a standalone softmax, the o projection, a residual.
//
// RUN: meshc opt %s -p lower-quant | filecheck %s --check-prefix=NONE
// RUN: meshc opt %s -p 'lower-quant{weights=int4 group=64}' | filecheck %s --check-prefix=W4
// RUN: meshc opt %s -p 'lower-quant{weights=fp8 acts=fp8 kv=int8}' | filecheck %s --check-prefix=FP8
// RUN: meshc opt %s -p 'lower-quant{acts=int8 keep=softmax}' | filecheck %s --check-prefix=KEEP
// RUN: meshc opt %s -p 'lower-quant{weights=int4 acts=int8 kv=int8 hw="%S/../../unit/passes/fixtures/int8-only.yaml"}' | filecheck %s --check-prefix=HWOK
// RUN: meshc opt %s --verify-diagnostics -p 'lower-quant{weights=int4 hw="%S/../../unit/passes/fixtures/int8-only.yaml"}' | filecheck %s --check-prefix=HWERR
// RUN: meshc opt %s --verify-diagnostics -p 'lower-quant{weights=int3}' | filecheck %s --check-prefix=BADW
// RUN: meshc opt %s --verify-diagnostics -p 'lower-quant{acts=int4}' | filecheck %s --check-prefix=BADA
// RUN: meshc opt %s --verify-diagnostics -p 'lower-quant{group=0}' | filecheck %s --check-prefix=BADG
// RUN: meshc opt %s --verify-diagnostics -p 'lower-quant{keep=norm,gelu}' | filecheck %s --check-prefix=BADK

func.func @decode(%ids: tensor<1x1xi32>) -> tensor<1x1x256xbf16> {
  %table = tfm.weight "embed.tokens" layer -1 other : tensor<256x128xbf16>
  %x = tfm.embedding %ids, %table layer -1 other : tensor<1x1xi32>, tensor<256x128xbf16> -> tensor<1x1x128xbf16>
  %g = tfm.weight "L0.norm.weight" layer 0 attention : tensor<128xbf16>
  %h = tfm.rmsnorm %x, %g layer 0 attention : tensor<1x1x128xbf16>, tensor<128xbf16>
  %wq = tfm.weight "L0.q.weight" layer 0 attention : tensor<128x64xbf16>
  %q = tfm.linear %h, %wq layer 0 attention : tensor<1x1x128xbf16>, tensor<128x64xbf16> -> tensor<1x1x64xbf16>
  %wk = tfm.weight "L0.k.weight" layer 0 attention : tensor<128x32xbf16>
  %bk = tfm.weight "L0.k.bias" layer 0 attention : tensor<32xbf16>
  %k = tfm.linear %h, %wk bias %bk layer 0 attention : tensor<1x1x128xbf16>, tensor<128x32xbf16>, tensor<32xbf16> -> tensor<1x1x32xbf16>
  %pk = tfm.kv_read "k" layer 0 attention : tensor<1x16x32xbf16>
  %ck = tfm.kv_append "k" %k past %pk layer 0 attention : tensor<1x1x32xbf16>, tensor<1x16x32xbf16> -> tensor<1x17x32xbf16>
  %a = tfm.attention mqa %q, %ck, %ck heads 2 kv_heads 1 qk_dim 32 v_dim 32 causal layer 0 attention : tensor<1x1x64xbf16>, tensor<1x17x32xbf16>, tensor<1x17x32xbf16> -> tensor<1x1x64xbf16>
  %s = tfm.softmax %a layer 0 attention : tensor<1x1x64xbf16>
  %wo = tfm.weight "L0.o.weight" layer 0 attention : tensor<64x128xbf16>
  %o = tfm.linear %s, %wo layer 0 attention : tensor<1x1x64xbf16>, tensor<64x128xbf16> -> tensor<1x1x128xbf16>
  %r = tfm.add %x, %o layer 0 attention : tensor<1x1x128xbf16>, tensor<1x1x128xbf16> -> tensor<1x1x128xbf16>
  %logits = tfm.lm_head %r, %table layer -1 other : tensor<1x1x128xbf16>, tensor<256x128xbf16> -> tensor<1x1x256xbf16>
  func.return %logits : tensor<1x1x256xbf16>
}

// The defaults describe a bf16 model already: nothing changes.
// NONE-NOT: tfm.quantize
// NONE-NOT: tfm.dequantize
// NONE-NOT: group

// int4 weights in groups of 64 with bf16 scales: linears, the LM head and so the tied table;
// the k bias and the norm weight stay bf16. The lookup yields int4 rows, dequantized once
// for the activations; activations and the KV cache stay bf16.
// W4:      %table = tfm.weight "embed.tokens" group 64 scale bf16 layer -1 other : tensor<256x128xi4>
// W4-NEXT: %x = tfm.embedding %ids, %table {{.*}} -> tensor<1x1x128xi4>
// W4-NEXT: %g = tfm.weight "L0.norm.weight" layer 0 attention : tensor<128xbf16>
// W4-NEXT: %0 = tfm.dequantize %x layer 0 attention : tensor<1x1x128xi4> -> tensor<1x1x128xbf16>
// W4-NEXT: %h = tfm.rmsnorm %0, %g
// W4-NEXT: %wq = tfm.weight "L0.q.weight" group 64 scale bf16 layer 0 attention : tensor<128x64xi4>
// W4-NEXT: %q = tfm.linear %h, %wq layer 0 attention : tensor<1x1x128xbf16>, tensor<128x64xi4> -> tensor<1x1x64xbf16>
// W4:      %bk = tfm.weight "L0.k.bias" layer 0 attention : tensor<32xbf16>
// W4:      %pk = tfm.kv_read "k" layer 0 attention : tensor<1x16x32xbf16>
// W4:      %r = tfm.add %0, %o
// W4-NEXT: %logits = tfm.lm_head %r, %table {{.*}} tensor<256x128xi4> -> tensor<1x1x256xbf16>
// W4-NEXT: func.return %logits : tensor<1x1x256xbf16>

// fp8 activations, an int8 KV cache: quantize into each linear (per-token groups), into the
// cache (groups of min(128, 32)); the norm and the softmax (keep=norm,softmax) run in bf16;
// attention reads the int8 cache as it is; the function still returns bf16 logits.
// FP8:      %0 = tfm.dequantize %x layer 0 attention : tensor<1x1x128xf8E4M3FN> -> tensor<1x1x128xbf16>
// FP8-NEXT: %h = tfm.rmsnorm %0, %g layer 0 attention : tensor<1x1x128xbf16>, tensor<128xbf16>
// FP8:      %1 = tfm.quantize %h group 128 layer 0 attention : tensor<1x1x128xbf16> -> tensor<1x1x128xf8E4M3FN>
// FP8-NEXT: %q = tfm.linear %1, %wq {{.*}} -> tensor<1x1x64xf8E4M3FN>
// FP8:      %k = tfm.linear %1, %wk bias %bk {{.*}} tensor<32xbf16> -> tensor<1x1x32xf8E4M3FN>
// FP8-NEXT: %pk = tfm.kv_read "k" layer 0 attention : tensor<1x16x32xi8>
// FP8-NEXT: %2 = tfm.quantize %k group 32 layer 0 attention : tensor<1x1x32xf8E4M3FN> -> tensor<1x1x32xi8>
// FP8-NEXT: %ck = tfm.kv_append "k" %2 past %pk {{.*}} -> tensor<1x17x32xi8>
// FP8-NEXT: %a = tfm.attention mqa %q, %ck, %ck {{.*}} : tensor<1x1x64xf8E4M3FN>, tensor<1x17x32xi8>, tensor<1x17x32xi8> -> tensor<1x1x64xf8E4M3FN>
// FP8-NEXT: %3 = tfm.dequantize %a
// FP8-NEXT: %s = tfm.softmax %3 layer 0 attention : tensor<1x1x64xbf16>
// FP8:      %4 = tfm.quantize %s group 64
// FP8:      %r = tfm.add %x, %o {{.*}} -> tensor<1x1x128xf8E4M3FN>
// FP8-NEXT: %logits = tfm.lm_head %r, %table {{.*}} -> tensor<1x1x256xf8E4M3FN>
// FP8-NEXT: %5 = tfm.dequantize %logits layer -1 other : tensor<1x1x256xf8E4M3FN> -> tensor<1x1x256xbf16>
// FP8-NEXT: func.return %5 : tensor<1x1x256xbf16>

// keep=softmax only: the norm now takes int8 activations; the bf16 cache gets a dequantize.
// KEEP:      %0 = tfm.quantize %x group 128 layer 0 attention : tensor<1x1x128xbf16> -> tensor<1x1x128xi8>
// KEEP-NEXT: %h = tfm.rmsnorm %0, %g layer 0 attention : tensor<1x1x128xi8>, tensor<128xbf16>
// KEEP:      %1 = tfm.dequantize %k layer 0 attention : tensor<1x1x32xi8> -> tensor<1x1x32xbf16>
// KEEP-NEXT: %ck = tfm.kv_append "k" %1 past %pk
// KEEP:      %s = tfm.softmax %2 layer 0 attention : tensor<1x1x64xbf16>

// An int8-only machine runs int4 weights with int8 activations and cache (at int8) ...
// HWOK: tfm.linear {{.*}} : tensor<1x1x128xi8>, tensor<128x64xi4> -> tensor<1x1x64xi8>
// ... but not bf16 activations.
// HWERR: lower-quant: acts=bf16 runs at bf16, which no core of int8-only can execute: core type 'core' cannot multiply bf16: it supports int8, none at least as wide

// BADW: lower-quant: weights=int3 is not one of bf16, fp8, int8, int4
// BADA: lower-quant: acts=int4 is not one of bf16, fp8, int8
// BADG: lower-quant: group must be positive, got 0
// BADK: lower-quant: keep=gelu is not an op; use norm or one of activation, add, attention, collective, concat, dequantize, embedding, generic, kv_append, kv_read, layernorm, linear, lm_head, matmul, moe, mul, quantize, rmsnorm, rope, slice, softmax
