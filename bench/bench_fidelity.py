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
from peer_fixtures import load_fixture, meshc_levels, scalesim_twin, zigzag_levels

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


# --- Stream 2.1.1: latency and energy of whole workloads on its two machines -------------

# --- ZigZag 3.9.1: energy by memory level ---------------------------------------------------

ZIGZAG_LEVELS = ("mac", "rf_128B", "rf_2B", "sram_2MB", "dram", "total")


def zigzag() -> Section:
    """`meshc hw cost` on the twin of ZigZag's TPU-like core (128x128 array) against ZigZag,
    per level: meshc / ZigZag (tests/fidelity/test_zigzag.py asserts the 512x4096x4096 rows
    and the GEMV total)."""
    rows: list[list[Cell]] = []
    for row in load_fixture("zigzag")["cases"]:
        if row["hardware"] != "tpu_like_128":
            continue  # the shipped 32x32 core and a diagnostic variant: no twin
        ours, theirs = meshc_levels(row), zigzag_levels(row)
        rows.append([row["name"], f"{theirs['total'] / 1e6:,.1f}", f"{ours['total'] / 1e6:,.1f}",
                     *(f"{_ratio(ours[k], theirs[k]):.2f}" for k in ZIGZAG_LEVELS)])
    header = ["GEMM", "ZigZag uJ", "meshc uJ", *(f"{k} ratio" for k in ZIGZAG_LEVELS)]
    return ("ZigZag 3.9.1: energy by memory level on its TPU-like core, 128x128 array", header,
            rows, "goal (issue 12): the 512x4096x4096 int8 GEMM within 10% in total, 20% per level")


def stream() -> Section:
    """meshc (heft, prefill) on the twins of Stream's machines, latency in cycles at the twins'
    1 GHz; the DRAM port's bytes beside Stream's (its bits per iteration x iterations / 8)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fidelity" / "stream"))
    from meshc_twins import meshc_row

    fx = load_fixture("stream")
    rows: list[list[Cell]] = []
    lat, en = [], []
    for fr in fx["rows"]:
        r = meshc_row(fr)
        lat.append(r.latency_ratio)
        en.append(r.energy_ratio)
        rows.append([r.machine.removesuffix(".yaml"), r.workload, int(r.stream_cycles), int(r.cycles),
                     f"{r.latency_ratio:.3f}", f"{r.stream_energy_pj / 1e6:.2f}",
                     f"{r.energy_pj / 1e6:.2f}", f"{r.energy_ratio:.3f}",
                     int(r.stream_dram_bytes), r.hbm_bytes, "yes" if r.macs == r.stream_macs else "no"])
    ok = sum(1 for a, b in zip(lat, en, strict=True) if 1 / 1.5 <= a <= 1.5 and 1 / 1.5 <= b <= 1.5)
    summary = (f"{len(rows)} rows; latency {min(lat):.3f}-{max(lat):.3f}x, energy "
               f"{min(en):.3f}-{max(en):.3f}x of Stream's; {ok} of {len(rows)} within 1.5x on both "
               "(goal: all)")
    return (f"Stream {fx['peer_version']}: workloads on its tpu_like_quad_core and simba 6x6",
            ["machine", "workload", "Stream cyc", "meshc cyc", "ratio", "Stream uJ", "meshc uJ",
             "ratio", "Stream DRAM B", "meshc DRAM B", "MACs equal"], rows, summary)


# --- meshc's mapper against its own simulator: predicted makespan vs simulated latency ----

MAPPER_MODELS = ("gpt2", "llama3-8b", "minilm-l6")  # minilm-l6 fits the machines without HBM


def mapper() -> Section:
    """simulated / predicted latency per phase (HEFT), every preset plus the 32x32 fixture
    (tests/fidelity/mesh-32x32.yaml); a model that does not fit a machine is left out."""
    from meshc.driver import CompileOptions, compile_model
    from meshc.errors import MeshcError
    from meshc.frontends import ModelRequest
    from meshc.hardware import presets

    here = Path(__file__).resolve().parents[1] / "tests" / "fidelity"
    machines = sorted(p.stem for p in Path(presets.__file__).parent.glob("*.yaml"))
    machines.append(str(here / "mesh-32x32.yaml"))
    rows: list[list[Cell]] = []
    worst = 0.0
    for model in MAPPER_MODELS:
        for hw in machines:
            try:
                r = compile_model(ModelRequest(source=model), hw, CompileOptions(mapper="heft"))
            except MeshcError:
                continue
            for p in r.phases:
                ratio = p.latency_s / p.mapper.makespan_s
                worst = max(worst, abs(ratio - 1))
                rows.append([model, Path(hw).stem, p.name, f"{p.mapper.makespan_s * 1e3:.4f}",
                             f"{p.latency_s * 1e3:.4f}", f"{ratio:.3f}"])
    summary = f"{len(rows)} phases; simulated within {worst:.1%} of predicted (goal 10%)"
    return ("mapper vs simulator: predicted makespan and simulated latency (HEFT)",
            ["model", "machine", "phase", "predicted ms", "simulated ms", "sim/pred"], rows,
            summary)


# --- llama3-8b decode against its HBM roofline (HBM bytes / HBM bandwidth) ----------------

ROOFLINE_CASES = (  # (machine, batch, kv_len); batch 32 shows the KV reads overlapping attention
    ("tpu-v6e-like", 1, 2048), ("mesh-8x8", 1, 2048), ("h100-like", 1, 2048),
    ("tpu-v6e-like", 32, 4096), ("mesh-8x8", 32, 4096), ("h100-like", 32, 4096))


def roofline() -> Section:
    """Decode latency (HEFT, decode only) over its HBM roofline, bf16 and quantized (int4
    weights, int8 KV cache); the speed-up of quantized beside its fall in HBM bytes. A case
    that does not fit the machine's HBM is left out (bf16 batch 32 on tpu-v6e-like)."""
    from meshc.driver import CompileOptions, compile_model
    from meshc.errors import MeshcError
    from meshc.frontends import ModelRequest
    from meshc.frontends.transformer import Shape
    from meshc.hardware import load_hardware

    rows: list[list[Cell]] = []
    worst = 0.0
    for hw, batch, kv in ROOFLINE_CASES:
        bf16: tuple[float, float] | None = None
        for pipeline in ("default", "quantized"):
            req = ModelRequest("llama3-8b", phases=("decode",), shape=Shape(batch=batch, kv_len=kv))
            try:
                p = compile_model(req, hw, CompileOptions(pipeline=pipeline, mapper="heft")).phases[0]
            except MeshcError:
                continue
            hbm = sum(o.hbm_read_bytes + o.hbm_write_bytes for o in p.ops)
            roof = hbm / load_hardware(hw).hbm_bytes_per_s
            if batch == 1:
                worst = max(worst, p.latency_s / roof)
            vs = (f"{bf16[0] / p.latency_s:.2f} / {bf16[1] / hbm:.2f}"
                  if bf16 and pipeline == "quantized" else "")
            bf16 = (p.latency_s, hbm) if pipeline == "default" else bf16
            rows.append([hw, pipeline, f"{batch} x {kv}", f"{hbm / 1e9:.3f}",
                         f"{roof * 1e3:.3f}", f"{p.latency_s * 1e3:.3f}",
                         f"{p.latency_s / roof:.2f}", vs])
    summary = f"batch 1: at most {worst:.2f}x the HBM roofline (goal 1.0-1.3x)"
    return ("llama3-8b decode against its HBM roofline (HEFT)",
            ["machine", "pipeline", "batch x kv", "HBM GB", "roofline ms", "latency ms",
             "x roofline", "speed-up / bytes"], rows, summary)


SECTIONS: dict[str, Callable[[], Section]] = {"scalesim": scalesim, "zigzag": zigzag,
                                          "stream": stream, "mapper": mapper,
                                          "roofline": roofline}


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
