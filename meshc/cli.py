"""The `meshc` command line: parses, calls the library, renders errors.

Exit codes (docs/conventions.md): 0 done; 2 the user's input or request is wrong (one line
naming the file and the place); 70 a bug in meshc (one line; `--debug` shows the
traceback); 130 interrupted (Ctrl-C). Nothing else in meshc prints errors.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from meshc.errors import MeshcError, printable

EXIT_USAGE = 2
EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE
EXIT_INTERRUPTED = 130


# The commands defined in their own modules, imported only when one is run or its help is
# shown, so that `meshc --help` and `meshc hw cost` do not pay for xDSL, OR-Tools and the
# frontends. name -> ("module:attribute", the short help `meshc --help` lists: the first
# sentence of the command's docstring, which tests/unit/test_cli_lazy.py checks).
COMMANDS: dict[str, tuple[str, str]] = {
    "backends": ("meshc.commands.backends:backends",
                 "List the installed backends: name, where it comes from and what it writes."),
    "compile": ("meshc.commands.compile:compile_",
                "Compile MODEL for a machine and report simulated latency and energy."),
    "hw": ("meshc.commands.hw:hw", "Hardware presets and files: list, show, schema, cost."),
    "import": ("meshc.commands.model:import_",
               "Print (or write) the IR of MODEL: a zoo name, spec file, config.json, .onnx "
               "or .mlir."),
    "inspect": ("meshc.commands.model:inspect",
                "MACs, FLOPs, parameters, weight, activation and KV-cache bytes per phase."),
    "models": ("meshc.commands.model:models", "List the model zoo."),
    "quality": ("meshc.commands.quality:quality",
                "Loss and perplexity estimates of a model at a precision."),
    "study": ("meshc.commands.study:study",
              "Run the study NAME (`meshc study list` shows them); --grid overrides its axes."),
    "sweep": ("meshc.commands.sweep:sweep",
              "Compile MODEL... on every point of a grid and tabulate, plot and rank the "
              "results."),
    "system": ("meshc.commands.system:system", "Systems of chips: list, show, schema."),
}


class _Group(click.Group):
    """Every failure leaves as one line on stderr with its exit code: never a traceback
    unless `--debug` asks for it. The commands of COMMANDS load on first use; one whose
    module fails to import is a bug in meshc (exit 70), never a hidden command."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, attr = COMMANDS[cmd_name][0].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as e:  # suggest from every name, loaded or not
            raise click.exceptions.NoSuchCommand(
                e.command_name, possibilities=self.list_commands(ctx), ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table, without importing any command."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = [(n, (self.commands.get(n) or click.Command(n, help=COMMANDS[n][1]))
                 .get_short_help_str(limit)) for n in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
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
