// Invalid tile IR: one case per verifier rule, each with a comment saying why it must fail.
// The diagnostic is anchored to the tile.compute op that breaks the rule.
// RUN: MESHC_VERIFY_DIAG

// The tile grid counts tiles along M, N and K: it needs exactly three entries.
func.func @grid(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: grid (4, 2) and tile_shape (128, 128, 128) need 3 positive entries

// -----

// A tile with a zero-sized side holds no work.
func.func @tile_shape(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 0, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: grid (1, 4, 2) and tile_shape (128, 0, 128) need 3 positive entries

// -----

// tile_work lists the 7 per-tile quantities (macs ... sram_bytes) in order; 6 is one short.
func.func @tile_work_len(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: tile_work needs 7 entries >= 0

// -----

// Work and bytes are counts: none can be negative.
func.func @tile_work_negative(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, -1, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: tile_work needs 7 entries >= 0

// -----

// A placement is a core rectangle (r0, c0, r1, c1) with r0 <= r1 and c0 <= c1.
func.func @placement(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64, placement = array<i64: 2, 0, 1, 3>} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: placement (2, 0, 1, 3) is not a rectangle

// -----

// A strided placement (r0, c0, r1, c1, row step, column step) ends on a step: columns 0..3
// in steps of 2 would leave column 3 half in.
func.func @placement_step(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64, placement = array<i64: 0, 0, 3, 3, 1, 2>} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: placement (0, 0, 3, 3, 1, 2) is not a rectangle

// -----

// Core coordinates start at 0.
func.func @placement_negative(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64, placement = array<i64: -1, 0, 1, 3>} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: placement (-1, 0, 1, 3) is not a rectangle

// -----

// A scheduled op has both a start and an end cycle, or neither.
func.func @start_without_end(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64, start = 10 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: start and end go together

// -----

// An op cannot end before it starts.
func.func @end_before_start(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64, start = 10 : i64, end = 5 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: need 0 <= start <= end

// -----

// Cycles count from 0.
func.func @negative_start(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64, start = -5 : i64, end = 5 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: need 0 <= start <= end

// -----

// Every tile op names the graph op it came from (label): a required property.
func.func @missing_label(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: property 'label' expected in operation 'tile.compute'

// -----

// Tile tables are i64 arrays; an i32 array is the wrong element type. xDSL rejects it
// while parsing, so this diagnostic alone comes without the annotated op.
func.func @grid_i32(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i32: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, stationary_bits = 1.600000e+01 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: Expected attribute i64 but got i32

// -----

// A gemm tile's array loads its held operand (weight, matmul rhs, K/V cache) at the bits it
// is stored at: the cost model needs them recorded, not guessed.
func.func @stationary_bits_missing(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: a gemm tile needs stationary_bits

// -----

// Stored bits per element are a positive bit width.
func.func @stationary_bits_zero(%x: tensor<1x128x256xbf16>, %w: tensor<256x512xbf16>) {
  %0 = tile.compute gemm "tfm.linear"(%x, %w) {label = "L0.mlp.up", layer = 0 : i64, block = #tfm<block mlp>, region = "mlp", precision = "bf16", grid = array<i64: 1, 4, 2>, tile_shape = array<i64: 128, 128, 128>, tile_work = array<i64: 2097152, 0, 0, 32768, 32768, 32768, 98304>, padded_macs = 0 : i64, stationary_bits = 0.000000e+00 : f64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x128x256xbf16>, tensor<256x512xbf16>) -> tensor<1x128x512xbf16>
  func.return
}
// CHECK: %0 = "tile.compute"
// CHECK: Operation does not verify: stationary_bits 0.0 is not a bit width in (0, 64]
