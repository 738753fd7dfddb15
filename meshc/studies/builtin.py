"""meshc's own studies (registered in pyproject.toml's `meshc.studies` group). Each default
runs on the zoo and the presets with no other flag, with the HEFT mapper so a study takes
a minute or two; `--grid` overrides any axis (and `--grid mapper=cpsat` the mapper)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

from meshc.studies.study import Study
from meshc.studies.table import Table, front

Row = dict[str, Any]
TARGET_RATIO = 5.0  # a decode token priced at ~5x a prefill token (the market's ratio)
HEADROOM = 1.05  # "no extra latency": within 5% of the narrowest MLP's


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _short(reason: str, n: int = 160) -> str:
    """A failure's first clause: "pass partition-attn-mlp: X has 32 GB of HBM but must
    hold 50 GB there: (details)" -> "X has 32 GB of HBM but must hold 50 GB there"."""
    text = re.sub(r"^pass [\w-]+: ", "", reason).split(": ", 1)[0]
    return text if len(text) <= n else text[:n - 3] + "..."


def _by(t: Table, key: str) -> dict[Any, list[Row]]:
    """Rows grouped by the value of `key` (all rows under None when it is not swept)."""
    out: dict[Any, list[Row]] = {}
    for r in t.rows:
        out.setdefault(r.get(key) if key in t.keys else None, []).append(r)
    return out


def _label(key: str, value: Any) -> str:
    return f"{key} {value}: " if value is not None else ""


def _num(r: Row, col: str) -> float | None:
    v = r.get(col)
    return float(v) if r["ok"] and isinstance(v, int | float) else None


def _first_failure(rows: Sequence[Row], key: str = "batch") -> str:
    """Why the first failed row failed, and at which value of `key`."""
    bad = next((r for r in rows if not r["ok"]), None)
    if bad is None:
        return ""
    at = f" at {key} {bad[key]}" if bad.get(key) is not None else ""
    return f"; stopped{at} by: {_short(bad['reason'])}"


def decode_cost(t: Table) -> str:
    lines = []
    for kv, rows in _by(t, "kv_len").items():
        rows = sorted(rows, key=lambda r: r.get("batch") or 0)
        ok = [r for r in rows if _num(r, "decode_over_prefill_cost_per_token") is not None]
        if not ok:
            lines.append(f"{_label('kv_len', kv)}no point compiled{_first_failure(rows)}")
            continue
        first, cross = ok[0], next((r for r in ok if r["decode_over_prefill_cost_per_token"]
                                     <= TARGET_RATIO), None)
        head = (f"{_label('kv_len', kv)}a decode token costs "
                f"{first['decode_over_prefill_cost_per_token']:.1f}x a prefill token at batch "
                f"{first.get('batch', '?')} ({_pct(first['decode.idle_compute_fraction'])} of "
                f"compute idle)")
        if cross is not None:
            lines.append(f"{head}; the ratio crosses {TARGET_RATIO:g}x at batch "
                         f"{cross.get('batch', '?')} "
                         f"({cross['decode_over_prefill_cost_per_token']:.1f}x, "
                         f"{_pct(cross['decode.idle_compute_fraction'])} idle, decode at "
                         f"{_roof(cross)} of the HBM roofline)")
            continue
        last = ok[-1]
        stop = _first_failure(rows) or f"; decode is bound by {last['decode.bound_by']}"
        lines.append(f"{head}; still {last['decode_over_prefill_cost_per_token']:.1f}x at "
                     f"batch {last.get('batch', '?')} (decode at {_roof(last)} of the HBM "
                     f"roofline){stop}")
    return "\n".join(lines)


def _roof(r: Row) -> str:
    v = _num(r, "decode.hbm_roofline_fraction")
    return _pct(v) if v is not None else "n/a"


def mlp_headroom(t: Table) -> str:
    lines = []
    for batch, rows in _by(t, "batch").items():
        ok = sorted((r for r in rows if _num(r, "decode.latency_s") is not None),
                    key=lambda r: r["arch.mlp_mult"])
        if not ok:
            lines.append(f"{_label('batch', batch)}no point compiled{_first_failure(rows)}")
            continue
        base = ok[0]
        lat = base["decode.latency_s"]
        best = [r for r in ok if r["decode.latency_s"] <= HEADROOM * lat][-1]
        wider = next((r for r in ok if r["arch.mlp_mult"] > best["arch.mlp_mult"]), None)
        more = (f"; {wider['arch.mlp_mult']:g}x takes "
                f"{wider['decode.latency_s'] / lat - 1:+.0%}" if wider else "")
        lines.append(f"{_label('batch', batch)}the MLP can be {best['arch.mlp_mult']:g}x as "
                     f"wide (vs {base['arch.mlp_mult']:g}x) with decode latency within "
                     f"{HEADROOM - 1:.0%}: {best['decode.latency_s'] * 1e3:.3g} ms against "
                     f"{lat * 1e3:.3g} ms (decode bound by {base.get('decode.bound_by')}, "
                     f"{_pct(base['decode.idle_compute_fraction'])} of compute idle){more}"
                     f"{_first_failure(rows, 'arch.mlp_mult')}")
    return "\n".join(lines)


def _relative(t: Table, base_of: Callable[[Row], bool], name: Callable[[Row], str],
              cols: tuple[str, ...]) -> str:
    """Each ok row's figures relative to the base row's."""
    ok = t.ok_rows()
    base = next((r for r in ok if base_of(r)), None)
    if base is None:
        return "the baseline point did not compile: " + _first_failure(t.rows).lstrip("; ")
    lines = []
    for r in ok:
        parts = []
        for c in cols:
            if _num(r, c) is not None and _num(base, c):
                parts.append(f"{c} {r[c] / base[c]:.2f}x")
        lines.append(f"{name(r)}: " + ", ".join(parts))
    failed = [f"{name(r)}: {_short(r['reason'], 80)}" for r in t.rows if not r["ok"]]
    return "\n".join(lines + failed) + f"\n(relative to {name(base)})"


def activation(t: Table) -> str:
    def name(r: Row) -> str:
        return f"{r.get('arch.activation')} {'gated' if r.get('arch.gated') else 'plain'}"

    text = _relative(t, lambda r: r.get("arch.activation") == "relu" and not r.get("arch.gated"),
                     name, ("prefill.pj_per_token", "decode.pj_per_token",
                            "prefill.latency_s"))
    shares = [f"{name(r)} {_pct(r['prefill.energy_share.transcendental'])}"
              for r in t.ok_rows() if _num(r, "prefill.energy_share.transcendental") is not None]
    return text + ("\nprefill energy in transcendentals: " + ", ".join(shares) if shares else "")


def fit(t: Table) -> str:
    ok = t.ok_rows()
    lines = [f"{len(ok)} of {len(t.rows)} points fit"]
    for kv, rows in _by(t, "kv_len").items():
        fits = sorted((r for r in rows if r["ok"]), key=lambda r: r.get("batch") or 0)
        if not fits:
            lines.append(f"{_label('kv_len', kv)}nothing fits{_first_failure(rows)}")
            continue
        big = fits[-1]
        phase = "decode" if _num(big, "decode.compute_utilization") is not None else "prefill"
        lines.append(f"{_label('kv_len', kv)}up to batch {big.get('batch', '?')} fits "
                     f"({phase} compute utilisation "
                     f"{_pct(big[f'{phase}.compute_utilization'])}){_first_failure(rows)}")
    return "\n".join(lines)


PRECISION_KEYS = ("weights", "acts", "kv")


def quantization(t: Table) -> str:
    """Per model, each precision against bf16; then the perplexity-per-picojoule fronts."""
    def name(r: Row) -> str:
        model = f"{r['model']} " if "model" in t.keys else ""
        return model + " ".join(f"{k}={r[k]}" for k in PRECISION_KEYS if k in t.keys)

    lines = [_relative(Table(t.keys, t.columns, tuple(rows)),
                       lambda r: all(r.get(k, "bf16") == "bf16" for k in PRECISION_KEYS
                                     if k in t.keys),
                       name, ("decode.pj_per_token", "decode.latency_s", "prefill.pj_per_token",
                              "prefill.latency_s"))
             for rows in _by(t, "model").values()]  # each model against its own bf16
    lines += [f"{name(r)}: quality unknown ({r['quality_note']})" for r in t.ok_rows()
              if r.get("quality_kind") == "unknown"]
    if {"acts", "kv"} & set(t.keys):
        lines.append("(an estimate leaves the activations' and the KV cache's precision out; "
                     "a measured perplexity has them: docs/quality.md)")
    return "\n".join(lines + perplexity_fronts(t, name))


def perplexity_fronts(t: Table, name: Callable[[Row], str]) -> list[str]:
    """Perplexity per picojoule: per phase and quality basis, the Pareto front of
    (pJ/token, perplexity), cheapest first, with its numbers."""
    lines = []
    for phase in ("decode", "prefill"):
        cols = (f"{phase}.pj_per_token", "perplexity")
        if cols[0] not in t.columns:
            continue
        best: dict[str, list[Row]] = {}
        for r, f in zip(t.rows, front(t, cols), strict=True):
            if f:
                best.setdefault(str(r["quality_basis"]), []).append(r)
        for basis, rows in sorted(best.items()):
            pts = [f"{name(r)} ({r['perplexity']:.3f} at {r[cols[0]]:.4g} pJ/token)"
                   for r in sorted(rows, key=lambda r: (r[cols[0]], r["perplexity"]))]
            lines.append(f"perplexity per picojoule, {phase}, {basis}: the front is "
                         + "; ".join(pts))
    return lines


def regions(t: Table) -> str:
    """Per batch, the disaggregated pipeline (attention and MLP on separate core regions of
    one chip) against the default (shared)."""
    lines = []
    for batch, rows in _by(t, "batch").items():
        got = {r["pipeline"]: r for r in rows if r["ok"]}
        if not {"default", "disaggregated"} <= got.keys():
            lines.append(f"{_label('batch', batch)}not compared{_first_failure(rows)}")
            continue
        d, s = got["disaggregated"], got["default"]
        parts = [f"{c} {d[c] / s[c]:.2f}x" for c in ("prefill.latency_s", "decode.latency_s",
                                                      "decode.pj_per_token") if _num(s, c)]
        lines.append(f"{_label('batch', batch)}disaggregated vs shared: " + ", ".join(parts))
    return "\n".join(lines)


# a system study's figures: (column, what, larger is better)
SYSTEM_FIGURES = (("decode.latency_s", "decode latency", False),
                  ("prefill.latency_s", "prefill latency", False),
                  ("decode.pj_per_token", "decode pJ/token", False),
                  ("prefill.pj_per_token", "prefill pJ/token", False),
                  ("decode.tokens_per_s_per_chip", "decode tokens/s per chip", True),
                  ("prefill.tokens_per_s_per_chip", "prefill tokens/s per chip", True))


def _batch(b: Any) -> str:
    return f"batch {b}" if b is not None else "the one batch"


def _group(seq: Sequence[tuple[Any, str]]) -> list[tuple[str, list[Any]]]:
    """(batch, value) in batch order -> runs of one value: [(value, [batches])]."""
    runs: list[tuple[str, list[Any]]] = []
    for b, v in seq:
        if runs and runs[-1][0] == v:
            runs[-1][1].append(b)
        else:
            runs.append((v, [b]))
    return runs


def _runs(seq: Sequence[tuple[Any, str]]) -> str:
    """"hbm at every batch", or "pipeline at 2, 8; hbm at 32"."""
    runs = _group(seq)
    if len(runs) == 1:
        return f"{runs[0][0]} at every batch"
    return "; ".join(f"{v} at {', '.join(map(str, bs))}" for v, bs in runs)


def crossover(what: str, wins: Sequence[tuple[Any, str, float]], ratio: str) -> str:
    """One figure's verdict from (batch, winner, ratio) in batch order: who wins where, and
    between which batches the lead changes hands."""
    runs = _group([(b, w) for b, w, _ in wins])
    figures = f"({ratio}: " + ", ".join(f"{r:.3g}x at {_batch(b)}" for b, _, r in wins) + ")"
    if len(runs) == 1:
        return f"{what}: {runs[0][0]} wins at every batch {figures}"
    where = _runs([(b, w) for b, w, _ in wins])
    cross = ", ".join(f"between batch {p[1][-1]} and {q[1][0]}"
                      for p, q in itertools.pairwise(runs))
    return f"{what}: {where}; the lead changes {cross} {figures}"


def disaggregation(t: Table) -> str:
    """The first system (disaggregated) against the second, per figure and batch: which wins
    and where it crosses over."""
    hws = list(dict.fromkeys(str(r["hw"]) for r in t.rows)) if "hw" in t.keys else []
    if len(hws) != 2:
        return ("needs two systems to compare (the grid's hw, each with its parallel layout), "
                f"got {len(hws) or 1}")
    a, b = hws
    ok = {hw: next((r for r in t.ok_rows() if r["hw"] == hw), None) for hw in hws}
    head = [f"{hw} ({r['layout']} on {r['decode.chips_used'] or r['prefill.chips_used']} chips)"
            if r is not None else f"{hw} (no point compiled)" for hw, r in ok.items()]
    lines = [f"{head[0]} against {head[1]}; ratios are {a} / {b}"]
    verdicts: set[str] = set()
    for col, what, larger in SYSTEM_FIGURES:
        if col not in t.columns:
            continue
        wins = []
        for batch, rows in sorted(_by(t, "batch").items(), key=lambda kv: kv[0] or 0):
            got = {r["hw"]: float(r[col]) for r in rows if _num(r, col) is not None}
            if {a, b} <= got.keys() and got[b] > 0:
                first = got[a] > got[b] if larger else got[a] < got[b]
                wins.append((batch, a if first else b, got[a] / got[b]))
        if wins:
            lines.append(crossover(what, wins, f"{a} / {b}"))
            verdicts |= {w for _, w, _ in wins}
        else:
            lines.append(f"{what}: not compared at any batch")
    if len(verdicts) == 1:
        lines.append(f"{verdicts.pop()} wins every figure at every batch compared")
    for phase in ("decode", "prefill"):
        bound = [f"{hw} {_runs([(r.get('batch'), r[f'{phase}.bottleneck']) for r in rows])}"
                 for hw in hws if (rows := sorted(
                     (r for r in t.ok_rows() if r["hw"] == hw and r.get(f"{phase}.bottleneck")),
                     key=lambda r: r.get("batch") or 0))]
        if bound:
            lines.append(f"{phase} bound by: " + "; ".join(bound))
    lines += [f"{r['hw']} {_batch(r.get('batch'))}: failed: {_short(r['reason'])}"
              for r in t.rows if not r["ok"]]
    return "\n".join(lines)


def grain(t: Table) -> str:
    """Per SRAM size (or whatever else is swept besides the grain): the best tile grain."""
    other = next((k for k in t.keys if k not in ("grain", "mapper", "seq", "kv_len")), None)
    lines = []
    for value, rows in (_by(t, other) if other else {None: list(t.rows)}).items():
        ok = [r for r in rows if _num(r, "prefill.latency_s") is not None]
        if not ok:
            lines.append(f"{_label(other or '', value)}nothing fits{_first_failure(rows)}")
            continue
        best = min(ok, key=lambda r: r["prefill.latency_s"])
        worst = max(ok, key=lambda r: r["prefill.latency_s"])
        lines.append(f"{_label(other or '', value)}grain {best.get('grain', 'auto')} is "
                     f"fastest: prefill {best['prefill.latency_s'] * 1e3:.3g} ms "
                     f"({worst['prefill.latency_s'] / best['prefill.latency_s']:.2f}x faster "
                     f"than grain {worst.get('grain', 'auto')}), bound by "
                     f"{best['prefill.bound_by']}, {best['prefill.pj_per_token']:.3g} pJ/token"
                     f"{_first_failure(rows)}")
    return "\n".join(lines)


def depth(t: Table) -> str:
    def name(r: Row) -> str:
        return (f"{r.get('arch.layers')} layers x hidden {r.get('arch.hidden')} "
                f"({r['weight_bytes'] / 1e6:.0f} MB of weights)" if r["ok"] else
                f"{r.get('arch.layers')} layers")

    first = next((r for r in t.rows if r["ok"]), None)
    return _relative(t, lambda r: r is first, name,
                     ("prefill.latency_s", "decode.latency_s", "decode.pj_per_token"))


DECODE_COST = Study(
    "decode-cost", "At what batch and context does a decode token cost ~5x a prefill token, "
    "and what stops it?", ("llama3-8b",), ("tpu-v6e-like",),
    ("batch=1,8,32,64,128,256", "kv_len=512,4096"), decode_cost,
    {"mapper": "heft", "seq": 512},
    ("decode_over_prefill_cost_per_token", "decode.idle_compute_fraction",
     "decode.hbm_roofline_fraction"))
MLP_HEADROOM = Study(
    "mlp-headroom", "How much wider can the MLP be in decode at no extra latency?",
    ("llama3-8b",), ("tpu-v6e-like",), ("batch=1,16,64", "arch.mlp_mult=1,1.25,1.5,2,3"),
    mlp_headroom, {"mapper": "heft", "phase": "decode", "kv_len": 512},
    ("decode.latency_s", "decode.pj_per_token"))
ACTIVATION = Study(
    "activation", "What do ReLU, GELU and SiLU cost, gated and plain, at equal parameters?",
    ("llama3-8b",), ("tpu-v6e-like",),
    ("arch.activation=relu,relu,gelu,gelu,silu,silu", "arch.gated=false,true,false,true,"
     "false,true", "arch.mlp_mult=1.5,1,1.5,1,1.5,1"),  # plain: 2 matrices 1.5x as wide
    activation, {"mapper": "heft", "seq": 512}, ("prefill.pj_per_token", "decode.pj_per_token"),
    zipped=True)
FIT = Study(
    "fit", "Which batches and contexts fit the chip, and at what utilisation?",
    ("llama3-8b",), ("tpu-v6e-like",), ("batch=1,4,8,16,32,64", "kv_len=2048,8192,32768"),
    fit,
    {"mapper": "heft", "phase": "decode"},
    ("decode.compute_utilization", "decode.latency_s"))
QUANTIZATION = Study(  # the zoo models with training tokens or measured perplexities
    "quantization", "What do int8/int4 weights and an int8 KV cache buy in pJ/token and "
    "latency, and at what perplexity (perplexity per picojoule)?",
    ("llama3-8b", "qwen2.5-7b"), ("tpu-v6e-like",), ("weights=bf16,int8,int4", "kv=bf16,int8"),
    quantization, {"mapper": "heft", "seq": 512},
    ("decode.pj_per_token", "prefill.pj_per_token", "perplexity", "decode.latency_s"),
    ("decode.pj_per_token", "perplexity"))
DISAGGREGATION = Study(  # layouts: docs/studies.md (tp=2,pp=4 runs out of SRAM at batch 128)
    "disaggregation", "Attention on HBM chips and the MLP on SRAM chips, against the HBM "
    "chips alone: which wins latency, pJ/token and tokens/s per chip, at which batch?",
    ("llama3-8b",), ("hetero-v6e-groq", "tpu-v6e-8"),
    ("parallel=tp=4,pp=2,mlp_tp=16,mb=2;tp=8", "batch=2,8,32,128"), disaggregation,
    {"mapper": "heft", "pipeline": "quantized", "seq": 128, "kv_len": 1024},
    ("latency_s", "pj_per_token", "tokens_per_s_per_chip", "bottleneck"),
    ("decode.latency_s", "decode.pj_per_token"), paired=("hw", "parallel"))
REGIONS = Study(
    "regions", "Is putting attention and the MLP on separate core regions of one chip worth "
    "it?", ("gpt2",), ("mesh-4x4",), ("pipeline=default,disaggregated", "batch=1,8"),
    regions, {"mapper": "heft", "seq": 256, "kv_len": 256},
    ("decode.latency_s", "prefill.latency_s", "decode.pj_per_token"))
GRAIN = Study(
    "grain", "Which SRAM per core and tile grain fit the model, and which is fastest?",
    ("gpt2",), ("mesh-2x2",),
    ("hw.core_types.core.sram_bytes=262144,1048576,4194304", "grain=auto,16,64"), grain,
    {"mapper": "heft", "seq": 256, "kv_len": 256},
    ("prefill.latency_s", "prefill.pj_per_token", "prefill.sram_peak_bytes"))
DEPTH = Study(  # equal parameters in the layers, 12 h^2 L = 85M (GPT-2: head_dim 64, MLP 4x);
    # the embeddings (vocab x hidden) shrink with the width
    "depth", "Depth against width at equal layer parameters: what does each buy?",
    ("gpt2",), ("mesh-4x4",),
    ("arch.layers=6,12,24", "arch.hidden=1088,768,544", "arch.heads=17,12,8",
     "arch.intermediate=4352,3072,2176"), depth,
    {"mapper": "heft", "seq": 256, "kv_len": 256, "arch.head_dim": 64},
    ("prefill.latency_s", "decode.latency_s", "decode.pj_per_token"), zipped=True)
