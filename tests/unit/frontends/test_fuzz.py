"""Fuzzing the spec and config.json frontends: whatever the data, the result is a module
or a MeshcError, never another exception (which the CLI would report as a meshc bug).

Each example starts from a valid input (the documented graph spec, a compact spec, a
published config.json) and changes one to three places in it: a wrong type, a missing
key, a huge, negative or non-finite number, a deep nest or a unicode string. Fully random
documents are parsed from YAML/JSON text as well.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshc.errors import MeshcError
from meshc.frontends import hf, spec, transformer
from meshc.frontends.transformer import PHASES, Shape
from meshc.inputs import parse_json, parse_yaml

FIXTURES = Path(__file__).parents[2] / "fixtures"
SHAPE = Shape(batch=1, seq=4, kv_len=4)
GRAPH = yaml.safe_load((FIXTURES / "spec" / "tiny-decoder.yaml").read_text())
ARCH = yaml.safe_load((FIXTURES / "spec" / "tiny-llama.yaml").read_text())

def _config(name: str) -> dict[str, Any]:
    """A published config cut to two layers (one dense, one MoE), to build quickly."""
    cfg = json.loads((FIXTURES / "hf" / name / "config.json").read_text())
    layers = "n_layer" if "n_layer" in cfg else "num_hidden_layers"
    return cfg | {layers: 2} | ({"first_k_dense_replace": 1} if "first_k_dense_replace" in cfg
                                else {})


CONFIGS = [_config(n) for n in ("gpt2", "llama3-8b", "deepseek-v3", "minilm-l6", "gemma-2-9b",
                                "mixtral-8x7b")]
FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NUMBERS = st.sampled_from([0, -1, 1, 2, 3, 7, 64, 1.5, 2.0, -0.0, float("nan"), float("inf"),
                           -float("inf"), 10**6, 2**40, 2**62, 2**63, 2**64, 10**30, True,
                           False])
TEXT = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "batch", "seq", "kv_len", "silu", "rmsnorm", "linear", "attention", "mla", "gpt2",
     "llama", "bert", "vit", "l\u0456near", "x0", "h0", "\u00e9", "\U0001F600", "null"])
SCALARS = NUMBERS | TEXT | st.none() | st.integers(-(2**70), 2**70)


def _nest(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if depth % 2 else {"a": value}
    return value


VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(TEXT, inner, max_size=4), max_leaves=8) | st.builds(
    _nest, st.integers(1, 200))


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """`base` with one to three places replaced, deleted or given a new key."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        value = draw(VALUES)
        if not path:
            return value
        parent = data
        for p in path[:-1]:
            parent = parent[p]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(TEXT)] = value
        else:
            parent[path[-1]] = value
    return data


def _only_meshc_errors(build: Any) -> None:
    try:
        build()
    except MeshcError as e:
        assert str(e) and "\n" not in e.message, repr(e.message)


@FUZZ
@given(mutated(GRAPH))
def test_graph_spec(data: Any) -> None:
    _only_meshc_errors(lambda: spec.from_data(data, "fuzz.yaml", PHASES, SHAPE))


@FUZZ
@given(mutated(ARCH))
def test_compact_spec(data: Any) -> None:
    _only_meshc_errors(lambda: spec.from_data(data, "fuzz.yaml", PHASES, SHAPE))


@FUZZ
@given(st.sampled_from(range(len(CONFIGS))).flatmap(lambda i: mutated(CONFIGS[i])))
def test_hf_config(cfg: Any) -> None:
    def load() -> None:
        arch = hf.from_config(cfg, "fuzz/config.json")
        phases = ("prefill",) if arch.kind == "encoder" else PHASES
        transformer.build(arch, phases, SHAPE)

    _only_meshc_errors(load)


@FUZZ
@given(VALUES, st.booleans())
def test_random_documents(doc: Any, as_json: bool) -> None:
    def load() -> None:
        if as_json:
            data = parse_json(json.dumps(doc, allow_nan=True), "fuzz.json")
        else:
            data = parse_yaml(yaml.safe_dump(doc, allow_unicode=True), "fuzz.yaml")
        if hf.is_hf_config(data):
            hf.from_config(data, "fuzz.json")
        else:
            spec.from_data(data, "fuzz.yaml", PHASES, SHAPE)

    _only_meshc_errors(load)
