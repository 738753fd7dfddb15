// split-stages: each phase function becomes a chain of step functions, one per group of
// chips; values crossing steps leave through `tfm.collective send` and enter as arguments.
//
// Chunk 1: a two-layer decoder (hidden 8, one head, 3 cached tokens) whose LM head reads the
// embedding table (tied). by=layer, 2 stages: one layer per step, the embedding in step 0,
// the final norm and LM head in step 1, the table and each layer's kv_read cloned into the
// steps that read them. by=block: A0, M0, A1, M1 in stages 0, 0, 1, 1.
// Chunk 2: layer 1's MLP reads the embedding output (a skip past three steps): step 0 sends
// it straight to step 3. Chunks 3 and 4 fail: layers out of program order, no layers.
//
// (--verify-diagnostics: chunks 3 and 4 print their error and the run goes on.)
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'split-stages{stages=2}' | filecheck %s --check-prefix=LAYER
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'split-stages{stages=2 by=block}' | filecheck %s --check-prefix=BLOCK
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'split-stages' | filecheck %s --check-prefix=ONE
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'split-stages{stages=2}' | filecheck %s --check-prefix=DIAG
// RUN: not meshc opt %s --split-input-file -p 'split-stages{stages=3}' 2>&1 | filecheck %s --check-prefix=MANY
// RUN: not meshc opt %s -p 'split-stages{stages=0}' 2>&1 | filecheck %s --check-prefix=ZERO
// RUN: not meshc opt %s -p 'split-stages{by=row}' 2>&1 | filecheck %s --check-prefix=BY
// RUN: not meshc opt %s --split-input-file -p 'split-stages{stages=2},split-stages{stages=2}' 2>&1 | filecheck %s --check-prefix=TWICE

func.func @decode(%ids: tensor<1x1xi32>) -> tensor<1x1x16xbf16> {
  %t = tfm.weight "embed.tokens" layer -1 other : tensor<16x8xbf16>
  %e = tfm.embedding %ids, %t layer -1 other : tensor<1x1xi32>, tensor<16x8xbf16> -> tensor<1x1x8xbf16>
  %wq0 = tfm.weight "L0.q.weight" layer 0 attention : tensor<8x8xbf16>
  %q0 = tfm.linear %e, %wq0 layer 0 attention : tensor<1x1x8xbf16>, tensor<8x8xbf16> -> tensor<1x1x8xbf16>
  %pk0 = tfm.kv_read "k" layer 0 attention : tensor<1x3x8xbf16>
  %k0 = tfm.kv_append "k" %q0 past %pk0 layer 0 attention : tensor<1x1x8xbf16>, tensor<1x3x8xbf16> -> tensor<1x4x8xbf16>
  %at0 = tfm.attention mha %q0, %k0, %k0 heads 1 kv_heads 1 qk_dim 8 v_dim 8 causal layer 0 attention : tensor<1x1x8xbf16>, tensor<1x4x8xbf16>, tensor<1x4x8xbf16> -> tensor<1x1x8xbf16>
  %r0 = tfm.add %e, %at0 layer 0 attention : tensor<1x1x8xbf16>, tensor<1x1x8xbf16> -> tensor<1x1x8xbf16>
  %wu0 = tfm.weight "L0.up.weight" layer 0 mlp : tensor<8x8xbf16>
  %u0 = tfm.linear %r0, %wu0 layer 0 mlp : tensor<1x1x8xbf16>, tensor<8x8xbf16> -> tensor<1x1x8xbf16>
  %h0 = tfm.add %r0, %u0 layer 0 mlp : tensor<1x1x8xbf16>, tensor<1x1x8xbf16> -> tensor<1x1x8xbf16>
  %wq1 = tfm.weight "L1.q.weight" layer 1 attention : tensor<8x8xbf16>
  %q1 = tfm.linear %h0, %wq1 layer 1 attention : tensor<1x1x8xbf16>, tensor<8x8xbf16> -> tensor<1x1x8xbf16>
  %pk1 = tfm.kv_read "k" layer 1 attention : tensor<1x3x8xbf16>
  %k1 = tfm.kv_append "k" %q1 past %pk1 layer 1 attention : tensor<1x1x8xbf16>, tensor<1x3x8xbf16> -> tensor<1x4x8xbf16>
  %at1 = tfm.attention mha %q1, %k1, %k1 heads 1 kv_heads 1 qk_dim 8 v_dim 8 causal layer 1 attention : tensor<1x1x8xbf16>, tensor<1x4x8xbf16>, tensor<1x4x8xbf16> -> tensor<1x1x8xbf16>
  %r1 = tfm.add %h0, %at1 layer 1 attention : tensor<1x1x8xbf16>, tensor<1x1x8xbf16> -> tensor<1x1x8xbf16>
  %wu1 = tfm.weight "L1.up.weight" layer 1 mlp : tensor<8x8xbf16>
  %u1 = tfm.linear %r1, %wu1 layer 1 mlp : tensor<1x1x8xbf16>, tensor<8x8xbf16> -> tensor<1x1x8xbf16>
  %h1 = tfm.add %r1, %u1 layer 1 mlp : tensor<1x1x8xbf16>, tensor<1x1x8xbf16> -> tensor<1x1x8xbf16>
  %gf = tfm.weight "final.norm.weight" layer -1 other : tensor<8xbf16>
  %n = tfm.rmsnorm %h1, %gf layer -1 other : tensor<1x1x8xbf16>, tensor<8xbf16>
  %logits = tfm.lm_head %n, %t layer -1 other : tensor<1x1x8xbf16>, tensor<16x8xbf16> -> tensor<1x1x16xbf16>
  func.return %logits : tensor<1x1x16xbf16>
}

// LAYER-LABEL: func.func @decode.s0(%0: tensor<1x1xi32>) -> tensor<1x1x8xbf16> attributes {meshc.phase = "decode", meshc.step = 0 : i64, meshc.stage = 0 : i64, meshc.role = #meshc<role any>, meshc.layers = array<i64: 0, 0>, meshc.sources = array<i64: -1, 0>} {
// LAYER-NEXT:    %t = tfm.weight "embed.tokens" layer -1 other
// LAYER-NEXT:    %e = tfm.embedding %0, %t layer -1 other
// LAYER:         %pk0 = tfm.kv_read "k" layer 0 attention
// LAYER-NOT:     layer 1
// LAYER:         %h0 = tfm.add %r0, %u0 layer 0 mlp
// LAYER-NEXT:    %[[S:.*]] = tfm.collective send %h0 chips 2 layer 0 mlp : tensor<1x1x8xbf16> -> tensor<1x1x8xbf16>
// LAYER-NEXT:    func.return %[[S]] : tensor<1x1x8xbf16>
// LAYER-LABEL: func.func @decode.s1(%0: tensor<1x1x8xbf16>) -> tensor<1x1x16xbf16> attributes {meshc.phase = "decode", meshc.step = 1 : i64, meshc.stage = 1 : i64, meshc.role = #meshc<role any>, meshc.layers = array<i64: 1, 1>, meshc.sources = array<i64: 0, 0>} {
// LAYER-NEXT:    %t = tfm.weight "embed.tokens" layer -1 other
// LAYER-NEXT:    %wq1 = tfm.weight "L1.q.weight"
// LAYER-NEXT:    %q1 = tfm.linear %0, %wq1 layer 1 attention
// LAYER-NEXT:    %pk1 = tfm.kv_read "k" layer 1 attention
// LAYER:         %r1 = tfm.add %0, %at1 layer 1 attention
// LAYER:         %logits = tfm.lm_head %n, %t layer -1 other
// LAYER-NEXT:    func.return %logits : tensor<1x1x16xbf16>

// BLOCK-LABEL: func.func @decode.s0(%0: tensor<1x1xi32>) -> tensor<1x1x8xbf16> attributes {meshc.phase = "decode", meshc.step = 0 : i64, meshc.stage = 0 : i64, meshc.role = #meshc<role attention>, meshc.layers = array<i64: 0, 0>, meshc.sources = array<i64: -1, 0>} {
// BLOCK:         tfm.collective send %r0 chips 2 layer 0 attention
// BLOCK-LABEL: func.func @decode.s1(%0: tensor<1x1x8xbf16>) -> tensor<1x1x8xbf16> attributes {meshc.phase = "decode", meshc.step = 1 : i64, meshc.stage = 0 : i64, meshc.role = #meshc<role mlp>, meshc.layers = array<i64: 0, 0>, meshc.sources = array<i64: 0, 0>} {
// BLOCK-NEXT:    %wu0 = tfm.weight "L0.up.weight" layer 0 mlp
// BLOCK-NEXT:    %u0 = tfm.linear %0, %wu0 layer 0 mlp
// BLOCK-NEXT:    %h0 = tfm.add %0, %u0 layer 0 mlp
// BLOCK-NEXT:    tfm.collective send %h0 chips 2 layer 0 mlp
// BLOCK-LABEL: func.func @decode.s2({{.*}}meshc.stage = 1 : i64, meshc.role = #meshc<role attention>, meshc.layers = array<i64: 1, 1>, meshc.sources = array<i64: 1, 0>} {
// BLOCK-LABEL: func.func @decode.s3({{.*}}meshc.stage = 1 : i64, meshc.role = #meshc<role mlp>, meshc.layers = array<i64: 1, 1>, meshc.sources = array<i64: 2, 0>} {
// BLOCK-NEXT:    %t = tfm.weight "embed.tokens" layer -1 other
// BLOCK:         %logits = tfm.lm_head %n, %t layer -1 other
// BLOCK-NEXT:    func.return %logits

// ONE:      func.func @decode(%ids: tensor<1x1xi32>) -> tensor<1x1x16xbf16> attributes {meshc.phase = "decode", meshc.step = 0 : i64, meshc.stage = 0 : i64, meshc.role = #meshc<role any>, meshc.layers = array<i64: 0, 1>, meshc.sources = array<i64: -1, 0>} {
// ONE-NOT:  tfm.collective

// MANY: meshc opt: error: {{.*}}split-stages: @decode has 2 layers, fewer than stages=3; use stages <= 2
// ZERO: meshc opt: error: {{.*}}split-stages: stages must be a positive integer, got '0'
// BY: meshc opt: error: {{.*}}split-stages: by must be layer or block, got 'row'
// TWICE: meshc opt: error: {{.*}}split-stages: @decode.s0 is already a step (meshc.step); run split-stages once

// -----

func.func @prefill(%ids: tensor<1x4xi32>) -> tensor<1x4x8xbf16> {
  %t = tfm.weight "embed.tokens" layer -1 other : tensor<16x8xbf16>
  %e = tfm.embedding %ids, %t layer -1 other : tensor<1x4xi32>, tensor<16x8xbf16> -> tensor<1x4x8xbf16>
  %g0 = tfm.weight "L0.attn_norm.weight" layer 0 attention : tensor<8xbf16>
  %a0 = tfm.rmsnorm %e, %g0 layer 0 attention : tensor<1x4x8xbf16>, tensor<8xbf16>
  %w0 = tfm.weight "L0.up.weight" layer 0 mlp : tensor<8x8xbf16>
  %m0 = tfm.linear %a0, %w0 layer 0 mlp : tensor<1x4x8xbf16>, tensor<8x8xbf16> -> tensor<1x4x8xbf16>
  %g1 = tfm.weight "L1.attn_norm.weight" layer 1 attention : tensor<8xbf16>
  %a1 = tfm.rmsnorm %m0, %g1 layer 1 attention : tensor<1x4x8xbf16>, tensor<8xbf16>
  %m1 = tfm.add %a1, %e layer 1 mlp : tensor<1x4x8xbf16>, tensor<1x4x8xbf16> -> tensor<1x4x8xbf16>
  func.return %m1 : tensor<1x4x8xbf16>
}

// Step 0's sends by consumer step: %a0 to step 1, then %e to step 3 (result 1). Step 3's
// arguments by producer step: %e from step 0, then %a1 from step 2.
// BLOCK-LABEL: func.func @prefill.s0(%0: tensor<1x4xi32>) -> (tensor<1x4x8xbf16>, tensor<1x4x8xbf16>) attributes {{{.*}}meshc.role = #meshc<role attention>{{.*}}meshc.sources = array<i64: -1, 0>} {
// BLOCK:         %[[A:.*]] = tfm.collective send %a0 chips 2 layer 0 attention
// BLOCK-NEXT:    %[[E:.*]] = tfm.collective send %e chips 2 layer -1 other
// BLOCK-NEXT:    func.return %[[A]], %[[E]]
// BLOCK-LABEL: func.func @prefill.s3(%0: tensor<1x4x8xbf16>, %1: tensor<1x4x8xbf16>) -> tensor<1x4x8xbf16> attributes {{{.*}}meshc.step = 3 : i64{{.*}}meshc.sources = array<i64: 0, 1, 2, 0>} {
// BLOCK-NEXT:    %m1 = tfm.add %1, %0 layer 1 mlp
// BLOCK-NEXT:    func.return %m1

// by=layer: step 0 sends %e and %m0 in definition order, step 1 takes both.
// LAYER-LABEL: func.func @prefill.s0
// LAYER:         tfm.collective send %e
// LAYER-NEXT:    tfm.collective send %m0
// LAYER-LABEL: func.func @prefill.s1(%0: tensor<1x4x8xbf16>, %1: tensor<1x4x8xbf16>) -> tensor<1x4x8xbf16> attributes {{{.*}}meshc.sources = array<i64: 0, 0, 0, 1>} {
// LAYER:         %m1 = tfm.add %a1, %0 layer 1 mlp

// -----

func.func @backwards(%x: tensor<1x4x8xbf16>) -> tensor<1x4x8xbf16> {
  %g1 = tfm.weight "L1.attn_norm.weight" layer 1 attention : tensor<8xbf16>
  %a1 = tfm.rmsnorm %x, %g1 layer 1 attention : tensor<1x4x8xbf16>, tensor<8xbf16>
  %g0 = tfm.weight "L0.attn_norm.weight" layer 0 attention : tensor<8xbf16>
  %a0 = tfm.rmsnorm %a1, %g0 layer 0 attention : tensor<1x4x8xbf16>, tensor<8xbf16>
  func.return %a0 : tensor<1x4x8xbf16>
}

// DIAG: split-stages: @backwards: tfm.rmsnorm (layer 0, attention) in step 0 uses a value of tfm.rmsnorm (layer 1, attention) in the later step 1; the layers must come in program order

// -----

func.func @embed_only(%x: tensor<1x4x8xbf16>) -> tensor<1x4x8xbf16> {
  %g = tfm.weight "final.norm.weight" layer -1 other : tensor<8xbf16>
  %n = tfm.rmsnorm %x, %g layer -1 other : tensor<1x4x8xbf16>, tensor<8xbf16>
  func.return %n : tensor<1x4x8xbf16>
}

// DIAG: split-stages: @embed_only has no decoder layers (every op is layer -1): nothing to split into stages
