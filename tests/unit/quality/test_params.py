"""The parameter counts the laws get: meshc's own, with the embedding tables split out."""

from __future__ import annotations

import pytest

from meshc.frontends import ModelRequest, load_model
from meshc.frontends.transformer import Shape
from meshc.ir.summary import model_parameters, phase_summary, phases


@pytest.mark.parametrize(("model", "total", "embedding"), [
    # tied: the LM head reads the token table, counted once and as embedding (Kaplan et al.)
    ("gpt2", 124_439_808, 50_257 * 768 + 1_024 * 768),
    ("llama3-8b", 8_030_261_248, 128_256 * 4_096),  # untied: the LM head is not embedding
    ("minilm-l6", 22_565_376, (30_522 + 512 + 2) * 384),  # token, position, type tables
])
def test_model_parameters_split_out_the_embedding_tables(model: str, total: int,
                                                         embedding: int) -> None:
    module = load_model(ModelRequest(model, shape=Shape(1, 16, 16)))
    assert model_parameters(module) == (total, embedding)
    # the same parameters inspect counts per phase, each phase holding all of them
    assert {phase_summary(f)["parameters"] for f in phases(module)} == {total}
