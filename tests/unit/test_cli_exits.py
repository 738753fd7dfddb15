"""Exit codes: 2 for the user's mistakes, 70 for meshc's own bugs (one line; the traceback
only with --debug), 130 for an interrupt; `python -m meshc`; `--limit`."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from meshc import limits
from meshc.cli import main
from meshc.commands import model


def _boom(*_a: object, **_k: object) -> None:
    raise ZeroDivisionError("division by zero\nsecond line")


def test_an_internal_error_is_one_line_and_exit_70(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "load_model", _boom)
    res = CliRunner().invoke(main, ["inspect", "gpt2"])
    assert res.exit_code == 70
    lines = res.output.strip().splitlines()
    assert lines == ["meshc: internal error (a bug in meshc, please report it): "
                     "ZeroDivisionError: division by zero (--debug shows where)"]


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "load_model", _boom)
    res = CliRunner().invoke(main, ["--debug", "inspect", "gpt2"])
    assert res.exit_code == 70 and "Traceback" in res.output


def test_ctrl_c_is_a_clean_exit_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*_a: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "load_model", interrupt)
    res = CliRunner().invoke(main, ["inspect", "gpt2"])
    assert res.exit_code == 130 and res.output.strip() == "meshc: interrupted"


def test_user_errors_exit_2_with_one_line() -> None:
    res = CliRunner().invoke(main, ["inspect", "no-such-model"])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(main, ["compile", "gpt2", "--budget", "nan"])
    assert res.exit_code == 2 and "--budget" in res.output
    res = CliRunner().invoke(main, ["compile", "gpt2", "--backend", " , "])
    assert res.exit_code == 2 and "--backend names no backend" in res.output
    res = CliRunner().invoke(main, ["inspect", "gpt2", "--seq", "0"])
    assert res.exit_code == 2 and "--seq" in res.output


def test_limit_option_sets_and_rejects() -> None:
    try:
        res = CliRunner().invoke(main, ["--limit", "tiles=12", "limits"])
        assert res.exit_code == 0 and "12 tiles" in res.output
        res = CliRunner().invoke(main, ["--limit", "tiles=-3", "limits"])
        assert res.exit_code == 2 and "--limit" in res.output
        res = CliRunner().invoke(main, ["--limit", "bogus=3", "limits"])
        assert res.exit_code == 2 and "known limit" in res.output
    finally:
        limits.reset()


def test_limit_refusal_names_the_figure_and_the_option() -> None:
    err = limits.refuse("tiles", 3_000_000_000, "tiles of @prefill")
    assert "3,000,000,000 tiles" in str(err) and "--limit tiles=N" in str(err)


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run([sys.executable, "-m", "meshc", "--help"], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0 and "Usage: meshc" in out.stdout
