"""The quant tax: how many more parameters a model with narrower weights needs to keep the
loss of its bf16 self, at the same training tokens D, by the published laws.

The question comes with a claim: a quantized model needs about 40% more parameters to keep
full quality (`CLAIM`). The laws give two answers, one per way of getting narrow weights:

* trained at P bits (quantization-aware pre-training): the loss depends on N only through
  N_eff = N (1 - e^{-P/gamma_w}) (Kumar et al. eq. 4), so the multiplier is the ratio of
  the kept fractions at 16 and at P bits, whatever N, D and the loss law;
* quantized after bf16 training (PTQ): the multiplier m solves
  L(m N, D) + delta_PTQ(m N_ne, D, P) = L(N, D), which grows with D (eq. 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from meshc.hardware.precision import precision_bits
from meshc.quality import laws

CLAIM = 1.40  # "a quantized model needs about 40% more parameters" (issue 15)
MAX_MULTIPLIER = 1e6  # beyond this the law has no useful answer: reported as infinite


@dataclass(frozen=True)
class QuantTax:
    weights: str
    bits: int
    trained: float  # parameter multiplier when the weights are trained at `bits`
    post_training: float  # multiplier when bf16 weights are quantized after training
    claim: float = CLAIM
    law: str = laws.DEFAULT_LAW


def quant_tax(parameters: float, non_embedding: float, d: float, weights: str,
              law: laws.LossLaw = laws.BESIROGLU_2024) -> QuantTax:
    """The parameter multipliers that keep a model's bf16 loss at D tokens with weights at
    `weights` (`parameters` counted as `law` counts them, `non_embedding` as Kumar et al.)."""
    bits = precision_bits(weights)
    gamma = laws.KUMAR_2024.gamma_w
    trained = laws.kept_fraction(16, gamma) / laws.kept_fraction(bits, gamma)
    target = laws.loss(law, parameters, d)

    def excess(m: float) -> float:  # > 0 while the larger quantized model is still worse
        return (laws.loss(law, m * parameters, d)
                + laws.delta_ptq(m * non_embedding, d, bits) - target)

    return QuantTax(weights=weights, bits=bits, trained=trained,
                    post_training=_root(excess), law=law.name)


def _root(f: Callable[[float], float]) -> float:
    """The m >= 1 where the decreasing `f` crosses 0, by bisection in log space."""
    if f(1.0) <= 0:
        return 1.0
    lo, hi = 1.0, 2.0
    while f(hi) > 0:
        lo, hi = hi, hi * 2
        if hi > MAX_MULTIPLIER:
            return float("inf")
    for _ in range(100):
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    return hi
