"""The pass state: the hardware recorded once in the module, typed attributes read strictly,
pipelines parsed without tracebacks, findings carried out of the passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from xdsl.dialects.builtin import (
    DictionaryAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region
from xdsl.utils.exceptions import PassFailedException, VerifyException

from meshc.errors import MeshcError
from meshc.hardware.load import preset_path
from meshc.ir.graph import GenericOp, WeightOp
from meshc.ir.notes import notes
from meshc.ir.state import ATTR_HW, HardwareAttr, PartAttr, RegionAttr, module_hardware
from meshc.passes._common import ATTR_RESIDENCY, residency_attr
from meshc.pipelines import apply, parse_passes, pipeline_spec, set_hardware

REPO = Path(__file__).resolve().parents[3]


def conv_module(c: int = 8) -> ModuleOp:
    """A ViT patch embedding as the ONNX importer makes it: a tfm.generic Conv of an f32
    image with an f32 kernel [c, 3, 4, 4] and an f32 bias [c] (MACs: c x 4 x 4 outputs x
    3 x 4 x 4)."""
    img, out = TensorType(f32, [1, 3, 16, 16]), TensorType(f32, [1, c, 4, 4])
    block = Block(arg_types=[img])
    w = WeightOp("patch.weight", TensorType(f32, [c, 3, 4, 4]), -1, "other")
    b = WeightOp("patch.bias", TensorType(f32, [c]), -1, "other")
    conv = GenericOp.create(
        operands=[block.args[0], w.result, b.result], result_types=[out],
        properties={"op_type": StringAttr("Conv"), "macs": _i64(c * 16 * 48), "vector_ops": _i64(0),
                    "mac_kind": StringAttr("linear"), "layer": w.layer, "block": w.block})
    block.add_ops([w, b, conv, ReturnOp(conv.results[0])])
    f = FuncOp("prefill", ((img,), (out,)), Region(block))
    return ModuleOp([f])


def _i64(v: int):
    from xdsl.dialects.builtin import IntegerAttr

    return IntegerAttr(v, 64)


def weights(m: ModuleOp) -> dict[str, WeightOp]:
    return {op.param.data: op for op in m.walk() if isinstance(op, WeightOp)}


# --- the hardware, recorded once -----------------------------------------------------------


def test_the_driver_hardware_is_recorded_and_every_pass_uses_it() -> None:
    m = conv_module()
    apply(m, "lower-quant,partition-attn-mlp,tile-grain", hw="mesh-2x2")
    assert m.attributes[ATTR_HW] == HardwareAttr("mesh-2x2")
    regions = m.attributes["meshc.regions"]
    assert isinstance(regions, DictionaryAttr)
    assert len(regions.data["shared"].get_values()) == 2 * 4  # type: ignore[attr-defined]


def test_a_pass_asking_for_another_machine_is_refused_naming_both() -> None:
    with pytest.raises(MeshcError, match="compiled for hardware 'mesh-8x8' but "
                       r"tile-grain\{hw=mesh-4x4\} asks for 'mesh-4x4'"):
        apply(conv_module(), "lower-quant,tile-grain{hw=mesh-4x4}", hw="mesh-8x8")


def test_a_preset_and_its_file_are_one_machine() -> None:
    m = conv_module()
    apply(m, f'lower-quant,tile-grain{{hw="{preset_path("mesh-2x2")}"}}', hw="mesh-2x2")
    assert module_hardware(m) == "mesh-2x2"


def test_set_hardware_refuses_a_module_made_for_another() -> None:
    m = conv_module()
    set_hardware(m, "mesh-2x2")
    set_hardware(m, "mesh-2x2")  # the same again is fine
    with pytest.raises(MeshcError, match="compiled for hardware 'mesh-2x2' but --hw mesh-4x4"):
        set_hardware(m, "mesh-4x4")


def test_named_pipelines_carry_no_hardware() -> None:
    for name in ("default", "quantized", "disaggregated"):
        assert "hw=" not in pipeline_spec(name, "mapper=heft", 2)
    assert pipeline_spec("default").endswith(",tile-grain{grain=auto},map-mesh")


# --- pipelines: parse errors are one line ----------------------------------------------------


@pytest.mark.parametrize("spec,message", [
    ("tile-grain{hw=./my.yaml}", "bad pass pipeline: Unknown token at column 15"),
    ("tile-grain{grain=auto", "bad pass pipeline: Malformed pass arguments"),
    ("tile-grian", r"bad pass pipeline: Unrecognized passes: \['tile-grian'\]"),
    ("tile-grain{grian=3}", 'bad pass pipeline: Provided arguments \\["grian"\\]'),
    ("tile-grain{grain=3.5}", "bad pass pipeline: Incompatible types"),
])
def test_malformed_pipelines_are_one_line_errors(spec: str, message: str) -> None:
    with pytest.raises(MeshcError, match=message) as e:
        parse_passes(spec)
    assert "\n" not in str(e.value)


def test_quoted_values_may_hold_slashes_and_spaces() -> None:
    (p,) = parse_passes('tile-grain{grain=auto hw="./my dir/hw file.yaml"}')
    assert p.hw == "./my dir/hw file.yaml"  # type: ignore[attr-defined]


# --- typed attributes, read strictly ---------------------------------------------------------


def test_a_string_residency_is_refused_not_read_as_sram() -> None:
    w = weights(conv_module())["patch.weight"]
    w.attributes[ATTR_RESIDENCY] = StringAttr("hmb")
    with pytest.raises(PassFailedException, match=r"tfm.weight .*meshc.residency must be "
                       r"#meshc<residency sram\|hbm>, got \"hmb\""):
        residency_attr(w, has_hbm=True)
    with pytest.raises(VerifyException, match=r"meshc\.residency must be"):
        w.verify()


def test_typed_attributes_verify_their_values() -> None:
    with pytest.raises(VerifyException, match=r"meshc\.part must be >= 0"):
        PartAttr(-1)
    with pytest.raises(VerifyException, match="must name a hardware"):
        HardwareAttr(" ")
    assert RegionAttr("mlp").data == "mlp"


# --- findings carried out ----------------------------------------------------------------------


def test_the_partition_shortfall_is_a_note() -> None:
    """bf16 weights of c channels: kernel c x 48 x 2 B + bias c x 2 B = 98 c B; mesh-1x1
    keeps 75% of its 524,288 B of SRAM for them: 393,216 B."""
    small = conv_module(8)  # 784 B
    apply(small, "lower-quant,partition-attn-mlp", hw="mesh-1x1")
    assert notes(small) == ()
    big = conv_module(8192)  # 802,816 B
    apply(big, "lower-quant,partition-attn-mlp", hw="mesh-1x1")
    ((source, text),) = notes(big)
    assert source == "partition-attn-mlp"
    assert text.startswith("Weights need 802,816 B but the shared region's SRAM holds "
                           "393,216 B (75% of 524,288 B on 1 core; the rest is kept for tiles), "
                           "short by 409,600 B: use int4 weights")
    assert "meshc.partition_note" not in big.attributes


# --- lower-quant: every weight ---------------------------------------------------------------


def test_conv_weights_take_the_requested_precision_and_the_vit_compiles() -> None:
    m = conv_module()
    apply(m, "lower-quant{weights=bf16 acts=bf16 kv=bf16},partition-attn-mlp,tile-grain",
          hw="mesh-2x2")
    w = weights(m)
    assert {str(op.result.type) for op in w.values()} == {"tensor<8x3x4x4xbf16>",
                                                          "tensor<8xbf16>"}
    from meshc.ir.tile import ComputeOp

    (conv,) = [op for op in m.walk()
               if isinstance(op, ComputeOp) and op.source.data == "tfm.generic"]
    assert conv.precision.data == "bf16" and conv.kind.data.value == "gemm"


def test_int4_quantizes_every_conv_weight_with_group_scales() -> None:
    m = conv_module()
    apply(m, "lower-quant{weights=int4 group=16}")
    w = weights(m)
    kernel, bias = w["patch.weight"], w["patch.bias"]
    assert str(kernel.result.type) == "tensor<8x3x4x4xi4>"
    assert str(bias.result.type) == "tensor<8xi4>"
    # 384 int4 values = 192 B plus 384 / 16 = 24 bf16 scales = 48 B
    assert kernel.scale_bytes() == 48


# --- the mapper: options and why CP-SAT's plan was not kept ---------------------------------


def test_a_failed_cpsat_plan_says_why_heft_was_returned() -> None:
    """Without the no-overlap constraints CP-SAT runs both ops at once on the one core; the
    plan fails validation and HEFT's schedule is returned, with the reason."""
    from meshc.mappers import Machine, MapperOptions, MappingProblem, Op, map_problem

    one_core = Machine(rows=1, cols=1, core_types=(("a",),), sram_bytes={"a": 1 << 20},
                       clock_hz=1e9, link_bytes_per_cycle=8.0, router_latency_cycles=2,
                       hbm_ports=())
    p = MappingProblem(
        machine=one_core, ops=tuple(
            Op(id=i, name=f"op{i}", layer=0, block="other", region="all", n_tiles=n,
               tile_cycles={"a": 10}, sram_bytes_per_tile=1024, hbm_read_bytes=0)
            for i, n in enumerate((2, 3))),
        edges=(), regions={"all": ((0, 0),)}, name="tiny")
    res = map_problem(p, MapperOptions(time_budget=0.2, near_bound=-1,
                                       disabled_families=("no_overlap", "area")))
    assert res.stats.fell_back
    assert res.stats.fallback_reason.startswith("CP-SAT schedule failed validation, returning "
                                                "HEFT's: ")
    assert "\n" not in res.stats.fallback_reason
    kept = map_problem(p, MapperOptions(mapper="heft"))
    assert kept.stats.fallback_reason == ""


def test_map_mesh_records_its_options_and_the_fallback_reason() -> None:
    m = conv_module()
    apply(m, "lower-quant,tile-grain,map-mesh{mapper=heft seed=3 budget=0.25}", hw="mesh-2x2")
    (f,) = [op for op in m.ops if isinstance(op, FuncOp)]
    stats = f.attributes["meshc.mapper"]
    assert isinstance(stats, DictionaryAttr)
    assert stats.data["fallback_reason"] == StringAttr("")
    options = stats.data["options"]
    assert isinstance(options, DictionaryAttr)
    got = {k: getattr(v, "data", None) or v.value.data for k, v in options.data.items()}  # type: ignore[attr-defined]
    assert got == {"mapper": "heft", "budget": 0.25, "wall": 300.0, "seed": 3, "workers": 2,
                   "window": 12}
