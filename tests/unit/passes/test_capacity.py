"""partition-attn-mlp refuses what HBM cannot hold, naming the real blocker and the levers."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model
from meshc.frontends.transformer import Shape
from meshc.pipelines import apply, set_hardware
from meshc.units import fmt_bytes

PRESET = Path(__file__).parents[3] / "meshc" / "hardware" / "presets" / "mesh-4x4.yaml"
GPT2_KV_PER_TOKEN = 12 * 2 * 768 * 2  # layers x (k, v) x width x bf16 bytes


def partition(model: str, phases: tuple[str, ...], shape: Shape, hw: str) -> None:
    m = load_model(ModelRequest(model, phases, shape, ()))
    set_hardware(m, hw)
    apply(m, "lower-quant,partition-attn-mlp")


@pytest.fixture
def hbm_1gb(tmp_path: Path) -> str:
    """mesh-4x4 with 1 GB of HBM: gpt2's bf16 weights (~0.25 GB) fit, a large cache not."""
    text = PRESET.read_text().replace("bytes: 4.0e9", "bytes: 1.0e9")
    assert "bytes: 1.0e9" in text
    path = tmp_path / "hbm1g.yaml"
    path.write_text(text)
    return str(path)


def test_fmt_bytes() -> None:
    assert fmt_bytes(512) == "512 B"
    assert fmt_bytes(1_342_177_280_000) == "1.34 TB (1,342,177,280,000 B)"
    assert fmt_bytes(48_000_000_000) == "48.0 GB (48,000,000,000 B)"
    assert fmt_bytes(999_600) == "1.00 MB (999,600 B)"


def test_the_decode_cache_is_named_with_its_levers(hbm_1gb: str) -> None:
    kv = 32 * 1024 * GPT2_KV_PER_TOKEN  # batch x (kv_len + 1) tokens
    assert kv == 1_207_959_552
    with pytest.raises(MeshcError) as err:
        partition("gpt2", ("prefill", "decode"), Shape(32, 16, 1023), hbm_1gb)
    text = str(err.value)
    assert "pass partition-attn-mlp" in text and "has 1.00 GB (1,000,000,000 B) of HBM" in text
    assert "1.21 GB (1,207,959,552 B) of KV cache for @decode (32 x 1,024 tokens)" in text
    assert "a smaller --batch or --kv-len (the @decode cache)" in text
    assert "--pipeline quantized" in text and "which fits" in text
    assert "(too much on their own)" not in text and "@prefill" not in text


def test_the_prefill_cache_names_seq(hbm_1gb: str) -> None:
    with pytest.raises(MeshcError) as err:
        partition("gpt2", ("prefill", "decode"), Shape(32, 1024, 15), hbm_1gb)
    text = str(err.value)
    assert "1.21 GB (1,207,959,552 B) of KV cache for @prefill (32 x 1,024 tokens)" in text
    assert "a smaller --batch or --seq (the @prefill cache)" in text


def test_a_cache_that_fits_is_accepted(hbm_1gb: str) -> None:
    partition("gpt2", ("prefill", "decode"), Shape(16, 16, 1023), hbm_1gb)  # 0.6 GB of cache


def test_deepseek_weights_are_the_blocker_not_an_mla_tile() -> None:
    with pytest.raises(MeshcError) as err:
        partition("deepseek-v3", ("decode",), Shape(1, 16, 15), "mesh-4x4")
    text = str(err.value)
    assert "mesh-4x4 has 4.00 GB (4,000,000,000 B) of HBM" in text
    assert "TB" in text and "of weights not resident in SRAM (too much on their own)" in text
    assert "--kv-len" not in text  # a smaller cache cannot help
    assert text.endswith("hardware with more HBM")


def test_mixtral_blames_the_decode_cache() -> None:
    with pytest.raises(MeshcError) as err:
        partition("mixtral-8x7b", ("prefill", "decode"), Shape(256, 16, 131072), "mesh-8x8")
    text = str(err.value)
    assert "of KV cache for @decode (256 x 131,073 tokens)" in text
    assert "--kv-len (the @decode cache)" in text and "@prefill" not in text
