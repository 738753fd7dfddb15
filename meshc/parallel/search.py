"""`--parallel auto`: try the parallel layouts that fit a system and keep the best.

Candidates (dp = 1): tp a power of two that the heads and KV heads allow, ep a power of two
dividing a MoE's experts, pp a power of two up to the layers (or the layers themselves),
with tp x ep x pp within the chips; mb = pp when the batch splits so (the pipeline fills),
else 1. With attention/MLP chips, tp and mlp_tp each fill their group's share per stage.
A candidate whose weights and KV cache cannot fit its chips' memory (HBM, or SRAM without
it; a first estimate from the model's bytes) is not compiled. The others compile with the
HEFT mapper; the winner by the objective is compiled again with the options asked for.
What was tried, and why a layout was skipped, goes in the result's notes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from meshc import pipelines
from meshc.driver import CompileOptions, pass_list
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, load_model
from meshc.hardware.system import System
from meshc.ir.graph import AttentionOp, GraphOp, MoeOp
from meshc.parallel.degrees import Parallel
from meshc.parallel.driver import SystemCompile, compile_system
from meshc.parallel.layout import layout
from meshc.passes._capacity import phase_caches
from meshc.passes._common import unique_weights, weight_bytes, weight_of
from meshc.passes._regions import TILE_RESERVE
from meshc.units import fmt_bytes

Progress = Callable[[str], None]
OBJECTIVES = ("latency", "energy", "throughput")


@dataclass(frozen=True)
class ModelSize:
    layers: int
    heads: int
    kv_heads: int
    experts: int  # 0: dense
    layer_bytes: int  # the layers' weights, routed experts apart
    expert_bytes: int  # the routed experts'
    table_bytes: int  # outside the layers: embedding, lm_head, final norm
    kv_bytes: int  # the largest phase's cache


def model_size(req: ModelRequest, quant: str, hw: str) -> ModelSize:
    """What the search needs from the model, read from its IR once `quant` (the named
    pipeline's lower-quant step) stored it."""
    module = load_model(req)
    pipelines.apply(module, quant, hw=hw)
    ops = [o for o in module.walk() if isinstance(o, GraphOp)]
    att = [o for o in ops if isinstance(o, AttentionOp)]
    moe = [o for o in ops if isinstance(o, MoeOp)]
    routed: dict[str, float] = {}  # param -> the share of it that is routed experts
    for o in moe:
        e, s = o.experts.value.data, o.shared.value.data
        for v in (o.w_gate, o.w_up, o.w_down):
            if (w := weight_of(v)) is not None:
                routed[w.param.data] = e / (e + s)
    layer = expert = table = 0.0
    for name, w in unique_weights(module).items():
        b = weight_bytes(w)
        if w.layer_index < 0:
            table += b
        else:
            expert += b * routed.get(name, 0.0)
            layer += b * (1 - routed.get(name, 0.0))
    return ModelSize(
        layers=1 + max((o.layer_index for o in ops), default=-1),
        heads=att[0].heads.value.data if att else 1,
        kv_heads=att[0].kv_heads.value.data if att else 1,
        experts=moe[0].experts.value.data if moe else 0,
        layer_bytes=int(layer), expert_bytes=int(expert), table_bytes=int(table),
        kv_bytes=max((c.bytes for c in phase_caches(module)), default=0))


def _pow2(limit: int) -> list[int]:
    return [1 << i for i in range(max(limit, 1).bit_length()) if 1 << i <= limit]


def _tp_ok(t: int, m: ModelSize) -> bool:
    return m.heads % t == 0 and (m.kv_heads % t == 0 or t % m.kv_heads == 0)


def candidates(system: System, m: ModelSize, batch: int) -> list[Parallel]:
    """Every layout the search tries, fewest chips first."""
    roles = {g.role for g in system.groups}
    pps = sorted(set(_pow2(m.layers)) | {d for d in range(1, m.layers + 1) if m.layers % d == 0})
    out = []
    if roles <= {"any"}:
        n = system.groups[0].count
        eps = [e for e in _pow2(n) if m.experts and m.experts % e == 0] or [1]
        for t in (t for t in _pow2(n) if _tp_ok(t, m)):
            for e in eps:
                for p in (p for p in pps if t * e * p <= n):
                    mb = p if batch % (p * e) == 0 and p > 1 else 1
                    if batch % (mb * e) == 0:
                        out.append(Parallel(tp=t, ep=e, pp=p, mb=mb))
    else:
        att = next(g for g in system.groups if g.role == "attention")
        mlp = next(g for g in system.groups if g.role == "mlp")
        for p in pps:
            t = max((t for t in _pow2(att.count // p) if _tp_ok(t, m)), default=0)
            u = max((u for u in _pow2(mlp.count // p)), default=0)
            if t and u:
                for mb in (mb for mb in (1, 2) if batch % mb == 0):
                    out.append(Parallel(tp=t, pp=p, mb=mb, mlp_tp=u))
    return sorted(out, key=lambda q: (layout(system, q, batch).chips_used(), q.tp, q.pp, q.mb,
                                      q.ep))


def fits(system: System, m: ModelSize, q: Parallel) -> str:
    """Why `q` cannot hold the model ("" when it may): the busiest chip's bytes against its
    memory. A stage holds ceil(layers / pp) layers, the first also the embedding and the
    last lm_head (about half the tables each); tensor parallelism divides all of it,
    expert parallelism the routed experts and the cache; disaggregated, each group holds
    about half of a layer's weights and only the attention chips the cache."""
    share = math.ceil(m.layers / q.pp) / m.layers if m.layers else 0.0
    for g in system.groups:  # without HBM, partition-attn-mlp keeps a reserve for tiles
        cap = g.hw.hbm_bytes or int(g.hw.sram_bytes * (1 - TILE_RESERVE))
        half = 1.0 if len(system.groups) == 1 else 0.5
        tp = q.tp if g.role in ("any", "attention") else q.mlp
        layers = share * half * (m.layer_bytes + m.expert_bytes / q.ep) / tp
        tables = m.table_bytes / tp / (1 if q.pp == 1 else 2)
        kv = 0.0 if g.role == "mlp" else share * m.kv_bytes / (min(tp, m.kv_heads) * q.ep)
        need = layers + tables + kv
        if need > cap:
            return (f"{g.name}: {fmt_bytes(int(need), exact=False)} on its busiest chip "
                    f"against {fmt_bytes(cap, exact=False)}")
    return ""


def _score(sc: SystemCompile, objective: str) -> float:
    phases = sc.result.phases
    p = next((p for p in phases if p.name == "decode"), phases[0])
    if objective == "latency":
        return float(p.latency_s)
    if objective == "energy":
        return float(p.pj_per_token)
    return -float(p.tokens_per_s_per_chip)


def search(req: ModelRequest, system: System, objective: str, opts: CompileOptions,
           say: Progress) -> SystemCompile:
    """The best layout of `req` on `system` by `objective` (module docstring)."""
    if objective not in OBJECTIVES:
        raise MeshcError(f"unknown objective {objective!r}", hint=", ".join(OBJECTIVES))
    layout(system, Parallel(), 1)  # the groups make sense (roles) before any layout is tried
    m = model_size(req, pipelines.split_steps(pass_list(opts))[0], system.groups[0].hw.name)
    tried: list[str] = []
    failed: list[str] = []  # layouts that passed the memory estimate but did not compile
    best: tuple[float, Parallel] | None = None
    fewest: Parallel | None = None
    for q in candidates(system, m, req.shape.batch):
        why = fits(system, m, q)
        if why:
            tried.append(f"{q.text()}: does not fit ({why})")
            continue
        say(f"trying {q.text()}")
        try:
            sc = compile_system(req, system, q, replace(opts, mapper="heft"), say)
        except MeshcError as e:
            tried.append(f"{q.text()}: {e.message}")
            failed.append(tried[-1])
            continue
        score = _score(sc, objective)
        tried.append(f"{q.text()}: {_fmt(objective, score)}")
        fewest = fewest or q  # candidates come fewest chips first
        if best is None or score < best[0]:
            best = (score, q)
    if best is None and failed:
        raise MeshcError(f"no layout of {req.source} compiles on {system.name}; the "
                         "largest tried: " + "; ".join(failed[-3:]), hint="`meshc compile "
                         "--parallel ...` with one of them says the whole reason; a larger "
                         "system, int4 weights or a shorter sequence may fit")
    if best is None:
        need = m.layer_bytes + m.expert_bytes + m.table_bytes + m.kv_bytes
        caps = ", ".join(f"{g.count} x {fmt_bytes(g.hw.hbm_bytes or g.hw.sram_bytes, exact=False)}"
                         for g in system.groups)
        per = max(g.hw.hbm_bytes or int(g.hw.sram_bytes * (1 - TILE_RESERVE))
                  for g in system.groups)
        raise MeshcError(
            f"no layout fits {req.source} on {system.name}: weights and KV cache need "
            f"{fmt_bytes(need, exact=False)}, at least {math.ceil(need / per)} chips' "
            f"memory ({caps}; SRAM less the tiles' reserve)",
            hint="a larger system, int4 weights (--pipeline quantized), or a shorter kv_len")
    say(f"compiling {best[1].text()}")
    sc = compile_system(req, system, best[1], opts, say)
    r = sc.result
    assert fewest is not None
    def chips(q: Parallel) -> int:
        return layout(system, q, req.shape.batch).chips_used()

    note = (f"--parallel auto ({objective}) kept {best[1].text()} on {chips(best[1])} chips; "
            f"the fewest chips that hold the model: {chips(fewest)} ({fewest.text()}); "
            f"tried: " + "; ".join(tried))
    return replace(sc, result=replace(r, notes=(*r.notes, note)))


def _fmt(objective: str, score: float) -> str:
    from meshc.units import fmt_si
    if objective == "latency":
        return f"decode {fmt_si(score, 's')}"
    if objective == "energy":
        return f"{fmt_si(score * 1e-12, 'J')}/token"
    return f"{-score:,.0f} tokens/s per chip"
