"""meshc's IR: the `tfm` graph dialect, the `tile` dialect and the `meshc` dialect (the
typed attributes the passes record)."""

from meshc.ir.graph import TFM
from meshc.ir.state import MESHC
from meshc.ir.tile import TILE

__all__ = ["MESHC", "TFM", "TILE"]
