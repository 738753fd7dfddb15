// shard-experts: a MoE layer's 4 routed experts (top_k 2) and 1 shared expert over 2 chips:
// each chip holds 2 routed experts (`local 2`) plus the shared one, its router scores all
// 4, top_k stays 2; an all_to_all dispatches the MoE input and one combines its result.
// ep=4 leaves a chip 1 expert (fewer than top_k: its tokens' top_k rows all reach it);
// ep=3 does not divide the experts.
//
// RUN: meshc opt %s -p 'shard-experts{ep=2}' | filecheck %s
// RUN: meshc opt %s -p 'shard-experts{ep=1}' | filecheck %s --check-prefix=ONE
// RUN: meshc opt %s -p 'shard-experts{ep=4}' | filecheck %s --check-prefix=FOUR
// RUN: not meshc opt %s -p 'shard-experts{ep=3}' 2>&1 | filecheck %s --check-prefix=DIVIDE

func.func @decode(%0: tensor<1x1x16xbf16>) -> tensor<1x1x16xbf16> {
  %1 = tfm.weight "L0.mlp_norm.weight" layer 0 mlp : tensor<16xbf16>
  %2 = tfm.rmsnorm %0, %1 layer 0 mlp : tensor<1x1x16xbf16>, tensor<16xbf16>
  %3 = tfm.weight "L0.router.weight" layer 0 mlp : tensor<16x4xbf16>
  %4 = tfm.weight "L0.experts.gate" layer 0 mlp : tensor<5x16x8xbf16>
  %5 = tfm.weight "L0.experts.up" layer 0 mlp : tensor<5x16x8xbf16>
  %6 = tfm.weight "L0.experts.down" layer 0 mlp : tensor<5x8x16xbf16>
  %7 = tfm.moe %2, %3, %4, %5, %6 experts 4 top_k 2 shared 1 layer 0 mlp : tensor<1x1x16xbf16>, tensor<16x4xbf16>, tensor<5x16x8xbf16>, tensor<5x16x8xbf16>, tensor<5x8x16xbf16> -> tensor<1x1x16xbf16>
  %8 = tfm.add %0, %7 layer 0 mlp : tensor<1x1x16xbf16>, tensor<1x1x16xbf16> -> tensor<1x1x16xbf16>
  func.return %8 : tensor<1x1x16xbf16>
}

// CHECK:      builtin.module attributes {meshc.ep = 2 : i64} {
// CHECK:        %3 = tfm.weight "L0.router.weight" layer 0 mlp : tensor<16x4xbf16>
// CHECK-NEXT:   %4 = tfm.weight "L0.experts.gate" layer 0 mlp : tensor<3x16x8xbf16>
// CHECK-NEXT:   %5 = tfm.weight "L0.experts.up" layer 0 mlp : tensor<3x16x8xbf16>
// CHECK-NEXT:   %6 = tfm.weight "L0.experts.down" layer 0 mlp : tensor<3x8x16xbf16>
// CHECK-NEXT:   %7 = tfm.collective all_to_all %2 chips 2 fanout 2 layer 0 mlp : tensor<1x1x16xbf16> -> tensor<1x1x16xbf16>
// CHECK-NEXT:   %8 = tfm.moe %7, %3, %4, %5, %6 experts 4 local 2 top_k 2 shared 1 layer 0 mlp : tensor<1x1x16xbf16>, tensor<16x4xbf16>, tensor<3x16x8xbf16>, tensor<3x16x8xbf16>, tensor<3x8x16xbf16> -> tensor<1x1x16xbf16>
// CHECK-NEXT:   %9 = tfm.collective all_to_all %8 chips 2 fanout 2 layer 0 mlp : tensor<1x1x16xbf16> -> tensor<1x1x16xbf16>
// CHECK-NEXT:   %10 = tfm.add %0, %9 layer 0 mlp : tensor<1x1x16xbf16>, tensor<1x1x16xbf16> -> tensor<1x1x16xbf16>
// CHECK-NEXT:   func.return %10 : tensor<1x1x16xbf16>

// ONE:        builtin.module {
// ONE:        tfm.moe %2, %3, %4, %5, %6 experts 4 top_k 2 shared 1
// ONE-NOT:    tfm.collective

// FOUR:       tfm.moe %{{.*}} experts 4 local 1 top_k 2 shared 1 layer 0 mlp : tensor<1x1x16xbf16>, tensor<16x4xbf16>, tensor<2x16x8xbf16>
// DIVIDE: tfm.moe 'L0.experts.gate' (layer 0, mlp): its 4 routed experts do not divide over ep=3 chips; use an ep that divides 4
