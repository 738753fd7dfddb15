"""The results table: columns, Pareto fronts, CSV; and the cache that feeds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshc.errors import MeshcError
from meshc.studies.cache import Cache
from meshc.studies.table import build, csv_text, with_pareto


def outcome(lat: float | None, pj: float | None = None, tps: float = 0.0) -> dict[str, Any]:
    if lat is None:
        return {"ok": False, "reason": "does not fit", "metrics": {}}
    return {"ok": True, "reason": "", "metrics": {
        "decode.latency_s": lat, "decode.pj_per_token": pj, "decode.tokens_per_s": tps}}


def table(*outs: dict[str, Any]):  # type: ignore[no-untyped-def]
    return build(["batch"], [({"batch": i + 1}, o) for i, o in enumerate(outs)])


def test_pareto_marks_the_points_no_other_beats() -> None:
    # (latency, pJ): (1, 9) and (3, 2) and (2, 5) trade off; (3, 9) is beaten; a tie stays
    t, cols = with_pareto(table(outcome(1, 9), outcome(3, 9), outcome(3, 2), outcome(2, 5),
                                outcome(2, 5), outcome(None)), ["latency_s", "pj_per_token"])
    assert cols == ("decode.latency_s", "decode.pj_per_token")
    assert [r["pareto"] for r in t.rows] == [True, False, True, True, True, False]


def test_tokens_per_s_is_better_larger() -> None:
    t, _ = with_pareto(table(outcome(1, 1, tps=10), outcome(1, 1, tps=20)),
                       ["tokens_per_s", "pj_per_token"])
    assert [r["pareto"] for r in t.rows] == [False, True]


def test_columns_are_keys_ok_reason_then_every_figure_of_the_phases_run() -> None:
    t = table(outcome(1, 2), outcome(None))
    assert t.columns[:3] == ("batch", "ok", "reason")
    assert "decode.energy_share.static" in t.columns and "prefill.latency_s" not in t.columns
    text = csv_text(t).splitlines()
    assert text[1].startswith("1,true,,1,")
    assert text[2].startswith("2,false,does not fit,,")
    with pytest.raises(MeshcError, match="no figure 'speed'"):
        t.column("speed")


def test_cache_round_trip_and_no_cache(tmp_path: Path) -> None:
    c = Cache(tmp_path)
    assert c.get("ab12") is None
    c.put("ab12", outcome(1.5, 2.0))
    assert c.get("ab12") == {"key": "ab12", **outcome(1.5, 2.0)}
    (tmp_path / "points" / "ab" / "ab12.json").write_text("{broken")
    assert c.get("ab12") is None  # a damaged entry is recomputed, not trusted
    off = Cache(None)
    off.put("ab12", outcome(1.0))
    assert off.get("ab12") is None


def test_plots_cover_the_keys_that_vary() -> None:
    from meshc.studies.plots import plot_files

    def o(b: int, kv: int) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"batch": b, "kv_len": kv, "mapper": "heft"}, outcome(b + kv / 100, 10.0 / b)

    t = build(["batch", "kv_len", "mapper"], [o(1, 8), o(1, 16), o(4, 8), o(4, 16)])
    t, cols = with_pareto(t, ["latency_s", "pj_per_token"])
    files = plot_files(t, ["decode.latency_s"], cols)
    assert sorted(files) == ["plots/decode.latency_s_vs_batch.png",
                             "plots/decode.latency_s_vs_kv_len.png",
                             "plots/heatmap_decode.latency_s.png", "plots/pareto.png"]
    assert all(v.startswith(b"\x89PNG") for v in files.values())
    assert plot_files(t, ["decode.latency_s"], cols) == files  # the same bytes again
