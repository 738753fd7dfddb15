"""The `meshc` command line: parses, calls the library, renders errors.

Exit codes (docs/conventions.md): 0 done; 2 the user's input or request is wrong (one line
naming the file and the place); 70 a bug in meshc (one line; `--debug` shows the
traceback); 130 interrupted (Ctrl-C). Nothing else in meshc prints errors.
"""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from typing import Any, NoReturn

import click

from meshc.errors import MeshcError, printable

EXIT_USAGE = 2
EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE
EXIT_INTERRUPTED = 130


class _Group(click.Group):
    """Every failure leaves as one line on stderr with its exit code: never a traceback
    unless `--debug` asks for it."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as e:  # `meshc`, `meshc hw`: the help
            click.echo(e.ctx.get_help())
            sys.exit(0)
        except click.ClickException as e:  # a usage error: one line, not click's three
            cmd = e.ctx.command_path if getattr(e, "ctx", None) else "meshc"  # type: ignore[attr-defined]
            _fail(f"{cmd.removeprefix('meshc ')}: {e.format_message()} "
                  f"(see `{cmd} --help`)" if cmd != "meshc" else
                  f"{e.format_message()} (see `meshc --help`)", e.exit_code)
        except click.exceptions.Abort:
            _fail("interrupted", EXIT_INTERRUPTED, prefix="meshc: ")
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> object:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except MeshcError as e:
            _fail(str(e), EXIT_USAGE)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise  # click's own usage errors (exit 2) and --help
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED, prefix="meshc: ")
        except MemoryError:
            _fail("out of memory (lower the work or run on a machine with more memory; "
                  "`meshc limits` lists the limits that guard against this)", EXIT_USAGE)
        except Exception as e:
            _internal(e, debug)
        return None


def _internal(e: BaseException, debug: bool) -> NoReturn:
    if debug:
        traceback.print_exception(e)
    first = (str(e).strip().splitlines() or [""])[0][:300]
    _fail(f"{type(e).__name__}: {first}" + ("" if debug else " (--debug shows where)"),
          EXIT_INTERNAL, prefix="meshc: internal error (a bug in meshc, please report it): ")


def _fail(message: str, code: int, prefix: str = "meshc: error: ") -> NoReturn:
    """One line on stderr: control characters a user's value carried (a newline in a node
    name, a NUL in a file) are shown escaped, never printed raw."""
    click.echo(prefix + printable(message), err=True)
    sys.exit(code)


def _set_limits(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> None:
    from meshc import limits

    try:
        limits.set_limits(values)
    except MeshcError as e:
        raise click.BadParameter(e.message, param_hint="--limit") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="meshc")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
@click.option("--limit", "limit", multiple=True, metavar="NAME=N", expose_value=False,
              callback=_set_limits,
              help="Raise a work limit (see docs/conventions.md), e.g. --limit tiles=500000000.")
def main(debug: bool) -> None:
    """meshc: compile transformer models onto 2D mesh-of-cores accelerators."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)  # `kill` cleans up as Ctrl-C does


def _terminate(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@main.command("opt", context_settings={"ignore_unknown_options": True,
                                       "allow_extra_args": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def opt(args: tuple[str, ...]) -> None:
    """Run passes on IR text, like xdsl-opt: meshc opt FILE -p 'pass-a{k=v},pass-b'
    [--pipeline NAME --hw HW] [--print-between-passes] [--verify-diagnostics] ..."""
    from meshc.commands.opt import run

    sys.exit(run(args))


@main.command("limits")
def limits_() -> None:
    """The work limits in force and how to raise them."""
    from meshc import limits

    for lim in limits.LIMITS.values():
        click.echo(f"{lim.name:12s} {limits.get(lim.name):>16,} {lim.unit:9s} {lim.what}")
    click.echo("raise one with `meshc --limit NAME=N ...` or MESHC_LIMIT_<NAME>=N")


def _add_commands() -> None:
    # A command module that fails to import is a bug to see, not a command to hide.
    from meshc.commands.backends import backends
    from meshc.commands.compile import compile_
    from meshc.commands.hw import hw
    from meshc.commands.model import import_, inspect, models

    for cmd in (models, import_, inspect, compile_, backends, hw):
        main.add_command(cmd)


_add_commands()
