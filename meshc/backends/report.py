"""The `report` backend: report.json (keys tools rely on) and report.md (the same for people).

report.json, schema `SCHEMA_VERSION`, sorted keys, floats to 9 significant digits:

* top level: `schema_version`, `model`, `hardware`, `hardware_summary`, `mesh`,
  `pipeline`, `options` (with `batch`, `seq`, `kv_len`), `weight_bytes` (`sram`: resident,
  `hbm`: streamed), `notes` (what the frontends and
  passes found for the user: `source`, `text`), `mapper` (all phases aggregated: `solver`,
  the worst `status`, summed `makespan_s`, `heft_makespan_s`, `lower_bound_s`,
  `fell_back` if any phase fell back), `phases`, `quality` (meshc/quality: `kind` estimate,
  measured or unknown, `loss`, `perplexity`, `law`, `source` ...; docs/quality.md), and
  `decode_over_prefill_cost_per_token` when both prefill and decode ran;
* `phases.<phase>`: `bound_by` and `busy_shares` (backends/binding.py), `latency_s`,
  `energy_pj`, `tokens`, `pj_per_token`, `tokens_per_s`,
  `lower_bound_s`, `macs`, `achieved_tflops`, `compute_utilization`,
  `idle_compute_fraction`, `sram_peak_bytes` ("r,c" -> peak SRAM occupancy of the core)
  and its `sram_peak_bytes_max`, `memory` (`spilled_bytes` sent off chip when SRAM was
  full, `reloaded_bytes` read back, `spill_energy_pj` (within `energy_pj`),
  `input_offchip_bytes`, `output_offchip_bytes`: the phase's inputs and outputs, which
  start and end off chip; on a cold run (options `cold`) also `cold_load_bytes`: the
  resident weights loaded from off chip, each once), `energy_breakdown_pj`
  (result.ENERGY_COMPONENTS: mac, reg, vector, transcendental, sram, noc, hbm, static; sums
  to `energy_pj`), `energy_by_op_class_pj`, `mapper`,
  `predicted_vs_simulated` and `ops` (one row per op, in simulated start order).

Nothing in either file depends on the wall clock: the same inputs give the same bytes.
Wall-clock times (compile and solve) go to timings.json, which the CLI writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from meshc.backends.base import Artifacts, gc_paused, hbm_bytes_per_s, json_text, op_energy_pj
from meshc.backends.binding import phase_binding
from meshc.backends.plots import plot_files
from meshc.result import ENERGY_COMPONENTS, SCHEMA_VERSION, CompileResult, MapperStats, PhaseResult
from meshc.units import fmt_bytes

# Least to most worrying; an unknown status counts as the most worrying.
STATUS_ORDER = ("OPTIMAL", "FEASIBLE", "HEFT", "FALLBACK")


def worst_status(statuses: Iterable[str]) -> str:
    def rank(s: str) -> tuple[int, str]:
        u = s.upper()
        return (STATUS_ORDER.index(u) if u in STATUS_ORDER else len(STATUS_ORDER), s)

    return max(statuses, key=rank, default="")


def mapper_json(m: MapperStats) -> dict[str, Any]:
    return {
        "solver": m.solver, "status": m.status, "makespan_s": m.makespan_s,
        "heft_makespan_s": m.heft_makespan_s, "lower_bound_s": m.lower_bound_s,
        "fell_back": m.fell_back, "wall_limit_hit": m.wall_limit_hit,
        "fallback_reason": m.fallback_reason, "notes": list(m.notes),
        "options": dict(m.options),
    }


def aggregate_mapper(phases: Iterable[PhaseResult]) -> dict[str, Any]:
    stats = [p.mapper for p in phases]
    return {
        "solver": "+".join(sorted({m.solver for m in stats})),
        "status": worst_status(m.status for m in stats),
        "makespan_s": sum(m.makespan_s for m in stats),
        "heft_makespan_s": sum(m.heft_makespan_s for m in stats),
        "lower_bound_s": sum(m.lower_bound_s for m in stats),
        "fell_back": any(m.fell_back for m in stats),
        "wall_limit_hit": any(m.wall_limit_hit for m in stats),
    }


def predicted_vs_simulated(p: PhaseResult) -> dict[str, Any]:
    pred = p.mapper.makespan_s
    return {
        "predicted_s": pred,
        "simulated_s": p.latency_s,
        "simulated_over_predicted": p.latency_s / pred if pred > 0 else None,
        "lower_bound_s": p.lower_bound_s,
        "simulated_over_lower_bound": p.latency_s / p.lower_bound_s if p.lower_bound_s > 0
        else None,
    }


def op_rows(p: PhaseResult) -> list[dict[str, Any]]:
    rows = []
    for o in sorted(p.ops, key=lambda o: (o.start_s, o.end_s, o.name)):
        rows.append({
            "name": o.name, "class": o.op_class, "kind": o.kind, "layer": o.layer,
            "block": o.block, "region": o.region, "precision": o.precision,
            "tiles": o.n_tiles, "tile_shape": list(o.tile_shape), "rect": list(o.rect),
            "step": list(o.step), "cores": len(o.cores), "start_s": o.start_s, "end_s": o.end_s,
            "planned_start_s": o.planned_start_s, "planned_end_s": o.planned_end_s,
            "compute_s": o.compute_s, "macs": o.macs, "flops": o.flops,
            "hbm_bytes": o.hbm_read_bytes + o.hbm_write_bytes,
            "energy_pj": op_energy_pj(o.energy_pj),
            "energy_breakdown_pj": dict(sorted(o.energy_pj.items())),
        })
    return rows


def memory_json(p: PhaseResult, cold: bool = False) -> dict[str, Any]:
    """Off-chip traffic of the memory hierarchy beyond streamed weights and KV cache (a
    cold run's weight loads only on a cold run: warm reports keep their bytes)."""
    out = {"spilled_bytes": p.spilled_bytes, "reloaded_bytes": p.reloaded_bytes,
           "spill_energy_pj": p.spill_energy_pj, "input_offchip_bytes": p.input_offchip_bytes,
           "output_offchip_bytes": p.output_offchip_bytes}
    return out | {"cold_load_bytes": p.cold_load_bytes} if cold else out


def breakdown(p: PhaseResult) -> dict[str, float]:
    return {k: float(p.energy_breakdown_pj.get(k, 0.0)) for k in ENERGY_COMPONENTS}


def phase_json(p: PhaseResult, hbm_bw: float, cold: bool = False) -> dict[str, Any]:
    binding = phase_binding(p, hbm_bw)
    return {
        "bound_by": binding.bound_by,
        "busy_shares": binding.shares,
        "latency_s": p.latency_s,
        "energy_pj": p.energy_pj,
        "tokens": p.tokens,
        "pj_per_token": p.pj_per_token,
        "tokens_per_s": p.tokens_per_s,
        "lower_bound_s": p.lower_bound_s,
        "macs": p.macs,
        "peak_flops": p.peak_flops,
        "achieved_tflops": p.achieved_tflops,
        "compute_utilization": p.compute_utilization,
        "idle_compute_fraction": p.idle_compute_fraction,
        "core_occupancy": p.core_occupancy,
        "energy_breakdown_pj": breakdown(p),
        "energy_by_op_class_pj": dict(sorted(p.energy_by_op_class_pj.items())),
        "hbm_bytes": sum(o.hbm_read_bytes + o.hbm_write_bytes for o in p.ops),
        "noc_bytes": sum(t.bytes for t in p.transfers),
        "noc_byte_hops": sum(t.bytes * t.hops for t in p.transfers),
        "sram_peak_bytes_max": max(p.sram_peak_bytes.values(), default=0),
        "sram_peak_bytes": dict(sorted(p.sram_peak_bytes.items())),
        "memory": memory_json(p, cold),
        "n_cores": p.n_cores,
        "n_ops": len(p.ops),
        "mapper": mapper_json(p.mapper),
        "predicted_vs_simulated": predicted_vs_simulated(p),
        "ops": op_rows(p),
    }


def report_json(result: CompileResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "model": result.model,
        "hardware": result.hardware,
        "hardware_summary": dict(result.hardware_summary),
        "mesh": list(result.mesh),
        "pipeline": result.pipeline,
        "options": dict(result.options),
        "notes": [{"source": src, "text": text} for src, text in result.notes],
        "weight_bytes": {"sram": result.weight_homes.get("sram", 0),
                         "hbm": result.weight_homes.get("hbm", 0)},
        "mapper": aggregate_mapper(result.phases),
        "phases": {p.name: phase_json(p, hbm_bytes_per_s(result), result.cold)
                   for p in result.phases},
    }
    ratio = result.decode_over_prefill_cost_per_token
    if ratio is not None:
        out["decode_over_prefill_cost_per_token"] = ratio
    if result.quality is not None:
        out["quality"] = result.quality.as_json()
    return out


# --- report.md ------------------------------------------------------------------------

def _si(x: float, unit: str, prefixes: Mapping[float, str]) -> str:
    if x == 0:
        return f"0 {unit}"
    for scale, prefix in prefixes.items():
        if abs(x) >= scale:
            return f"{x / scale:.4g} {prefix}{unit}"
    scale, prefix = list(prefixes.items())[-1]
    return f"{x / scale:.4g} {prefix}{unit}"


def fmt_s(s: float) -> str:
    return _si(s, "s", {1.0: "", 1e-3: "m", 1e-6: "µ", 1e-9: "n"})


def fmt_pj(pj: float) -> str:
    return _si(pj * 1e-12, "J", {1.0: "", 1e-3: "m", 1e-6: "µ", 1e-9: "n", 1e-12: "p"})


def fmt_n(n: float) -> str:
    return _si(n, "", {1e12: "T", 1e9: "G", 1e6: "M", 1e3: "k", 1.0: ""}).strip()


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.4g}"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ratio(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}x"


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "--:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return [*lines, ""]


def _answers(result: CompileResult) -> list[str]:
    out = []
    ratio = result.decode_over_prefill_cost_per_token
    if ratio is not None:
        d, pf = result.phase("decode"), result.phase("prefill")
        out.append(f"- Decode costs **{ratio:.3g}x** prefill per token "
                   f"({fmt_pj(d.pj_per_token)}/token against {fmt_pj(pf.pj_per_token)}/token).")
    for p in result.phases:
        out.append(f"- **{pct(p.idle_compute_fraction)}** of the chip's MAC capacity idles in "
                   f"{p.name} (achieved {p.achieved_tflops:.4g} TFLOP/s of "
                   f"{p.peak_flops / 1e12:.4g}); cores are occupied {pct(p.core_occupancy)} of "
                   "the time.")
    for p in result.phases:
        out.append(f"- {p.name} memory: {_memory_line(p)}.")
    for p in result.phases:
        pv = predicted_vs_simulated(p)
        top = max(ENERGY_COMPONENTS, key=lambda k: breakdown(p)[k])
        share = breakdown(p)[top] / p.energy_pj if p.energy_pj else 0.0
        b = phase_binding(p, hbm_bytes_per_s(result))
        busy = ", ".join(f"{k} {pct(v)}" for k, v in b.shares.items())
        out.append(f"- {p.name}: {fmt_s(p.latency_s)} simulated, "
                   f"{_ratio(pv['simulated_over_lower_bound'])} the lower bound, bound by "
                   f"**{b.label}** (busy share of the latency: {busy}); most energy "
                   f"goes to {top} ({pct(share)}).")
    return [*out, ""]


def _memory_line(p: PhaseResult) -> str:
    peak = max(sorted(p.sram_peak_bytes.items()), key=lambda kv: kv[1], default=("-", 0))
    line = f"peak SRAM {fmt_bytes(peak[1], exact=False)} (core {peak[0]})"
    if p.spilled_bytes:
        line += (f"; {fmt_bytes(p.spilled_bytes, exact=False)} spilled off chip and "
                 f"{fmt_bytes(p.reloaded_bytes, exact=False)} read back "
                 f"({fmt_pj(p.spill_energy_pj)})")
    else:
        line += "; nothing spilled"
    return (line + f"; inputs {fmt_bytes(p.input_offchip_bytes, exact=False)} and outputs "
            f"{fmt_bytes(p.output_offchip_bytes, exact=False)} off chip")


def _cold_line(result: CompileResult) -> str:
    """What a cold run changed: the resident weights it loaded, or why it loaded none."""
    head = "Cold run: resident weights start off chip"
    if not result.hardware_summary.get("hbm_stacks") and not any(
            p.cold_load_bytes for p in result.phases):
        return f"{head}, but this machine has no off-chip memory: there is nothing to load."
    if not any(p.cold_load_bytes for p in result.phases):
        return f"{head}, but no weight is resident in SRAM here: there is nothing to load."
    loads = ", ".join(f"{p.name} {fmt_bytes(p.cold_load_bytes, exact=False)}"
                      for p in result.phases)
    return (f"{head} and each is loaded once through the HBM ports before the first op that "
            f"reads it, its time and energy charged ({loads}).")


def _summary(result: CompileResult) -> list[str]:
    ps = result.phases
    rows = [
        ["tokens"] + [f"{p.tokens:,}" for p in ps],
        ["latency"] + [fmt_s(p.latency_s) for p in ps],
        ["lower bound"] + [fmt_s(p.lower_bound_s) for p in ps],
        ["tokens/s"] + [fmt_rate(p.tokens_per_s) for p in ps],
        ["energy"] + [fmt_pj(p.energy_pj) for p in ps],
        ["energy/token"] + [fmt_pj(p.pj_per_token) for p in ps],
        ["MACs"] + [fmt_n(p.macs) for p in ps],
        ["achieved TFLOP/s"] + [f"{p.achieved_tflops:.4g}" for p in ps],
        ["compute utilisation"] + [pct(p.compute_utilization) for p in ps],
        ["idle compute"] + [pct(p.idle_compute_fraction) for p in ps],
        ["ops"] + [f"{len(p.ops):,}" for p in ps],
    ]
    return ["## Summary", "", *md_table([""] + [p.name for p in ps], rows)]


def _energy(result: CompileResult) -> list[str]:
    ps = result.phases
    lines = ["## Where the energy goes", ""]
    header = ["component"]
    for p in ps:
        header += [f"{p.name} per token", "share"]
    rows = []
    for k in ENERGY_COMPONENTS:
        row = [k]
        for p in ps:
            v = breakdown(p)[k]
            row += [fmt_pj(v / p.tokens), pct(v / p.energy_pj if p.energy_pj else 0.0)]
        rows.append(row)
    rows.append(["**total**"] + [c for p in ps for c in (f"**{fmt_pj(p.pj_per_token)}**",
                                                        "100%")])
    lines += md_table(header, rows)
    for p in ps:
        by_class = sorted(p.energy_by_op_class_pj.items(), key=lambda kv: (-kv[1], kv[0]))
        dynamic = sum(v for _, v in by_class)
        lines += [f"By op class in {p.name} (dynamic energy, static excluded):", ""]
        lines += md_table(["op class", "per token", "share"],
                        [[c, fmt_pj(v / p.tokens), pct(v / dynamic if dynamic else 0.0)]
                         for c, v in by_class])
    return lines


def _latency(result: CompileResult) -> list[str]:
    lines = ["## Latency per phase", ""]
    lines += md_table(["phase", "simulated", "lower bound", "simulated / lower bound",
                     "tokens/s"],
                    [[p.name, fmt_s(p.latency_s), fmt_s(p.lower_bound_s),
                      _ratio(predicted_vs_simulated(p)["simulated_over_lower_bound"]),
                      fmt_rate(p.tokens_per_s)] for p in result.phases])
    for p in result.phases:
        longest = sorted(p.ops, key=lambda o: (-(o.end_s - o.start_s), o.name))[:5]
        if not longest:
            continue
        lines += [f"Longest ops in {p.name}:", ""]
        lines += md_table(["op", "class", "cores", "duration", "share of latency"],
                        [[f"`{o.name}`", o.op_class, str(len(o.cores)),
                          fmt_s(o.end_s - o.start_s),
                          pct((o.end_s - o.start_s) / p.latency_s if p.latency_s else 0.0)]
                         for o in longest])
    return lines


def _mapper(result: CompileResult) -> list[str]:
    lines = ["## Predicted vs simulated", ""]
    rows = []
    for p in result.phases:
        m, pv = p.mapper, predicted_vs_simulated(p)
        rows.append([p.name, m.solver, m.status, "yes" if m.fell_back else "no",
                     fmt_s(m.heft_makespan_s), fmt_s(m.makespan_s), fmt_s(p.latency_s),
                     _ratio(pv["simulated_over_predicted"]), fmt_s(m.lower_bound_s)])
    lines += md_table(["phase", "solver", "status", "fell back", "HEFT makespan",
                     "mapper makespan", "simulated", "simulated / predicted", "lower bound"],
                    rows)
    agg = aggregate_mapper(result.phases)
    note = ("the mapper fell back to HEFT in at least one phase"
            if agg["fell_back"] else "no phase fell back to HEFT")
    lines += [f"Overall mapper status: **{agg['status']}** ({note}).", ""]
    for p in result.phases:
        m = p.mapper
        if m.fallback_reason:
            lines.append(f"- {p.name}: {m.fallback_reason}")
        lines += [f"- {p.name}: {n}" for n in m.notes]
    opts = result.phases[0].mapper.options if result.phases else {}
    if opts:
        lines += ["", "Mapper options: " + ", ".join(f"{k}={v}" for k, v in opts.items()) + "."]
    return [*lines, ""]


def _plots(result: CompileResult) -> list[str]:
    lines = ["## Plots", "", "Written by the `plots` backend.", ""]
    for title, path in plot_files(result):
        lines += [f"### {title}", "", f"![{title}]({path})", ""]
    return lines


def report_md(result: CompileResult) -> str:
    rows, cols = result.mesh
    o = result.options
    shape = ", ".join(f"{k} {o[k]:,}" for k in ("batch", "seq", "kv_len") if k in o)
    lines = [f"# meshc report: {result.model} on {result.hardware}", "",
             f"{rows}x{cols} mesh; {shape}; weights: {result.weights_where}; "
             f"pipeline `{result.pipeline}`.", ""]
    if result.cold:
        lines += [_cold_line(result), ""]
    if result.notes:
        lines += ["## Notes", "", *(f"- {text} ({src})" for src, text in result.notes), ""]
    if result.phases:
        lines += ["## Answers", "", *_answers(result)]
        if result.quality is not None:  # beside what a token costs
            cost = ", ".join(f"{fmt_pj(p.pj_per_token)} in {p.name}" for p in result.phases)
            lines += ["## Quality", "", *(f"- {s}" for s in result.quality.sentences(cost)), ""]
        lines += _summary(result) + _energy(result) + _latency(result) + _mapper(result)
    lines += _plots(result)
    return "\n".join(lines).rstrip() + "\n"


class ReportBackend:
    """report.json (per-phase latency, energy, utilisation, mapper) and report.md."""

    name = "report"

    def emit(self, result: CompileResult) -> Artifacts:
        with gc_paused():
            return {"report.json": json_text(report_json(result)),
                    "report.md": report_md(result)}
