// Invalid meshc pass state: the attributes the passes record must be in their typed form,
// so a typo or a plain string is an error instead of a silently different meaning.
// RUN: MESHC_VERIFY_DIAG

// A residency written as a string ("hmb" for hbm) used to read as SRAM-resident.
func.func @residency_string() {
  %0 = tfm.weight "w" layer 0 mlp {meshc.residency = "hmb"} : tensor<32x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.weight"
// CHECK: Operation does not verify: meshc.residency must be #meshc<residency sram|hbm>, got "hmb"

// -----

// A region is the typed #meshc<region ...>, not a string.
func.func @region_string(%x: tensor<1x8x32xbf16>) {
  %0 = tfm.softmax %x layer 0 attention {meshc.region = "attention"} : tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.softmax"
// CHECK: Operation does not verify: meshc.region must be #meshc<region shared|attention|mlp>, got "attention"

// -----

// The row block of split-rows is #meshc.part<N>, not an integer.
func.func @part_integer(%x: tensor<1x8x32xbf16>) {
  %0 = tfm.softmax %x layer 0 attention {meshc.part = 1 : i64} : tensor<1x8x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.softmax"
// CHECK: Operation does not verify: meshc.part must be #meshc.part<N>, got 1 : i64

// -----

// A misspelt meshc attribute would be ignored by every pass: it is refused.
func.func @unknown_key() {
  %0 = tfm.weight "w" layer 0 mlp {meshc.residancy = #meshc<residency hbm>} : tensor<32x32xbf16>
  func.return
}
// CHECK: %0 = "tfm.weight"
// CHECK: Operation does not verify: unknown attribute meshc.residancy on tfm.weight; meshc knows meshc.part, meshc.region, meshc.residency
