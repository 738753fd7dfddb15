"""Mapping tiled ops onto the mesh: problem and schedule values, bounds, HEFT, CP-SAT, checks.

Entry point: `map_problem(problem, options) -> MappingResult`. See docs/mapper.md.
"""

from meshc.mappers.bounds import lower_bounds
from meshc.mappers.mapping import map_problem
from meshc.mappers.options import MapperOptions, MappingResult, MappingStats
from meshc.mappers.problem import Edge, HbmPort, Machine, MappingProblem, Op
from meshc.mappers.schedule import OpPlacement, Schedule, Transfer
from meshc.mappers.validate import validate

__all__ = [
    "Edge",
    "HbmPort",
    "Machine",
    "MapperOptions",
    "MappingProblem",
    "MappingResult",
    "MappingStats",
    "Op",
    "OpPlacement",
    "Schedule",
    "Transfer",
    "lower_bounds",
    "map_problem",
    "validate",
]
