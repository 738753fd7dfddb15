"""meshc's IR: the `tfm` graph dialect and the `tile` dialect."""

from meshc.ir.graph import TFM
from meshc.ir.tile import TILE

__all__ = ["TFM", "TILE"]
