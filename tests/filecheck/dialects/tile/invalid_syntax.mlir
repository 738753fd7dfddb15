// tile IR the parser rejects: a tile kind outside its enum.
// RUN: meshc opt %s --parsing-diagnostics --split-input-file | filecheck %s

// A tile runs on the systolic array (gemm), the vector unit (vector) or moves data (memory).
func.func @kind(%x: tensor<1x8x32xbf16>) {
  %0 = tile.compute scalar "tfm.softmax"(%x) {label = "s", layer = 0 : i64, block = #tfm<block attention>, region = "attention", precision = "bf16", grid = array<i64: 1, 1, 1>, tile_shape = array<i64: 8, 32, 1>, tile_work = array<i64: 0, 1280, 256, 512, 0, 512, 1024>, padded_macs = 0 : i64, hbm_read_bytes = 0 : i64, hbm_write_bytes = 0 : i64} : (tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16>
  func.return
}
// CHECK: Expected `gemm`, `vector`, or `memory`.
