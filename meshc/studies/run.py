"""One point's compile, as the engines run it: a Task in, an Outcome out (never raises).

The figures come from the library's own answers: `report_json` for every phase figure,
`inspect_module` (the counting conventions) for the KV cache bytes, the CompileResult for
the decode/prefill ratio; nothing here re-derives them. A system point's come from its
SystemResult (`compile_system`, or the search of `parallel=auto`): the figures a SystemPhase
has, the system ones (SYSTEM_METRICS) and the layout compiled; the chip-only figures it
cannot give (utilisation, HBM bytes, energy shares by component, ...) stay empty.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from meshc.errors import MeshcError
from meshc.parallel.compose import SystemResult
from meshc.result import ENERGY_COMPONENTS, CompileResult
from meshc.studies.tasks import Task

# per-phase figures, in column order; `energy_share.C` for each ENERGY_COMPONENTS follows
PHASE_METRICS = ("latency_s", "tokens_per_s", "pj_per_token", "pj_per_token_at_quality",
                 "compute_utilization", "idle_compute_fraction", "hbm_bytes",
                 "hbm_roofline_fraction", "sram_peak_bytes", "kv_cache_bytes", "bound_by")
# the quality columns are report.json's `quality` block (meshc/quality, docs/quality.md):
# `quality_basis` is the scale a perplexity is on (a law's estimate, or a dataset measured),
# `quality_note` what it rests on, or why it is unknown
QUALITY_FIGURES = ("loss", "perplexity")  # smaller is better, compared on one basis only
QUALITY_METRICS = (*QUALITY_FIGURES, "quality_kind", "quality_basis", "quality_note")
MODEL_METRICS = ("weight_bytes", "decode_over_prefill_cost_per_token", *QUALITY_METRICS)
# a system's figures per phase (a chip point has them too: one chip, no links, no
# bottleneck of the system's kinds), and the layout a system point compiled
SYSTEM_METRICS = ("tokens_per_s_per_chip", "chips_used", "link_energy_share", "bottleneck")
SYSTEM_MODEL_METRICS = ("layout",)


@dataclass(frozen=True)
class Outcome:
    """A point's result: its figures, or why it has none. `internal` marks a bug in meshc
    (never cached); `cpu_s` is for the benchmark only (never in the results)."""

    ok: bool
    reason: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    internal: bool = False
    cpu_s: float = 0.0

    def stored(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "metrics": self.metrics}


def run_task(task: Task) -> Outcome:
    """Compiles the task's point; a MeshcError is the point's reason, anything else a bug."""
    from meshc import limits

    start = time.process_time()
    limits.set_limits(tuple(f"{n}={v}" for n, v in task.limits))
    with tempfile.TemporaryDirectory(prefix="meshc-point-") as tmp:
        model, hw = _inputs(task, Path(tmp))
        try:
            out = Outcome(True, metrics=_metrics(task, model, hw))
        except MeshcError as e:
            out = Outcome(False, _reason(str(e), {model: task.model, hw: task.hw}))
        except Exception as e:  # a bug: reported, never cached, the sweep goes on
            first = (str(e).strip().splitlines() or [""])[0][:200]
            out = Outcome(False, f"internal error (a bug in meshc): {type(e).__name__}: "
                                 f"{_reason(first, {model: task.model, hw: task.hw})}",
                          internal=True)
    return replace(out, cpu_s=time.process_time() - start)


def _inputs(task: Task, tmp: Path) -> tuple[str, str]:
    """The model and hardware to compile: the given ones, or the overridden texts put in
    files in `tmp` (a message naming one names what the user gave instead: `_reason`)."""
    model, hw = task.model, task.hw
    if task.model_text:
        model = str(tmp / f"model-{task.key[:12]}.yaml")
        Path(model).write_text(task.model_text, encoding="utf-8")
    if task.hw_text:
        hw = str(tmp / f"hw-{task.key[:12]}.yaml")
        Path(hw).write_text(task.hw_text, encoding="utf-8")
    return model, hw


def _reason(text: str, names: dict[str, str]) -> str:
    """One line; a temporary file's path replaced by what the user gave."""
    for path, given in names.items():
        if path != given:
            text = text.replace(path, f"{given} (overridden)")
    return " ".join(text.split())


def _metrics(task: Task, model: str, hw: str) -> dict[str, Any]:
    from meshc.driver import compile_model

    if task.parallel:
        return _system_metrics(task, model, hw)
    req = replace(task.request, source=model)
    result = compile_model(req, hw, task.options)
    out = metrics(result, _kv_cache_bytes(task, model, hw), overridden=bool(task.model_text))
    out["quality_note"] = _reason(out["quality_note"], {model: task.model})
    return out


def _system_metrics(task: Task, model: str, hw: str) -> dict[str, Any]:
    """A system compile of the task (as `meshc compile --hw SYSTEM --parallel ...`)."""
    from meshc.hardware.load import load_hardware
    from meshc.hardware.system import load_system, system_of_one
    from meshc.parallel.degrees import parse_parallel
    from meshc.parallel.driver import compile_system
    from meshc.parallel.search import search

    req = replace(task.request, source=model)
    system = load_system(hw) if task.system else system_of_one(load_hardware(hw))
    if task.parallel == "auto":
        sc = search(req, system, task.objective, task.options, lambda _msg: None)
    else:
        sc = compile_system(req, system, parse_parallel(task.parallel), task.options)
    return system_metrics(sc.result, _kv_cache_bytes(task, model, system.groups[0].hw.source),
                          overridden=bool(task.model_text))


def system_metrics(result: SystemResult, kv_cache: dict[str, int], overridden: bool = False
                   ) -> dict[str, Any]:
    """The figures of one system compile as flat columns (None where it has none)."""
    quality = quality_metrics(result.quality.as_json() if result.quality else None, overridden)
    known = quality["quality_kind"] != "unknown"
    out: dict[str, Any] = {**dict.fromkeys(MODEL_METRICS), **quality}
    for p in result.phases:
        figures = {"latency_s": p.latency_s, "tokens_per_s": p.tokens_per_s,
                   "pj_per_token": p.pj_per_token,
                   "pj_per_token_at_quality": p.pj_per_token if known else None,
                   "kv_cache_bytes": kv_cache.get(p.name, 0),
                   "tokens_per_s_per_chip": p.tokens_per_s_per_chip,
                   "chips_used": p.chips_used, "link_energy_share": p.link_energy_share,
                   "bottleneck": p.bottleneck}
        out |= {f"{p.name}.{k}": v for k, v in figures.items()}
    out["decode_over_prefill_cost_per_token"] = result.decode_over_prefill
    out["layout"] = ",".join(f"{k}={v}" for k, v in result.parallel.items()  # as --parallel
                             if v != 1 or k in ("tp", "mlp_tp"))
    return out


def _kv_cache_bytes(task: Task, model: str, hw: str) -> dict[str, int]:
    """KV cache bytes after each phase, at the cache's precision (the pipeline's
    lower-quant step applied to the graph, then counted as `meshc inspect` counts)."""
    from meshc import pipelines
    from meshc.driver import pass_list
    from meshc.frontends import load_model
    from meshc.ir.summary import inspect_module

    module = load_model(replace(task.request, source=model))
    quant = [s for s in pass_list(task.options).split(",") if s.startswith("lower-quant")]
    if quant:
        pipelines.apply(module, quant[0], hw=hw)
    return {ph: d["kv_cache_bytes"] for ph, d in inspect_module(module)["phases"].items()}


def metrics(result: CompileResult, kv_cache: dict[str, int], overridden: bool = False
            ) -> dict[str, Any]:
    """The figures of one compile as flat columns: `PHASE.METRIC` and model-wide ones.
    `overridden`: the model's shape was changed (`arch.*`), so no table knows it."""
    from meshc.backends.base import hbm_bytes_per_s
    from meshc.backends.report import report_json

    rj = report_json(result)
    bw = hbm_bytes_per_s(result)
    quality = quality_metrics(rj.get("quality"), overridden)
    known = quality["quality_kind"] != "unknown"
    out: dict[str, Any] = {"weight_bytes": sum(rj["weight_bytes"].values()), **quality}
    for name, p in rj["phases"].items():
        roof = p["hbm_bytes"] / bw / p["latency_s"] if bw and p["latency_s"] > 0 else None
        figures = {"latency_s": p["latency_s"], "tokens_per_s": p["tokens_per_s"],
                   "pj_per_token": p["pj_per_token"],
                   "pj_per_token_at_quality": p["pj_per_token"] if known else None,
                   "compute_utilization": p["compute_utilization"],
                   "idle_compute_fraction": p["idle_compute_fraction"],
                   "hbm_bytes": p["hbm_bytes"], "hbm_roofline_fraction": roof,
                   "sram_peak_bytes": p["sram_peak_bytes_max"],
                   "kv_cache_bytes": kv_cache.get(name, 0), "bound_by": p["bound_by"]}
        total = p["energy_pj"]
        figures |= {f"energy_share.{c}": p["energy_breakdown_pj"][c] / total if total else 0.0
                    for c in ENERGY_COMPONENTS}
        figures |= {"tokens_per_s_per_chip": p["tokens_per_s"], "chips_used": 1,
                    "link_energy_share": 0.0}
        out |= {f"{name}.{k}": v for k, v in figures.items()}
    out["decode_over_prefill_cost_per_token"] = rj.get("decode_over_prefill_cost_per_token")
    return out


def quality_metrics(q: dict[str, Any] | None, overridden: bool) -> dict[str, Any]:
    """The quality columns of report.json's `quality` block (None: the result has none)."""
    if q is None:
        return {"loss": None, "perplexity": None, "quality_kind": "unknown",
                "quality_basis": None, "quality_note": "the compile reported no quality"}
    if q["kind"] == "measured":
        basis, note = f"measured on {q['dataset']}", f"{q['method']}: {q['source']}"
    elif q["kind"] == "estimate":
        basis, note = f"estimate by {q['law']}", (
            f"estimate for the overridden shape, trained on the base model's "
            f"{q['train_tokens']:.3g} tokens" if overridden else
            f"D = {q['train_tokens']:.3g} tokens: {q['train_tokens_source']}")
    else:
        basis, note = None, q["why"]
    return {"loss": q["loss"], "perplexity": q["perplexity"], "quality_kind": q["kind"],
            "quality_basis": basis, "quality_note": note}


def metric_columns(phases: tuple[str, ...], system: bool = False) -> list[str]:
    """Every metric column, in a fixed order; `system`: with the system figures (a sweep
    with a system point)."""
    per_phase = [*PHASE_METRICS, *(f"energy_share.{c}" for c in ENERGY_COMPONENTS),
                 *(SYSTEM_METRICS if system else ())]
    return [f"{ph}.{m}" for ph in phases for m in per_phase] + list(MODEL_METRICS) + list(
        SYSTEM_MODEL_METRICS if system else ())
