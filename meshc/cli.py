"""The `meshc` command line: parses, calls the library, renders errors (exit code 2)."""

from __future__ import annotations

import sys

import click

from meshc.errors import MeshcError


class _Group(click.Group):
    """Renders every MeshcError as one line on stderr with exit code 2: no traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except MeshcError as e:
            click.echo(f"meshc: error: {e}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="meshc")
def main() -> None:
    """meshc: compile transformer models onto 2D mesh-of-cores accelerators."""


@main.command("opt", context_settings={"ignore_unknown_options": True,
                                       "allow_extra_args": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def opt(args: tuple[str, ...]) -> None:
    """Run passes on IR text, like xdsl-opt: meshc opt FILE -p 'pass-a{k=v},pass-b'
    [--pipeline NAME --hw HW] [--print-between-passes] [--verify-diagnostics] ..."""
    from meshc.commands.opt import run

    sys.exit(run(args))


def _add_commands() -> None:
    from meshc.commands.compile import compile_
    from meshc.commands.model import import_, inspect, models

    for cmd in (models, import_, inspect, compile_):
        main.add_command(cmd)
    try:
        from meshc.commands.backends import backends
    except ImportError:  # pragma: no cover - backends command not written yet
        pass
    else:
        main.add_command(backends)
    try:
        from meshc.commands.hw import hw
    except ImportError:  # pragma: no cover - hardware commands not installed yet
        return
    main.add_command(hw)


_add_commands()
