"""The quant tax: the parameter multiplier that keeps the bf16 loss, beside the 40% claim."""

from __future__ import annotations

import pytest

from meshc.quality import laws, quant_tax
from meshc.quality.tax import CLAIM

N, N_NE, D = 8_030_261_248, 7_504_924_672, 15e12  # llama3-8b, 15T tokens


def test_trained_at_low_precision_the_tax_is_the_ratio_of_kept_fractions() -> None:
    # (1 - e^{-16/2.6745}) / (1 - e^{-4/2.6745}) = 0.997477 / 0.775887 = 1.285596
    assert quant_tax(N, N_NE, D, "int4").trained == pytest.approx(1.285596, abs=1e-6)
    # at 8 bits: 0.997477 / (1 - e^{-8/2.6745}) = 0.997477 / 0.949774 = 1.050226
    assert quant_tax(N, N_NE, D, "int8").trained == pytest.approx(1.050226, abs=1e-6)
    assert quant_tax(N, N_NE, D, "bf16").trained == 1
    assert quant_tax(1e9, 9e8, 1e10, "int4").trained == quant_tax(N, N_NE, D, "int4").trained


def test_after_training_the_larger_model_meets_the_bf16_loss() -> None:
    law = laws.BESIROGLU_2024
    for weights, bits in (("int4", 4), ("int8", 8)):
        m = quant_tax(N, N_NE, D, weights).post_training
        assert laws.loss(law, m * N, D) + laws.delta_ptq(m * N_NE, D, bits) == pytest.approx(
            laws.loss(law, N, D), abs=1e-9)
    tax = quant_tax(N, N_NE, D, "int4")
    assert tax.post_training > CLAIM > tax.trained > 1  # Kumar et al.: 15T tokens hurt PTQ
    assert 1 <= quant_tax(N, N_NE, D, "int8").post_training < 1.01
    assert quant_tax(N, N_NE, D, "bf16").post_training == pytest.approx(1)


def test_the_post_training_tax_grows_with_the_training_tokens() -> None:
    taxes = [quant_tax(N, N_NE, d, "int4").post_training for d in (1e11, 1e12, 1e13)]
    assert taxes == sorted(taxes) and taxes[0] < taxes[-1]


def test_a_tax_beyond_any_useful_model_is_infinite() -> None:
    # 1e19 tokens: delta_PTQ over the parameter term of the loss is 625 at any N (their
    # exponents nearly cancel), above 1e6^0.3439 = 116, so no model 1e6 times larger helps
    assert quant_tax(1e9, 1e9, 1e19, "int4").post_training == float("inf")
