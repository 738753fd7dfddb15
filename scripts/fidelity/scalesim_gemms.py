"""Reference cycle and access counts for GEMMs from SCALE-Sim 3.0.0 (the PyPI ``scalesim==3.0.0``).

Run it only inside the side venv made by ``/work/shared/tools/peer-venvs.sh /work/peers``::

    /work/peers/scalesim/bin/python scripts/fidelity/scalesim_gemms.py tests/fidelity/fixtures/scalesim.json

SCALE-Sim is never a runtime or CI dependency of meshc; this script only writes the fixture.

Every case is one GEMM ``C[M,N] = A[M,K] @ B[K,N]`` given to SCALE-Sim in its GEMM input mode
(topology row ``name, M, N, K,``; SCALE-Sim maps it to an ifmap of M x K, a 1 x K filter with
N filters, i.e. ifmap = A, filter = B, ofmap = C). The config is written per case (array rows =
``ArrayHeight``, array cols = ``ArrayWidth``), with SCALE-Sim's own ``CALC`` interface-bandwidth
mode (no DRAM stalls: it estimates the DRAM bandwidth the run needs), one-byte words (hard-coded
in SCALE-Sim) and 64 kB per operand SRAM unless the case says otherwise. The exact config text and
topology text are stored in the fixture with the four report CSVs SCALE-Sim wrote, parsed.

The fixture also has a ``formula_check`` section: the closed-form fold formulas of
``/work/shared/notes/peers.md`` (OS and WS) and the input-stationary one read from
``scalesim/compute/systolic_compute_is.py``, evaluated for each case next to SCALE-Sim's figure.
"""

from __future__ import annotations

import csv
import json
import math
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

PEER = "scalesim"
PEER_VERSION = "3.0.0"

CONFIG_TEMPLATE = """[general]
run_name = {run_name}

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:    {sram_kb}
FilterSramSzkB:   {sram_kb}
OfmapSramSzkB:    {sram_kb}
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Dataflow : {dataflow}
Bandwidth : 10
ReadRequestBuffer: 512
WriteRequestBuffer: 512

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

# A layout file is always opened by SCALE-Sim 3.0.0; with custom layouts off only its header is read.
LAYOUT_TEXT = "Layer,\n"


@dataclass(frozen=True)
class Shape:
    """One GEMM on one array, run under every dataflow."""

    tag: str
    m: int
    k: int
    n: int
    rows: int
    cols: int
    sram_kb: int = 64


SHAPES: tuple[Shape, ...] = (
    Shape("exact_4x4", 16, 16, 16, 4, 4),
    Shape("tiny_ragged_4x4", 7, 5, 3, 4, 4),
    Shape("square_8x8", 64, 64, 64, 8, 8),
    Shape("ragged_8x32", 37, 70, 50, 8, 32),
    Shape("ragged_16x16", 100, 200, 150, 16, 16),
    Shape("tall_m_32x8", 512, 64, 64, 32, 8),
    Shape("gemv_32x32", 1, 256, 512, 32, 32),
    Shape("ragged_by_one_32x64", 33, 129, 65, 32, 64),
    Shape("gemv_ragged_128x32", 1, 300, 200, 128, 32),
    Shape("exact_128x32", 128, 256, 128, 128, 32),
    Shape("square_128x128", 256, 256, 256, 128, 128),
    Shape("gemv_64x64", 1, 1024, 1024, 64, 64),
    Shape("ragged_256x256", 200, 300, 260, 256, 256),
    Shape("gemv_small_256x256", 1, 64, 100, 256, 256),
)
DATAFLOWS: tuple[str, ...] = ("os", "ws", "is")


def read_report(path: Path) -> dict[str, float]:
    """Parse one of SCALE-Sim's one-layer report CSVs into {column: value} (column names stripped)."""
    with path.open() as fh:
        rows = list(csv.reader(fh))
    header = [h.strip() for h in rows[0] if h.strip()]
    values = [v.strip() for v in rows[1] if v.strip()]
    out: dict[str, float] = {}
    for name, raw in zip(header, values, strict=True):
        num = float(raw)
        out[name] = int(num) if num.is_integer() else num
    return out


def fold_formula(df: str, m: int, k: int, n: int, rows: int, cols: int) -> dict[str, int]:
    """Closed-form cycles: peers.md for OS/WS; IS read from scalesim/compute/systolic_compute_is.py."""
    if df == "os":
        s_r, s_c, t = m, n, k
        per_fold = rows + cols - 2 + t
    elif df == "ws":
        s_r, s_c, t = k, n, m
        per_fold = 2 * rows + cols - 2 + t
    else:  # is: array rows hold K, array cols hold M, N streams
        s_r, s_c, t = k, m, n
        per_fold = 2 * rows + cols - 2 + t
    folds = math.ceil(s_r / rows) * math.ceil(s_c / cols)
    return {"folds": folds, "per_fold": per_fold, "total_cycles": folds * per_fold - 1}


def run_case(shape: Shape, df: str, work: Path) -> dict[str, Any]:
    """Write config/topology/layout, run SCALE-Sim once, return inputs and parsed reports."""
    from scalesim.scale_sim import scalesim  # only importable in the side venv

    name = f"{shape.tag}_{df}"
    case_dir = work / name
    case_dir.mkdir()
    config_text = CONFIG_TEMPLATE.format(
        run_name=name, rows=shape.rows, cols=shape.cols, sram_kb=shape.sram_kb, dataflow=df
    )
    topology_text = f"Layer, M, N, K,\n{name}, {shape.m}, {shape.n}, {shape.k},\n"
    cfg = case_dir / "scale.cfg"
    topo = case_dir / "topology.csv"
    layout = case_dir / "layout.csv"
    cfg.write_text(config_text)
    topo.write_text(topology_text)
    layout.write_text(LAYOUT_TEXT)

    t0 = time.perf_counter()
    sim = scalesim(
        save_disk_space=True,
        verbose=False,
        config=str(cfg),
        topology=str(topo),
        layout=str(layout),
        input_type_gemm=True,
    )
    sim.run_scale(top_path=str(case_dir / "out"))
    seconds = time.perf_counter() - t0

    rep_dir = case_dir / "out" / name
    compute = read_report(rep_dir / "COMPUTE_REPORT.csv")
    bandwidth = read_report(rep_dir / "BANDWIDTH_REPORT.csv")
    detail = read_report(rep_dir / "DETAILED_ACCESS_REPORT.csv")
    return {
        "name": name,
        "M": shape.m,
        "K": shape.k,
        "N": shape.n,
        "array_rows": shape.rows,
        "array_cols": shape.cols,
        "dataflow": df,
        "sram_kb_per_operand": shape.sram_kb,
        "total_cycles": compute["Total Cycles"],
        "total_cycles_incl_prefetch": compute["Total Cycles (incl. prefetch)"],
        "stall_cycles": compute["Stall Cycles"],
        "sram_reads": {
            "ifmap": detail["SRAM IFMAP Reads"],
            "filter": detail["SRAM Filter Reads"],
        },
        "sram_writes": {"ofmap": detail["SRAM OFMAP Writes"]},
        "dram_reads": {
            "ifmap": detail["DRAM IFMAP Reads"],
            "filter": detail["DRAM Filter Reads"],
        },
        "dram_writes": {"ofmap": detail["DRAM OFMAP Writes"]},
        "reports": {
            "COMPUTE_REPORT.csv": compute,
            "BANDWIDTH_REPORT.csv": bandwidth,
            "DETAILED_ACCESS_REPORT.csv": detail,
        },
        "config_text": config_text,
        "topology_text": topology_text,
        "layout_text": LAYOUT_TEXT,
        "seconds": round(seconds, 2),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    out_path = Path(argv[1])
    got = version("scalesim")
    if got != PEER_VERSION:
        raise SystemExit(f"expected scalesim {PEER_VERSION}, found {got}")
    cases: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="scalesim_fid_") as tmp:
        for shape in SHAPES:
            for df in DATAFLOWS:
                case = run_case(shape, df, Path(tmp))
                cases.append(case)
                f = fold_formula(df, shape.m, shape.k, shape.n, shape.rows, shape.cols)
                checks.append(
                    {
                        "name": case["name"],
                        "folds": f["folds"],
                        "per_fold": f["per_fold"],
                        "formula_total_cycles": f["total_cycles"],
                        "scalesim_total_cycles": case["total_cycles"],
                        "agrees": f["total_cycles"] == case["total_cycles"],
                    }
                )
                print(
                    f"{case['name']:32s} cycles {case['total_cycles']:>8} formula {f['total_cycles']:>8}"
                    f" ({case['seconds']} s)",
                    file=sys.stderr,
                )
    doc = {
        "peer": PEER,
        "peer_version": got,
        "numpy_version": version("numpy"),
        "python": platform.python_version(),
        "command": f"/work/peers/scalesim/bin/python scripts/fidelity/scalesim_gemms.py {out_path}",
        "wall_seconds": round(time.perf_counter() - t_all, 1),
        "notes": [
            "GEMM mode: ifmap = A (M x K), filter = B (K x N), ofmap = C (M x N); word = 1 byte.",
            "total_cycles is SCALE-Sim's 'Total Cycles' (compute incl. stalls; CALC mode has none);"
            " total_cycles_incl_prefetch is 'Total Cycles (incl. prefetch)' = last OFMAP DRAM write"
            " minus first DRAM read cycle.",
            "SRAM/DRAM counts are SCALE-Sim's DETAILED_ACCESS_REPORT words, unmodified.",
        ],
        "cases": cases,
        "formula_check": {
            "formulas": {
                "os": "folds = ceil(M/R)*ceil(N/C); per fold R + C - 2 + K",
                "ws": "folds = ceil(K/R)*ceil(N/C); per fold 2R + C - 2 + M",
                "is": "folds = ceil(K/R)*ceil(M/C); per fold 2R + C - 2 + N",
                "total": "folds * per_fold - 1",
            },
            "rows": checks,
            "all_agree": all(c["agrees"] for c in checks),
        },
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
