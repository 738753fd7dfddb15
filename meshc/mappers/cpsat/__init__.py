"""The CP-SAT mapper: the only package of meshc that imports OR-Tools."""

from meshc.mappers.cpsat.lns import CpsatOutcome, improve

__all__ = ["CpsatOutcome", "improve"]
