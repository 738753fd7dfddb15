"""What every built-in backend promises: it is registered under its name, returns
artifacts as values, and emitting the same result twice gives identical bytes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from conftest import emitted, synthetic_result

from meshc.backends import Backend
from meshc.registry import backend_names, get_backend

BUILTINS = ["plots", "program", "report", "schedule", "trace"]


def test_builtins_are_registered() -> None:
    assert set(BUILTINS) <= set(backend_names())
    for name in BUILTINS:
        b = get_backend(name)
        assert isinstance(b, Backend)
        assert b.name == name


@pytest.mark.parametrize("name", BUILTINS)
def test_artifacts_are_relative_paths_to_text_or_bytes(name: str) -> None:
    arts = emitted(name)
    assert arts
    for path, content in arts.items():
        assert not path.startswith("/") and ".." not in path.split("/")
        assert isinstance(content, (str, bytes))


@pytest.mark.parametrize("name", BUILTINS)
def test_emitting_twice_gives_identical_bytes(name: str) -> None:
    """Two results built apart but equal: every artifact byte-identical."""
    a = emitted(name)
    b = get_backend(name).emit(synthetic_result())
    assert sorted(a) == sorted(b)
    for path in a:
        assert a[path] == b[path], path


def test_listing_backends_does_not_import_matplotlib() -> None:
    code = ("import sys; import meshc.backends.report, meshc.backends.plots, "
            "meshc.commands.backends; assert 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", BUILTINS)
def test_degenerate_results_still_render(name: str) -> None:
    """One phase with no ops, transfers or HBM, on a machine without HBM; and no phases."""
    r = synthetic_result()
    empty = dataclasses.replace(r.phase("decode"), ops=(), transfers=(), hbm=(),
                                core_busy_s={})
    summary = {**r.hardware_summary, "hbm_bytes_per_s": 0.0}
    for odd in (dataclasses.replace(r, phases=(empty,), hardware_summary=summary),
                dataclasses.replace(r, phases=())):
        arts = get_backend(name).emit(odd)
        assert all(isinstance(v, (str, bytes)) for v in arts.values())


def test_gc_paused_restores_the_collector_as_it_was() -> None:
    """Emitting and compiling pause the cyclic collector; it is back on afterwards, even
    after an error, and stays off for a caller that had turned it off."""
    import gc

    from meshc.backends.base import gc_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
