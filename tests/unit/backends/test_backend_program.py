"""Per-core programs: load, compute, send, receive, store, in time order."""

from __future__ import annotations

import json
import re

from meshc.backends.program import ProgramBackend
from meshc.result import CompileResult

LINE = re.compile(r"^\s*([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\w+)\s+(.*)$")


def test_one_program_per_core_and_phase(result: CompileResult) -> None:
    arts = ProgramBackend().emit(result)
    for phase in ("prefill", "decode"):
        for r in range(2):
            for c in range(2):
                assert f"programs/{phase}/core_{r}_{c}.txt" in arts
        assert f"programs/{phase}/index.json" in arts
    assert len(arts) == 2 * (4 + 1)


def test_commands_are_in_time_order_with_every_kind(result: CompileResult) -> None:
    arts = ProgramBackend().emit(result)
    kinds = set()
    for path, text in arts.items():
        if not path.endswith(".txt"):
            continue
        starts = []
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            m = LINE.match(line)
            assert m, line
            start, end = float(m[1]), float(m[2])
            assert end >= start
            assert int(m[3]) == round(start * 1e3)  # µs -> cycles at 1 GHz
            starts.append(start)
            kinds.add(m[5])
        assert starts == sorted(starts), path
    assert kinds == {"load", "compute", "send", "receive", "store"}


def test_index_accounts_for_every_tile_byte_and_transfer(result: CompileResult) -> None:
    arts = ProgramBackend().emit(result)
    for p in result.phases:
        index = json.loads(arts[f"programs/{p.name}/index.json"])
        cmds = [c for core in index["cores"].values() for c in core]
        for o in p.ops:
            assert sum(c["tiles"] for c in cmds if c["kind"] == "compute"
                       and c["op"] == o.name) == o.n_tiles
        assert sum(c["bytes"] for c in cmds if c["kind"] == "load") == sum(
            h.read_bytes for h in p.hbm)
        assert sum(c["bytes"] for c in cmds if c["kind"] == "store") == sum(
            h.write_bytes for h in p.hbm)
        for kind in ("send", "receive"):
            assert sum(c["bytes"] for c in cmds if c["kind"] == kind) == sum(
                t.bytes for t in p.transfers)
        for core in index["cores"].values():
            assert [c["start_s"] for c in core] == sorted(c["start_s"] for c in core)
            assert all(c["end_cycle"] >= c["start_cycle"] for c in core)
