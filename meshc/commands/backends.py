"""`meshc backends`: the installed backends (entry points in `meshc.backends`)."""

from __future__ import annotations

import inspect
import json
from importlib.metadata import entry_points
from typing import Any

import click

from meshc.errors import MeshcError


def backend_infos() -> tuple[list[dict[str, Any]], list[str]]:
    """One row per installed backend (name, module, distribution, one-line doc) and the
    errors of those that fail to load. Two plug-ins with one name raise at once."""
    from meshc.registry import BACKEND_GROUP, backend_names, get_backend

    names = backend_names()  # a MeshcError naming a duplicate
    eps = {ep.name: ep for ep in entry_points(group=BACKEND_GROUP)}
    rows, errors = [], []
    for name in names:
        ep = eps[name]
        row: dict[str, Any] = {"name": name, "module": ep.value,
                               "distribution": ep.dist.name if ep.dist else None}
        try:
            backend = get_backend(name)
        except MeshcError as e:
            errors.append(str(e))
            row["doc"] = "FAILS TO LOAD"
            row["error"] = str(e)
        else:
            doc = inspect.getdoc(backend if isinstance(backend, type) else type(backend)) or ""
            row["doc"] = doc.strip().splitlines()[0] if doc.strip() else ""
        rows.append(row)
    return rows, errors


@click.command("backends")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def backends(fmt: str) -> None:
    """List the installed backends: name, where it comes from and what it writes."""
    rows, errors = backend_infos()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
    else:
        width = max((len(r["name"]) for r in rows), default=4)
        mod_width = max((len(r["module"]) for r in rows), default=6)
        for r in rows:
            click.echo(f"{r['name']:<{width}s}  {r['module']:<{mod_width}s}  {r['doc']}")
    if errors:
        raise MeshcError("; ".join(errors), hint="fix or uninstall the broken plug-in")
