"""xDSL universe entry point: plain `xdsl-opt` sees meshc's dialects and passes."""

from xdsl.universe import Universe

from meshc.registry import dialect_factories, pass_factories

MESHC_UNIVERSE = Universe(all_dialects=dialect_factories(), all_passes=pass_factories())
