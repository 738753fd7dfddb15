"""Named pass pipelines, as short readable functions, and the runner that applies them.

A named pipeline is only a pass-list string: anything expressible here is also
expressible with `-p`. The hardware is not part of it: it is recorded once in the module
(`set_hardware`, the `meshc.hw` attribute) and every pass reads it from there. The runner
verifies the IR after every pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    PassFailedException,
    VerifyException,
)

from meshc.errors import MeshcError, one_line
from meshc.passes._common import hardware_conflict, record_hardware
from meshc.passes.lower_quant import QUANTIZED
from meshc.registry import make_context, pass_factories

BF16 = "lower-quant{weights=bf16 acts=bf16 kv=bf16}"  # f32 exports run at bf16, as the cores do


def _flow(quant: str, policy: str, mapper: str, row_blocks: int) -> str:
    """Every named pipeline: quantize, partition, (cut prefill into row blocks,) tile to the
    grain, map."""
    return ",".join([
        quant,
        f"partition-attn-mlp{{policy={policy}}}",
        *([f"split-rows{{parts={row_blocks}}}"] if row_blocks > 1 else []),
        "tile-grain{grain=auto}",
        f"map-mesh{{{mapper.strip()}}}" if mapper.strip() else "map-mesh",
    ])


def default(mapper: str = "", row_blocks: int = 1) -> str:
    """bf16, one shared region, grain chosen per op, mapped with CP-SAT."""
    return _flow(BF16, "shared", mapper, row_blocks)


def quantized(mapper: str = "", row_blocks: int = 1) -> str:
    """int4 weights in groups of 128, int8 KV cache; then as default."""
    q = " ".join(f"{k}={v}" for k, v in QUANTIZED.items())
    return _flow(f"lower-quant{{{q}}}", "shared", mapper, row_blocks)


def disaggregated(mapper: str = "", row_blocks: int = 1) -> str:
    """bf16; attention on the cores next to HBM, the MLP on the rest with weights in SRAM."""
    return _flow(BF16, "disaggregate", mapper, row_blocks)


PIPELINES: dict[str, Callable[[str, int], str]] = {
    "default": default, "quantized": quantized, "disaggregated": disaggregated,
}


def pipeline_spec(name: str, mapper: str = "", row_blocks: int = 1) -> str:
    """The pass list of a named pipeline; `mapper` holds extra map-mesh options
    ("mapper=heft seed=1", space-separated); `row_blocks` > 1 adds split-rows (prefill in
    that many row blocks). The hardware comes from the module (`set_hardware`)."""
    if name not in PIPELINES:
        raise MeshcError(f"unknown pipeline '{name}'", hint=f"known: {', '.join(PIPELINES)}")
    return PIPELINES[name](mapper, row_blocks)


def insert_passes(spec: str, inserts: Sequence[tuple[str, str, str]]) -> str:
    """`spec` with passes added around its steps: each insert is (`after` or `before`, the
    name of a step of `spec`, one pass with its options), so that a plug-in pass joins a
    named pipeline without rewriting it. An unknown step or a bad pass is a MeshcError."""
    steps = split_steps(spec)
    for where, step, new in inserts:
        names = [s.split("{", 1)[0].strip() for s in steps]
        if step not in names:
            raise MeshcError(f"the pipeline has no step '{step}'", where=f"--pass-{where}",
                             hint=f"its steps: {', '.join(names)}")
        if len(split_steps(new)) != 1:
            raise MeshcError(f"takes one pass, got '{new}'", where=f"--pass-{where}",
                             hint="repeat the option to add several")
        parse_passes(new)  # the pass exists and its options are right
        i = names.index(step) if where == "before" else len(names) - names[::-1].index(step)
        steps.insert(i, new.strip())
    return ",".join(steps)


def split_steps(spec: str) -> list[str]:
    """The steps of a pass list: its top-level comma-separated parts."""
    steps: list[str] = []
    cur: list[str] = []
    depth, quote = 0, ""
    for ch in spec:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "{}":
            depth += 1 if ch == "{" else -1
        elif ch == "," and depth == 0:
            steps.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    steps.append("".join(cur).strip())
    return [s for s in steps if s]


def _spec_error(e: ArgSpecParseError, spec: str) -> MeshcError:
    """xDSL's multi-line message (`pass-pipeline:1:38`, the spec, a caret, the reason) as
    one line."""
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    reason = lines[-1].strip() if lines else "cannot parse"
    col = lines[1].rsplit(":", 1)[-1] if len(lines) > 1 else "?"
    hint = 'quote values with "/", spaces or other symbols: hw="./my.yaml"'
    return MeshcError(f"bad pass pipeline: {reason} at column {col} of '{spec}'",
                      hint=hint if "Unknown" in reason else None)


def parse_passes(spec: str) -> tuple[ModulePass, ...]:
    """The passes of a pass-list string; a malformed one is a MeshcError."""
    try:
        return tuple(PassPipeline.parse_spec(pass_factories(), spec).passes)
    except ArgSpecParseError as e:  # a BaseException in xDSL 0.74: catch it by name
        raise _spec_error(e, spec) from None
    except ValueError as e:  # unknown pass, unknown option, wrong option type
        raise MeshcError(f"bad pass pipeline: {one_line(e)} in '{spec}'") from None


def set_hardware(module: ModuleOp, hw: str) -> None:
    """Records `hw` (a preset name or YAML path) as the hardware `module` is compiled for;
    every pass then reads it. A module that already records another machine is an error."""
    try:
        why = hardware_conflict(module, hw, f"--hw {hw}")
    except VerifyException as e:
        raise MeshcError(one_line(e), where="module attribute meshc.hw") from None
    if why:
        raise MeshcError(why)
    record_hardware(module, hw)


def apply(module: ModuleOp, spec: str,
          after_each: Callable[[ModulePass, ModuleOp], None] | None = None, *,
          hw: str | None = None) -> ModuleOp:
    """Runs the passes of `spec` on `module` in place, verifying after each one; with `hw`,
    records that hardware in the module first (`set_hardware`)."""
    passes = parse_passes(spec)
    if hw is not None:
        set_hardware(module, hw)
    ctx = make_context()
    for p in passes:
        try:
            p.apply(ctx, module)
            module.verify()
        except (PassFailedException, VerifyException, DiagnosticException) as e:
            msg = one_line(e).removeprefix(f"{p.name}: ")  # the place names the pass
            raise MeshcError(msg, where=f"pass {p.name}") from None
        if after_each is not None:
            after_each(p, module)
    return module
