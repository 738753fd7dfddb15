"""Per-core programs: load, compute, send, receive, store, in time order."""

from __future__ import annotations

import re
from collections import defaultdict

from meshc.backends.program import ProgramBackend
from meshc.result import CompileResult

LINE = re.compile(r"^\s*([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\w+)\s+(.*)$")


def parse(text: str) -> list[dict]:
    """The commands of one program: start/end (µs and cycles), kind and key=value fields."""
    cmds = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, line
        fields = dict(kv.split("=", 1) for kv in m[6].split())
        cmds.append({"start_us": float(m[1]), "end_us": float(m[2]), "start_cycle": int(m[3]),
                     "end_cycle": int(m[4]), "kind": m[5], **fields})
    return cmds


def test_one_program_per_core_and_phase(result: CompileResult) -> None:
    arts = ProgramBackend().emit(result)
    assert sorted(arts) == sorted(f"programs/{phase}/core_{r}_{c}.txt"
                                  for phase in ("prefill", "decode")
                                  for r in range(2) for c in range(2))
    for text in arts.values():
        assert text.startswith("# meshc program: core ")


def test_commands_are_in_time_order_with_every_kind(result: CompileResult) -> None:
    kinds = set()
    for path, text in ProgramBackend().emit(result).items():
        cmds = parse(text)
        assert [c["start_us"] for c in cmds] == sorted(c["start_us"] for c in cmds), path
        for c in cmds:
            assert c["end_us"] >= c["start_us"] and c["end_cycle"] >= c["start_cycle"]
            assert c["start_cycle"] == round(c["start_us"] * 1e3)  # 1 GHz
            assert "op" in c
            kinds.add(c["kind"])
    assert kinds == {"load", "compute", "send", "receive", "store"}


def test_every_tile_byte_and_transfer_is_accounted_for(result: CompileResult) -> None:
    arts = ProgramBackend().emit(result)
    for p in result.phases:
        cmds = defaultdict(list)
        for r in range(2):
            for c in range(2):
                for cmd in parse(arts[f"programs/{p.name}/core_{r}_{c}.txt"]):
                    cmds[cmd["kind"]].append({**cmd, "core": f"{r},{c}"})
        for o in p.ops:
            mine = [c for c in cmds["compute"] if c["op"] == o.name]
            assert sum(int(c["tiles"]) for c in mine) == o.n_tiles
            assert {c["core"] for c in mine} <= {f"{r},{c}" for r, c in o.cores}
        assert sum(int(c["bytes"]) for c in cmds["load"]) == sum(h.read_bytes for h in p.hbm)
        assert sum(int(c["bytes"]) for c in cmds["store"]) == sum(h.write_bytes for h in p.hbm)
        for t in p.transfers:
            send = [c for c in cmds["send"] if c["op"] == t.src_op and c["to_op"] == t.dst_op]
            recv = [c for c in cmds["receive"] if c["op"] == t.dst_op
                    and c["from_op"] == t.src_op]
            assert len(send) == len(recv) == 1
            assert send[0]["core"] == recv[0]["from"] == f"{t.src_core[0]},{t.src_core[1]}"
            assert recv[0]["core"] == send[0]["to"] == f"{t.dst_core[0]},{t.dst_core[1]}"
            assert int(send[0]["bytes"]) == int(recv[0]["bytes"]) == t.bytes
