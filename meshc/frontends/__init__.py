"""Ways a model gets in: zoo names, spec files, Hugging Face config.json, ONNX, IR text."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp

from meshc.errors import MeshcError
from meshc.frontends.transformer import PHASES, Shape
from meshc.inputs import load_structured


@dataclass(frozen=True)
class ModelRequest:
    """What to import: a source and the phase shapes. `dims` binds symbolic ONNX dims."""

    source: str
    phases: tuple[str, ...] = PHASES
    shape: Shape = Shape()  # noqa: RUF009 - Shape is frozen
    dims: tuple[tuple[str, int], ...] = field(default=())


def load_model(req: ModelRequest) -> ModuleOp:
    """Imports a model as a verified `tfm` module (one function per phase)."""
    from meshc.frontends import hf, transformer, zoo

    src = req.source
    path = Path(src)
    if src in zoo.names():
        return transformer.build(zoo.get(src), _phases(zoo.get(src).kind, req), req.shape)
    if not path.suffix:
        raise MeshcError(f"unknown model '{src}'",
                         hint=f"zoo models: {', '.join(zoo.names())}; or give a .yaml, .json, "
                              ".onnx or .mlir file")
    suffix = path.suffix.lower()  # each reader refuses a missing file, a FIFO, a folder
    if suffix == ".mlir":
        from meshc.frontends.mlir import load as load_mlir

        return load_mlir(path)
    if suffix == ".onnx":
        from meshc.frontends.onnx import load as load_onnx

        return load_onnx(path, dict(req.dims), _onnx_defaults(req.shape))
    if suffix in (".json", ".yaml", ".yml"):
        # read once; a .json is a Hugging Face config.json or a spec by what it holds
        data = load_structured(path)
        if suffix == ".json" and hf.is_hf_config(data):
            arch = hf.from_config(data, src)
            try:
                return transformer.build(arch, _phases(arch.kind, req), req.shape)
            except MeshcError as e:
                raise e.located(file=src) from None
        from meshc.frontends.spec import from_data

        return from_data(data, src, req.phases, req.shape)
    raise MeshcError(f"unknown model file type '{path.suffix}'", file=src,
                     hint="meshc reads .yaml/.json specs, config.json, .onnx and .mlir")


def _onnx_defaults(shape: Shape) -> dict[str, int]:
    """The symbolic dimension names torch's exporters use, bound from --batch, --seq and
    --kv-len unless `--dim` binds them."""
    return {"batch": shape.batch, "batch_size": shape.batch, "seq": shape.seq,
            "sequence_length": shape.seq, "past_seq": shape.kv_len,
            "past_sequence_length": shape.kv_len}


def _phases(kind: str, req: ModelRequest) -> tuple[str, ...]:
    # An encoder has one forward pass: asking for "both" means its prefill.
    if kind == "encoder" and req.phases == PHASES:
        return ("prefill",)
    return req.phases

