"""`meshc inspect` in both formats, with and without per-op rows."""

from __future__ import annotations

import json

from click.testing import CliRunner

from meshc.cli import main


def test_inspect_table_with_op_rows() -> None:
    res = CliRunner().invoke(main, ["inspect", "gpt2", "--phase", "decode", "--kv-len", "8",
                                    "--ops"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "decode: per op" in res.output and "tfm.attention" in res.output


def test_inspect_json_counts_ops_and_lists_rows() -> None:
    res = CliRunner().invoke(main, ["inspect", "gpt2", "--seq", "8", "--kv-len", "8",
                                    "--format", "json"])
    assert res.exit_code == 0, res.output
    phases = json.loads(res.output)["phases"]
    for entry in phases.values():
        assert isinstance(entry["ops"], int)
        assert sum(r.get("macs", 0) for r in entry["op_rows"]) == entry["macs"]
