"""Spec files (YAML and JSON): syntax, encodings, numbers, nesting, aliases, graph errors."""

from __future__ import annotations

import json
from typing import Any

from hostile_case import EITHER, OK, USER_ERROR, Case, Dir, Fifo, Link
from hostile_gen import LLAMA, TINY, TINY_YAML, compile_fast, dump_yaml, inspect_spec, mutated

Y = "model.yaml"
J = "model.json"


def _text(name: str, text: str | bytes, *mentions: str, file: str = Y) -> Case:
    """A spec file with this exact content, which `meshc inspect` must refuse."""
    return Case(f"spec-{name}", inspect_spec(file), USER_ERROR, {file: text}, (file, *mentions))


def _graph(name: str, path: str, value: Any, where: str, delete: bool = False) -> Case:
    """tiny-decoder with one value changed; the error must name `where`."""
    return _text(name, dump_yaml(mutated(TINY, path, value, delete)), where)


def _arch(name: str, path: str, value: Any, *mentions: str, base: Any = None) -> Case:
    return Case(f"spec-arch-{name}", ("inspect", Y, "--seq", "16", "--kv-len", "16"), USER_ERROR,
                {Y: dump_yaml(mutated(LLAMA if base is None else base, path, value))},
                (Y, *mentions))


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + f"\ngraph: *a{levels}\n"


def syntax_cases() -> list[Case]:
    deep = 100_000
    return [
        _text("yaml-malformed", "graph:\n  inputs: [\n  nodes: {a: 1\n", "line"),
        _text("json-malformed", '{"graph": {"inputs": [1, 2,]}}', "line", file=J),
        _text("yaml-tab-indent", "graph:\n\tinputs: []\n", "line"),
        _text("yaml-empty", ""),
        _text("json-empty", "", file=J),
        _text("yaml-only-comment", "# nothing here\n"),
        _text("yaml-top-list", "- graph\n- nodes\n"),
        _text("yaml-top-scalar", "42\n"),
        _text("json-top-null", "null", file=J),
        _text("binary-garbage", bytes(range(256)) * 8),
        _text("non-utf8", b"# caf\xe9\n" + TINY_YAML.encode(), "line 1"),
        _text("utf16", TINY_YAML.encode("utf-16")),
        _text("nul-bytes", "graph:\x00\n  nodes: []\n"),
        _text("python-tag", "!!python/object/apply:os.system ['touch pwned']\n"),
        _text("yaml-deep-flow-seq", "graph: " + "[" * deep + "]" * deep + "\n"),
        _text("yaml-deep-flow-map", "graph: " + "{a: " * deep + "1" + "}" * deep + "\n"),
        _text("json-deep", '{"graph": ' + "[" * deep + "]" * deep + "}", file=J),
        _text("yaml-alias-bomb", _alias_bomb()),
        _text("yaml-recursive-alias", "graph: &g {nodes: [*g]}\n"),
        _text("yaml-duplicate-key", "graph:\n  inputs: []\n  nodes: []\n  inputs: []\n", "line 4"),
        _text("json-duplicate-key", '{"graph": {}, "graph": {}}', "graph", file=J),
        _text("json-nan", '{"graph": NaN}', file=J),
        _text("json-5000-digits", '{"graph": {"inputs": [{"name": "x", "shape": [' + "9" * 5000
              + "]}]}}", file=J),
        _text("yaml-5000-digits", TINY_YAML.replace("[1000, 256]", "[" + "7" * 5000 + ", 256]")),
        _text("json-huge-exponent", json.dumps(TINY).replace("[1000, 256]", "[1e999, 256]"),
              "graph.weights[0]", file=J),
        Case("spec-too-large", inspect_spec(Y), USER_ERROR, {Y: lambda _: b"#" * 65_000_001},
             (Y, "--limit")),
        _text("both-forms", dump_yaml({**TINY, "architecture": LLAMA["architecture"]})),
        _text("neither-form", "name: x\n"),
        Case("spec-fifo", inspect_spec(Y), USER_ERROR, {Y: Fifo()}, (Y,), wall=8.0),
        Case("spec-dev-zero", inspect_spec(Y), USER_ERROR, {Y: Link("/dev/zero")}, (Y,), wall=8.0),
        Case("spec-directory", inspect_spec(Y), USER_ERROR, {Y: Dir()}, (Y,)),
        Case("spec-symlink-loop", inspect_spec("a.yaml"), USER_ERROR,
             {"a.yaml": Link("b.yaml"), "b.yaml": Link("a.yaml")}, ("a.yaml",)),
        Case("spec-dangling-symlink", inspect_spec(Y), USER_ERROR, {Y: Link("gone.yaml")}, (Y,)),
    ]


def graph_cases() -> list[Case]:
    w0, w1 = "graph.weights.0.shape", "graph.weights.1.shape"
    return [
        _graph("dim-zero", w1, [0], "graph.weights[1].shape[0]"),
        _graph("dim-negative", w1, [-256], "graph.weights[1].shape[0]"),
        _graph("dim-bool", w1, [True], "graph.weights[1].shape[0]"),
        _graph("dim-float", w1, [256.5], "graph.weights[1].shape[0]"),
        _graph("dim-nan", w1, [float("nan")], "graph.weights[1].shape[0]"),
        _graph("dim-inf", w1, [float("inf")], "graph.weights[1].shape[0]"),
        _graph("dim-huge", w0, [10**30, 256], "graph.weights[0]"),
        _graph("dim-2p62", w0, [2**62, 256], "graph.weights[0]"),
        _graph("elements-2p80", w0, [2**20, 2**20, 2**20, 2**20], "graph.weights[0]"),
        _graph("shape-not-list", w1, 256, "graph.weights[1].shape"),
        _graph("dtype-unknown", "graph.weights.1.dtype", "bf61", "graph.weights[1].dtype"),
        _graph("unknown-op", "graph.nodes.1.op", "gemm", "graph.nodes[1].op"),
        _graph("lookalike-op", "graph.nodes.2.op", "l\u0456near", "graph.nodes[2].op"),
        _graph("op-with-newline", "graph.nodes.1.op", "rms\nnorm", "graph.nodes[1].op"),
        _graph("op-not-string", "graph.nodes.1.op", ["rmsnorm"], "graph.nodes[1].op"),
        _graph("op-null", "graph.nodes.1.op", None, "graph.nodes[1].op"),
        _graph("missing-op", "graph.nodes.1.op", None, "graph.nodes[1]", delete=True),
        _graph("self-cycle", "graph.nodes.1.inputs.0", "h0", "graph.nodes[1].inputs[0]"),
        _graph("two-node-cycle", "graph.nodes.2.inputs.0", "qr", "graph.nodes[2].inputs[0]"),
        _graph("unknown-input", "graph.nodes.2.inputs.0", "h7", "graph.nodes[2].inputs[0]"),
        _graph("nodes-not-list", "graph.nodes", {"a": 1}, "graph.nodes"),
        _graph("nodes-empty", "graph.nodes", [], "graph"),
        _graph("name-bool", "graph.nodes.2.inputs.1", True, "graph.nodes[2].inputs[1]"),
        _graph("attr-heads-zero", "graph.nodes.9.attributes.heads", 0,
               "graph.nodes[9].attributes.heads"),
        _graph("attr-heads-huge", "graph.nodes.9.attributes.heads", 10**12,
               "graph.nodes[9].attributes.heads"),
        _graph("attr-heads-bool", "graph.nodes.9.attributes.heads", True,
               "graph.nodes[9].attributes.heads"),
        _graph("unknown-phase", "graph.phase", "train", "graph.phase"),
        Case("spec-wrong-phase", ("inspect", Y, "--phase", "decode"), USER_ERROR,
             {Y: TINY_YAML}, (Y,)),
    ]


def arch_cases() -> list[Case]:
    a = "architecture"
    return [
        _arch("zero-layers", f"{a}.layers", 0, f"{a}.layers"),
        _arch("bool-layers", f"{a}.layers", True, f"{a}.layers"),
        _arch("huge-layers", f"{a}.layers", 10**9, "--limit"),
        # the embedding table (vocab x hidden) is over the `dim` limit of one tensor
        _arch("huge-hidden", f"{a}.hidden", 10**13, "--limit"),
        # without an explicit head_dim (tiny-llama gives one: then 3 heads are legitimate)
        _arch("heads-not-dividing", f"{a}.heads", 3, f"{a}",
              base=mutated(LLAMA, f"{a}.head_dim", None, True)),
        _arch("nan-hidden", f"{a}.hidden", float("nan"), f"{a}.hidden"),
        _arch("vocab-negative", f"{a}.vocab", -1000, f"{a}.vocab"),
    ]


def ok_cases() -> list[Case]:
    unicode = mutated(TINY, "graph.nodes.1.name", "正規化-①")
    unicode = mutated(unicode, "name", "модель ✓")
    return [
        Case("spec-ok-yaml", inspect_spec(Y), OK, {Y: TINY_YAML}),
        Case("spec-ok-json", inspect_spec(J), OK, {J: json.dumps(TINY)}),
        Case("spec-ok-compile", compile_fast(Y, prefill=True), OK, {Y: TINY_YAML}, out="out",
             produces=("out/report.md",)),
        Case("spec-ok-unicode-names", inspect_spec(Y), OK, {Y: dump_yaml(unicode)}),
        Case("spec-ok-unicode-file-name", compile_fast("模型 spec.yaml", prefill=True), OK,
             {"模型 spec.yaml": TINY_YAML}, out="out", produces=("out/report.md",)),
        # a comment in Latin-1 is not UTF-8; refusing or reading it are both honest
        Case("spec-latin1-comment-only", inspect_spec(Y), EITHER,
             {Y: TINY_YAML.encode() + b"# \xe9t\xe9\n"}, (Y,)),
    ]


def cases() -> list[Case]:
    return syntax_cases() + graph_cases() + arch_cases() + ok_cases()
