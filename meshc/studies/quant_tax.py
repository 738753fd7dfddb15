"""`meshc study quant-tax`: how many more parameters narrower weights need to keep the bf16
model's loss at the same training tokens D (meshc.quality.quant_tax, beside its 40% claim),
and what a token of that larger quantized model costs against the bf16 one.

The model grows in depth (`arch.layers`): every added layer has the shape of the model's
own, so its parameters are affine in the layer count (meshc.ir.summary.model_parameters,
asked at two depths) and a multiplier is reached to within one layer, by the fewest layers
at or above it. Every point, bf16 included, compiles an overridden spec, so all the losses
are the law's estimates on one basis (D: the base model's, from the shipped table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from meshc.errors import MeshcError
from meshc.frontends.arch import Arch, arch_from_dict
from meshc.frontends.transformer import Shape, build
from meshc.ir.summary import model_parameters
from meshc.quality.tax import CLAIM, MAX_MULTIPLIER, QuantTax, quant_tax
from meshc.studies.builtin import Row, _short
from meshc.studies.grid import Axis, Grid
from meshc.studies.study import Study
from meshc.studies.sweep import Sweep
from meshc.studies.table import Table
from meshc.studies.tasks import base_arch, base_train_tokens

WEIGHTS = ("int8", "int4")
# QuantTax's multipliers: trained at the precision, or bf16 weights quantized after training
SCENARIOS = (("trained", "trained at that precision"),
             ("post_training", "quantized after bf16 training"))
OWN_KEYS = ("model", "hw", "weights", "arch.layers")  # the study sets them per point


@dataclass(frozen=True)
class Plan:
    """A model's quant taxes and the depths that reach them."""

    model: str
    tokens: int  # D, from the shipped table
    layers: int
    parameters: int  # as the laws count them: all, embeddings included
    per_layer: int  # parameters one more layer adds
    taxes: tuple[QuantTax, ...]  # one per WEIGHTS

    def parameters_at(self, layers: int) -> int:
        return self.parameters + (layers - self.layers) * self.per_layer

    def layers_for(self, multiplier: float) -> int | None:
        """The fewest layers with at least `multiplier` x the parameters (None: the law
        gives no finite multiplier)."""
        if not math.isfinite(multiplier):
            return None
        extra = (multiplier - 1) * self.parameters / self.per_layer
        return self.layers + max(0, math.ceil(extra - 1e-9))  # 2.0000000001 is 2


@cache
def plan(model: str) -> Plan:
    """The plan of a zoo model that has training tokens; else a MeshcError naming it."""
    d = base_train_tokens(model)
    if d is None:
        raise MeshcError(f"the quant tax needs the training tokens of {model!r}, and "
                         "meshc's table has none", where="quant-tax --model",
                         hint="a zoo model with training tokens (meshc/quality/"
                              "train_tokens.yaml), e.g. llama3-8b or qwen2.5-7b")
    arch = base_arch(model)
    n, embedding = _parameters(arch)
    deeper, _ = _parameters(arch_from_dict({**arch.model_dump(), "layers": arch.layers + 1},
                                           model))
    return Plan(model, d, arch.layers, n, deeper - n,
                tuple(quant_tax(n, n - embedding, d, w) for w in WEIGHTS))


def _parameters(arch: Arch) -> tuple[int, int]:
    """(parameters, embedding parameters), as the laws and `meshc inspect` count them."""
    return model_parameters(build(arch, ("prefill",), Shape(1, 1, 1)))


def points(p: Plan) -> list[tuple[str, int]]:
    """(weights, layers) of each point: bf16 at the model's depth, then each tax's."""
    out = [("bf16", p.layers)]
    for tax in p.taxes:
        for field, _ in SCENARIOS:
            layers = p.layers_for(getattr(tax, field))
            if layers is not None:
                out.append((tax.weights, layers))
    return out


def expand(sweep: Sweep) -> Sweep:
    """One zipped point per model, hardware and `points`; --grid keys of one value set
    every point (several values would need a product the zipped grid does not have)."""
    for a in sweep.grid.axes:
        if a.key in OWN_KEYS or len(a.values) > 1:
            raise MeshcError(f"quant-tax sets {a.key} itself" if a.key in OWN_KEYS else
                             f"quant-tax takes one value of {a.key}, got {len(a.values)}",
                             where="--grid", hint="its points are the precisions and depths "
                             "the quant tax gives; use --model and --hw for other inputs")
    cols: dict[str, list[Any]] = {k: [] for k in OWN_KEYS}
    for model in sweep.models:
        for hw in sweep.hws:
            for weights, layers in points(plan(model)):
                for k, v in zip(OWN_KEYS, (model, hw, weights, layers), strict=True):
                    cols[k].append(v)
    fixed = {**sweep.fixed, **{a.key: a.values[0] for a in sweep.grid.axes}}
    return Sweep(sweep.models, sweep.hws,
                 Grid(tuple(Axis(k, tuple(v)) for k, v in cols.items()), zipped=True), fixed)


def answer(t: Table) -> str:
    lines = []
    for model, hw in dict.fromkeys((r["model"], r["hw"]) for r in t.rows):
        rows = [r for r in t.rows if (r["model"], r["hw"]) == (model, hw)]
        lines += _answer(plan(model), hw, rows)
    return "\n".join(lines)


def _answer(p: Plan, hw: str, rows: list[Row]) -> list[str]:
    def at(weights: str, layers: int) -> Row | None:
        return next((r for r in rows if (r["weights"], r["arch.layers"]) == (weights, layers)),
                    None)

    law = p.taxes[0].law
    head = (f"{p.model} on {hw}: {p.parameters / 1e9:.3g}B parameters in {p.layers} layers, "
            f"D = {p.tokens:.3g} tokens, law {law}; the claim: x{CLAIM:.2f} the parameters")
    base = at("bf16", p.layers)
    if base is None or not base["ok"]:
        why = _short(base["reason"]) if base else "not run"
        return [head, f"bf16 at {p.layers} layers did not compile: {why}"]
    dec, pre = base["decode.pj_per_token"], base["prefill.pj_per_token"]
    out = [head, f"bf16: {dec:.4g} pJ/token in decode, {pre:.4g} in prefill, loss "
                 f"{base['loss']:.4f} nats"]
    for tax in p.taxes:
        for field, how in SCENARIOS:
            m = getattr(tax, field)
            line = f"{tax.weights} weights, {how}: "
            layers = p.layers_for(m)
            if layers is None:
                out.append(f"{line}no multiplier up to x{MAX_MULTIPLIER:g} keeps the loss")
                continue
            line += (f"x{m:.3f} the parameters ({'below' if m < CLAIM else 'above'} the "
                     f"claim), {layers} layers (x{p.parameters_at(layers) / p.parameters:.3f})")
            r = at(tax.weights, layers)
            if r is None or not r["ok"]:
                out.append(f"{line}: did not compile ({_short(r['reason']) if r else 'not run'})")
                continue
            loss = (f", loss {r['loss']:.4f}" if field == "post_training"
                    and isinstance(r.get("loss"), float) else "")
            out.append(f"{line}: {r['decode.pj_per_token']:.4g} pJ/token in decode "
                       f"({r['decode.pj_per_token'] / dec:.2f}x bf16's), "
                       f"{r['prefill.pj_per_token']:.4g} in prefill "
                       f"({r['prefill.pj_per_token'] / pre:.2f}x){loss}")
    return [*out, "(results.csv's loss is the law's for bf16 training and quantization "
                  "after it; trained at its precision, a row has bf16's loss by construction)"]


QUANT_TAX = Study(
    "quant-tax", "How many more parameters do int8/int4 weights need to keep the bf16 loss "
    "(the claim: 40%), and what does a token of that larger model cost?",
    ("llama3-8b",), ("tpu-v6e-like",), (), answer, {"mapper": "heft", "seq": 512},
    ("decode.pj_per_token", "prefill.pj_per_token", "decode.latency_s"),
    ("decode.pj_per_token", "prefill.pj_per_token"), zipped=True, expand=expand)
