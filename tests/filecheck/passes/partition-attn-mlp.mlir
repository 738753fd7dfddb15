// partition-attn-mlp: a region on every tfm op, SRAM or HBM for every weight, and the note
// that says by how much weights miss the SRAM and what would make them fit.
//
// Chunk 1: a one-layer decoder (hidden 128, 4 heads over 2 KV heads, SwiGLU MLP 1024,
// vocab 256) decoding with 16 cached tokens. Its bf16 weights: MLP 3 x 128 x 1024 x 2 B +
// norm 256 B = 786,688 B; attention side q 32,768 + k 16,384 + v 16,384 + o 32,768 + norm
// 256 + embedding 65,536 + final norm 256 + lm_head 65,536 = 229,888 B; all 1,016,576 B.
// KV cache: k and v, 17 x 64 x 2 B each = 4,352 B. Chunk 2: one 16384 x 16384 bf16 MLP
// weight (536,870,912 B). Resident weights may use 75% of a region's SRAM.
// mesh-1x1: 1 core of 524,288 B; mesh-2x2: 4 such cores, HBM on column 0; mesh-4x4: column
// 0 holds 4 attention cores of 1 MiB next to HBM, 12 MLP cores of 512 KiB; groq-like: 4
// cores of 57,500,000 B and no HBM.
//
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{hw=mesh-2x2}' | filecheck %s --check-prefix=SHARED
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{hw=mesh-1x1}' | filecheck %s --check-prefix=ONE
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{policy=disaggregate hw=mesh-4x4}' | filecheck %s --check-prefix=DIS
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{policy=disaggregate attn-frac=0.3 hw=mesh-4x4}' | filecheck %s --check-prefix=FRAC
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{policy=disaggregate hw=mesh-2x2}' | filecheck %s --check-prefix=TIGHT
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{policy=disaggregate hw=mesh-2x2 strict=true}' | filecheck %s --check-prefix=STRICT
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{hw=groq-like}' | filecheck %s --check-prefix=GROQ
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{policy=bogus}' | filecheck %s --check-prefix=POLICY
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{policy=disaggregate attn-frac=1}' | filecheck %s --check-prefix=FRAC-ERR
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{policy=disaggregate hw=mesh-1x1}' | filecheck %s --check-prefix=SINGLE
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'partition-attn-mlp{hw=no-such-chip}' | filecheck %s --check-prefix=HW

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

// shared on mesh-2x2: everything fits 1,572,864 B, one region of all four cores.
// SHARED:      builtin.module attributes {meshc.hw = #meshc.hw<"mesh-2x2">, meshc.regions = {shared = array<i64: 0, 0, 0, 1, 1, 0, 1, 1>}, meshc.sram_resident_bytes = {shared = 1016576 : i64}, meshc.hbm_resident_bytes = 4352 : i64} {
// SHARED:      tfm.weight "embed.tokens" layer -1 other {meshc.region = #meshc<region shared>, meshc.residency = #meshc<residency sram>}
// SHARED-NEXT: tfm.embedding {{.*}} {meshc.region = #meshc<region shared>}
// SHARED:      tfm.weight "L0.gate.weight" layer 0 mlp {meshc.region = #meshc<region shared>, meshc.residency = #meshc<residency sram>}
// SHARED-NEXT: tfm.linear {{.*}} layer 0 mlp {meshc.region = #meshc<region shared>}
// SHARED:      tfm.lm_head {{.*}} {meshc.region = #meshc<region shared>}
// SHARED:      {{//}} -----
// SHARED:      meshc.hbm_resident_bytes = 536870912 : i64, meshc.notes = [["partition-attn-mlp", "Weights need 536,870,912 B but the shared region's SRAM holds 1,572,864 B (75% of 2,097,152 B on 4 cores; the rest is kept for tiles), short by 535,298,048 B: use int4 weights (lower-quant{weights=int4}), or a mesh with more SRAM (715,827,883 B in the shared region)"]]
// SHARED:      tfm.weight "L0.up.weight" layer 0 mlp {meshc.region = #meshc<region shared>, meshc.residency = #meshc<residency hbm>}

// One core: 393,216 B for weights, so all 1,016,576 B stream from HBM (with the KV cache).
// ONE:      meshc.regions = {shared = array<i64: 0, 0>}, meshc.sram_resident_bytes = {shared = 0 : i64}, meshc.hbm_resident_bytes = 1020928 : i64, meshc.notes = [["partition-attn-mlp", "Weights need 1,016,576 B but the shared region's SRAM holds 393,216 B (75% of 524,288 B on 1 core; the rest is kept for tiles), short by 623,360 B: use int4 weights (lower-quant{weights=int4}), or a mesh with more SRAM (1,355,435 B in the shared region)"]]
// ONE:      tfm.weight "L0.q.weight" layer 0 attention {meshc.region = #meshc<region shared>, meshc.residency = #meshc<residency hbm>}

// disaggregate, auto: the MLP dominates the work, so the attention region is the smallest
// whole ring around HBM, column 0; embedding, final norm and lm_head go with attention.
// DIS:      meshc.regions = {attention = array<i64: 0, 0, 1, 0, 2, 0, 3, 0>, mlp = array<i64: 0, 1, 0, 2, 0, 3, 1, 1, 1, 2, 1, 3, 2, 1, 2, 2, 2, 3, 3, 1, 3, 2, 3, 3>}, meshc.sram_resident_bytes = {attention = 229888 : i64, mlp = 786688 : i64}, meshc.hbm_resident_bytes = 4352 : i64} {
// DIS:      tfm.embedding {{.*}} layer -1 other {meshc.region = #meshc<region attention>}
// DIS:      tfm.rmsnorm {{.*}} layer 0 attention {meshc.region = #meshc<region attention>}
// DIS:      tfm.attention {{.*}} {meshc.region = #meshc<region attention>}
// DIS:      tfm.weight "L0.mlp_norm.weight" layer 0 mlp {meshc.region = #meshc<region mlp>, meshc.residency = #meshc<residency sram>}
// DIS-NEXT: tfm.rmsnorm {{.*}} layer 0 mlp {meshc.region = #meshc<region mlp>}
// DIS:      tfm.activation {{.*}} {meshc.region = #meshc<region mlp>}
// DIS:      tfm.weight "lm_head" layer -1 other {meshc.region = #meshc<region attention>, meshc.residency = #meshc<residency sram>}
// DIS:      {{//}} -----
// DIS:      meshc.sram_resident_bytes = {attention = 0 : i64, mlp = 0 : i64}, meshc.hbm_resident_bytes = 536870912 : i64, meshc.notes = [["partition-attn-mlp", "MLP weights need 536,870,912 B but the mlp region's SRAM holds 4,718,592 B (75% of 6,291,456 B on 12 cores; the rest is kept for tiles), short by 532,152,320 B: use int4 weights (lower-quant{weights=int4}), or a mesh with more SRAM (715,827,883 B in the mlp region)"]]

// attn-frac=0.3: exactly round(0.3 x 16) = 5 cores, column 0 then the nearest of column 1.
// FRAC: meshc.regions = {attention = array<i64: 0, 0, 0, 1, 1, 0, 2, 0, 3, 0>, mlp = array<i64: 0, 2, 0, 3, 1, 1, 1, 2, 1, 3, 2, 1, 2, 2, 2, 3, 3, 1, 3, 2, 3, 3>}

// mesh-2x2 disaggregated: the MLP gets column 1, 786,432 B for weights: 256 B short.
// TIGHT:      meshc.regions = {attention = array<i64: 0, 0, 1, 0>, mlp = array<i64: 0, 1, 1, 1>}, meshc.sram_resident_bytes = {attention = 229888 : i64, mlp = 0 : i64}, meshc.hbm_resident_bytes = 791040 : i64, meshc.notes = [["partition-attn-mlp", "MLP weights need 786,688 B but the mlp region's SRAM holds 786,432 B (75% of 1,048,576 B on 2 cores; the rest is kept for tiles), short by 256 B: use int4 weights (lower-quant{weights=int4}), or a mesh with more SRAM (1,048,918 B in the mlp region)"]]
// TIGHT:      tfm.weight "L0.down.weight" layer 0 mlp {meshc.region = #meshc<region mlp>, meshc.residency = #meshc<residency hbm>}
// TIGHT:      tfm.weight "lm_head" layer -1 other {meshc.region = #meshc<region attention>, meshc.residency = #meshc<residency sram>}

// strict=true turns the note into an error.
// STRICT: partition-attn-mlp: MLP weights need 786,688 B but the mlp region's SRAM holds 786,432 B (75% of 1,048,576 B on 2 cores; the rest is kept for tiles), short by 256 B: use int4 weights (lower-quant{weights=int4}), or a mesh with more SRAM (1,048,918 B in the mlp region)

// Without HBM the KV cache lives in SRAM too, and not fitting is an error whatever strict is.
// GROQ:      meshc.sram_resident_bytes = {shared = 1020928 : i64}, meshc.hbm_resident_bytes = 0 : i64} {
// GROQ:      tfm.weight "L0.up.weight" layer 0 mlp {meshc.region = #meshc<region shared>, meshc.residency = #meshc<residency sram>}
// GROQ:      {{//}} -----
// GROQ:      partition-attn-mlp: groq-like has no HBM, so weights and the KV cache must fit in SRAM: Weights need 536,870,912 B but the shared region's SRAM holds 172,500,000 B (75% of 230,000,000 B on 4 cores; the rest is kept for tiles), short by 364,370,912 B: use int4 weights (lower-quant{weights=int4}), or a mesh with more SRAM (715,827,883 B in the shared region)

// POLICY:   partition-attn-mlp: unknown policy 'bogus'; use shared or disaggregate
// FRAC-ERR: partition-attn-mlp: attn-frac must be auto or a number in (0, 1), got '1'
// SINGLE:   partition-attn-mlp: disaggregation needs at least 2 cores; the mesh is 1x1 (mesh-1x1)
// HW:       partition-attn-mlp: unknown hardware preset 'no-such-chip'

// -----

func.func @big(%x: tensor<1x1x16384xbf16>) -> tensor<1x1x16384xbf16> {
  %w = tfm.weight "L0.up.weight" layer 0 mlp : tensor<16384x16384xbf16>
  %y = tfm.linear %x, %w layer 0 mlp : tensor<1x1x16384xbf16>, tensor<16384x16384xbf16> -> tensor<1x1x16384xbf16>
  func.return %y : tensor<1x1x16384xbf16>
}
