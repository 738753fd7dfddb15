"""End to end: `meshc sweep` and `meshc study` on a tiny model and a 2x2 mesh."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from meshc.commands.study import study
from meshc.commands.sweep import sweep

TINY = str(Path(__file__).parents[1] / "fixtures" / "spec" / "tiny-llama.yaml")
# 4 points; kv_len 2x10^7 needs more HBM than mesh-2x2 has: that point fails, the rest run
GRID = ["--grid", "batch=1,2", "--grid", "kv_len=64,20000000", "--grid", "seq=64",
        "--grid", "mapper=heft"]
OUTPUTS = ("results.csv", "results.json", "report.md", "plots/pareto.png",
           "plots/heatmap_decode.latency_s.png")


def run(cmd: object, args: list[str]) -> Result:
    r = CliRunner().invoke(cmd, args, catch_exceptions=False)  # type: ignore[arg-type]
    assert r.exit_code == 0, r.output
    return r


def files(d: Path) -> dict[str, bytes]:
    return {name: (d / name).read_bytes() for name in OUTPUTS}


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("sweep")
    run(sweep, [TINY, "--hw", "mesh-2x2", *GRID, "-j", "1", "--cache", str(base / "c1"),
                "-o", str(base / "one")])
    return base, base / "one"


def test_rows_figures_and_a_failed_point(first: tuple[Path, Path]) -> None:
    rows = list(csv.DictReader((first[1] / "results.csv").open()))
    assert [(r["batch"], r["kv_len"], r["ok"]) for r in rows] == [
        ("1", "64", "true"), ("1", "20000000", "false"), ("2", "64", "true"),
        ("2", "20000000", "false")]
    assert "HBM" in rows[1]["reason"] and "\n" not in rows[1]["reason"]
    # batch 2 shares the weights between two sequences: cheaper decode tokens
    assert float(rows[2]["decode.pj_per_token"]) < float(rows[0]["decode.pj_per_token"])
    assert {r["pareto"] for r in rows} == {"true", "false"}
    assert float(rows[0]["decode.idle_compute_fraction"]) > 0.5


def test_same_bytes_with_two_jobs_and_from_the_cache(first: tuple[Path, Path]) -> None:
    base, one = first
    run(sweep, [TINY, "--hw", "mesh-2x2", *GRID, "-j", "2", "--no-cache", "-o",
                str(base / "two")])
    assert files(base / "two") == files(one)
    r = run(sweep, [TINY, "--hw", "mesh-2x2", *GRID, "--cache", str(base / "c1"), "-o",
                    str(base / "again")])
    assert "(4 from the cache" in " ".join(r.output.split())
    assert files(base / "again") == files(one)


def test_same_bytes_on_ray(first: tuple[Path, Path]) -> None:
    pytest.importorskip("ray")
    base, one = first
    run(sweep, [TINY, "--hw", "mesh-2x2", *GRID, "--engine", "ray", "-j", "2", "--no-cache",
                "-o", str(base / "ray")])
    assert files(base / "ray") == files(one)


def test_a_study_answers_with_its_numbers(tmp_path: Path) -> None:
    r = run(study, ["decode-cost", "--model", TINY, "--hw", "mesh-2x2", "--grid", "batch=1,4",
                    "--grid", "kv_len=64", "--grid", "seq=64", "--no-cache",
                    "-o", str(tmp_path / "s")])
    text = " ".join(r.output.split())
    assert "a decode token costs" in text and "x a prefill token at batch 1" in text
    report = (tmp_path / "s" / "report.md").read_text()
    assert report.startswith("# Study decode-cost") and "## Answer" in report
    assert "list" not in run(study, ["list"]).output.split()
    assert "decode-cost" in run(study, ["list"]).output


def test_a_bad_key_fails_before_any_work(tmp_path: Path) -> None:
    r = CliRunner().invoke(sweep, [TINY, "--grid", "colour=red", "-o", str(tmp_path / "x")])
    assert r.exit_code != 0 and "unknown key 'colour'" in str(r.exception)
    assert not (tmp_path / "x").exists()


def test_quality_columns_and_the_quantization_study(tmp_path: Path) -> None:
    r = run(study, ["quantization", "--model", TINY, "--hw", "mesh-2x2", "--grid",
                    "weights=bf16,int4", "--grid", "kv=bf16", "--grid", "seq=64", "--grid",
                    "kv_len=64", "--no-cache", "-o", str(tmp_path / "q")])
    rows = list(csv.DictReader((tmp_path / "q" / "results.csv").open()))
    assert [(r["weights"], r["quality_kind"], r["perplexity"]) for r in rows] == [
        ("bf16", "unknown", ""), ("int4", "unknown", "")]
    assert "no training tokens" in rows[0]["quality_note"]
    assert "weights=int4 kv=bf16: quality unknown (meshc knows no training tokens" in \
        " ".join(r.output.split())
    assert (tmp_path / "q" / "plots" / "pareto_prefill.png").is_file()


def test_quant_tax_needs_training_tokens(tmp_path: Path) -> None:
    r = CliRunner().invoke(study, ["quant-tax", "--model", TINY, "-o", str(tmp_path / "x")])
    assert r.exit_code != 0 and "needs the training tokens of" in str(r.exception)
    assert not (tmp_path / "x").exists()


def test_train_tokens_give_a_model_outside_the_tables_its_quality(tmp_path: Path) -> None:
    # the tiny spec is in no table: without D its quality is unknown and says why; with
    # --train-tokens the law estimates it (and the cache keeps the two apart)
    args = [TINY, "--hw", "mesh-2x2", "--grid", "seq=64", "--grid", "mapper=heft",
            "--grid", "phase=decode", "--cache", str(tmp_path / "c")]
    run(sweep, [*args, "-o", str(tmp_path / "unknown")])
    run(sweep, [*args, "--train-tokens", "2e9", "-o", str(tmp_path / "known")])
    (before,) = csv.DictReader((tmp_path / "unknown" / "results.csv").open())
    (after,) = csv.DictReader((tmp_path / "known" / "results.csv").open())
    assert before["quality_kind"] == "unknown" and "--train-tokens" in before["quality_note"]
    assert after["quality_kind"] == "estimate" and float(after["loss"]) > 1.8
    assert after["decode.pj_per_token_at_quality"] == after["decode.pj_per_token"]


def test_a_sweep_over_systems_pairs_each_with_its_layout(tmp_path: Path) -> None:
    run(sweep, [TINY, "--hw", "tpu-v6e-8", "--hw", "tpu-v6e-like", "--grid",
                "parallel=tp=2,pp=2,mb=2;tp=1", "--pair", "hw,parallel", "--grid", "seq=64",
                "--grid", "kv_len=64", "--grid", "batch=2", "--grid", "mapper=heft",
                "--no-cache", "-o", str(tmp_path / "s")])
    rows = list(csv.DictReader((tmp_path / "s" / "results.csv").open()))
    assert [(r["hw"], r["parallel"], r["ok"], r["decode.chips_used"], r["layout"])
            for r in rows] == [("tpu-v6e-8", "tp=2,pp=2,mb=2", "true", "4", "tp=2,pp=2,mb=2"),
                               ("tpu-v6e-like", "tp=1", "true", "1", "tp=1")]
    assert rows[0]["decode.compute_utilization"] == "" and rows[0]["decode.bottleneck"]
    report = (tmp_path / "s" / "report.md").read_text()
    assert "Grid (hw and parallel paired):" in report
    plots = {p.name for p in (tmp_path / "s" / "plots").iterdir()}
    assert "decode.latency_s_vs_hw.png" in plots and not any("_vs_parallel" in p for p in plots)


def test_a_bad_parallel_value_fails_before_any_work(tmp_path: Path) -> None:
    r = CliRunner().invoke(sweep, [TINY, "--hw", "tpu-v6e-8", "--grid", "parallel=tp=8;tq=2",
                                   "-o", str(tmp_path / "x")])
    assert r.exit_code != 0 and "--grid parallel=tq=2" in str(r.exception)
    assert not (tmp_path / "x").exists()
