"""Random command lines from the real option names and hostile values: exit 0 or a one-line
user error (exit 2), never a traceback, never exit 70, nothing outside `out/` touched."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hostile_case import EITHER, Case, run_case
from hostile_gen import TINY_YAML
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NUMBERS = ["0", "-1", "1", "2", "7", "16", "64", "1e3", "nan", "inf", "", "abc", "9" * 40, "0x10",
           "١٢", "1_000", " 8"]
FILES = {"tiny.yaml": TINY_YAML, "bad.yaml": "graph: [\n", "hw.yaml": "mesh: {rows: 0}\n",
         "empty.onnx": b"", "x.txt": "x"}

COMPILE = {
    "--phase": st.sampled_from(["prefill", "decode", "both", "", "train"]),
    "--batch": st.sampled_from([*NUMBERS[:7], "abc", "9" * 30]),
    "--seq": st.sampled_from(NUMBERS),
    "--kv-len": st.sampled_from(NUMBERS),
    "--dim": st.sampled_from(["seq=8", "seq=", "=1", "x=-1", "seq=abc"]),
    "--hw": st.sampled_from(["mesh-4x4", "mesh-2x2", "hw.yaml", "missing.yaml", "", "tiny.yaml"]),
    "--pipeline": st.sampled_from(["default", "quantized", "nosuch", ""]),
    "-p": st.sampled_from(["", "tile-grain", "nosuch", "tile-grain{", ",", "map-mesh{hw=}"]),
    "--row-blocks": st.sampled_from(["0", "1", "2", "64", "x"]),
    "--budget": st.sampled_from(["0.1", "0", "-1", "nan", "inf", "x"]),
    "--seed": st.sampled_from(["0", "-1", "9" * 25, "x"]),
    "--backend": st.sampled_from(["report", "", "nosuch", "report,report", ",", "schedule"]),
    "-o": st.sampled_from(["out", "out/a", ""]),
}
INSPECT = {k: COMPILE[k] for k in ("--phase", "--batch", "--seq", "--kv-len", "--dim")} | {
    "--format": st.sampled_from(["table", "json", "xml"]),
    "-p": st.sampled_from(["", "lower-quant{weights=int4 group=128}", "lower-quant{weights=int3}", "x"]),
}
COST = {
    "--gemm": st.sampled_from(["8,8,8", "1,1,1", "0,1,1", "a,b", "1e3,1,1", "9" * 20 + ",1,1", ""]),
    "--precision": st.sampled_from(["bf16", "int8", "int4", "fp3", ""]),
    "--core": st.sampled_from(["mlp", "attention", "nosuch", ""]),
    "--format": st.sampled_from(["table", "json", "yaml"]),
}
MODELS = st.sampled_from(["gpt2", "tiny.yaml", "bad.yaml", "empty.onnx", "x.txt", "nosuch", ""])
HWS = st.sampled_from(["mesh-4x4", "mesh-1x1", "hw.yaml", "missing.yaml", "/dev/null", ""])


def _argv(draw: st.DrawFn, head: tuple[str, ...], options: dict[str, st.SearchStrategy[str]],
          fast: tuple[str, ...] = ()) -> tuple[str, ...]:
    argv = [*head, *fast]
    for flag in draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True)):
        argv += [flag, draw(options[flag])]
    return tuple(argv)


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[str, ...]:
    which = draw(st.sampled_from(["compile", "inspect", "cost"]))
    if which == "compile":  # heft and report keep every run that compiles under a second
        fast = ("--mapper", "heft", "--backend", "report", "--hw", "mesh-4x4", "--seq", "16",
                "--kv-len", "16")
        return _argv(draw, ("compile", draw(MODELS)), COMPILE, fast)
    if which == "inspect":
        return _argv(draw, ("inspect", draw(MODELS)), INSPECT, ("--seq", "16", "--kv-len", "16"))
    return _argv(draw, ("hw", "cost", draw(HWS)), COST)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(command_lines())
def test_random_command_lines(argv: tuple[str, ...]) -> None:
    out = argv[argv.index("-o") + 1] if "-o" in argv else "out"
    case = Case("fuzz", argv, EITHER, FILES, out=out.split("/")[0] or None)
    with tempfile.TemporaryDirectory() as tmp:
        run, found = run_case(case, Path(tmp))
    assert not found, f"meshc {' '.join(argv)}\n  " + "\n  ".join(found) + f"\n  {run.describe()}"
