"""The lazy command group: `meshc --help` lists every command without importing any, a
command loads when run, and a command module that fails to import is a bug (exit 70)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from meshc import cli
from meshc.cli import COMMANDS, main

HEAVY = ("xdsl", "ortools", "numpy", "matplotlib", "onnx", "pydantic", "yaml", "networkx")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_table_short_help_is_the_commands_own(name: str) -> None:
    module, _, attr = COMMANDS[name][0].partition(":")
    cmd = getattr(importlib.import_module(module), attr)
    assert isinstance(cmd, click.Command) and cmd.name == name
    assert cmd.get_short_help_str(limit=1000) == COMMANDS[name][1]


def test_help_lists_every_command_and_imports_nothing_heavy() -> None:
    probe = ("import sys\nfrom meshc.cli import main\n"
             "try:\n    main(['--help'], prog_name='meshc')\nexcept SystemExit:\n    pass\n"
             f"print(sorted(h for h in {HEAVY!r} if h in sys.modules))\n"
             "print(sorted(m for m in sys.modules if m.startswith('meshc.commands.')))")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout.splitlines()
    assert out[-2:] == ["[]", "[]"]
    listed = {line.split()[0] for line in out if line.startswith("  ") and line[2] != "-"}
    assert {*COMMANDS, "opt", "limits"} <= listed


def test_help_row_is_the_tables_short_help() -> None:
    res = CliRunner().invoke(main, ["--help"], terminal_width=200)
    assert res.exit_code == 0
    assert f"  models    {COMMANDS['models'][1]}" in res.output
    assert "  limits    The work limits in force and how to raise them." in res.output


def test_a_command_loads_when_run() -> None:
    res = CliRunner().invoke(main, ["models"])
    assert res.exit_code == 0 and "llama3-8b" in res.output
    res = CliRunner().invoke(main, ["hw", "--help"])
    assert res.exit_code == 0 and "cost" in res.output


def test_unknown_command_suggests_a_lazy_one() -> None:
    res = CliRunner().invoke(main, ["compil"])
    assert res.exit_code == 2
    assert "No such command 'compil'. Did you mean 'compile'?" in res.output


def test_a_module_that_fails_to_import_is_exit_70(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    (tmp_path / "meshc_broken_cmd.py").write_text("raise RuntimeError('half-written')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(COMMANDS, "broken", ("meshc_broken_cmd:broken", "A broken command."))
    monkeypatch.delitem(sys.modules, "meshc_broken_cmd", raising=False)
    res = CliRunner().invoke(main, ["broken"])
    assert res.exit_code == cli.EXIT_INTERNAL
    assert res.output.strip() == ("meshc: internal error (a bug in meshc, please report it): "
                                  "RuntimeError: half-written (--debug shows where)")
    res = CliRunner().invoke(main, ["--help"])  # still listed, not hidden
    assert res.exit_code == 0 and "broken" in res.output
