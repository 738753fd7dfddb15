"""`meshc models`, `meshc import`, `meshc inspect`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from meshc.frontends import ModelRequest, load_model
from meshc.frontends.transformer import PHASES, Shape


def model_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that reads a model takes."""
    for opt in reversed([
        click.argument("model"),
        click.option("--phase", type=click.Choice(["prefill", "decode", "both"]), default="both",
                     show_default=True, help="Which phase(s) to build."),
        click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Sequences."),
        click.option("--seq", type=click.IntRange(min=1), default=2048, show_default=True,
                     help="Prefill tokens per sequence."),
        click.option("--kv-len", type=click.IntRange(min=1), default=2048, show_default=True,
                     help="Past tokens in the KV cache at decode."),
        click.option("--dim", "dims", multiple=True, metavar="NAME=VALUE",
                     help="Bind a symbolic ONNX dimension."),
    ]):
        f = opt(f)
    return f


def request(model: str, phase: str, batch: int, seq: int, kv_len: int,
            dims: tuple[str, ...]) -> ModelRequest:
    bound = []
    for d in dims:
        name, sep, value = d.partition("=")
        v = value.strip()
        if not sep or not name.strip() or not v.isdigit() or len(v) > 18 or int(v) < 1:
            raise click.BadParameter(f"'{d}' is not NAME=POSITIVE_INTEGER", param_hint="--dim")
        bound.append((name.strip(), int(v)))
    phases = PHASES if phase == "both" else (phase,)
    return ModelRequest(model, phases, Shape(batch, seq, kv_len), tuple(bound))


@click.command("models")
def models() -> None:
    """List the model zoo."""
    from meshc.frontends import zoo

    for name in zoo.names():
        a = zoo.get(name)
        extra = " MoE" if a.moe else ""
        extra += " MLA" if a.mla else ""
        click.echo(f"{name:14s} {a.kind:8s} layers={a.layers:<3d} hidden={a.hidden:<5d} "
                   f"heads={a.heads}/{a.n_kv_heads}{extra}  ({a.source})")


@click.command("import")
@model_options
@click.option("-o", "output", type=click.Path(dir_okay=False), help="Write the IR here.")
def import_(model: str, phase: str, batch: int, seq: int, kv_len: int, dims: tuple[str, ...],
            output: str | None) -> None:
    """Print (or write) the IR of MODEL: a zoo name, spec file, config.json, .onnx or .mlir."""
    from meshc.commands.files import write_text

    module = load_model(request(model, phase, batch, seq, kv_len, dims))
    text = str(module) + "\n"
    if output:
        write_text(output, text)
    else:
        click.echo(text, nl=False)


@click.command("inspect")
@model_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--ops/--no-ops", "per_op", default=None,
              help="Include per-op rows (default: in JSON, not in the table).")
@click.option("-p", "--passes", default="", help="Graph-level passes to run first, e.g. "
              "'lower-quant{weights=int4 group=128}'.")
def inspect(model: str, phase: str, batch: int, seq: int, kv_len: int, dims: tuple[str, ...],
            fmt: str, per_op: bool | None, passes: str) -> None:
    """MACs, FLOPs, parameters, weight, activation and KV-cache bytes per phase."""
    from meshc.ir.summary import inspect_module

    module = load_model(request(model, phase, batch, seq, kv_len, dims))
    if passes:
        from meshc import pipelines

        pipelines.apply(module, passes)
    data = inspect_module(module, per_op=fmt == "json" if per_op is None else per_op)
    data["model"] = model
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    _table(data)


def _table(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    keys = ["macs", "linear_macs", "attention_macs", "flops", "parameters", "weight_bytes",
            "activation_bytes", "kv_cache_bytes", "ops"]
    t = Table(title=f"{data['model']}")
    t.add_column("")
    for ph in data["phases"]:
        t.add_column(ph, justify="right")
    for k in keys:
        t.add_row(k, *(f"{data['phases'][ph][k]:,}" for ph in data["phases"]))
    Console().print(t)
    for ph, entry in data["phases"].items():
        if "op_rows" in entry:
            _op_table(ph, entry["op_rows"])


def _op_table(phase: str, rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{phase}: per op")
    for col in ("op", "layer", "block", "shape", "macs", "vector_ops", "transcendental_ops",
                "kv_read_bytes", "kv_write_bytes"):
        t.add_column(col, justify="left" if col in ("op", "block", "shape") else "right")
    for r in rows:
        t.add_row(r["op"], str(r["layer"]), r["block"], "x".join(map(str, r["shape"])),
                  *(f"{r.get(k, 0):,}" for k in ("macs", "vector_ops", "transcendental_ops",
                                                  "kv_read_bytes", "kv_write_bytes")))
    Console().print(t)
