// RUN: meshc opt %s -p 'partition-attn-mlp{hw=mesh-2x2},tile-grain{hw=mesh-2x2},map-mesh{hw=mesh-2x2 mapper=heft}' | filecheck %s
// RUN: meshc opt %s -p 'partition-attn-mlp{hw=mesh-2x2},tile-grain{hw=mesh-2x2},map-mesh{hw=mesh-2x2 mapper=cpsat budget=0.2}' | filecheck %s --check-prefix=CPSAT
// RUN: not meshc opt %s -p 'partition-attn-mlp{hw=mesh-2x2},tile-grain{hw=mesh-2x2},map-mesh{hw=mesh-2x2 mapper=greedy}' 2>&1 | filecheck %s --check-prefix=BADMAPPER
// RUN: meshc opt %s -p 'tile-grain{hw=mesh-2x2},map-mesh{mapper=heft}' | filecheck %s --check-prefix=NOREGIONS
// RUN: meshc opt %s --verify-diagnostics -p 'tile-grain{hw=mesh-1x1},map-mesh{hw=mesh-2x2 mapper=heft}' | filecheck %s --check-prefix=MISMATCH

// A small MLP block: every tiled op gets a core rectangle and a start/end in cycles, the
// function records what the mapper did; without partition-attn-mlp every core is usable.

func.func @prefill(%x: tensor<1x64x128xbf16>) -> tensor<1x64x128xbf16> {
  %g = tfm.weight "L0.norm.weight" layer 0 mlp : tensor<128xbf16>
  %h = tfm.rmsnorm %x, %g layer 0 mlp : tensor<1x64x128xbf16>, tensor<128xbf16>
  %w1 = tfm.weight "L0.up.weight" layer 0 mlp : tensor<128x512xbf16>
  %u = tfm.linear %h, %w1 layer 0 mlp : tensor<1x64x128xbf16>, tensor<128x512xbf16> -> tensor<1x64x512xbf16>
  %a = tfm.activation "relu" %u layer 0 mlp : tensor<1x64x512xbf16>
  %w2 = tfm.weight "L0.down.weight" layer 0 mlp : tensor<512x128xbf16>
  %d = tfm.linear %a, %w2 layer 0 mlp : tensor<1x64x512xbf16>, tensor<512x128xbf16> -> tensor<1x64x128xbf16>
  %r = tfm.add %x, %d layer 0 mlp : tensor<1x64x128xbf16>, tensor<1x64x128xbf16> -> tensor<1x64x128xbf16>
  func.return %r : tensor<1x64x128xbf16>
}

// CHECK:      func.func @prefill
// CHECK-SAME: meshc.mapper = {solver = "heft", status = "HEFT", makespan = [[MS:[0-9]+]] : i64, heft_makespan = [[MS]] : i64, lower_bound = {{[0-9]+}} : i64, fell_back = false, wall_limit_hit = false, fallback_reason = "", options = {mapper = "heft", budget = 5.000000e-01 : f64, wall = 3.000000e+02 : f64, seed = 0 : i64, workers = 2 : i64, window = 12 : i64}, notes = []}
// CHECK-NOT:  solve_time_s
// CHECK:      tile.compute vector "tfm.rmsnorm"{{.*}}placement = array<i64: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}>, start = 0 : i64, end = {{[0-9]+}} : i64
// CHECK:      tile.compute gemm "tfm.linear"{{.*}}label = "prefill.L0.mlp.up"{{.*}}placement = array<i64:{{.*}}>, start = {{[0-9]+}} : i64, end = {{[0-9]+}} : i64
// CHECK:      tile.compute vector "tfm.activation"{{.*}}placement
// CHECK:      tile.compute gemm "tfm.linear"{{.*}}label = "prefill.L0.mlp.down"{{.*}}placement
// CHECK:      tile.compute vector "tfm.add"{{.*}}placement

// CPSAT:      meshc.mapper = {solver = "cpsat", status = "{{OPTIMAL|FEASIBLE}}"
// CPSAT-SAME: fell_back = false
// CPSAT-SAME: options = {mapper = "cpsat", budget = 2.000000e-01 : f64

// BADMAPPER: mapper is 'greedy'; choose cpsat or heft

// The hardware is the module's, recorded by the first pass that names one: map-mesh
// without hw= maps for it, and one that names another machine is refused.
// NOREGIONS: builtin.module attributes {meshc.hw = #meshc.hw<"mesh-2x2">}
// NOREGIONS: meshc.mapper = {solver = "heft"
// NOREGIONS: tile.compute gemm "tfm.linear"{{.*}}placement = array<i64:

// MISMATCH: map-mesh: the module is compiled for hardware 'mesh-1x1' but map-mesh{hw=mesh-2x2} asks for 'mesh-2x2'; use one hardware (drop hw= from the pass to use the module's)
