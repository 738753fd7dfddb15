"""The peers' reference figures, read from the JSON fixtures (tests/fidelity/README.md says
how each was made). No peer is ever imported. Test modules here import `load_fixture` from
this module, not from conftest: several test directories have a conftest.py, and pytest
keeps only one module named `conftest` at a time, so `from conftest import` can find
another directory's (e.g. `pytest tests/unit tests/fidelity`)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from meshc.commands.hw import gemm_report
from meshc.hardware import CoreType, load_hardware

FIXTURES = Path(__file__).parent / "fixtures"


@cache
def _text(name: str) -> str:
    path = FIXTURES / f"{name}.json"
    if not path.is_file():
        have = sorted(p.stem for p in FIXTURES.glob("*.json"))
        raise FileNotFoundError(f"no peer fixture {name!r}; there are {have}")
    return path.read_text(encoding="utf-8")


def load_fixture(name: str) -> dict[str, Any]:
    """`fixtures/<name>.json` ("scalesim", "zigzag", "stream") as a fresh dict on every call,
    so no test can change another's figures; the file is read once per session."""
    data = json.loads(_text(name))
    assert isinstance(data, dict)
    return data


SCALESIM_DATAFLOW = {"os": "output_stationary", "ws": "weight_stationary", "is": "input_stationary"}


def scalesim_twin(row: dict[str, Any], double_buffered: bool = False) -> CoreType:
    """A meshc core like SCALE-Sim's array in a scalesim.json row: one int8 MAC per PE per
    cycle (SCALE-Sim has no precisions; its words are 1 B) and SRAM bandwidth that never
    binds (its CALC interface has no stalls)."""
    r, c = row["array_rows"], row["array_cols"]
    return CoreType(array_rows=r, array_cols=c,
                    dataflow=SCALESIM_DATAFLOW[row["dataflow"]],  # type: ignore[arg-type]
                    double_buffered=double_buffered, macs_per_cycle={"int8": r * c},
                    vector_lanes=1, transcendental_per_cycle=1,
                    sram_bytes=3 * row["sram_kb_per_operand"] * 1024,
                    sram_bytes_per_cycle=float(1 << 24), clock_hz=1e9)


# --- ZigZag 3.9.1: the twin of its TPU-like core with a 128x128 array ---------------------

ZIGZAG_TWIN = Path(__file__).parent / "zigzag_tpu_like_128x128.yaml"
ZIGZAG_PRECISION = {8: "int8", 16: "bf16"}
ZIGZAG_LEVEL = {"rf_128B": ("reg_weight",), "rf_2B": ("reg_accumulator",),
         "sram_2MB": ("sram_read", "sram_write"), "dram": ("hbm_read", "hbm_write")}


def meshc_levels(row: dict[str, Any]) -> dict[str, float]:
    """`meshc hw cost` on the ZigZag twin for this row, in ZigZag's levels (pJ), plus mac and total."""
    r = gemm_report(load_hardware(str(ZIGZAG_TWIN)), (row["M"], row["K"], row["N"]),
                    ZIGZAG_PRECISION[row["precision_bits"]["I"]])
    by = r["energy_by_level_pj"]
    out = {zz: sum(by[k] for k in ours) for zz, ours in ZIGZAG_LEVEL.items()}
    return out | {"mac": by["mac"], "total": r["energy_pj"]}


def zigzag_levels(row: dict[str, Any]) -> dict[str, float]:
    """A ZigZag fixture row's energy by level (pJ), plus mac and total."""
    return dict(row["energy_per_level_pj"]) | {"mac": row["mac_energy_pj"],
                                               "total": row["energy_total_pj"]}
