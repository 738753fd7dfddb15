"""Builds every hostile-input case as data. `python tests/hostile/hostile_gen.py` lists them.

Each surface has its own module (hcases_*.py) with a `cases()` function; this one holds
what they share: the fixtures they mutate and the fast settings of runs that must compile.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))

from hostile_case import Case

FIXTURES = Path(__file__).parents[1] / "fixtures"
TINY_YAML = (FIXTURES / "spec" / "tiny-decoder.yaml").read_text()
TINY: dict[str, Any] = yaml.safe_load(TINY_YAML)
LLAMA_YAML = (FIXTURES / "spec" / "tiny-llama.yaml").read_text()
LLAMA: dict[str, Any] = yaml.safe_load(LLAMA_YAML)
# the smallest model with both phases: what runs that must compile use
SMALL = "tiny.yaml"
SMALL_FILES = {SMALL: LLAMA_YAML}
GPT2_CONFIG: dict[str, Any] = json.loads((FIXTURES / "hf" / "gpt2" / "config.json").read_text())
LLAMA_CONFIG: dict[str, Any] = json.loads(
    (FIXTURES / "hf" / "llama3-8b" / "config.json").read_text())



class _Yaml12(yaml.SafeLoader):
    """Reads `4.0e9` as a float, as meshc's hardware loader does (YAML 1.2)."""


_Yaml12.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))
MESH_YAML = (Path(__file__).parents[2] / "meshc" / "hardware" / "presets" / "mesh-4x4.yaml").read_text()
MESH: dict[str, Any] = yaml.load(MESH_YAML, Loader=_Yaml12)

# Runs that must compile do so in well under a second with these.
FAST = ("--hw", "mesh-4x4", "--mapper", "heft", "--phase", "decode", "--seq", "64",
        "--kv-len", "64", "--backend", "report")
FAST_PREFILL = ("--hw", "mesh-4x4", "--mapper", "heft", "--phase", "prefill", "--seq", "16",
                "--backend", "report")


def compile_fast(model: str, *extra: str, prefill: bool = False) -> tuple[str, ...]:
    return ("compile", model, *(FAST_PREFILL if prefill else FAST), *extra)


def inspect_spec(model: str, *extra: str) -> tuple[str, ...]:
    return ("inspect", model, "--phase", "prefill", "--seq", "16", *extra)


def mutated(base: dict[str, Any], path: str, value: Any, delete: bool = False) -> dict[str, Any]:
    """`base` with the value at dotted `path` (`graph.nodes.3.op`) replaced or deleted."""
    data = copy.deepcopy(base)
    *parents, last = path.split(".")
    obj: Any = data
    for p in parents:
        obj = obj[int(p)] if isinstance(obj, list) else obj[p]
    key: Any = int(last) if isinstance(obj, list) else last
    if delete:
        del obj[key]
    else:
        obj[key] = value
    return data


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def all_cases() -> list[Case]:
    import hcases_cli
    import hcases_hw
    import hcases_onnx
    import hcases_out
    import hcases_spec
    import hcases_text

    cases = [c for m in (hcases_spec, hcases_hw, hcases_onnx, hcases_text, hcases_cli,
                         hcases_out) for c in m.cases()]
    names = [c.name for c in cases]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate case names: {dupes}")
    return cases


if __name__ == "__main__":
    for c in all_cases():
        print(f"{c.name:45s} {c.expect:17s} meshc {' '.join(c.argv)}"[:160])
    print(f"{len(all_cases())} cases")
