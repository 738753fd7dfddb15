"""IR text (.mlir, for `meshc compile` and `meshc opt`) and Hugging Face config.json."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hostile_case import OK, USER_ERROR, Case, Fifo
from hostile_gen import GPT2_CONFIG, LLAMA_CONFIG, compile_fast

R = "m.mlir"
C = "config.json"
T = "tensor<1x8x256xbf16>"
W = "tensor<256x256xbf16>"
IR = f"""builtin.module {{
  func.func @prefill(%x: {T}) -> {T} {{
    %w = tfm.weight "w" layer 0 mlp : {W}
    %y = tfm.linear %x, %w layer 0 mlp : {T}, {W} -> {T}
    func.return %y : {T}
  }}
}}
"""
# what tile-grain reads: the IR after partition-attn-mlp, made by meshc itself in a setup run
PARTITION = ("opt", "plain.mlir", "-p", "partition-attn-mlp", "-o", "parted.mlir")


def _residency(value: str | None) -> Callable[[Path], bytes]:
    """The partitioned IR with the weight's `meshc.residency` set to `value` (None: as is)."""
    def build(work: Path) -> bytes:
        text = (work / "parted.mlir").read_text()
        if value is not None:
            text = re.sub(r'meshc\.residency = (#meshc<[^>]*>|"[^"]*")', f"meshc.residency = {value}", text)
        return text.encode()
    return build


def _parted(name: str, value: str | None, argv: tuple[str, ...], expect: str = USER_ERROR,
            mentions: tuple[str, ...] = (R, "meshc.residency")) -> Case:
    """The typed attribute's own parse error (`m.mlir:3:111: Expected sram, or hbm`) is
    located by line and column; a wrongly typed value must name the attribute."""
    return Case(f"ir-{name}", argv, expect, {"plain.mlir": IR}, mentions if value else (),
                before=(PARTITION,), later_files={R: _residency(value)})


COMPILE_IR = compile_fast(R, prefill=True)


def _ir(name: str, text: str | bytes, *mentions: str, argv: tuple[str, ...] = COMPILE_IR) -> Case:
    return Case(f"ir-{name}", argv, USER_ERROR, {R: text}, (R, *mentions))


def ir_cases() -> list[Case]:
    opt = ("opt", R, "-p", "tile-grain")
    return [
        _ir("non-utf8", IR.encode().replace(b'"w"', b'"\xff"'), "2"),
        _ir("parse-error", IR.replace("func.return", "func.retrun ="), "5"),
        _ir("unterminated", IR[:60]),
        _ir("empty", ""),
        _ir("no-function", "builtin.module {\n}\n"),
        _ir("unknown-op", IR.replace("func.return %y", '"evil.op"() : () -> ()\n    func.return %y')),
        _ir("unknown-dialect-attr", IR.replace("mlp :", 'mlp {evil = #evil.attr<"x">} :', 1)),
        _ir("type-mismatch", IR.replace(f"-> {T}\n    func", "-> tensor<1x8x255xbf16>\n    func", 1)),
        _ir("huge-tensor", IR.replace("1x8x256", "1x99999999999999999999x256")),
        _ir("deep-regions", "builtin.module {" * 20_000 + "}" * 20_000),
        _parted("residency-hmb-opt", '"hmb"', opt),
        _parted("residency-enum-hmb-opt", "#meshc<residency hmb>", opt, mentions=(R, "hbm")),
        _parted("residency-int-opt", "7", opt),
        _parted("residency-hmb-compile", '"hmb"', COMPILE_IR),
        Case("ir-fifo", COMPILE_IR, USER_ERROR, {R: Fifo()}, (R,), wall=8.0),
        Case("ir-ok-compile", COMPILE_IR, OK, {R: IR}, out="out", produces=("out/report.md",)),
        _parted("ok-opt", None, opt, OK),
    ]


def _hf(name: str, cfg: Any, *mentions: str) -> Case:
    text = cfg if isinstance(cfg, str) else json.dumps(cfg)
    return Case(f"hf-{name}", ("inspect", C, "--seq", "16", "--kv-len", "16"), USER_ERROR, {C: text},
                (C, *mentions))


def hf_cases() -> list[Case]:
    g, ll = GPT2_CONFIG, LLAMA_CONFIG
    drop = {k: v for k, v in g.items() if k != "n_embd"}
    return [
        _hf("model-type-vit", {**g, "model_type": "vit", "architectures": ["ViTModel"]}, "vit"),
        _hf("model-type-t5", {**g, "model_type": "t5", "architectures": ["T5Model"]}, "t5"),
        _hf("model-type-mamba", {**g, "model_type": "mamba", "architectures": ["MambaForCausalLM"]},
            "mamba"),
        _hf("missing-hidden", drop, "n_embd"),
        _hf("hidden-true", {**g, "n_embd": True}, "n_embd"),
        _hf("hidden-string", {**g, "n_embd": "768"}, "n_embd"),
        _hf("hidden-float", {**g, "n_embd": 768.5}, "n_embd"),
        _hf("heads-not-dividing", {**g, "n_head": 7}, "n_head"),
        _hf("heads-zero", {**g, "n_head": 0}, "n_head"),
        _hf("layers-huge", {**g, "n_layer": 10**9}, "--limit"),
        _hf("vocab-negative", {**g, "vocab_size": -1}, "vocab_size"),
        _hf("llama-kv-heads-not-dividing", {**ll, "num_key_value_heads": 5}, "num_key_value_heads"),
        _hf("llama-intermediate-nan", json.dumps({**ll, "intermediate_size": 1}).replace(
            '"intermediate_size": 1', '"intermediate_size": NaN')),
        _hf("model-type-list", {**g, "model_type": ["gpt2"]}, "model_type"),
        _hf("duplicate-key", json.dumps(g)[:-1] + ', "n_head": 7}', "n_head"),
        _hf("malformed", json.dumps(g)[:-2], "line"),
        Case("hf-ok-gpt2", ("inspect", C, "--seq", "16", "--kv-len", "16"), OK, {C: json.dumps(g)}),
    ]


def cases() -> list[Case]:
    return ir_cases() + hf_cases()
