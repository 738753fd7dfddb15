// The meshc dialect: the typed attributes the passes record, in custom and generic form.
// RUN: MESHC_ROUNDTRIP
// RUN: MESHC_GENERIC_ROUNDTRIP

builtin.module attributes {meshc.hw = #meshc.hw<"./my dir/hw.yaml">} {
  func.func @decode(%x: tensor<1x2x32xbf16>) -> tensor<1x2x32xbf16> {
    %w = tfm.weight "L0.up.weight" layer 0 mlp {meshc.region = #meshc<region mlp>, meshc.residency = #meshc<residency hbm>} : tensor<32x32xbf16>
    %y = tfm.linear %x, %w layer 0 mlp {meshc.region = #meshc<region mlp>, meshc.part = #meshc.part<1>} : tensor<1x2x32xbf16>, tensor<32x32xbf16> -> tensor<1x2x32xbf16>
    func.return %y : tensor<1x2x32xbf16>
  }
}

// CHECK: builtin.module attributes {meshc.hw = #meshc.hw<"./my dir/hw.yaml">}
// CHECK: tfm.weight "L0.up.weight" layer 0 mlp {meshc.region = #meshc<region mlp>, meshc.residency = #meshc<residency hbm>}
// CHECK: tfm.linear %x, %w layer 0 mlp {meshc.region = #meshc<region mlp>, meshc.part = #meshc.part<1>}

// CHECK-GENERIC: "builtin.module"() ({
// CHECK-GENERIC: "tfm.weight"() <{{.*}}> {meshc.region = #meshc<region mlp>, meshc.residency = #meshc<residency hbm>}
// CHECK-GENERIC: "tfm.linear"{{.*}} {meshc.region = #meshc<region mlp>, meshc.part = #meshc.part<1>}
// CHECK-GENERIC: }) {meshc.hw = #meshc.hw<"./my dir/hw.yaml">}
