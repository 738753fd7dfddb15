"""A point's settings resolved into what one compile needs, and its content key.

A point that overrides the model (`arch.*`) or the hardware (`hw.*`) carries the overridden
input as text (a spec with an `architecture:` form, a hardware YAML), validated here, so
that a bad key or value is a MeshcError naming it before any work; the worker puts the text
in a file for the compile. The key hashes everything the result depends on: the model's
content, the hardware file's content after overrides, the request, the options, the limits
in force, meshc's version and its code, so a cached outcome is reused only when it must be the same.

A point whose hw names a system of chips, or that sets `parallel`, is a system compile: its
key adds the system file and every chip file it names, the parallel degrees and, for
`parallel=auto`, the objective. `hw.*` overrides then set paths of the system file
(`hw.links.bytes_per_s`, `hw.chips.mlp.count`) when hw is a system, else of the chip's.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, replace
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

from meshc import limits
from meshc.driver import CompileOptions, pass_list
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest, zoo
from meshc.frontends.arch import Arch, arch_from_dict
from meshc.frontends.transformer import PHASES, Shape
from meshc.hardware.load import SYSTEM_DIR, is_system, preset_names, preset_path, validate_hardware
from meshc.hardware.system import System, load_system, system_names, validate_system
from meshc.inputs import load_structured, parse_yaml, read_bytes
from meshc.quality.tables import train_tokens
from meshc.studies.grid import PASS_KEYS, check_parallel, check_value

FORMAT = 3  # of the cached outcome: bump when the metrics a point records change


class PointFailure(MeshcError):
    """A point that cannot run (its shape is over a limit): a failed row, not a bad grid."""


@dataclass(frozen=True)
class Task:
    """One compile: `model_text`/`hw_text`, when set, replace the model / hardware file."""

    index: int
    model: str  # as the user gave it (zoo name or file)
    hw: str
    request: ModelRequest
    options: CompileOptions
    model_text: str = ""
    hw_text: str = ""
    limits: tuple[tuple[str, int], ...] = ()
    key: str = ""
    # a system compile: the degrees (grid.check_parallel's form, or "auto"; "" a chip
    # compile), the objective of "auto", and whether hw names a system (else a chip)
    parallel: str = ""
    objective: str = ""
    system: bool = False


def resolve(index: int, s: dict[str, Any]) -> Task:
    """The task of one point's settings (grid.settings). A bad override is a MeshcError
    naming its key; a shape over a limit a PointFailure."""
    model, hw = str(s["model"]), str(s["hw"])
    arch_over = {k[5:]: v for k, v in s.items() if k.startswith("arch.")}
    hw_over = {k[3:]: v for k, v in s.items() if k.startswith("hw.")}
    phases = PHASES if s["phase"] == "both" else (s["phase"],)
    try:
        shape = Shape(s["batch"], s["seq"], s["kv_len"])
    except MeshcError as e:
        raise PointFailure(e.message, where="--grid", hint=e.hint) from None
    opts = CompileOptions(pipeline=s["pipeline"], mapper=s["mapper"], budget=s["budget"],
                          seed=s["seed"], row_blocks=s["row_blocks"], cold=s["cold"],
                          train_tokens=s.get("train_tokens"),
                          quality_file=s.get("quality_file", ""))
    if arch_over and opts.train_tokens is None:  # the overridden spec's name matches no
        opts = replace(opts, train_tokens=base_train_tokens(model))  # table: the base's D
    pass_opts = {k: v for k, v in s.items() if k in PASS_KEYS}
    if pass_opts:
        opts = replace(opts, passes=with_pass_options(pass_list(opts), pass_opts))
    system = is_system(hw)
    parallel = check_parallel(s.get("parallel") or "tp=1") if system or s.get("parallel") \
        else ""
    objective = check_value("objective", s.get("objective", "latency")) \
        if parallel == "auto" else ""
    text = (_system_text if system else _hw_text)(hw, hw_over) if hw_over else ""
    task = Task(index, model, hw, ModelRequest(model, phases, shape), opts,
                model_text=_arch_text(model, arch_over) if arch_over else "",
                hw_text=text, limits=tuple((n, limits.get(n)) for n in sorted(limits.LIMITS)),
                parallel=parallel, objective=objective, system=system)
    return replace(task, key=content_key(task))


def base_train_tokens(model: str) -> int | None:
    """The pre-training tokens the shipped table gives `model` (None: none)."""
    entry = train_tokens().models.get(model)
    return entry.tokens if entry else None


def with_pass_options(spec: str, values: dict[str, Any]) -> str:
    """`spec` with options of its steps set: {"weights": "int8", "grain": 64} sets
    lower-quant's `weights` and tile-grain's `grain` (grid.PASS_KEYS)."""
    for key, value in sorted(values.items()):
        name, option = PASS_KEYS[key]
        step = re.search(rf"(?<![\w-]){re.escape(name)}(\{{[^}}]*\}})?", spec)
        if step is None:
            raise MeshcError(f"the pipeline has no {name} step to set {option} in",
                             where=f"--grid {key}")
        opts = dict(kv.split("=", 1) for kv in (step.group(1) or "{}")[1:-1].split() if kv)
        opts[option] = str(value)
        text = name + "{" + " ".join(f"{k}={v}" for k, v in opts.items()) + "}"
        spec = spec[:step.start()] + text + spec[step.end():]
    return spec


def base_arch(model: str) -> Arch:
    """The compact form of `model`: a zoo name, a config.json, or a spec's architecture."""
    if model in zoo.names():
        return zoo.get(model)
    path = Path(model)
    if path.suffix.lower() in (".json", ".yaml", ".yml"):
        from meshc.frontends import hf

        data = load_structured(path)
        if path.suffix.lower() == ".json" and hf.is_hf_config(data):
            return hf.from_config(data, model)
        if isinstance(data, dict) and isinstance(data.get("architecture"), dict):
            return arch_from_dict({"name": data.get("name", path.stem), "source": model,
                                   **data["architecture"]}, model)
    raise MeshcError("arch.* overrides need a model in the compact form", file=model,
                     hint="a zoo name, a config.json or a spec with `architecture:`")


def _arch_text(model: str, over: dict[str, Any]) -> str:
    """A spec (`architecture:` form) of `model` with its fields overridden."""
    arch = base_arch(model)
    data = arch.model_dump()
    for path, value in sorted(over.items()):
        if path == "mlp_mult":
            _mlp_mult(arch, data, value)
        else:
            _set(data, path.split("."), value, f"arch.{path}", "the model's compact form")
    try:
        new = arch_from_dict(data, model)
    except MeshcError as e:
        raise MeshcError(e.message, file=model, where=f"--grid arch.{e.where}" if e.where
                         else "--grid arch", hint=e.hint) from None
    fields = new.model_dump(exclude={"name", "source"})
    return yaml.safe_dump({"name": arch.name, "architecture": fields}, sort_keys=True)


def _mlp_mult(arch: Arch, data: dict[str, Any], m: Any) -> None:
    """arch.mlp_mult=M: the MLP (and each expert) M times as wide, rounded to an integer."""
    if isinstance(m, bool) or not isinstance(m, int | float) or not m > 0:
        raise MeshcError(f"expected a number > 0, got {m!r}", where="--grid arch.mlp_mult")
    data["intermediate"] = max(1, round(arch.intermediate * m))
    if arch.moe is not None:
        data["moe"]["expert_intermediate"] = max(1, round(arch.moe.expert_intermediate * m))


def hardware_file(hw: str) -> str:
    return str(preset_path(hw)) if hw in preset_names() else hw


def _hw_text(hw: str, over: dict[str, Any]) -> str:
    """The hardware YAML of `hw` with dotted paths set, validated."""
    data = load_structured(hardware_file(hw), what="hardware file")
    for path, value in sorted(over.items()):
        _set(data, path.split("."), value, f"hw.{path}", "the hardware file")
    try:
        validate_hardware(data, hw)
    except MeshcError as e:
        raise _overridden(e, hw, over) from None
    return yaml.safe_dump(data, sort_keys=True)


def _overridden(e: MeshcError, hw: str, over: dict[str, Any]) -> MeshcError:
    """A validation error of an overridden hardware or system file, naming the overrides."""
    where = ", ".join(f"hw.{p}={v}" for p, v in sorted(over.items()))
    return MeshcError(f"{e.where or ''}: {e.message}" if e.where else e.message,
                      file=hw, where=f"--grid {where}", hint=e.hint)


def system_file(hw: str) -> str:
    return str(SYSTEM_DIR / f"{hw}.yaml") if hw in system_names() else hw


def _system_text(hw: str, over: dict[str, Any]) -> str:
    """The system YAML of `hw` with dotted paths set, validated. Chip files are made
    absolute: the text is compiled from a temporary file, away from the system's folder."""
    path = system_file(hw)
    data = load_structured(path, what="system file")
    for key, value in sorted(over.items()):
        _set(data, key.split("."), value, f"hw.{key}", "the system file")
    for group in (data.get("chips") or {}).values() if isinstance(data, dict) else ():
        chip = group.get("hw") if isinstance(group, dict) else None
        if isinstance(chip, str) and chip not in preset_names():
            group["hw"] = str((Path(path).parent / chip).resolve())
    try:
        validate_system(data, path)
    except MeshcError as e:
        raise _overridden(e, hw, over) from None
    return yaml.safe_dump(data, sort_keys=True)


def _system_content(task: Task) -> dict[str, Any]:
    """The system's file (after overrides) and the chip files it names, hashed."""
    path = system_file(task.hw)
    if task.hw_text:
        system: System = validate_system(parse_yaml(task.hw_text, path), path)
        own = hashlib.sha256(task.hw_text.encode()).hexdigest()
    else:
        system, own = load_system(path), _file_digest(path)
    return {"system": own, "chips": {g.name: _file_digest(g.hw.source) for g in system.groups}}


def _set(data: Any, parts: list[str], value: Any, key: str, what: str) -> None:
    """Sets data[p0][p1]... = value; a path that names nothing is a MeshcError."""
    node = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            idx: Any = int(part)
        elif isinstance(node, dict) and part in node and (last or node[part] is not None):
            idx = part
        else:
            known = f" (it has {', '.join(sorted(map(str, node)))})" if isinstance(node, dict) \
                else ""
            raise MeshcError(f"{what} has no '{'.'.join(parts[:i + 1])}'{known}",
                             where=f"--grid {key}")
        if last:
            node[idx] = value
        node = node[idx]


def content_key(task: Task) -> str:
    """sha256 of everything the task's outcome depends on."""
    if task.model_text:
        model = task.model_text
    elif task.model in zoo.names():
        model = zoo.get(task.model).model_dump_json()
    else:
        model = _file_digest(task.model)
    hw: Any = _system_content(task) if task.system else (
        task.hw_text or _file_digest(hardware_file(task.hw)))
    req = task.request
    opts = task.options
    quality = _file_digest(opts.quality_file) if opts.quality_file else ""
    blob = json.dumps({"format": FORMAT, "meshc": version("meshc"), "code": code_digest(),
                       "model": model, "hw": hw, "phases": req.phases,
                       "shape": asdict(req.shape), "dims": req.dims,
                       "options": asdict(replace(opts, quality_file=quality)),
                       "limits": task.limits,
                       **({"parallel": task.parallel, "objective": task.objective}
                          if task.parallel else {})}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@cache
def code_digest() -> str:
    """sha256 of meshc's own sources and data: a version number does not change when the
    code under it does (an editable install, a development tree), and a cached outcome
    must never outlive the model that computed it."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".yaml") and p.is_file()):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _file_digest(path: str) -> str:
    """The content of an input file, hashed."""
    return hashlib.sha256(read_bytes(path)).hexdigest()
