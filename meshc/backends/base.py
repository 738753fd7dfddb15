"""What every backend shares: the protocol, deterministic JSON, cores and clocks.

Determinism is a contract: emitting the same `CompileResult` twice gives byte-identical
artifacts. JSON is written with sorted keys and floats rounded to `SIG_DIGITS` significant
digits (9: a nanosecond over a 1 s phase), so that the last bits of a float sum cannot make
two runs differ; schedule.json keeps 12 (`TIME_DIGITS`) since it is the exact record.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from meshc.result import CompileResult, Core, PhaseResult

Artifacts = dict[str, str | bytes]

SIG_DIGITS = 9
TIME_DIGITS = 12


@runtime_checkable
class Backend(Protocol):
    """A backend: `emit` returns artifacts (relative path -> content) and writes nothing."""

    name: str

    def emit(self, result: CompileResult) -> Artifacts: ...


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a burst of allocation that makes little cyclic
    garbage (a compile, an output's rows): each full collection walks every live object,
    millions with a large model's IR and results (0.1-0.2 s each, ~1.4 s of llama3-70b on
    mesh-16x16). Reference counting still frees the rest; the collector runs again after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# --- deterministic JSON ---------------------------------------------------------------

def round_sig(x: float, digits: int = SIG_DIGITS) -> float | None:
    """`x` rounded to `digits` significant digits; None for NaN and infinities (JSON has
    no spelling for them)."""
    if not math.isfinite(x):
        return None
    if x == 0:
        return 0.0
    return float(f"{x:.{digits}g}")


def plain(obj: Any, digits: int = SIG_DIGITS) -> Any:
    """JSON-ready copy of `obj`: mappings become dicts with string keys, tuples lists,
    numpy scalars Python numbers, floats rounded to `digits` significant digits."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return round_sig(obj, digits)
    if isinstance(obj, Mapping):
        return {str(k): plain(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        return [plain(v, digits) for v in items]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return plain(obj.item(), digits)
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy array
        return plain(obj.tolist(), digits)
    return str(obj)


def json_text(obj: Any, *, indent: int | None = 2, digits: int = SIG_DIGITS) -> str:
    """Deterministic JSON text: sorted keys, rounded floats, a final newline. With
    `indent=None` it is compact."""
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(plain(obj, digits), sort_keys=True, indent=indent,
                      separators=separators, allow_nan=False) + "\n"


def _default(obj: Any) -> Any:
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    return str(obj)


def compact(obj: Any) -> str:
    """One-line JSON with sorted keys by the C encoder; floats must be rounded already."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False,
                      default=_default)


class EncodedRows(list[str]):
    """A table whose rows are already compact JSON objects (`compact`): `rows_text` writes
    them as they are, for tables too large to build as dicts first."""


def _is_rows(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and (
        isinstance(v, EncodedRows) or all(isinstance(x, dict) for x in v))


def _has_rows(d: Mapping[str, Any]) -> bool:
    return any(_is_rows(v) or (isinstance(v, Mapping) and _has_rows(v)) for v in d.values())


def _join_rows(rows: list[Any], sep: str, parts: list[str]) -> None:
    """Appends the rows' compact JSON, separated by `sep`, to `parts`."""
    if isinstance(rows, EncodedRows):
        parts.append(sep.join(rows))
        return
    body = compact(rows)[1:-1]  # one C encode for the whole table
    # a row boundary is the only "},{" unless a string or a nested list of objects holds one
    # too: the count says which
    if body.count("},{") == len(rows) - 1:
        parts.append(body.replace("},{", "}" + sep + "{"))
    else:
        parts.append(sep.join(compact(x) for x in rows))


def _render_rows(obj: Any, depth: int, parts: list[str]) -> None:
    """Appends `obj`'s text to `parts`: tables are tens of MB, so they are copied once, by
    the final join, not once per level of nesting."""
    pad = "  " * depth
    if isinstance(obj, Mapping) and _has_rows(obj):
        parts.append("{\n")
        for n, (k, v) in enumerate(sorted(obj.items(), key=lambda kv: str(kv[0]))):
            lead = ",\n" if n else ""
            parts.append(f"{lead}{pad}  {json.dumps(str(k))}: ")
            _render_rows(v, depth + 1, parts)
        parts.append(f"\n{pad}}}")
    elif _is_rows(obj):
        parts.append(f"[\n{pad}  ")
        _join_rows(obj, f",\n{pad}  ", parts)
        parts.append(f"\n{pad}]")
    else:
        parts.append(compact(obj))


def rows_text(obj: Any) -> str:
    """Deterministic JSON for large tables of records (schedule.json, trace.json): objects
    that hold tables are indented, every list of objects is written one compact object a
    line (greppable, diffable, and encoded in C: fast). Floats must be rounded already
    (`round_sig`, `round`): this does not walk the data."""
    parts: list[str] = []
    _render_rows(obj, 0, parts)
    parts.append("\n")
    return "".join(parts)


# --- cores and clocks -----------------------------------------------------------------

def core_key(core: Core) -> str:
    """The "r,c" spelling that PhaseResult's per-core mappings use."""
    return f"{core[0]},{core[1]}"


def mesh_cores(result: CompileResult) -> list[Core]:
    rows, cols = result.mesh
    return [(r, c) for r in range(rows) for c in range(cols)]


def clock_hz(result: CompileResult) -> float | None:
    """The clock that turns seconds into cycles, from the hardware summary: a top-level or
    NoC `clock_hz` if there is one, else the clock of the core types when they all share
    one; None when the machine has several clocks (then only seconds are reported)."""
    s = result.hardware_summary
    for value in (s.get("clock_hz"), (s.get("noc") or {}).get("clock_hz")):
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    clocks = {float(t["clock_hz"]) for t in (s.get("core_types") or {}).values()
              if isinstance(t, Mapping) and isinstance(t.get("clock_hz"), (int, float))}
    return clocks.pop() if len(clocks) == 1 else None


def cycles(seconds: float, clock: float | None) -> int | None:
    return round(seconds * clock) if clock else None


def op_energy_pj(energy: Mapping[str, float]) -> float:
    return float(sum(energy.values()))


def hbm_bytes_per_s(result: CompileResult) -> float:
    v = result.hardware_summary.get("hbm_bytes_per_s")
    return float(v) if isinstance(v, (int, float)) else 0.0


def phase_of(result: CompileResult, name: str) -> PhaseResult | None:
    return next((p for p in result.phases if p.name == name), None)
