// lower-collectives: every tfm.collective is recorded on its function, in program order,
// with the bytes meshc/hardware/collectives.py takes, and removed: its uses read its input;
// a returned all_gather leaves the chip's shard as the function's result.
//
// RUN: meshc opt %s -p lower-collectives | filecheck %s

func.func @decode(%0: tensor<1x1x64xbf16>, %1: tensor<1x4x64xbf16>) -> tensor<1x1x256xbf16> {
  %2 = tfm.weight "L0.o.weight" layer 0 attention : tensor<64x64xbf16>
  %3 = tfm.linear %0, %2 layer 0 attention : tensor<1x1x64xbf16>, tensor<64x64xbf16> -> tensor<1x1x64xbf16>
  %4 = tfm.collective all_reduce %3 chips 4 layer 0 attention : tensor<1x1x64xbf16> -> tensor<1x1x64xbf16>
  %5 = tfm.add %0, %4 layer 0 attention : tensor<1x1x64xbf16>, tensor<1x1x64xbf16> -> tensor<1x1x64xbf16>
  %6 = tfm.collective all_to_all %1 chips 4 fanout 2 layer 0 mlp : tensor<1x4x64xbf16> -> tensor<1x4x64xbf16>
  %7 = tfm.collective send %5 chips 2 layer 0 attention : tensor<1x1x64xbf16> -> tensor<1x1x64xbf16>
  %8 = tfm.collective all_gather %7 chips 4 layer -1 other : tensor<1x1x64xbf16> -> tensor<1x1x256xbf16>
  func.return %8 : tensor<1x1x256xbf16>
}

// CHECK:      func.func @decode(%0: tensor<1x1x64xbf16>, %1: tensor<1x4x64xbf16>) -> tensor<1x1x64xbf16> attributes {meshc.collectives = [
// CHECK-SAME: {kind = #tfm<collective_kind all_reduce>, label = "L0.attention.all_reduce0", chips = 4 : i64, bytes = 128 : i64, layer = 0 : i64, block = #tfm<block attention>}, {kind = #tfm<collective_kind all_to_all>, label = "L0.mlp.all_to_all0", chips = 4 : i64, bytes = 1024 : i64, layer = 0 : i64, block = #tfm<block mlp>}, {kind = #tfm<collective_kind send>, label = "L0.attention.send0", chips = 2 : i64, bytes = 128 : i64, layer = 0 : i64, block = #tfm<block attention>}, {kind = #tfm<collective_kind all_gather>, label = "other.all_gather0", chips = 4 : i64, bytes = 512 : i64, layer = -1 : i64, block = #tfm<block other>}]
// CHECK-NOT:  tfm.collective
// CHECK:      %[[LIN:.*]] = tfm.linear %0
// CHECK-NEXT: %[[SUM:.*]] = tfm.add %0, %[[LIN]] layer 0
// CHECK-NEXT: func.return %[[SUM]] : tensor<1x1x64xbf16>
