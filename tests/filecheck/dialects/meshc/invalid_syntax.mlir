// meshc attributes the parser rejects: a value outside its enum, a verifier that fails.
// RUN: meshc opt %s --parsing-diagnostics --split-input-file | filecheck %s

// A residency is sram or hbm.
func.func @residency() {
  %0 = tfm.weight "w" layer 0 mlp {meshc.residency = #meshc<residency hmb>} : tensor<32x32xbf16>
  func.return
}
// CHECK: Expected `sram`, or `hbm`.

// -----

// A region is shared, attention or mlp.
func.func @region() {
  %0 = tfm.weight "w" layer 0 mlp {meshc.region = #meshc<region ffn>} : tensor<32x32xbf16>
  func.return
}
// CHECK: Expected `shared`, `attention`, or `mlp`.

// -----

// The hardware is a quoted preset name or path.
builtin.module attributes {meshc.hw = #meshc.hw<mesh-4x4>} {
}
// CHECK: string literal expected for meshc.hw (a preset name or file path)
