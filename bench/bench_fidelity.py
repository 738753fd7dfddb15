"""meshc against the peer simulators, one table per peer (a report, not a test).

The peers' figures are the JSON fixtures in tests/fidelity/fixtures/ (tests/fidelity/README.md
says how each was made); no peer is imported. Each peer has one section function returning
(title, header, rows, summary); add a peer by writing its function and listing it in SECTIONS.

    .venv/bin/python bench/bench_fidelity.py [scalesim ...]
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fidelity"))
from peer_fixtures import load_fixture, scalesim_twin

from meshc.hardware.cost import gemm_cycles, gemm_sram_elements

Cell = str | int | float
Section = tuple[str, list[str], list[list[Cell]], str]


def _ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else float("nan")


# --- SCALE-Sim 3.0.0: GEMM cycles and SRAM accesses per dataflow -------------------------

def scalesim() -> Section:
    """Serial (SCALE-Sim's) cycles, the double-buffered variant for reference, and SRAM
    accesses (A + B reads, C writes) in 1 B words. SCALE-Sim's OS ofmap writes carry R + C
    per fold that meshc leaves out (docs/fidelity.md), shown as its count minus that."""
    fx = load_fixture("scalesim")
    rows: list[list[Cell]] = []
    worst_cyc = worst_sram = 0.0
    for r in fx["cases"]:
        m, k, n = r["M"], r["K"], r["N"]
        ours = int(gemm_cycles(m, k, n, scalesim_twin(r), "int8"))
        db = int(gemm_cycles(m, k, n, scalesim_twin(r, double_buffered=True), "int8"))
        e = gemm_sram_elements(m, k, n, scalesim_twin(r))
        sram_ours = int(e["a_read"] + e["b_read"] + e["c_write"])
        ofmap = r["sram_writes"]["ofmap"]
        if r["dataflow"] == "os":  # SCALE-Sim's + (R + C) per fold
            folds = -(-m // r["array_rows"]) * -(-n // r["array_cols"])
            ofmap -= folds * (r["array_rows"] + r["array_cols"])
        sram_peer = r["sram_reads"]["ifmap"] + r["sram_reads"]["filter"] + ofmap
        rc, rs = _ratio(ours, r["total_cycles"]), _ratio(sram_ours, sram_peer)
        worst_cyc, worst_sram = max(worst_cyc, abs(rc - 1)), max(worst_sram, abs(rs - 1))
        rows.append([r["name"], f"{m}x{k}x{n}", f"{r['array_rows']}x{r['array_cols']}",
                     r["dataflow"].upper(), r["total_cycles"], ours, f"{rc:.3f}", db,
                     sram_peer, sram_ours, f"{rs:.3f}"])
    summary = (f"{len(rows)} GEMMs; cycles within {worst_cyc:.1%} of SCALE-Sim (goal 5%), "
               f"SRAM accesses within {worst_sram:.1%}")
    return (f"SCALE-Sim {fx['peer_version']}: GEMM cycles per dataflow (serial folds)",
            ["case", "MxKxN", "RxC", "df", "SCALE-Sim cyc", "meshc cyc", "ratio",
             "meshc dbuf", "SCALE-Sim SRAM", "meshc SRAM", "ratio"], rows, summary)


# --- ZigZag and Stream: sections to come (issue 12) ---------------------------------------

SECTIONS: dict[str, Callable[[], Section]] = {"scalesim": scalesim}


def _table(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """Columns padded to their widest cell; the first left-aligned, the rest right."""
    cells = [list(map(str, header))] + [[f"{c:,}" if isinstance(c, int) else str(c) for c in row]
                                        for row in rows]
    width = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}"
                         for i, (c, w) in enumerate(zip(row, width, strict=True)))

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in width)] + [line(r) for r in cells[1:]])


def main(names: Sequence[str]) -> None:
    for name in names or SECTIONS:
        if name not in SECTIONS:
            raise SystemExit(f"unknown peer {name!r}; known: {', '.join(SECTIONS)}")
        title, header, rows, summary = SECTIONS[name]()
        print(f"== {title}\n{_table(header, rows)}\n{summary}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
