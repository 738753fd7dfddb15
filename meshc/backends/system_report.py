"""A system compile's outputs as values: report.json, report.md and trace.json.

`system_report_json(r)` is a dict for `json_text` (sorted keys, floats to 9 significant
digits), schema `SYSTEM_SCHEMA_VERSION`:

* top level: `schema_version`, `kind` ("system"), `model`, `system`, `system_summary`
  (System.summary()), `parallel` (tp, pp, ep, dp, mb ...), `pipeline`, `options`, `notes`
  (sentences), `phases`, and `decode_over_prefill_pj_per_token` when both phases ran;
* `phases.<phase>`: `micro_batches`, `replicas`, `tokens`, `latency_s` (one batch through
  the chain), `period_s` (the busiest resource's busy time), `tokens_per_s`,
  `tokens_per_s_per_chip`, `energy_pj` (the total), `energy_breakdown_pj`
  (`chips_dynamic`, `chips_static`, `links`), `pj_per_token`, `link_energy_share`,
  `link_bytes`, `collectives` (per kind in use, sends included: `count`, `time_s`,
  `payload_bytes`, `link_bytes`, `energy_pj`), `resources` (one row per chip subgroup:
  `name`, `group`, `subgroup`, `chips`, `hardware`, `static_w`, `steps`, `busy_s`,
  `compute_s`, `collective_s`, `send_s`, `hbm_s`, `ideal_s`, `idle_fraction`),
  `chips_used`, `chips_idle`, `bottleneck` (compute, hbm, link or pipeline),
  `bottleneck_reason`, and `steps` (the chain: one row per step, one micro-batch's figures,
  with its `collectives` and `send`).

`system_trace(r)`: Chrome/Perfetto trace events (as backends/trace.py writes them), one
process per phase; in each a track per resource (chip subgroup, in chain order) with a span
per (step, micro-batch), then a track per link kind in use (LINK_KINDS order) with the
collectives at the end of their step's span and the sends right after it; overlapping
spans go to lanes ("send #2"). Nothing depends on the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from meshc.backends.base import Artifacts, EncodedRows, json_text, round_sig, rows_text
from meshc.backends.report import fmt_n, fmt_pj, fmt_rate, fmt_s, md_table, pct
from meshc.backends.trace import XEvent, process_events, track_events, us, x_event
from meshc.parallel.charges import LINK_KINDS, LinkCharge, StepCharge
from meshc.parallel.compose import ENERGY_PARTS, SystemPhase, SystemResult
from meshc.units import fmt_bytes

SYSTEM_SCHEMA_VERSION = 1


def _link_json(c: LinkCharge) -> dict[str, Any]:
    return {"kind": c.kind, "label": c.label, "chips": c.chips, "algorithm": c.algorithm,
            "nbytes": c.nbytes, "time_s": c.time_s, "link_bytes": c.link_bytes,
            "energy_pj": c.energy_pj}


def _step_json(s: StepCharge) -> dict[str, Any]:
    return {"name": s.name, "key": s.key, "group": s.group, "subgroup": s.subgroup,
            "chips": s.chips, "hardware": s.hardware, "compute_s": s.compute_s,
            "collective_s": s.collective_s, "busy_s": s.busy_s, "send_s": s.send_s,
            "dynamic_pj": s.dynamic_pj, "static_w": s.static_w, "hbm_s": s.hbm_s,
            "ideal_s": s.ideal_s, "macs": s.macs,
            "collectives": [_link_json(c) for c in s.collectives],
            "send": _link_json(s.send) if s.send is not None else None}


def phase_json(p: SystemPhase) -> dict[str, Any]:
    return {
        "micro_batches": p.micro_batches, "replicas": p.replicas, "tokens": p.tokens,
        "latency_s": p.latency_s, "period_s": p.period_s, "tokens_per_s": p.tokens_per_s,
        "tokens_per_s_per_chip": p.tokens_per_s_per_chip, "energy_pj": p.total_energy_pj,
        "energy_breakdown_pj": {k: p.energy_pj[k] for k in ENERGY_PARTS},
        "pj_per_token": p.pj_per_token, "link_energy_share": p.link_energy_share,
        "link_bytes": p.link_bytes,
        "collectives": {u.kind: {"count": u.count, "time_s": u.time_s,
                                 "payload_bytes": u.payload_bytes,
                                 "link_bytes": u.link_bytes, "energy_pj": u.energy_pj}
                        for u in p.links},
        "resources": [{"name": r.name, "group": r.group, "subgroup": r.subgroup,
                       "chips": r.chips, "hardware": r.hardware, "static_w": r.static_w,
                       "steps": r.steps, "busy_s": r.busy_s, "compute_s": r.compute_s,
                       "collective_s": r.collective_s, "send_s": r.send_s,
                       "hbm_s": r.hbm_s, "ideal_s": r.ideal_s,
                       "idle_fraction": r.idle_fraction} for r in p.resources],
        "chips_used": p.chips_used, "chips_idle": p.chips_idle,
        "bottleneck": p.bottleneck, "bottleneck_reason": p.bottleneck_reason,
        "steps": [_step_json(s) for s in p.steps],
    }


def system_report_json(r: SystemResult) -> dict[str, Any]:
    """report.json's content (module docstring); write it with `json_text`."""
    out: dict[str, Any] = {
        "schema_version": SYSTEM_SCHEMA_VERSION, "kind": "system", "model": r.model,
        "system": r.system, "system_summary": dict(r.system_summary),
        "parallel": dict(r.parallel), "pipeline": r.pipeline, "options": dict(r.options),
        "notes": list(r.notes), "phases": {p.name: phase_json(p) for p in r.phases},
    }
    if r.decode_over_prefill is not None:
        out["decode_over_prefill_pj_per_token"] = r.decode_over_prefill
    if r.quality is not None:
        out["quality"] = r.quality.as_json()
    return out


# --- report.md ------------------------------------------------------------------------

def _system_line(r: SystemResult) -> str:
    s = r.system_summary
    groups = ", ".join(f"{g.get('count', '?')} {g.get('hw', '?')} ({g.get('name', '?')})"
                       for g in s.get("groups") or [])
    topo = s.get("topology") or {}
    dims = "x".join(str(d) for d in topo.get("dims") or [])
    shape = f"{topo.get('kind', '')} {dims}".strip() or "no topology"
    degrees = ", ".join(f"{k} {v:,}" for k, v in r.parallel.items()) or "none"
    return (f"{s.get('chips', '?')} chips: {groups}; {shape}. Parallel degrees: {degrees}; "
            f"pipeline `{r.pipeline}`.")


def _answers(r: SystemResult) -> list[str]:
    out = []
    chips = r.system_summary.get("chips", "?")
    for p in r.phases:
        out += [
            f"- {p.name}: **{fmt_s(p.latency_s)}** for a batch of {p.tokens:,} tokens "
            f"({p.micro_batches} micro-batch(es) x {p.replicas} replica(s)); "
            f"**{fmt_rate(p.tokens_per_s)} tokens/s** batches back to back (one every "
            f"{fmt_s(p.period_s)}), {fmt_rate(p.tokens_per_s_per_chip)} per chip.",
            f"- {p.name}: **{fmt_pj(p.pj_per_token)}/token**, of which links "
            f"{fmt_pj(p.energy_pj['links'] / p.tokens)} ({pct(p.link_energy_share)}).",
            f"- {p.name} is bound by **{p.bottleneck}**: {p.bottleneck_reason}.",
            f"- {p.name}: {p.chips_used:,} chips used, {p.chips_idle:,} of the system's "
            f"{chips} left idle.",
        ]
    ratio = r.decode_over_prefill
    if ratio is not None:
        out.append(f"- Decode costs **{ratio:.3g}x** prefill per token.")
    return [*out, ""]


def _summary(r: SystemResult) -> list[str]:
    ps = r.phases

    def per_token(part: str) -> list[str]:
        return [fmt_pj(p.energy_pj[part] / p.tokens) for p in ps]

    rows = [
        ["micro-batches x replicas"] + [f"{p.micro_batches} x {p.replicas}" for p in ps],
        ["tokens"] + [f"{p.tokens:,}" for p in ps],
        ["latency"] + [fmt_s(p.latency_s) for p in ps],
        ["period"] + [fmt_s(p.period_s) for p in ps],
        ["tokens/s"] + [fmt_rate(p.tokens_per_s) for p in ps],
        ["tokens/s per chip"] + [fmt_rate(p.tokens_per_s_per_chip) for p in ps],
        ["energy"] + [fmt_pj(p.total_energy_pj) for p in ps],
        ["energy/token"] + [fmt_pj(p.pj_per_token) for p in ps],
        ["chips dynamic/token", *per_token("chips_dynamic")],
        ["chips static/token", *per_token("chips_static")],
        ["links/token", *per_token("links")],
        ["link share"] + [pct(p.link_energy_share) for p in ps],
        ["link bytes"] + [fmt_bytes(round(p.link_bytes), exact=False) for p in ps],
        ["chips used"] + [f"{p.chips_used:,}" for p in ps],
        ["chips idle"] + [f"{p.chips_idle:,}" for p in ps],
        ["bottleneck"] + [p.bottleneck for p in ps],
    ]
    return ["## Summary", "", *md_table([""] + [p.name for p in ps], rows)]


def _resources(r: SystemResult) -> list[str]:
    lines = ["## Chips", "", "One replica's chip subgroups; times summed over the "
             "micro-batches, idle as a share of the latency.", ""]
    for p in r.phases:
        lines += [f"In {p.name}:", ""]
        lines += md_table(
            ["resource", "hardware", "chips", "steps", "busy", "compute", "collectives",
             "sends", "idle"],
            [[f"`{u.name}`", u.hardware, f"{u.chips:,}", f"{u.steps:,}", fmt_s(u.busy_s),
              fmt_s(u.compute_s), fmt_s(u.collective_s), fmt_s(u.send_s),
              pct(u.idle_fraction)] for u in p.resources])
    return lines


def _collectives(r: SystemResult) -> list[str]:
    lines = ["## Collectives and sends", ""]
    rows = [[p.name, u.kind, f"{u.count:,}", fmt_s(u.time_s),
             fmt_bytes(round(u.payload_bytes), exact=False),
             fmt_bytes(round(u.link_bytes), exact=False), fmt_pj(u.energy_pj),
             fmt_pj(u.energy_pj / p.tokens)] for p in r.phases for u in p.links]
    if not rows:
        return [*lines, "None: every step runs on one chip and nothing is sent.", ""]
    lines += ["Counts, bytes and energy over all replicas; time over one replica's "
              "micro-batches.", ""]
    return lines + md_table(["phase", "kind", "count", "time", "payload", "link bytes",
                           "energy", "per token"], rows)


def system_report_md(r: SystemResult) -> str:
    lines = [f"# meshc system report: {r.model} on {r.system}", "", _system_line(r), ""]
    if r.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in r.notes), ""]
    if r.phases:
        lines += ["## Answers", "", *_answers(r)]
        if r.quality is not None:  # beside what a token costs
            cost = ", ".join(f"{fmt_pj(p.pj_per_token)} in {p.name}" for p in r.phases)
            lines += ["## Quality", "", *(f"- {s}" for s in r.quality.sentences(cost)), ""]
        lines += _summary(r) + _resources(r) + _collectives(r)
        macs = ", ".join(f"{p.name} {fmt_n(sum(s.macs * s.chips for s in p.steps))}"
                         for p in r.phases)
        lines += [f"MACs per micro-batch and replica: {macs}.", ""]
    return "\n".join(lines).rstrip() + "\n"


# --- trace.json -----------------------------------------------------------------------

def _link_args(c: LinkCharge, step: str, mb: int) -> dict[str, Any]:
    return {"step": step, "micro_batch": mb, "kind": c.kind, "chips": c.chips,
            "algorithm": c.algorithm, "bytes": round_sig(c.nbytes),
            "link_bytes": round_sig(c.link_bytes), "energy_pj": round_sig(c.energy_pj)}


def _phase_tracks(p: SystemPhase) -> list[tuple[str, list[XEvent]]]:
    """(label, events) per track: resources in chain order, then link kinds in use."""
    res: dict[tuple[str, int], list[XEvent]] = {k: [] for k in p.timeline.resources}
    links: dict[str, list[XEvent]] = {k: [] for k in LINK_KINDS}
    for slot in p.timeline.slots:
        s = p.steps[slot.step]
        res[slot.resource].append(x_event(
            f"{s.name} mb{slot.micro_batch}", s.group, slot.start_s, slot.end_s,
            {"step": s.name, "key": s.key, "micro_batch": slot.micro_batch,
             "chips": s.chips, "hardware": s.hardware, "compute_us": us(s.compute_s),
             "collective_us": us(s.collective_s)}))
        t = slot.start_s + s.compute_s  # collectives follow the compute, one after the other
        for c in s.collectives:
            links[c.kind].append(x_event(c.label, "link", t, t + c.time_s,
                                          _link_args(c, s.name, slot.micro_batch)))
            t += c.time_s
        if s.send is not None:
            links["send"].append(x_event(s.send.label, "link", slot.end_s,
                                          slot.end_s + s.send.time_s,
                                          _link_args(s.send, s.name, slot.micro_batch)))
    return ([(f"{g}[{n}]", ev) for (g, n), ev in res.items()]
            + [(k, ev) for k, ev in links.items() if ev])


def system_trace(r: SystemResult) -> dict[str, Any]:
    """trace.json's content (module docstring); write it with `rows_text`."""
    events = EncodedRows()
    for i, p in enumerate(r.phases):
        pid = i + 1
        events.extend(process_events(pid, p.name))
        events.extend(track_events(_phase_tracks(p), pid))
    return {"traceEvents": events, "displayTimeUnit": "ns",
            "otherData": {"schema_version": SYSTEM_SCHEMA_VERSION, "model": r.model,
                          "system": r.system,
                          "time_unit": "microseconds of simulated time"}}


def system_artifacts(r: SystemResult, backends: Iterable[str] = ("report", "trace")
                     ) -> Artifacts:
    """The files as the CLI writes them, for the backends asked: `report` (report.json,
    report.md) and `trace` (trace.json); other names have no system file."""
    asked = set(backends)
    out: Artifacts = {}
    if "report" in asked:
        out |= {"report.json": json_text(system_report_json(r)), "report.md": system_report_md(r)}
    if "trace" in asked:
        out["trace.json"] = rows_text(system_trace(r))
    return out
