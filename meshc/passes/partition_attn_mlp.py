"""partition-attn-mlp: core regions for every op, SRAM or HBM for every weight."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, ModuleOp
from xdsl.passes import ModulePass

from meshc.errors import MeshcError
from meshc.hardware import CoreType, Hardware, Precision
from meshc.ir.graph import WeightOp
from meshc.ir.notes import add_note
from meshc.ir.summary import kv_caches
from meshc.ir.work import element_bits, tensor_bytes
from meshc.passes._capacity import hbm_overflow
from meshc.passes._common import (
    ATTR_HBM,
    ATTR_REGION,
    ATTR_REGIONS,
    ATTR_RESIDENCY,
    ATTR_RESIDENT,
    SHARED,
    RegionAttr,
    ResidencyAttr,
    cores_attr,
    fail,
    functions,
    graph_ops,
    hardware,
    pass_hardware,
    quantized_operands,
    resident_bytes_attr,
    unique_weights,
    weight_bytes,
)
from meshc.passes._regions import Core, Fit, attention_cores, auto_fraction, roofline_cycles

POLICIES = ("shared", "disaggregate")


@dataclass(frozen=True)
class PartitionAttnMlpPass(ModulePass):
    """Assigns every tfm op to a core region and every weight to SRAM or HBM.

    Input: a module of `tfm` functions (one per phase), before tile-grain.
    Output: module attributes `meshc.regions` (region -> i64 array of row-major (row, col)
    pairs), `meshc.sram_resident_bytes` (region -> bytes resident in its SRAM),
    `meshc.hbm_resident_bytes` (weights kept in HBM + KV cache), `meshc.hw` when the module
    had none, and, when weights do not fit, a note (meshc.ir.notes); `#meshc<region ...>` on
    every tfm op and `#meshc<residency sram|hbm>` on every tfm.weight. `shared`: one
    region `shared` with every core.
    `disaggregate`: `attention` = the cores nearest the HBM stacks, `mlp` = the rest;
    attention-block and other-block ops (embedding, final norm, LM head) go to `attention`,
    mlp-block ops to `mlp`. A group of weights (all of them when shared; the MLP's and the
    attention region's when disaggregated) is SRAM-resident when it fits 75% of its region's
    SRAM (25% is kept for tiles), else streamed from HBM. Weights are counted once per
    parameter name (phases share them).
    Options: policy=shared|disaggregate; attn-frac=auto (attention share of the estimated
    work, snapped to whole rings of cores around HBM) or a float in (0, 1) (exactly
    round(frac x cores) cores); hw=preset or YAML path (default: the module's `meshc.hw`,
    else mesh-4x4); strict=true makes a weight group that does not fit an error instead of
    a note.
    Fails when: hw names another machine than the module's `meshc.hw`; the policy or
    attn-frac is invalid; the mesh has one core (disaggregate); a
    region has no core with a systolic array; weights (and KV cache) do not fit SRAM on a
    machine without HBM, whatever strict says; with strict=true, the shared or MLP weights
    do not fit their region's SRAM.
    """

    name = "partition-attn-mlp"

    policy: str = "shared"
    attn_frac: str | int | float = "auto"
    hw: str = ""
    strict: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        hw = hardware(pass_hardware(op, self.hw, self.name) or "", self.name)
        if self.policy not in POLICIES:
            fail(f"partition-attn-mlp: unknown policy '{self.policy}'; use shared or disaggregate")
        if self.policy == "shared":
            regions = {SHARED: tuple((r, c) for r, c, _ in hw.cores)}
            region_of = {"attention": SHARED, "mlp": SHARED, "other": SHARED}
        else:
            regions = self._disaggregate(op, hw)
            region_of = {"attention": "attention", "mlp": "mlp", "other": "attention"}
        for name, cores in regions.items():
            if not any(hw.core_types[hw.core_type_at(r, c)].can_gemm for r, c in cores):
                fail(f"partition-attn-mlp: region '{name}' of {hw.name} has no core with a "
                     f"systolic array: {list(cores)}")
        for f in functions(op):
            for g in graph_ops(f):
                g.attributes[ATTR_REGION] = RegionAttr(region_of[g.block_name])
        op.attributes[ATTR_REGIONS] = DictionaryAttr(
            {k: cores_attr(v) for k, v in sorted(regions.items())})
        self._residency(op, hw, regions, region_of)

    # --- regions -------------------------------------------------------------------------

    def _disaggregate(self, module: ModuleOp, hw: Hardware) -> dict[str, tuple[Core, ...]]:
        if self.attn_frac == "auto":
            frac, snap = auto_fraction(*_block_cycles(module, hw)), True
        elif isinstance(self.attn_frac, int | float) and 0 < self.attn_frac < 1:
            frac, snap = float(self.attn_frac), False
        else:
            fail(f"partition-attn-mlp: attn-frac must be auto or a number in (0, 1), "
                 f"got '{self.attn_frac}'")
        attach = [rc for s in hw.hbm_stacks for rc in s.attach]
        try:
            attn = attention_cores(hw.mesh_rows, hw.mesh_cols, attach, frac, snap)
        except ValueError as e:
            fail(f"partition-attn-mlp: {e} ({hw.name})")
        rest = tuple((r, c) for r, c, _ in hw.cores if (r, c) not in set(attn))
        return {"attention": attn, "mlp": rest}

    # --- residency -----------------------------------------------------------------------

    def _residency(self, module: ModuleOp, hw: Hardware, regions: dict[str, tuple[Core, ...]],
                   region_of: dict[str, str]) -> None:
        has_hbm = bool(hw.hbm_stacks)
        weights = unique_weights(module)
        suggest_int4 = _int4_would_help(module)
        # per region: bytes by layer (-1 = outside the layers); KV counts where there is no HBM
        by_layer: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for w in weights.values():
            by_layer[region_of[w.block_name]][w.layer_index] += weight_bytes(w)
        kv = _kv_by_layer(module, region_of)
        if not has_hbm:
            for r, layers in kv.items():
                for layer, b in layers.items():
                    by_layer[r][layer] += b
        sram_of = {(r, c): hw.core_types[t].sram_bytes for r, c, t in hw.cores}
        resident: dict[str, int] = {r: 0 for r in regions}
        streamed = 0 if not has_hbm else sum(sum(v.values()) for v in kv.values())
        notes: list[str] = []
        in_hbm: list[WeightOp] = []
        for region, layers in sorted(by_layer.items()):
            fit = Fit(what=_what(region), region=region, need=sum(layers.values()),
                      sram_bytes=sum(sram_of[c] for c in regions[region]),
                      n_cores=len(regions[region]), layers=len([x for x in layers if x >= 0]),
                      fixed=layers.get(-1, 0))
            place = "sram" if fit.fits else "hbm"
            if fit.fits:
                resident[region] += fit.need
            elif not has_hbm:
                fail(f"partition-attn-mlp: {hw.name} has no HBM, so weights and the KV cache "
                     f"must fit in SRAM: {fit.note(suggest_int4)}")
            else:
                streamed += fit.need
                in_hbm += [w for w in weights.values() if region_of[w.block_name] == region]
                if region in (SHARED, "mlp"):
                    notes.append(fit.note(suggest_int4))
            for w in weights.values():
                if region_of[w.block_name] == region:
                    w.attributes[ATTR_RESIDENCY] = ResidencyAttr(place)
        if has_hbm and (why := hbm_overflow(module, hw.name, hw.hbm_bytes, in_hbm)):
            fail(f"partition-attn-mlp: {why}")  # the blocker, before any tile misses SRAM
        if notes and self.strict:
            fail("partition-attn-mlp: " + "; ".join(notes))
        for f in functions(module):  # phases repeat parameters: same residency everywhere
            for g in graph_ops(f):
                if isinstance(g, WeightOp):
                    g.attributes[ATTR_RESIDENCY] = weights[g.param.data].attributes[ATTR_RESIDENCY]
        module.attributes[ATTR_RESIDENT] = resident_bytes_attr(resident)
        module.attributes[ATTR_HBM] = IntegerAttr(streamed, 64)
        for note in notes:
            add_note(module, self.name, note)


def _what(region: str) -> str:
    return {"mlp": "MLP weights", "attention": "Attention-region weights"}.get(region, "Weights")


def _kv_by_layer(module: ModuleOp, region_of: dict[str, str]) -> dict[str, dict[int, int]]:
    """KV cache bytes by region and layer, from the phase with the largest cache."""
    best: dict[str, dict[int, int]] = {}
    best_total = -1
    for f in functions(module):
        per: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for g in kv_caches(f):
            per[region_of[g.block_name]][g.layer_index] += tensor_bytes(g.result.type)
        total = sum(sum(v.values()) for v in per.values())
        if total > best_total:
            best, best_total = per, total
    return best


def _int4_would_help(module: ModuleOp) -> bool:
    """Whether some weight lower-quant would quantize is still wider than int4."""
    for f in functions(module):
        for g in graph_ops(f):
            for v in quantized_operands(g):
                w = v.owner
                if isinstance(w, WeightOp) and element_bits(w.result.type.element_type) > 4:
                    return True
    return False


def _block_cycles(module: ModuleOp, hw: Hardware) -> tuple[float, float]:
    """Estimated work (cycles on one average core) of the attention side (attention and
    other blocks) and of the MLP, summed over every op of every phase."""
    cores = [hw.core_types[t] for _, _, t in hw.cores]
    gemm = [c for c in cores if c.can_gemm]
    mpc = sum(c.macs_per_cycle[_bf16_or_narrowest(c)] for c in gemm) / len(gemm)
    lanes = sum(c.vector_lanes for c in cores) / len(cores)
    tpc = sum(c.transcendental_per_cycle for c in cores) / len(cores)
    bpc = sum(c.sram_bytes_per_cycle for c in cores) / len(cores)
    attn = mlp = 0.0
    for f in functions(module):
        for g in graph_ops(f):
            if isinstance(g, WeightOp):
                continue
            w = g.work()
            moved = w.in_bytes + w.out_bytes + w.kv_read_bytes + w.kv_write_bytes
            cyc = roofline_cycles(w.macs, w.vector_ops, w.transcendental_ops, moved, mpc, lanes,
                                  tpc, bpc)
            if g.block_name == "mlp":
                mlp += cyc
            else:
                attn += cyc
    return attn, mlp


def _bf16_or_narrowest(core: CoreType) -> Precision:
    try:
        return core.exec_precision("bf16")
    except MeshcError:  # an integer-only array
        return core.precisions[0]
