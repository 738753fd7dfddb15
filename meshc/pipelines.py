"""Named pass pipelines, as short readable functions, and the runner that applies them.

A named pipeline is only a pass-list string: anything expressible here is also
expressible with `-p`. The runner verifies the IR after every pass.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.exceptions import DiagnosticException, PassFailedException, VerifyException

from meshc.errors import MeshcError, one_line
from meshc.registry import make_context, pass_factories

BF16 = "lower-quant{weights=bf16 acts=bf16 kv=bf16}"  # f32 exports run at bf16, as the cores do


def _flow(quant: str, policy: str, hw: str, mapper: str, row_blocks: int) -> str:
    """Every named pipeline: quantize, partition, (cut prefill into row blocks,) tile to the
    grain, map."""
    return ",".join([
        quant,
        f"partition-attn-mlp{{policy={policy} hw={hw}}}",
        *([f"split-rows{{parts={row_blocks}}}"] if row_blocks > 1 else []),
        f"tile-grain{{grain=auto hw={hw}}}",
        f"map-mesh{{hw={hw}{mapper}}}",
    ])


def default(hw: str, mapper: str = "", row_blocks: int = 1) -> str:
    """bf16, one shared region, grain chosen per op, mapped with CP-SAT."""
    return _flow(BF16, "shared", hw, mapper, row_blocks)


def quantized(hw: str, mapper: str = "", row_blocks: int = 1) -> str:
    """int4 weights in groups of 128, int8 KV cache; then as default."""
    return _flow("lower-quant{weights=int4 kv=int8 group=128}", "shared", hw, mapper,
                 row_blocks)


def disaggregated(hw: str, mapper: str = "", row_blocks: int = 1) -> str:
    """bf16; attention on the cores next to HBM, the MLP on the rest with weights in SRAM."""
    return _flow(BF16, "disaggregate", hw, mapper, row_blocks)


PIPELINES: dict[str, Callable[[str, str, int], str]] = {
    "default": default, "quantized": quantized, "disaggregated": disaggregated,
}


def pipeline_spec(name: str, hw: str, mapper: str = "", row_blocks: int = 1) -> str:
    """The pass list of a named pipeline; `mapper` holds extra map-mesh options
    (" mapper=heft seed=1": space-separated, with a leading space); `row_blocks` > 1 adds
    split-rows (prefill in that many row blocks)."""
    if name not in PIPELINES:
        raise MeshcError(f"unknown pipeline '{name}'", hint=f"known: {', '.join(PIPELINES)}")
    return PIPELINES[name](hw, mapper, row_blocks)


def parse_passes(spec: str) -> tuple[ModulePass, ...]:
    try:
        return tuple(PassPipeline.parse_spec(pass_factories(), spec).passes)
    except (ValueError, Exception) as e:
        if isinstance(e, MeshcError):
            raise
        raise MeshcError(f"bad pass pipeline '{spec}': {e}") from None


def apply(module: ModuleOp, spec: str,
          after_each: Callable[[ModulePass, ModuleOp], None] | None = None) -> ModuleOp:
    """Runs the passes of `spec` on `module` in place, verifying after each one."""
    ctx = make_context()
    for p in parse_passes(spec):
        try:
            p.apply(ctx, module)
            module.verify()
        except (PassFailedException, VerifyException, DiagnosticException) as e:
            msg = one_line(e).removeprefix(f"{p.name}: ")  # the place names the pass
            raise MeshcError(msg, where=f"pass {p.name}") from None
        if after_each is not None:
            after_each(p, module)
    return module
