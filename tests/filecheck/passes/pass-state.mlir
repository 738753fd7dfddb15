// The passes read their state only in its typed form (meshc/ir/state.py): a module whose
// hardware, regions or resident bytes are written any other way fails the pass that reads
// it, with a message naming the attribute, instead of being read as something else.
// RUN: meshc opt %s --split-input-file --verify-diagnostics -p 'tile-grain' | filecheck %s

// meshc.hw is #meshc.hw<"NAME">: a plain string is refused, not ignored (which mapped for
// the default mesh-4x4).
builtin.module attributes {meshc.hw = "mesh-2x2"} {
  func.func @f(%x: tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16> {
    %0 = tfm.softmax %x layer 0 attention : tensor<1x8x32xbf16>
    func.return %0 : tensor<1x8x32xbf16>
  }
}
// CHECK: tile-grain: meshc.hw must be #meshc.hw<"NAME">, got "mesh-2x2"

// -----

// Region names are shared, attention and mlp.
builtin.module attributes {meshc.hw = #meshc.hw<"mesh-2x2">, meshc.regions = {mpl = array<i64: 0, 0>}} {
  func.func @f(%x: tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16> {
    %0 = tfm.softmax %x layer 0 attention : tensor<1x8x32xbf16>
    func.return %0 : tensor<1x8x32xbf16>
  }
}
// CHECK: meshc.regions names region 'mpl'; regions are shared, attention, mlp

// -----

// A region's cores are (row, col) pairs inside the mesh.
builtin.module attributes {meshc.hw = #meshc.hw<"mesh-2x2">, meshc.regions = {mlp = array<i64: 0, 0, 1>}} {
  func.func @f(%x: tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16> {
    %0 = tfm.softmax %x layer 0 attention : tensor<1x8x32xbf16>
    func.return %0 : tensor<1x8x32xbf16>
  }
}
// CHECK: region 'mlp' lists cores [0, 0, 1] outside the 2x2 mesh of mesh-2x2

// -----

// The hardware a module records is the one every pass uses: no hw= needed.
builtin.module attributes {meshc.hw = #meshc.hw<"mesh-1x1">} {
  func.func @f(%x: tensor<1x8x32xbf16>) -> tensor<1x8x32xbf16> {
    %0 = tfm.softmax %x layer 0 attention : tensor<1x8x32xbf16>
    func.return %0 : tensor<1x8x32xbf16>
  }
}
// CHECK: builtin.module attributes {meshc.hw = #meshc.hw<"mesh-1x1">}
// CHECK: tile.compute vector "tfm.softmax"
