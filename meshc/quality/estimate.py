"""A model's quality at the precisions it is served at: measured if a table has it, else
estimated by a loss law, else unknown and why.

`assess(facts, ...)` is a pure function of frozen values (and the shipped tables):

1. a measured entry for the model at exactly these weights/acts/kv precisions (the user's
   table first, then the shipped one; among several, the lowest perplexity) is used as is;
2. else, with the model's training tokens D (`--train-tokens`, or the shipped table), the
   loss law gives L(N_eff, D), where N_eff scales N by Kumar et al.'s effective-parameter
   factor when pre-training ran below 16 bits, plus delta_PTQ when the weights are served
   narrower than they were trained;
3. else the quality is unknown, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from meshc.hardware.precision import precision_bits
from meshc.quality import laws
from meshc.quality.tables import Measured, MeasuredTable, Trained, shipped_measured, train_tokens

LAW_CAVEAT = ("The law's loss is the cross-entropy on its own fit's text and tokenizer "
              "(MassiveText): it ranks models and precisions; it is not the perplexity "
              "measured on another dataset.")


@dataclass(frozen=True)
class Precisions:
    """What the model is served at, as lower-quant left it."""

    weights: str  # the precision most parameters are stored at
    acts: str
    kv: str | None = None  # None: the model keeps no KV cache


@dataclass(frozen=True)
class ModelFacts:
    """What the quality needs to know of a compiled model."""

    model: str  # as compiled: a zoo name matches the tables
    parameters: int  # every parameter once, embeddings included
    embedding_parameters: int  # the tables tfm.embedding looks up
    language_model: bool  # has an LM head: the laws estimate next-token loss
    precisions: Precisions

    @property
    def non_embedding(self) -> int:
        return self.parameters - self.embedding_parameters


@dataclass(frozen=True)
class Quality:
    kind: str  # estimate | measured | unknown
    loss: float | None  # nats per token
    perplexity: float | None  # exp(loss)
    source: str  # the law's or the measurement's citation
    precisions: Precisions
    law: str | None = None
    params_counted: int | None = None  # the N the law was given
    params_rule: str = ""
    train_tokens: int | None = None
    train_tokens_source: str = ""
    ptq_loss: float = 0.0  # of `loss`: nats delta_PTQ adds for the served weights
    method: str = ""  # measured: how it was quantized
    dataset: str = ""  # measured: what the perplexity is on
    why: str = ""  # unknown: why

    @property
    def caveats(self) -> tuple[str, ...]:
        if self.kind != "estimate":
            return ()
        p = self.precisions
        narrow = [f"activations at {p.acts}"] if p.acts != "bf16" else []
        narrow += [f"the KV cache at {p.kv}"] if p.kv not in (None, "bf16") else []
        if not narrow:
            return (LAW_CAVEAT,)
        parts = " and ".join(narrow)
        return (LAW_CAVEAT, f"{parts[0].upper()}{parts[1:]} {'are' if len(narrow) > 1 else 'is'}"
                " not in the estimate: the precision law covers weights quantized after "
                "training.")

    def sentences(self, cost: str = "") -> tuple[str, ...]:
        """What the report says, one sentence each: the figure, what a token `cost`s at
        it (the energy per token in words), then where the figure comes from."""
        p = self.precisions
        if self.kind == "unknown":
            return (f"Quality unknown: {self.why}.",)
        at = (f"At this quality a token costs {cost}.",) if cost else ()
        if self.kind == "measured":
            how = "" if self.method == "none" else f"{self.method}; "  # none: not quantized
            return (f"Perplexity **{self.perplexity:.4g}** on {self.dataset}, measured "
                    f"({how}weights {p.weights}, acts {p.acts}, KV {p.kv}).", *at,
                    f"Source: {self.source}.")
        ptq = (f", of which {self.ptq_loss:.3g} for {p.weights} weights (Kumar et al. 2024, "
               "eq. 2)") if self.ptq_loss else ""
        return (f"Perplexity **{self.perplexity:.4g}**, estimated: {self.loss:.4f} nats/token "
                f"by {self.law}{ptq}.", *at,
                f"N = {self.params_counted:,}: {self.params_rule}.",
                f"D = {self.train_tokens:,} tokens: {self.train_tokens_source}.",
                f"Law: {self.source}.", *self.caveats)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["caveats"] = list(self.caveats)
        return out


def assess(facts: ModelFacts, tokens: int | None = None, user: MeasuredTable | None = None,
           law: str = laws.DEFAULT_LAW) -> Quality:
    """The quality of `facts` served at its precisions (see the module docstring)."""
    hit = match(facts.model, facts.precisions, user)
    d, d_source, trained = _train_tokens(facts.model, tokens)
    if hit is not None:
        return Quality(kind="measured", loss=math.log(hit.perplexity),
                       perplexity=hit.perplexity, source=hit.source,
                       precisions=facts.precisions, method=hit.method, dataset=hit.dataset,
                       train_tokens=d, train_tokens_source=d_source if d else "")
    if not facts.language_model or d is None:
        why = d_source if facts.language_model else (
            "the model has no LM head: the laws estimate a language model's next-token loss")
        return Quality(kind="unknown", loss=None, perplexity=None, source="",
                       precisions=facts.precisions, why=why)
    return estimate(facts, d, d_source, trained, laws.LAWS[law])


def estimate(facts: ModelFacts, d: int, d_source: str, trained: Trained,
             law: laws.LossLaw) -> Quality:
    """The law's loss of `facts` trained on `d` tokens at `trained`, served at its
    precisions."""
    bits = precision_bits
    full = laws.n_eff(1.0, 16, 16, 16)  # the laws' data were trained at 16 bits
    scale = laws.n_eff(1.0, bits(trained.weights), bits(trained.acts), bits(trained.kv)) / full
    n = facts.parameters * scale
    served, at = bits(facts.precisions.weights), bits(trained.weights)
    # Weights served no narrower than they were trained at lose nothing; narrower, eq. 2
    # (an upper bound after low-precision training, which Kumar et al. find robustifies).
    ptq = laws.delta_ptq(facts.non_embedding, d, served) if served < at else 0.0
    loss = laws.loss(law, n, d) + ptq
    rule = law.counts
    if scale != 1:
        rule += (f"; x{scale:.4f} for training at {trained.weights}/{trained.acts}/"
                 f"{trained.kv} (Kumar et al. 2024, eq. 4)")
    return Quality(kind="estimate", loss=loss, perplexity=math.exp(loss),
                   source=law.source, precisions=facts.precisions, law=law.name,
                   params_counted=round(n), params_rule=rule, train_tokens=d,
                   train_tokens_source=d_source, ptq_loss=ptq)


def match(model: str, p: Precisions, user: MeasuredTable | None = None) -> Measured | None:
    """The measured entry for `model` at `p`: the user's first, the lowest perplexity of
    several (ties by method, dataset). Without a KV cache any `kv` matches."""
    for table in (user, shipped_measured()):
        hits = [e for e in (table.entries if table else ())
                if e.model == model and e.weights == p.weights and e.acts == p.acts
                and (p.kv is None or e.kv == p.kv)]
        if hits:
            return min(hits, key=lambda e: (e.perplexity, e.method, e.dataset))
    return None


def _train_tokens(model: str, tokens: int | None) -> tuple[int | None, str, Trained]:
    """(D, its source or why there is none, the training precisions)."""
    entry = train_tokens().models.get(model)
    trained = entry.trained if entry else Trained()
    if tokens is not None:
        return tokens, "--train-tokens", trained
    if entry is None:
        return None, (f"meshc knows no training tokens for {model!r} (give --train-tokens N "
                      "from its report)"), trained
    if entry.tokens is None:
        return None, entry.why, trained
    return entry.tokens, entry.source, trained
