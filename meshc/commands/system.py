"""`meshc system list|show|schema`: systems of chips, their links and what a collective costs.

Bad input raises MeshcError; meshc/cli.py prints it on one line and exits 2.
"""

from __future__ import annotations

import json
from typing import Any

import click

from meshc.hardware.collectives import all_reduce_options
from meshc.hardware.system import SystemSpec, load_system, system_names
from meshc.units import fmt_si

EXAMPLE_BYTES = 1e9  # the all-reduce `show` prices: 1 GB per chip


@click.group("system")
def system() -> None:
    """Systems of chips: list, show, schema."""


@system.command("list")
def list_() -> None:
    """List the built-in system presets."""
    for name in system_names():
        s = load_system(name)
        click.echo(f"{name:20s} {s.n_chips:>4d} chips  {s.spec.description}")


@system.command("show")
@click.argument("source", metavar="NAME|FILE")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def show(source: str, fmt: str) -> None:
    """Chips, topology, links, aggregate compute, memory and link bandwidth of a system,
    and what an all-reduce of 1 GB costs on it."""
    s = load_system(source)
    options = all_reduce_options(s.fabric, EXAMPLE_BYTES)
    best = min(options, key=lambda c: c.time_s)
    out = s.summary() | {"all_reduce_1GB": {
        "algorithm": best.algorithm, "time_s": best.time_s, "energy_pj": best.energy_pj,
        "max_link_bytes": best.max_link_bytes,
        "options": {c.algorithm: c.time_s for c in options}}}
    click.echo(json.dumps(out, indent=2) if fmt == "json" else _table(out))


@system.command("schema")
def schema() -> None:
    """Print the JSON Schema of system YAML files."""
    click.echo(json.dumps(SystemSpec.model_json_schema(), indent=2))


def _table(s: dict[str, Any]) -> str:
    rows = [("system", f"{s['name']}: {s['description']}"), ("chips", str(s["chips"]))]
    for g in s["groups"]:
        rows.append((f"  {g['name']} x{g['count']}",
                     f"{g['hw']} ({g['role']}); HBM {fmt_si(g['hbm_bytes'], 'B')}, "
                     f"SRAM {fmt_si(g['sram_bytes'], 'B')} per chip"))
    t, links = s["topology"], s["links"]
    rows.append(("topology", "one chip" if t is None else t["kind"] + (
        f" {'x'.join(map(str, t['dims']))}" if t["dims"] else "")))
    if links:
        rows.append(("links", f"{links['per_chip']} per chip, "
                              f"{fmt_si(links['bytes_per_s'], 'B/s')} each way, "
                              f"{_seconds(links['latency_s'])} per hop, "
                              f"{links['pj_per_bit']:g} pJ/bit"))
    ar = s["all_reduce_1GB"]
    rows += [
        ("peak", ", ".join(f"{p} {v:g} TFLOPS" for p, v in s["peak_tflops"].items())),
        ("HBM", f"{fmt_si(s['hbm_bytes'], 'B')}, {fmt_si(s['hbm_bytes_per_s'], 'B/s')}"
         if s["hbm_bytes"] else "none"),
        ("SRAM", fmt_si(s["sram_bytes"], "B")),
    ]
    if links is None:  # a system of one
        rows.append(("links", "none: one chip, collectives cost nothing"))
    else:
        rows += [
            ("link bandwidth", f"{fmt_si(s['link_bytes_per_s_per_chip'], 'B/s')} per chip each "
                               f"way, {fmt_si(s['link_bytes_per_s_total'], 'B/s')} in all"),
            ("all-reduce 1 GB", f"{_seconds(ar['time_s'])} by {ar['algorithm']}, "
                                f"{fmt_si(ar['energy_pj'] * 1e-12, 'J')} over the links"
             + ("; " + ", ".join(f"{a} {_seconds(t)}" for a, t in ar["options"].items())
                if len(ar["options"]) > 1 else "")),
        ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _seconds(x: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if x >= scale:
            return f"{x / scale:.4g} {unit}"
    return f"{x * 1e9:.4g} ns"
