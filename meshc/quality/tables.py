"""The quality data meshc ships, and the user's: training tokens and measured perplexities.

Two YAML tables live beside this module, each validated once with pydantic:

* `train_tokens.yaml`: per zoo model, the tokens it was pre-trained on from its published
  report (`tokens`, `source`), or `tokens: null` and `why` none can be given; and the
  precision training ran at (`trained`, default bf16);
* `measured.yaml`: published perplexities (`entries`: model, weights/acts/kv precision,
  method, dataset, perplexity, source). `meshc compile --quality FILE` reads a user's
  table of the same form; its entries come before the shipped ones.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from meshc.errors import MeshcError, printable
from meshc.hardware.precision import Precision
from meshc.inputs import load_structured, parse_yaml

_CONFIG = ConfigDict(frozen=True, extra="forbid")
Text = Field(min_length=1, max_length=2000)


class Trained(BaseModel):
    """The precisions pre-training computed at (Kumar et al.'s P_w, P_a, P_kv)."""

    model_config = _CONFIG
    weights: Precision = "bf16"
    acts: Precision = "bf16"
    kv: Precision = "bf16"


class TrainTokens(BaseModel):
    model_config = _CONFIG
    tokens: int | None = Field(gt=0, le=10**16)
    source: str = ""  # where `tokens` comes from
    why: str = ""  # why there is no `tokens`
    trained: Trained = Trained()

    @model_validator(mode="after")
    def _cited(self) -> TrainTokens:
        if self.tokens is not None and not self.source.strip():
            raise ValueError("tokens need a source")
        if self.tokens is None and not self.why.strip():
            raise ValueError("without tokens, say why in `why`")
        return self


class TrainTokensTable(BaseModel):
    model_config = _CONFIG
    models: dict[str, TrainTokens]


class Measured(BaseModel):
    """One published (or the user's) perplexity of a model at given precisions."""

    model_config = _CONFIG
    model: str = Text
    weights: Precision
    acts: Precision
    kv: Precision
    method: str = Text  # none (unquantized), RTN, GPTQ, AWQ, SmoothQuant ...
    dataset: str = Text
    perplexity: float = Field(ge=1, le=1e6, allow_inf_nan=False)
    source: str = Text
    note: str = ""


class MeasuredTable(BaseModel):
    model_config = _CONFIG
    entries: tuple[Measured, ...]


@cache
def train_tokens() -> TrainTokensTable:
    """The shipped training-token table."""
    return TrainTokensTable.model_validate(_shipped("train_tokens.yaml"))


@cache
def shipped_measured() -> MeasuredTable:
    """The shipped measured-perplexity table."""
    return MeasuredTable.model_validate(_shipped("measured.yaml"))


def load_measured(path: str | os.PathLike[str]) -> MeasuredTable:
    """A user's measured-perplexity table; a bad file is a MeshcError naming the place."""
    file = os.fspath(path)
    data = load_structured(file, what="quality table")
    try:
        return MeasuredTable.model_validate(data)
    except ValidationError as e:
        raise _located(e, file) from None


def _shipped(name: str) -> Any:
    text = (resources.files(__package__) / name).read_text(encoding="utf-8")
    return parse_yaml(text, f"meshc/quality/{name}")


def _located(e: ValidationError, file: str) -> MeshcError:
    """The first pydantic error, at its YAML path (`entries[2].perplexity`)."""
    err = e.errors(include_url=False)[0]
    where = ""
    for part in err["loc"]:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "model_type":
        msg = "expected a mapping"
    if err["type"] not in ("missing", "extra_forbidden", "value_error"):
        msg += f", got {printable(repr(err.get('input')))[:60]}"
    return MeshcError(msg, file=file, where=where or None,
                      hint="see docs/quality.md for the table's fields")
