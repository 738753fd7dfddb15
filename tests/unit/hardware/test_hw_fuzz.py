"""Fuzzing the hardware loader: any YAML shaped like a hardware file either loads or fails
as one MeshcError; no other exception, no multi-line message."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshc.errors import MeshcError
from meshc.hardware import parse_hardware
from meshc.hardware.load import preset_path
from meshc.inputs import parse_yaml

BASES = {name: parse_yaml(preset_path(name).read_text(), name)
         for name in ("mesh-4x4", "tpu-v6e-like")}

ODD_VALUES = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from([0, -1, 1e-30, 1e300, 10**30, 16e9, "16e9", "", [0, 0], [[0, 0]], {},
                     "bf16", "output_stationary", "mlp", "7nm"]),
    st.lists(st.integers(-3, 5), max_size=3),
    st.dictionaries(st.sampled_from(["bf16", "int8", "x", "rows"]), st.integers(-2, 9),
                    max_size=2),
)


def _slots(tree: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every (container path, key) in the tree, the root's keys included."""
    out = []
    items = (tree.items() if isinstance(tree, dict)
             else enumerate(tree) if isinstance(tree, list) else ())
    for k, v in items:
        out.append((*path, k))
        out.extend(_slots(v, (*path, k)))
    return out


def _parent(tree: Any, path: tuple[Any, ...]) -> Any:
    for k in path[:-1]:
        tree = tree[k]
    return tree


@st.composite
def mutated_specs(draw: st.DrawFn) -> dict[str, Any]:
    spec = copy.deepcopy(BASES[draw(st.sampled_from(sorted(BASES)))])
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(spec)
        if not slots:
            break
        path = draw(st.sampled_from(slots))
        parent, key = _parent(spec, path), path[-1]
        action = draw(st.sampled_from(["replace", "replace", "delete", "extra", "grow"]))
        # deep copies: sampled_from hands out the same list object to every example
        if action == "replace":
            parent[key] = copy.deepcopy(draw(ODD_VALUES))
        elif action == "delete":
            del parent[key]
        elif action == "extra" and isinstance(parent, dict):
            extra = draw(st.sampled_from(["extra", "sram_byte", "clock", "1"]))
            parent[extra] = copy.deepcopy(draw(ODD_VALUES))
        elif action == "grow" and isinstance(parent[key], list):
            parent[key].append(copy.deepcopy(parent[key][0]) if parent[key] else 0)
    return spec


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs())
def test_mutated_hardware_loads_or_fails_as_one_line(spec: dict[str, Any]) -> None:
    text = yaml.safe_dump(spec, allow_unicode=True)
    try:
        hw = parse_hardware(text, "fuzz.yaml")
    except MeshcError as e:
        line = str(e)
        assert "\n" not in line and line.startswith("fuzz.yaml"), line
        return
    summary = hw.summary()  # the derived figures of whatever loaded are computable
    assert summary["cores"] == hw.mesh_rows * hw.mesh_cols <= 4096
