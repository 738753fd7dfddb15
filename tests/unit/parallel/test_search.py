"""--parallel auto: the layouts it tries, the memory pre-check, and its refusals."""

from __future__ import annotations

from typing import Any

import pytest

from meshc.driver import CompileOptions
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest
from meshc.frontends.transformer import Shape
from meshc.hardware.system import load_system
from meshc.parallel import search as search_mod
from meshc.parallel.degrees import Parallel
from meshc.parallel.search import ModelSize, candidates, fits, search

# 8 layers, 8 heads over 2 KV heads, 1 GB of layers, 100 MB of tables, 80 MB of KV cache
M = ModelSize(layers=8, heads=8, kv_heads=2, experts=0, layer_bytes=10**9, expert_bytes=0,
              table_bytes=10**8, kv_bytes=8 * 10**7)


def test_candidates_fewest_chips_first_within_the_system() -> None:
    got = candidates(load_system("tpu-v6e-8"), M, batch=4)
    assert got[0] == Parallel()
    assert all(q.chips <= 8 and M.heads % q.tp == 0 for q in got)
    assert [q.chips for q in got] == sorted(q.chips for q in got)
    # pp = 4 with a batch of 4: four micro-batches fill the pipeline
    assert Parallel(tp=2, pp=4, mb=4) in got


def test_fits_counts_the_busiest_chip() -> None:
    s = load_system("groq-like-576")  # 230 MB SRAM a chip, 172.5 MB after the tiles' reserve
    # tp=1, pp=8: one layer (125 MB) + half the tables (50 MB) + a layer's cache (10 MB)
    assert "185 MB on its busiest chip against 172 MB" in fits(s, M, Parallel(pp=8))
    assert fits(s, M, Parallel(tp=2, pp=8)) == ""


def test_layouts_that_do_not_compile_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: Any, **_k: Any) -> None:
        raise MeshcError("a reason only the compile knows")

    monkeypatch.setattr(search_mod, "compile_system", refuse)
    req = ModelRequest("llama3-8b", ("decode",), Shape(1, 16, 16))
    with pytest.raises(MeshcError, match=r"no layout of llama3-8b compiles on tpu-v6e-8; the "
                                         r"largest tried: .*: a reason only the compile knows"):
        search(req, load_system("tpu-v6e-8"), "latency", CompileOptions(), lambda _m: None)
    with pytest.raises(MeshcError, match="unknown objective"):
        search(req, load_system("tpu-v6e-8"), "speed", CompileOptions(), lambda _m: None)
