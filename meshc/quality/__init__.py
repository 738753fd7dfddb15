"""Quality next to energy: loss and perplexity estimates from published scaling laws,
measured perplexity tables, and the quant tax (docs/quality.md).

Pure functions on frozen values; the studies call `assess` and `quant_tax` directly.
"""

from meshc.quality.estimate import ModelFacts, Precisions, Quality, assess
from meshc.quality.laws import DEFAULT_LAW, LAWS
from meshc.quality.tax import QuantTax, quant_tax

__all__ = ["DEFAULT_LAW", "LAWS", "ModelFacts", "Precisions", "Quality", "QuantTax", "assess",
           "quant_tax"]
