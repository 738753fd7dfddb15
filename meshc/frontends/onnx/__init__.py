"""ONNX frontend: imports a model exported by PyTorch (TorchScript or dynamo exporter,
opsets 14 to 23) as one `func.func @graph` of `tfm` ops.

    load(path, dims) -> ModuleOp

Pipeline: `reader` (parse and check the file: never external data) -> `infer` (bind
symbolic dims, shapes, dtypes and constant values) -> `fuse` (recognise linears, norms,
activations, rope, KV appends) -> `blocks` (layer and attention/mlp/other from the
residual structure) -> `emit` (tfm ops through GraphBuilder). See docs/onnx.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp

from meshc.frontends.onnx.blocks import Layers, tag_units
from meshc.frontends.onnx.emit import Emitter
from meshc.frontends.onnx.fuse import Fuser
from meshc.frontends.onnx.infer import Inference
from meshc.frontends.onnx.reader import build_graph, read_model

__all__ = ["Layers", "load", "load_with_info"]


def load(path: Path, dims: Mapping[str, int] | None = None,
         defaults: Mapping[str, int] | None = None) -> ModuleOp:
    """Imports `path` as a verified module with one function, `graph`. `dims` binds
    symbolic dimensions; `defaults` binds those of its names the model has and `dims`
    leaves unbound."""
    return load_with_info(path, dims, defaults)[0]


def load_with_info(path: Path, dims: Mapping[str, int] | None = None,
                   defaults: Mapping[str, int] | None = None) -> tuple[ModuleOp, Layers]:
    """`load`, plus what block tagging found (number of layers, and how)."""
    path = Path(path)
    model = read_model(path)
    graph = build_graph(model, str(path))
    del model
    vals = Inference(graph, dict(dims or {}), defaults).run()
    # Past the reader and inference every model is well formed: an exception from here on
    # is a bug in meshc, which the CLI reports as one (exit 70), not as the user's mistake.
    fuser = Fuser(graph, vals)
    units = fuser.run()
    layers = tag_units(units, fuser, [i.name for i in graph.inputs])
    return Emitter(graph, vals, units, fuser).run(), layers
