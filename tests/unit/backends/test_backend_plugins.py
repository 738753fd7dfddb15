"""Third-party plug-ins: a real one installed with pip from tests/plugins, its backend run
through the registry and listed by `meshc backends`, its pass added to a named pipeline;
a duplicate name and a plug-in that fails to load are MeshcErrors that name them."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner

from meshc import registry
from meshc.commands import backends as backends_cmd
from meshc.errors import MeshcError
from meshc.registry import BACKEND_GROUP, backend_names, get_backend
from meshc.result import CompileResult

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "meshc_hello_backend"
DIST = "meshc-hello-backend"


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    """The registry caches entry points: start and end every test with a fresh look."""
    registry.plugins.cache_clear()
    yield
    registry.plugins.cache_clear()


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "-q", "--disable-pip-version-check", *args],
                   check=True, capture_output=True, timeout=120)


@pytest.fixture
def hello_installed(tmp_path: Path) -> Iterator[None]:
    """pip-installs the example plug-in into the running venv (offline: no index, no build
    isolation) from a copy, so the source tree stays clean; uninstalls it afterwards so the
    other tests see the default set."""
    src = tmp_path / "meshc_hello_backend"
    shutil.copytree(PLUGIN, src)
    _pip("install", "--no-deps", "--no-build-isolation", "--no-index", str(src))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        _pip("uninstall", "-y", DIST)
        sys.modules.pop("meshc_hello_backend", None)
        importlib.invalidate_caches()


def test_installed_plugin_is_found_run_and_listed(hello_installed: None,
                                                  result: CompileResult) -> None:
    assert "hello" in backend_names()
    backend = get_backend("hello")
    arts = backend.emit(result)
    assert list(arts) == ["hello.txt"]
    text = arts["hello.txt"]
    assert text.startswith("hello from synthetic on synthetic-2x2\n")
    assert "prefill:" in text and "decode:" in text
    res = CliRunner().invoke(backends_cmd.backends, [])
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if ln.startswith("hello "))
    assert "meshc_hello_backend:HelloBackend" in line and "hello.txt" in line


def test_a_plugin_pass_joins_a_named_pipeline(hello_installed: None, tmp_path: Path) -> None:
    """--pass-after puts the plug-in's pass into the default pipeline; the mapper options
    of the command line still apply, and the pass's note reaches the report."""
    from meshc.cli import main

    out = tmp_path / "out"
    res = CliRunner().invoke(main, [
        "compile", "gpt2", "--hw", "mesh-4x4", "--phase", "decode", "--kv-len", "64",
        "--mapper", "heft", "--backend", "report", "-o", str(out),
        "--pass-after", 'tile-grain=hello-note{text="after tiling"}'])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.json").read_text())
    steps = [s.split("{")[0] for s in report["pipeline"].split(",")]
    assert steps == ["lower-quant", "partition-attn-mlp", "tile-grain", "hello-note",
                     "map-mesh"]
    assert "mapper=heft" in report["pipeline"]
    (note,) = [n for n in report["notes"] if n["source"] == "hello-note"]
    assert note["text"].startswith("after tiling: the module holds ")


def test_uninstalled_plugin_is_gone() -> None:
    assert "hello" not in backend_names()
    with pytest.raises(MeshcError, match="unknown backend 'hello'") as e:
        get_backend("hello")
    assert "report" in str(e.value)  # the hint lists what is installed


def _fake_group(monkeypatch: pytest.MonkeyPatch, extra: list[EntryPoint]) -> None:
    real = list(importlib.metadata.entry_points(group=BACKEND_GROUP))

    def fake(*, group: str) -> list[EntryPoint]:
        assert group == BACKEND_GROUP
        return real + extra

    monkeypatch.setattr(registry, "entry_points", fake)
    monkeypatch.setattr(backends_cmd, "entry_points", fake)


def test_duplicate_name_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_group(monkeypatch, [EntryPoint("report", "other_pkg.report:Report", BACKEND_GROUP)])
    with pytest.raises(MeshcError, match="'report'") as e:
        backend_names()
    assert "other_pkg.report:Report" in str(e.value)
    registry.plugins.cache_clear()
    with pytest.raises(MeshcError, match="'report'"):
        get_backend("schedule")  # any lookup in the group fails while the clash exists
    res = CliRunner().invoke(backends_cmd.backends, [])
    assert isinstance(res.exception, MeshcError) and "'report'" in str(res.exception)


def test_broken_plugin_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_group(monkeypatch, [EntryPoint("broken", "meshc_no_such_module:Backend",
                                         BACKEND_GROUP)])
    with pytest.raises(MeshcError, match=r"plug-in 'broken'.*failed to load"):
        get_backend("broken")
    assert get_backend("report").name == "report"  # the others still load
    res = CliRunner().invoke(backends_cmd.backends, [])
    assert "report" in res.output and "broken" in res.output  # listed, then the error
    assert isinstance(res.exception, MeshcError) and "'broken'" in str(res.exception)


def test_plugin_without_emit_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_group(monkeypatch, [EntryPoint("mute", "builtins:object", BACKEND_GROUP)])
    with pytest.raises(MeshcError, match=r"'mute'.*no emit"):
        get_backend("mute")


def test_backends_command_lists_the_builtins() -> None:
    res = CliRunner().invoke(backends_cmd.backends, ["--format", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.output)}
    assert {"plots", "program", "report", "schedule", "trace"} <= set(rows)
    assert rows["report"]["module"] == "meshc.backends.report:ReportBackend"
    assert rows["report"]["distribution"] == "meshc"
    assert all(r["doc"] for r in rows.values())
