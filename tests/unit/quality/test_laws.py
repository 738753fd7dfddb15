"""The laws against what their papers print, and hand-computed cases."""

from __future__ import annotations

import math

import pytest

from meshc.quality import laws
from meshc.quality.laws import BESIROGLU_2024, HOFFMANN_2022, KUMAR_2024

# Chinchilla itself (Hoffmann et al. 2022): 70B parameters trained on 1.4T tokens.
CHINCHILLA_FLOPS = 6 * 70e9 * 1.4e12


def test_the_fits_carry_the_printed_constants() -> None:
    h, b = HOFFMANN_2022, BESIROGLU_2024
    assert (h.E, h.A, h.B, h.alpha, h.beta) == (1.69, 406.4, 410.7, 0.34, 0.28)
    assert (b.E, b.A, b.B, b.alpha, b.beta) == (1.8172, 482.01, 2085.43, 0.3478, 0.3658)
    k = KUMAR_2024
    assert (k.gamma_w, k.gamma_a, k.gamma_kv) == (2.6745, 2.2102, 0.9578)
    assert (k.c_t, k.gamma_d, k.gamma_n, k.gamma_post) == (0.0598, 0.5068, 0.3439, 0.5907)
    assert laws.DEFAULT_LAW == "besiroglu-2024"


def test_compute_optimal_exponents_match_the_papers() -> None:
    """N_opt grows as C^a with a = beta / (alpha + beta): Hoffmann et al.'s Table 2 prints
    a = 0.46 for Approach 3 (the rounded constants give 0.452, the bias Besiroglu et al.
    point out); the replication prints a = 0.5126."""
    for law, printed, tol in ((HOFFMANN_2022, 0.46, 0.01), (BESIROGLU_2024, 0.5126, 1e-4)):
        n1, _ = laws.compute_optimal(law, 1e22)
        n2, _ = laws.compute_optimal(law, 1e24)
        assert math.log(n2 / n1) / math.log(100) == pytest.approx(printed, abs=tol)


def test_the_replication_recovers_chinchillas_20_tokens_per_parameter() -> None:
    """Besiroglu et al.: their fit agrees with Chinchilla's ~20 tokens per parameter; the
    rounded Hoffmann fit asks several times that."""
    n, d = laws.compute_optimal(BESIROGLU_2024, CHINCHILLA_FLOPS)
    assert 15 < d / n < 25 and 6 * n * d == pytest.approx(CHINCHILLA_FLOPS)
    n, d = laws.compute_optimal(HOFFMANN_2022, CHINCHILLA_FLOPS)
    assert d / n > 40


def test_loss_by_hand() -> None:
    # llama3-8b, 8,030,261,248 parameters, 15T tokens: 482.01 / N^0.3478 = 0.173058,
    # 2085.43 / D^0.3658 = 0.031578, + 1.8172
    assert laws.loss(BESIROGLU_2024, 8_030_261_248, 15e12) == pytest.approx(2.021836, abs=1e-6)
    # 406.4 / (1e9)^0.34 + 410.7 / (2e10)^0.28 + 1.69
    assert laws.loss(HOFFMANN_2022, 1e9, 2e10) == pytest.approx(
        1.69 + 406.4 / 1e9**0.34 + 410.7 / 2e10**0.28)
    with pytest.raises(ValueError):
        laws.loss(HOFFMANN_2022, 0, 1e9)


def test_effective_parameters_by_hand() -> None:
    # 1 - e^{-4/2.6745} = 1 - e^{-1.49561} = 0.775887: 4-bit weights keep 77.6% of N
    assert laws.kept_fraction(4, KUMAR_2024.gamma_w) == pytest.approx(0.775887, abs=1e-6)
    # the three factors multiply (eq. 4)
    expect = 1e8 * (1 - math.exp(-4 / 2.6745)) * (1 - math.exp(-8 / 2.2102)) * (
        1 - math.exp(-8 / 0.9578))
    assert laws.n_eff(1e8, 4, 8, 8) == pytest.approx(expect)
    # 16 bits everywhere: 0.997477 * 0.999282 * (1 - 5.6e-8) of N
    assert laws.n_eff(1e8, 16, 16, 16) == pytest.approx(0.996761e8, rel=1e-6)


def test_ptq_degradation_by_hand_and_its_scaling() -> None:
    # 0.0598 * (1e10)^0.5068 / (1e8)^0.3439 * e^{-4/0.5907} = 0.014211 nats
    assert laws.delta_ptq(1e8, 1e10, 4) == pytest.approx(0.014211, abs=1e-6)
    base = laws.delta_ptq(1e9, 1e12, 4)
    assert laws.delta_ptq(1e9, 2e12, 4) / base == pytest.approx(2**0.5068)  # grows with D
    assert laws.delta_ptq(2e9, 1e12, 4) / base == pytest.approx(2**-0.3439)  # shrinks with N
    assert laws.delta_ptq(1e9, 1e12, 8) / base == pytest.approx(math.exp(-4 / 0.5907))
