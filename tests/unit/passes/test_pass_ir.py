"""partition-attn-mlp, lower-quant and tile-grain on real modules: the figures they promise,
computed here from the architecture and the hardware, not from meshc's code."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, TensorType
from xdsl.utils.exceptions import PassFailedException

from meshc.cli import main as cli
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model
from meshc.frontends.arch import Arch
from meshc.frontends.transformer import Shape, build
from meshc.hardware import load_hardware
from meshc.hardware.tile_cost import tile_cycles
from meshc.ir.graph import GraphOp, WeightOp
from meshc.ir.notes import notes
from meshc.ir.tile import ComputeOp
from meshc.ir.work import tensor_bytes
from meshc.pipelines import apply
from meshc.registry import get_pass, make_context

REPO = Path(__file__).resolve().parents[3]
PASSES = ("partition-attn-mlp", "lower-quant", "tile-grain")

# llama3-8b (meshc/frontends/zoo/llama3-8b.yaml, from its config.json)
H, L, F, V, KV = 4096, 32, 14336, 128256, 8 * 128


def llama8b(phases: tuple[str, ...] = ("decode",)) -> ModuleOp:
    return load_model(ModelRequest("llama3-8b", phases, Shape(1, 128, 128)))


def tiny(**kw: object) -> ModuleOp:
    """A small decoder; keyword arguments override the Arch (moe=..., mla=...)."""
    arch = Arch.model_validate({"name": "tiny", "hidden": 256, "layers": 2, "heads": 4,
                                "kv_heads": 2, "intermediate": 512, "vocab": 512, **kw})
    return build(arch, ("prefill", "decode"), Shape(1, 64, 64))


def partition_notes(module: ModuleOp) -> tuple[str, ...]:
    return tuple(text for source, text in notes(module) if source == "partition-attn-mlp")


def ops(module: ModuleOp, cls: type) -> list:
    return [op for op in module.walk() if isinstance(op, cls)]


# --- conventions ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", PASSES)
def test_pass_follows_the_house_rules(name: str) -> None:
    cls = get_pass(name)
    assert cls.name == name and dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert cls.__module__ == f"meshc.passes.{name.replace('-', '_')}"
    doc = cls.__doc__ or ""
    for section in ("Input:", "Output:", "Options:", "Fails when:"):
        assert section in doc, f"{name} docstring lacks {section}"
    assert (REPO / "tests" / "filecheck" / "passes" / f"{name}.mlir").is_file()
    cls()  # the defaults are a working configuration


# --- partition-attn-mlp --------------------------------------------------------------------


def mlp_need_llama8b() -> int:
    return L * (3 * H * F * 2 + H * 2)  # gate, up, down and the MLP norm, bf16


# mesh-4x4's cores with 200 GB of HBM: llama3-8b's 16 GB of weights fit, its MLP's SRAM not
BIG = str(Path(__file__).parent / "fixtures" / "mesh-4x4-big-hbm.yaml")


def test_partition_reports_the_exact_mlp_shortfall() -> None:
    """llama3-8b on mesh-4x4, disaggregated: the MLP region is every core but column 0."""
    hw = load_hardware(BIG)
    mlp_sram = sum(hw.core_types[t].sram_bytes for r, c, t in hw.cores if c != 0)
    hold = math.floor(mlp_sram * 0.75)
    need = mlp_need_llama8b()
    m = llama8b()
    apply(m, "partition-attn-mlp{policy=disaggregate}", hw=BIG)
    (note,) = partition_notes(m)
    assert note.startswith(
        f"MLP weights need {need:,} B but the mlp region's SRAM holds {hold:,} B (75% of "
        f"{mlp_sram:,} B on 12 cores; the rest is kept for tiles), short by {need - hold:,} B: "
        "use int4 weights (lower-quant{weights=int4})")
    with pytest.raises(MeshcError, match=f"short by {need - hold:,} B"):
        apply(llama8b(), "partition-attn-mlp{policy=disaggregate strict=true}", hw=BIG)


def test_phases_share_their_weights() -> None:
    one, both = llama8b(), llama8b(("prefill", "decode"))
    for m in (one, both):
        apply(m, "partition-attn-mlp{policy=disaggregate}", hw=BIG)
    assert partition_notes(one) == partition_notes(both) != ()


@pytest.mark.parametrize("hw", ["mesh-4x4", "tpu-v6e-like", "wormhole-n300-like", "groq-like"])
def test_regions_cover_the_mesh_and_every_op_is_placed(hw: str) -> None:
    m = tiny()
    apply(m, f"partition-attn-mlp{{policy=disaggregate hw={hw}}}")
    h = load_hardware(hw)
    regions = m.attributes["meshc.regions"].data  # type: ignore[attr-defined]
    cores = []
    for arr in regions.values():
        assert isinstance(arr, DenseArrayBase)
        flat = [int(x) for x in arr.get_values()]
        pairs = list(zip(flat[::2], flat[1::2], strict=True))
        assert pairs == sorted(pairs)  # row-major
        cores += pairs
    assert sorted(cores) == sorted((r, c) for r, c, _ in h.cores)  # disjoint and complete
    for op in ops(m, GraphOp):
        region = op.attributes["meshc.region"].data
        assert region == ("mlp" if op.block_name == "mlp" else "attention")
        if isinstance(op, WeightOp):
            assert op.attributes["meshc.residency"].data in ("sram", "hbm")
    if not h.hbm_stacks:  # nothing to stream from
        assert all(w.attributes["meshc.residency"].data == "sram" for w in ops(m, WeightOp))


# --- lower-quant ---------------------------------------------------------------------------


def inspect_weight_bytes(passes: str) -> int:
    args = ["inspect", "llama3-8b", "--phase", "decode", "--format", "json"]
    r = CliRunner().invoke(cli, [*args, "-p", passes] if passes else args)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)["phases"]["decode"]["weight_bytes"]


def test_int4_linears_cost_4_plus_16_over_128_bits_per_weight() -> None:
    """`meshc inspect` after lower-quant{weights=int4 group=128}: the linears and the LM
    head at (4 + 16/128)/16 of their bf16 bytes; embedding and norms stay bf16."""
    linears = L * (H * H + 2 * H * KV + H * H + 3 * H * F) + V * H
    others = V * H + (2 * L + 1) * H
    bf16 = inspect_weight_bytes("")
    assert bf16 == 2 * (linears + others)
    int4 = inspect_weight_bytes("lower-quant{weights=int4 group=128}")
    assert int4 == bf16 - 2 * linears + 2 * linears * (4 + 16 / 128) / 16
    assert int4 == 2 * others + linears * (4 + 16 / 128) / 8


def test_moe_experts_and_mla_absorb_are_quantized_but_not_the_router() -> None:
    m = tiny(moe={"experts": 4, "top_k": 2, "shared": 1, "expert_intermediate": 128},
             mla={"kv_lora_rank": 64, "qk_nope_dim": 32, "qk_rope_dim": 16, "v_head_dim": 32})
    apply(m, "lower-quant{weights=int8 group=32}")
    for w in ops(m, WeightOp):
        name, t = w.param.data, w.result.type
        assert isinstance(t, TensorType)
        quantized = any(s in name for s in (".experts.", ".kv_b.", ".q.", ".o.", ".q_a.",
                                            ".q_b.", ".kv_a.", ".k_rope.", "lm_head"))
        assert (str(t.element_type) == "i8") == quantized, name
        assert (w.group is not None) == quantized, name


def test_lower_quant_is_idempotent_and_keeps_signatures() -> None:
    spec = "lower-quant{weights=int4 acts=fp8 kv=int8}"
    m = tiny()
    before = [str(f.function_type) for f in m.ops]  # type: ignore[attr-defined]
    apply(m, spec)
    once = str(m)
    apply(m, spec)
    assert str(m) == once
    assert [str(f.function_type) for f in m.ops] == before  # type: ignore[attr-defined]


# --- tile-grain ----------------------------------------------------------------------------


def budgets(m: ModuleOp, hw_name: str) -> dict[str, int]:
    """Per region: the least SRAM any core keeps for tiles, from the weights' residency."""
    hw = load_hardware(hw_name)
    regions = {k: [(int(a), int(b)) for a, b in zip(v.get_values()[::2], v.get_values()[1::2],
                                                    strict=True)]
               for k, v in m.attributes["meshc.regions"].data.items()}  # type: ignore[attr-defined]
    resident: dict[str, int] = {}
    seen = set()
    for w in ops(m, WeightOp):
        if w.param.data in seen or w.attributes["meshc.residency"].data != "sram":
            continue
        seen.add(w.param.data)
        r = w.attributes["meshc.region"].data
        resident[r] = resident.get(r, 0) + tensor_bytes(w.result.type) + w.scale_bytes()
    out = {}
    for name, cores in regions.items():
        sram = {c: hw.core_types[hw.core_type_at(*c)].sram_bytes for c in cores}
        total = sum(sram.values())
        share = resident.get(name, 0)
        if not hw.hbm_stacks:
            share += max(sum(tensor_bytes(op.result.type) for op in f.walk()
                             if op.name == "tfm.kv_append" and
                             op.attributes["meshc.region"].data == name)
                         for f in m.ops)  # type: ignore[attr-defined]
        out[name] = min(s - -(-share * s // total) for s in sram.values())
    return out


@pytest.mark.parametrize(("hw", "extra"), [
    ("mesh-4x4", "policy=disaggregate"), ("tpu-v6e-like", ""), ("groq-like", ""),
    ("mesh-2x2", "policy=disaggregate"),
])
def test_tiles_fit_and_account_for_every_mac(hw: str, extra: str) -> None:
    m = tiny(moe={"experts": 8, "top_k": 2, "shared": 1, "expert_intermediate": 256},
             mla={"kv_lora_rank": 128, "qk_nope_dim": 32, "qk_rope_dim": 16, "v_head_dim": 32})
    apply(m, f"lower-quant{{weights=int4}},partition-attn-mlp{{hw={hw} {extra}}}")
    budget = budgets(m, hw)
    macs = [op.work().macs for op in ops(m, GraphOp) if not isinstance(op, WeightOp)]
    apply(m, "tile-grain")
    tiled = ops(m, ComputeOp)
    assert not [op for op in ops(m, GraphOp) if not isinstance(op, WeightOp)]
    assert len(tiled) == len(macs)
    assert len({op.label.data for op in tiled}) == len(tiled)
    for op, op_macs in zip(tiled, macs, strict=True):
        w = op.work_per_tile()
        assert w["sram_bytes"] <= budget[op.region.data], op.label.data
        assert op.n_tiles * w["macs"] - op.padded_macs.value.data == op_macs, op.label.data
        kind = op.kind.data.value
        assert (kind == "gemm") == (op_macs > 0), op.label.data
        if not load_hardware(hw).hbm_stacks:
            assert op.hbm_read_bytes.value.data == op.hbm_write_bytes.value.data == 0


@pytest.mark.parametrize("mla", [None, {"kv_lora_rank": 128, "qk_nope_dim": 32,
                                         "qk_rope_dim": 16, "v_head_dim": 32}])
def test_attention_on_an_int8_kv_cache_loads_it_at_int8(mla: dict | None) -> None:
    """tile.compute records the stored bits of the operand its array holds: attention's
    K/V cache (int8: 8 bits, though it executes at bf16; MLA's latent cache, not its int4
    absorb weight), the linears' int4 weights with a 16-bit scale per 128 (4.125); the
    weight-stationary array loads a fold at that width, in fewer cycles than at bf16."""
    m = tiny(**({"mla": mla} if mla else {}))
    apply(m, "lower-quant{weights=int4 group=128 kv=int8},tile-grain", hw="tpu-v6e-like")
    hw = load_hardware("tpu-v6e-like")
    core = next(ct for ct in hw.core_types.values() if ct.can_gemm)
    assert core.dataflow == "weight_stationary"
    tiled = [op for op in ops(m, ComputeOp) if op.label.data.startswith("decode.")]
    attn = [op for op in tiled if op.source.data == "tfm.attention"]
    assert attn
    for op in attn:
        assert op.stationary_bits_value() == 8.0 and op.precision.data == "bf16", op.label.data

        def view(bits: float, op: ComputeOp = op) -> SimpleNamespace:
            return SimpleNamespace(kind="gemm", precision=op.precision.data,
                                   tile_shape=tuple(int(x) for x in op.tile_shape.get_values()),
                                   tile_work=op.work_per_tile(), stationary_bits=bits)

        assert tile_cycles(view(8.0), core) < tile_cycles(view(16.0), core), op.label.data
    linears = [op for op in tiled if op.source.data == "tfm.linear"]
    assert linears and {op.stationary_bits_value() for op in linears} == {4 + 16 / 128}
    assert all(op.stationary_bits is None for op in tiled if op.kind.data.value != "gemm")


def test_hbm_traffic_is_streamed_weights_and_the_kv_cache() -> None:
    m = llama8b()
    apply(m, "partition-attn-mlp", hw=BIG)  # llama3-8b cannot fit SRAM: all weights in HBM
    weights = {w.result: tensor_bytes(w.result.type) for w in ops(m, WeightOp)}
    expect, cache = {}, 0
    for op in ops(m, GraphOp):
        if op.name in ("tfm.linear", "tfm.lm_head"):
            expect[len(expect)] = ("read", sum(weights.get(v, 0) for v in op.operands))
        elif op.name == "tfm.kv_read":  # attention streams the cache: its read is charged there
            expect[len(expect)] = ("read", 0)
            cache += tensor_bytes(op.result.type)
        elif op.name == "tfm.kv_append":
            expect[len(expect)] = ("write", tensor_bytes(op.new.type))
        elif op.name == "tfm.attention":
            expect[len(expect)], cache = ("read", cache), 0
    apply(m, "tile-grain")
    got = [op for op in ops(m, ComputeOp) if op.source.data in (
        "tfm.linear", "tfm.lm_head", "tfm.kv_read", "tfm.kv_append", "tfm.attention")]
    assert len(got) == len(expect) and cache == 0
    for i, op in enumerate(got):
        kind, n = expect[i]
        assert (op.hbm_read_bytes if kind == "read" else op.hbm_write_bytes).value.data == n
    assert sum(op.hbm_read_bytes.value.data for op in got if op.source.data == "tfm.linear") \
        == 2 * L * (H * H * 2 + 2 * H * KV + 3 * H * F)


@settings(max_examples=60, deadline=None)
@given(tokens=st.integers(1, 4096), k=st.integers(1, 30000), n=st.integers(1, 30000),
       hw=st.sampled_from(["mesh-1x1", "mesh-4x4", "tpu-v6e-like", "groq-like", "h100-like",
                           "aie-ml-like"]),
       grain=st.sampled_from(["auto", "auto", "64", "512"]))
def test_tile_grain_never_breaks_the_sram_budget(tokens: int, k: int, n: int, hw: str,
                                                 grain: str) -> None:
    x, w, y = (f"tensor<1x{tokens}x{k}xbf16>", f"tensor<{k}x{n}xbf16>",
               f"tensor<1x{tokens}x{n}xbf16>")
    text = f"""
    func.func @f(%x: {x}) -> {y} {{
      %w = tfm.weight "L0.up.weight" layer 0 mlp : {w}
      %y = tfm.linear %x, %w layer 0 mlp : {x}, {w} -> {y}
      func.return %y : {y}
    }}"""
    from xdsl.parser import Parser

    from meshc.passes.tile_grain import TileGrainPass

    m = Parser(make_context(), text).parse_module()
    h = load_hardware(hw)
    # without partitioning, weights live in HBM, or in SRAM on a machine without HBM
    resident = 0 if h.hbm_stacks else k * n * 2
    total = sum(h.core_types[t].sram_bytes for _, _, t in h.cores)
    budget = min(s - -(-resident * s // total) for s in
                 (h.core_types[t].sram_bytes for _, _, t in h.cores if h.core_types[t].can_gemm))
    try:
        TileGrainPass(grain=grain if grain == "auto" else int(grain), hw=hw).apply(
            make_context(), m)
    except PassFailedException as e:
        if budget <= 0:
            assert f"no SRAM left for tiles: {resident:,} B" in str(e)
        else:
            assert "needs" in str(e) and f"a core has {budget:,} B for tiles" in str(e)
        return
    m.verify()
    (op,) = ops(m, ComputeOp)
    assert op.work_per_tile()["sram_bytes"] <= budget
    g, s = [int(x) for x in op.grid.get_values()], [int(x) for x in op.tile_shape.get_values()]
    assert g[0] * s[0] >= tokens and g[1] * s[1] >= n and g[2] * s[2] >= k


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 5), cols=st.integers(2, 6), sram_kib=st.integers(64, 4096),
       hidden=st.sampled_from([64, 128, 256]), ffn=st.integers(1, 64),
       layers=st.integers(1, 4), policy=st.sampled_from(["shared", "disaggregate"]))
def test_partition_shortfall_is_exact_on_random_meshes(rows: int, cols: int, sram_kib: int,
                                                       hidden: int, ffn: int, layers: int,
                                                       policy: str) -> None:
    """A mesh of rows x cols cores with HBM along column 0: whether the MLP (or all)
    weights fit 75% of their region's SRAM, and by how many bytes they miss it."""
    import tempfile

    import yaml

    spec = yaml.safe_load((REPO / "meshc/hardware/presets/mesh-2x2.yaml").read_text())
    spec["name"] = "random-mesh"
    spec["mesh"].update(rows=rows, cols=cols)
    spec["core_types"]["core"]["sram_bytes"] = sram_kib * 1024
    spec["hbm"]["stacks"][0]["attach"] = [[r, 0] for r in range(rows)]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(spec, f)
    arch = Arch.model_validate({"name": "t", "hidden": hidden, "layers": layers, "heads": 2,
                                "intermediate": 64 * ffn, "vocab": 256})
    m = build(arch, ("decode",), Shape(1, 8, 8))
    apply(m, f'partition-attn-mlp{{policy={policy} hw="{f.name}"}}')
    Path(f.name).unlink()
    f_ = 64 * ffn
    mlp = layers * (3 * hidden * f_ * 2 + hidden * 2)
    attn = layers * (4 * hidden * hidden * 2 + hidden * 2) + 2 * 256 * hidden * 2 + hidden * 2
    regions = m.attributes["meshc.regions"].data  # type: ignore[attr-defined]
    if policy == "shared":
        need, region, what = mlp + attn, "shared", "Weights"
    else:
        need, region, what = mlp, "mlp", "MLP weights"
    n_cores = len(regions[region].get_values()) // 2
    hold = math.floor(n_cores * sram_kib * 1024 * 0.75)
    note = "; ".join(partition_notes(m))
    if need <= hold:
        assert f"the {region} region" not in note
    else:
        assert f"{what} need {need:,} B but the {region} region's SRAM holds {hold:,} B" \
            in note
        assert f"short by {need - hold:,} B" in note
