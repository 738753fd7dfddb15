"""`meshc quality`: a model's loss and perplexity at given precisions, and its quant tax,
without compiling it (docs/quality.md)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict
from typing import Any

import click

_NUMBER = re.compile(r"^\s*\d+(\.\d*)?([eE]\+?\d+)?\s*$")


def train_tokens_option(_ctx: click.Context, _param: click.Parameter,
                        value: str | None) -> int | None:
    """A token count as people write it: 15000000000000, 15e12 or 1.5e13 (a whole number
    from 1 to 1e16)."""
    if value is None:
        return None
    if not _NUMBER.match(value) or not 1 <= float(value) <= 1e16 \
            or float(value) != math.floor(float(value)):
        raise click.BadParameter(f"{value!r} is not a whole number of tokens from 1 to 1e16, "
                                 "e.g. 15e12")
    return int(float(value))


@click.command("quality")
@click.argument("model")
@click.option("--weights", default="bf16", show_default=True,
              help="Weight precision served (quantized after bf16 training), as lower-quant's.")
@click.option("--acts", default="bf16", show_default=True)
@click.option("--kv", default="bf16", show_default=True)
@click.option("--train-tokens", callback=train_tokens_option, metavar="N",
              help="Tokens the model was pre-trained on, when meshc's table lacks them.")
@click.option("--law", default="besiroglu-2024", show_default=True,
              help="The fit of the loss law: besiroglu-2024 or hoffmann-2022.")
@click.option("--quality", "quality_file", default="", metavar="FILE",
              help="A YAML/JSON table of measured perplexities, used before the shipped one.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def quality(model: str, weights: str, acts: str, kv: str, train_tokens: int | None, law: str,
            quality_file: str, fmt: str) -> None:
    """Loss and perplexity estimates of a model at a precision.

    MODEL's loss and perplexity at the given precisions (measured if a table has them),
    and the quant tax: how many more parameters narrower weights need to keep the bf16
    loss (docs/quality.md)."""
    from meshc.errors import MeshcError
    from meshc.frontends import ModelRequest, load_model
    from meshc.ir.graph import KvAppendOp, LmHeadOp
    from meshc.ir.summary import model_parameters
    from meshc.passes.lower_quant import ACTS, KV, WEIGHTS
    from meshc.quality import LAWS, ModelFacts, Precisions, assess, quant_tax
    from meshc.quality.tables import load_measured

    for opt, value, allowed in (("--weights", weights, WEIGHTS), ("--acts", acts, ACTS),
                                ("--kv", kv, KV), ("--law", law, tuple(LAWS))):
        if value not in allowed:
            raise MeshcError(f"{value!r} is not one of {', '.join(allowed)}", where=opt)
    measured = load_measured(quality_file) if quality_file else None
    module = load_model(ModelRequest(model))
    ops = list(module.walk())
    n, n_embedding = model_parameters(module)
    has_kv = any(isinstance(o, KvAppendOp) for o in ops)
    facts = ModelFacts(model, n, n_embedding, any(isinstance(o, LmHeadOp) for o in ops),
                       Precisions(weights, acts, kv if has_kv else None))
    q = assess(facts, train_tokens, measured, law)
    tax = None
    if q.train_tokens and facts.language_model and weights != "bf16":
        tax = quant_tax(n, facts.non_embedding, q.train_tokens, weights, LAWS[law])
    if fmt == "json":
        out: dict[str, Any] = {"model": model, "quality": q.as_json(),
                               "quant_tax": asdict(tax) if tax else None}
        click.echo(json.dumps(out, indent=2, sort_keys=True))
        return
    for s in q.sentences():
        click.echo(s.replace("**", ""))
    if tax:
        click.echo(f"Quant tax at {weights}: x{tax.post_training:.3g} parameters to keep the "
                   f"bf16 loss when quantized after training, x{tax.trained:.3g} when trained "
                   f"at {weights} (the claim: x{tax.claim:.2f}).")
