"""Published scaling laws, as frozen constants and pure functions of them.

The loss law (Hoffmann et al. 2022, eq. 2): L(N, D) = E + A / N^alpha + B / D^beta, the
cross-entropy in nats per token on the fit's own text, for N parameters trained on D
tokens. Two fits of it are named here; `DEFAULT_LAW` is the replication's.

The precision law (Kumar et al. 2024, "Scaling Laws for Precision", arXiv 2411.04330):
training with weights, activations and KV cache at P_w, P_a, P_kv bits leaves an effective
parameter count N_eff = N (1 - e^{-P_w/gamma_w}) (1 - e^{-P_a/gamma_a}) (1 - e^{-P_kv/gamma_kv})
(eq. 4), and quantizing the weights of a model trained in high precision to P_post bits
after training adds delta_PTQ = C_T (D^gamma_D / N^gamma_N) e^{-P_post/gamma_post} (eq. 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LossLaw:
    """One fit of L(N, D) = E + A / N^alpha + B / D^beta (nats per token)."""

    name: str
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str
    counts: str  # which parameters N is, as the fit counted them


# Pearce & Song 2024 ("Reconciling Kaplan and Chinchilla Scaling Laws", arXiv 2406.12907)
# find Chinchilla counted total parameters, embeddings included. Its models are dense; an
# MoE is outside the fit, and meshc counts all its experts (total, not active).
TOTAL = ("total parameters, embeddings included (an MoE: all experts; the fit saw only "
         "dense models)")

HOFFMANN_2022 = LossLaw(
    name="hoffmann-2022", E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28,
    source="Hoffmann et al. 2022, 'Training Compute-Optimal Large Language Models' "
           "(arXiv 2203.15556), eq. 2 fitted by Approach 3 (Appendix D.2)",
    counts=TOTAL)

BESIROGLU_2024 = LossLaw(
    name="besiroglu-2024", E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658,
    source="Besiroglu et al. 2024, 'Chinchilla Scaling: A replication attempt' "
           "(arXiv 2404.10102), their re-fit of Hoffmann et al.'s eq. 2",
    counts=TOTAL)

LAWS: dict[str, LossLaw] = {law.name: law for law in (BESIROGLU_2024, HOFFMANN_2022)}
DEFAULT_LAW = BESIROGLU_2024.name


def loss(law: LossLaw, n: float, d: float) -> float:
    """Nats per token of `n` parameters trained on `d` tokens, by `law`."""
    if n <= 0 or d <= 0:
        raise ValueError(f"parameters and tokens must be > 0, got {n} and {d}")
    return float(law.E + law.A / n**law.alpha + law.B / d**law.beta)  # x**y is Any to mypy


def compute_optimal(law: LossLaw, flops: float) -> tuple[float, float]:
    """(N, D) minimising `law` at C = 6 N D training FLOPs (Hoffmann et al. eq. 4):
    N = G (C/6)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta))."""
    s = law.alpha + law.beta
    g = (law.alpha * law.A / (law.beta * law.B)) ** (1 / s)
    n = g * (flops / 6) ** (law.beta / s)
    return n, flops / 6 / n


@dataclass(frozen=True)
class PrecisionLaw:
    """Kumar et al.'s fitted precision constants (their Table 2, appendix K)."""

    gamma_w: float
    gamma_a: float
    gamma_kv: float
    c_t: float
    gamma_d: float
    gamma_n: float
    gamma_post: float
    source: str
    counts: str


# The values of Kumar et al.'s Table 2 (appendix K), read here from a transcription
# (its primary page was not readable from this workplace): the table also holds its own
# A, B, E, alpha (= beta) for Dolma and shift terms (n_w, n_i, n_kv, b) that eq. 2 and 4
# do not use. Fit on integer quantization of 30M-220M (non-embedding) parameter models,
# up to 26B tokens; the authors warn the constants are unlikely to hold elsewhere.
KUMAR_2024 = PrecisionLaw(
    gamma_w=2.6745, gamma_a=2.2102, gamma_kv=0.9578, c_t=0.0598, gamma_d=0.5068,
    gamma_n=0.3439, gamma_post=0.5907,
    source="Kumar et al. 2024, 'Scaling Laws for Precision' (arXiv 2411.04330), eq. 2 and "
           "4, Table 2 (appendix K)",
    counts="non-embedding parameters")


def kept_fraction(bits: float, gamma: float) -> float:
    """1 - e^{-P/gamma}: the share of parameters that still count at P bits (eq. 4)."""
    return 1 - math.exp(-bits / gamma)


def n_eff(n: float, w_bits: float, a_bits: float, kv_bits: float,
          law: PrecisionLaw = KUMAR_2024) -> float:
    """Effective parameters of a model trained at these precisions (eq. 4)."""
    return (n * kept_fraction(w_bits, law.gamma_w) * kept_fraction(a_bits, law.gamma_a)
            * kept_fraction(kv_bits, law.gamma_kv))


def delta_ptq(n: float, d: float, bits: float, law: PrecisionLaw = KUMAR_2024) -> float:
    """Nats added by quantizing the weights to `bits` after training (eq. 2); `n` is the
    non-embedding parameters, `d` the training tokens. It grows with `d`."""
    return float(law.c_t * d**law.gamma_d / n**law.gamma_n * math.exp(-bits / law.gamma_post))
