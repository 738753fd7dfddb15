"""Command-line options of `meshc compile`, `inspect`, `import`, `opt`, `hw` and `--limit`."""

from __future__ import annotations

from hostile_case import EITHER, OK, USER_ERROR, Case
from hostile_gen import FAST, FAST_PREFILL, SMALL, SMALL_FILES, TINY_YAML, compile_fast
from hostile_onnx_model import MATMUL_ONNX

IR = "m.mlir"
MLIR = """builtin.module {
  func.func @prefill(%x: tensor<1x8x256xbf16>) -> tensor<1x8x256xbf16> {
    func.return %x : tensor<1x8x256xbf16>
  }
}
"""


def _opt(flag: str, value: str, *mentions: str, prefill: bool = False) -> Case:
    """`meshc compile gpt2` (fast settings) with one option set to a hostile value."""
    name = f"cli-{flag.lstrip('-')}-{value or 'empty'}"[:60]
    argv = ("compile", SMALL, *(FAST_PREFILL if prefill else FAST), flag, value)
    return Case(name, argv, USER_ERROR, SMALL_FILES, mentions or (flag,))


def _pass_list(value: str, *mentions: str) -> Case:
    """`meshc compile` with a hostile -p list (no --mapper: -p takes no named-pipeline
    options)."""
    argv = ("compile", SMALL, *(a for a in FAST if a not in ("--mapper", "heft")), "-p", value)
    return Case(f"cli-p-{value}"[:60], argv, USER_ERROR, SMALL_FILES, mentions)


def compile_cases() -> list[Case]:
    big, huge = str(10**15), str(10**20)
    return [
        *(_opt("--seq", v, prefill=True) for v in ("0", "-1", "1e15", "1e20", "abc", "")),
        _opt("--seq", big, "--limit|--seq", prefill=True),
        _opt("--seq", huge, "--limit|--seq", prefill=True),
        *(_opt("--kv-len", v) for v in ("0", "-5", "nan")),
        _opt("--kv-len", big, "--limit|--kv-len"),
        *(_opt("--batch", v) for v in ("0", "-1", "1.5")),
        _opt("--batch", big, "--limit|--batch"),
        *(_opt("--budget", v) for v in ("nan", "inf", "-inf", "0", "-1", "1e400")),
        _opt("--row-blocks", "0", prefill=True),
        _opt("--row-blocks", "64", "--limit|--row-blocks", prefill=True),
        _opt("--backend", "", "--backend"),
        _opt("--backend", ",,,", "--backend"),
        _opt("--backend", "nosuch", "nosuch"),
        _opt("--backend", "report,report", "report"),
        _opt("--pipeline", "nosuch", "nosuch"),
        _opt("--phase", "train"),
        _opt("--mapper", "magic"),
        _opt("--hw", "", "--hw"),
        *(_pass_list(v, m) for v, m in (("tile-grain{", "tile-grain"),
                                         ("tile-grain{grain=banana}", "grain"),
                                         ("nosuchpass", "nosuchpass"),
                                         (",,,", "-p|--passes|pass"))),
        # -p is the whole pipeline: options of a named one would be lost, so are refused
        _opt("-p", "tile-grain", "--mapper"),
        _opt("--frobnicate", "1"),
        Case("cli-no-model", ("compile",), USER_ERROR, {}, ("MODEL",)),
        Case("cli-unknown-model", compile_fast("nosuchmodel"), USER_ERROR, {}, ("nosuchmodel",)),
        Case("cli-empty-model", compile_fast(""), USER_ERROR, {}, ("model|MODEL",)),
        Case("cli-unknown-suffix", compile_fast("model.txt"), USER_ERROR, {"model.txt": TINY_YAML},
             ("model.txt",)),
        Case("cli-missing-model-file", compile_fast("missing.yaml"), USER_ERROR, {}, ("missing.yaml",)),
        Case("cli-model-dir-with-suffix", compile_fast("model.yaml"), USER_ERROR,
             {"model.yaml/x": "x"}, ("model.yaml",)),
    ]


def dim_cases() -> list[Case]:
    m = "m.onnx"
    out = []
    for value in ("seq=abc", "=5", "seq", "seq=-1", "seq=0", "seq=" + "9" * 30):
        out.append(Case(f"cli-dim-{value[:12]}", ("inspect", m, "--dim", value), USER_ERROR,
                        {m: MATMUL_ONNX}, ("--dim|--limit",)))
    return out


def other_cases() -> list[Case]:
    gemm = ("hw", "cost", "mesh-4x4", "--gemm")
    big = ",".join([str(10**15)] * 3)
    return [
        *(Case(f"cli-gemm-{v}", (*gemm, v), USER_ERROR, {}, ("--gemm",))
          for v in ("1e15,1e15,1e15", "a,b", "0,1,1", "1,2", "-1,2,3", "", "1,2,3,4")),
        Case("cli-gemm-huge", (*gemm, big), USER_ERROR, {}, ("--gemm|--limit",)),
        Case("cli-gemm-precision", (*gemm, "8,8,8", "--precision", "fp3"), USER_ERROR, {}, ("--precision",)),
        Case("cli-gemm-core", (*gemm, "8,8,8", "--core", "nosuch"), USER_ERROR, {}, ("--core",)),
        Case("cli-gemm-no-value", ("hw", "cost", "mesh-4x4", "--gemm"), USER_ERROR, {}, ("--gemm",)),
        Case("cli-hw-show-dev-zero", ("hw", "show", "/dev/zero"), USER_ERROR, {}, ("/dev/zero",), wall=8.0),
        Case("cli-hw-show-empty", ("hw", "show", ""), USER_ERROR, {}, ("NAME|FILE|hardware",)),
        Case("cli-inspect-format", ("inspect", "gpt2", "--format", "xml"), USER_ERROR, {}, ("--format",)),
        Case("cli-opt-missing-file", ("opt", "missing.mlir"), USER_ERROR, {}, ("missing.mlir",)),
        Case("cli-opt-o-missing-folder", ("opt", IR, "-o", "nodir/x.mlir"), USER_ERROR, {IR: MLIR},
             ("nodir",)),
        Case("cli-opt-hw-no-value", ("opt", IR, "--pipeline", "default", "--hw"), USER_ERROR, {IR: MLIR},
             ("--hw",)),
        Case("cli-opt-pipeline-no-value", ("opt", IR, "--pipeline"), USER_ERROR, {IR: MLIR},
             ("--pipeline",)),
        Case("cli-opt-pipeline-unknown", ("opt", IR, "--pipeline", "nosuch"), USER_ERROR, {IR: MLIR},
             ("nosuch",)),
        Case("cli-opt-p-malformed", ("opt", IR, "-p", "tile-grain{grain="), USER_ERROR, {IR: MLIR},
             ("tile-grain",)),
        Case("cli-opt-unknown-pass", ("opt", IR, "-p", "nosuchpass"), USER_ERROR, {IR: MLIR},
             ("nosuchpass",)),
        Case("cli-import-o-dir", ("import", "gpt2", "-o", "adir"), USER_ERROR, {"adir/x": "x"}, ("adir",)),
        Case("cli-limit-unknown", ("--limit", "nosuch=1", "models"), USER_ERROR, {}, ("--limit",)),
        Case("cli-limit-not-number", ("--limit", "dim=abc", "models"), USER_ERROR, {}, ("--limit",)),
        Case("cli-limit-cores-refuses", ("--limit", "cores=4", *compile_fast(SMALL)), USER_ERROR, SMALL_FILES,
             ("--limit",)),
        Case("cli-limit-raised-ok", ("--limit", "cores=64", *compile_fast(SMALL)), OK, SMALL_FILES,
             out="out"),
        Case("cli-ok-compile", compile_fast(SMALL), OK, SMALL_FILES, out="out", produces=("out/report.md",)),
        Case("cli-ok-compile-zoo", compile_fast("gpt2"), OK, {}, out="out", produces=("out/report.md",)),
        Case("cli-ok-inspect-json", ("inspect", "gpt2", "--seq", "16", "--format", "json"), OK),
        Case("cli-ok-hw-cost", (*gemm, "128,4096,4096"), OK),
        Case("cli-seed-huge", ("compile", SMALL, *FAST, "--seed", str(10**30)), EITHER, SMALL_FILES,
             ("--seed",), out="out"),
    ]


def cases() -> list[Case]:
    return compile_cases() + dim_cases() + other_cases()
