"""`meshc quality` and the quality options of `meshc compile`, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from meshc.cli import main

MINE = ("entries:\n  - {model: gpt2, weights: int4, acts: bf16, kv: int8, method: RTN, "
        "dataset: wikitext2, perplexity: 31.5, source: my run}\n")


def test_quality_prints_the_measurement_and_the_quant_tax() -> None:
    res = CliRunner().invoke(main, ["quality", "llama3-8b", "--weights", "int4"])
    assert res.exit_code == 0, res.output
    assert "Perplexity 6.54 on wikitext2, measured (AWQ" in res.output
    assert "Quant tax at int4: x5.1 parameters" in res.output and "x1.29" in res.output


def test_quality_json_estimates_what_no_table_holds() -> None:
    res = CliRunner().invoke(main, ["quality", "llama3-8b", "--weights", "int4", "--kv", "int8",
                                    "--law", "hoffmann-2022", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["quality"]["kind"] == "estimate" and out["quality"]["law"] == "hoffmann-2022"
    assert out["quant_tax"]["weights"] == "int4" and out["quant_tax"]["claim"] == 1.4


@pytest.mark.parametrize(("args", "says"), [
    (["quality", "gpt2", "--train-tokens", "1.5"], "whole number of tokens"),
    (["quality", "gpt2", "--train-tokens", "2e16"], "whole number of tokens"),
    (["quality", "gpt2", "--quality", "missing.yaml"], "missing.yaml: no such quality table"),
    (["compile", "gpt2", "--train-tokens", "-3"], "whole number of tokens"),
    (["quality", "gpt2", "--weights", "int3"], "--weights: 'int3' is not one of bf16"),
    (["quality", "gpt2", "--law", "kaplan"], "--law: 'kaplan' is not one of besiroglu-2024"),
])
def test_bad_quality_inputs_exit_2(args: list[str], says: str) -> None:
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and says in res.output


def test_compile_reports_the_quality_beside_the_energy(tmp_path: Path) -> None:
    """The quantized pipeline serves gpt2 at int4 weights, bf16 activations and an int8 KV
    cache (read from the IR); the user's table holds exactly that, so it is used."""
    table = tmp_path / "mine.yaml"
    table.write_text(MINE, encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [
        "compile", "gpt2", "--hw", "mesh-4x4", "--phase", "decode", "--kv-len", "64",
        "--pipeline", "quantized", "--mapper", "heft", "--backend", "report", "-o", str(out),
        "--train-tokens", "1e10", "--quality", str(table)])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.json").read_text())
    q = report["quality"]
    assert (q["kind"], q["perplexity"], q["source"]) == ("measured", 31.5, "my run")
    assert q["precisions"] == {"weights": "int4", "acts": "bf16", "kv": "int8"}
    assert q["train_tokens"] == 10**10
    assert report["options"]["train_tokens"] == 10**10
    assert report["options"]["quality_file"] == str(table)
    md = (out / "report.md").read_text()
    assert "## Quality" in md and "Perplexity **31.5** on wikitext2" in md
    assert "At this quality a token costs" in md


def test_a_bad_quality_table_stops_compile_before_any_work(tmp_path: Path) -> None:
    table = tmp_path / "bad.yaml"
    table.write_text(MINE.replace("31.5", "0.2"), encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["compile", "gpt2", "--hw", "mesh-4x4", "--mapper", "heft",
                                    "--quality", str(table), "-o", str(out)])
    assert res.exit_code == 2
    assert f"{table}: entries[0].perplexity:" in res.output
    assert not (out / "report.json").exists()
