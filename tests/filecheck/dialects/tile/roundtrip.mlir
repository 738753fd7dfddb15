// The tile dialect: tile.compute before and after mapping, printed generically, re-parsed
// and printed back in the custom form (MESHC_ROUNDTRIP), and its generic form.
// RUN: MESHC_ROUNDTRIP
// RUN: MESHC_GENERIC_ROUNDTRIP

func.func @tiles(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xi4>) -> tensor<1x128x512xbf16> {
  // a gemm tile grid before mapping: no placement, no timing
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "int4", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 8192, 32768, 73728>, padded_macs = 0 : i64, stationary_bits = 4.125000e+00 : f64, hbm_read_bytes = 65536 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xi4>) -> tensor<1x128x512xbf16>
  // a vector op after mapping: on the core rectangle (0, 0)-(1, 3), from cycle 100 to 250
  %1 = tile.compute vector "tfm.activation"(%0) {label = "L0.mlp.act", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 1>, tile_shape = array<i64: 128, 128, 1>, tile_work = array<i64: 0, 49152, 16384, 32768, 0, 32768, 65536>, padded_macs = 0 : i64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64, placement = array<i64: 0, 0, 1, 3>, start = 100 : i64, end = 250 : i64} : (tensor<1x128x512xbf16>) -> tensor<1x128x512xbf16>
  func.return %1 : tensor<1x128x512xbf16>
}

// -----

func.func @memory(%ids: tensor<1x1xi32>) -> tensor<1x1x64xbf16> {
  // data movement only, with no inputs and a discardable attribute kept as is
  %0 = tile.compute memory "tfm.kv_read"() {label = "L3.attention.kv_read", layer = 3 : i64, block = #tfm<block attention>, region = "attention", precision = "bf16", grid = array<i64: 1, 1, 1>, tile_shape = array<i64: 1, 64, 1>, tile_work = array<i64: 0, 0, 0, 0, 0, 128, 128>, padded_macs = 0 : i64, hbm_read_bytes = 128 : i64, hbm_write_bytes = 0 : i64, meshc.note = "example"} : () -> tensor<1x1x64xbf16>
  func.return %0 : tensor<1x1x64xbf16>
}

// CHECK:      builtin.module {
// CHECK-NEXT: func.func @tiles(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xi4>) -> tensor<1x128x512xbf16> {
// CHECK-NEXT: %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "int4", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 8192, 32768, 73728>, padded_macs = 0 : i64, stationary_bits = 4.125000e+00 : f64, hbm_read_bytes = 65536 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xi4>) -> tensor<1x128x512xbf16>
// CHECK-NEXT: %1 = tile.compute vector "tfm.activation"(%0) {label = "L0.mlp.act", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 1>, tile_shape = array<i64: 128, 128, 1>, tile_work = array<i64: 0, 49152, 16384, 32768, 0, 32768, 65536>, padded_macs = 0 : i64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64, placement = array<i64: 0, 0, 1, 3>, start = 100 : i64, end = 250 : i64} : (tensor<1x128x512xbf16>) -> tensor<1x128x512xbf16>
// CHECK-NEXT: func.return %1 : tensor<1x128x512xbf16>
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK:      builtin.module {
// CHECK-NEXT: func.func @memory(%ids: tensor<1x1xi32>) -> tensor<1x1x64xbf16> {
// CHECK-NEXT: %0 = tile.compute memory "tfm.kv_read"() {meshc.note = "example", label = "L3.attention.kv_read", layer = 3 : i64, block = #tfm<block attention>, region = "attention", precision = "bf16", grid = array<i64: 1, 1, 1>, tile_shape = array<i64: 1, 64, 1>, tile_work = array<i64: 0, 0, 0, 0, 0, 128, 128>, padded_macs = 0 : i64, hbm_read_bytes = 128 : i64, hbm_write_bytes = 0 : i64} : () -> tensor<1x1x64xbf16>
// CHECK-NEXT: func.return %0 : tensor<1x1x64xbf16>
// CHECK-NEXT: }
// CHECK-NEXT: }

// CHECK-GENERIC:      "builtin.module"() ({
// CHECK-GENERIC-NEXT: "func.func"() <{sym_name = "tiles", function_type = (tensor<1x128x256xbf16>, tensor<256x512xi4>) -> tensor<1x128x512xbf16>}> ({
// CHECK-GENERIC-NEXT: ^bb0(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xi4>):
// CHECK-GENERIC-NEXT: %0 = "tile.compute"(%x, %w) <{kind = #tile<kind gemm>, source = "tfm.linear", label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "int4", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 8192, 32768, 73728>, padded_macs = 0 : i64, stationary_bits = 4.125000e+00 : f64, hbm_read_bytes = 65536 : i64, hbm_write_bytes = 0 : i64}> : (tensor<1x128x256xbf16>, tensor<256x512xi4>) -> tensor<1x128x512xbf16>
// CHECK-GENERIC-NEXT: %1 = "tile.compute"(%0) <{kind = #tile<kind vector>, source = "tfm.activation", label = "L0.mlp.act", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 1>, tile_shape = array<i64: 128, 128, 1>, tile_work = array<i64: 0, 49152, 16384, 32768, 0, 32768, 65536>, padded_macs = 0 : i64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64, placement = array<i64: 0, 0, 1, 3>, start = 100 : i64, end = 250 : i64}> : (tensor<1x128x512xbf16>) -> tensor<1x128x512xbf16>
// CHECK-GENERIC-NEXT: "func.return"(%1) : (tensor<1x128x512xbf16>) -> ()
// CHECK-GENERIC-NEXT: }) : () -> ()
// CHECK-GENERIC-NEXT: }) : () -> ()
// CHECK-GENERIC:      "builtin.module"() ({
// CHECK-GENERIC-NEXT: "func.func"() <{sym_name = "memory", function_type = (tensor<1x1xi32>) -> tensor<1x1x64xbf16>}> ({
// CHECK-GENERIC-NEXT: ^bb0(%ids: tensor<1x1xi32>):
// CHECK-GENERIC-NEXT: %0 = "tile.compute"() <{kind = #tile<kind memory>, source = "tfm.kv_read", label = "L3.attention.kv_read", layer = 3 : i64, block = #tfm<block attention>, region = "attention", precision = "bf16", grid = array<i64: 1, 1, 1>, tile_shape = array<i64: 1, 64, 1>, tile_work = array<i64: 0, 0, 0, 0, 0, 128, 128>, padded_macs = 0 : i64, hbm_read_bytes = 128 : i64, hbm_write_bytes = 0 : i64}> {meshc.note = "example"} : () -> tensor<1x1x64xbf16>
// CHECK-GENERIC-NEXT: "func.return"(%0) : (tensor<1x1x64xbf16>) -> ()
// CHECK-GENERIC-NEXT: }) : () -> ()
// CHECK-GENERIC-NEXT: }) : () -> ()
