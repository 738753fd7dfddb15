"""YAML -> Hardware. The only module that sees raw dicts; every failure is a MeshcError
naming the file and the YAML path (`core_types.mlp.sram_bytes`, `hbm.stacks[1].attach`)."""

from __future__ import annotations

import difflib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from meshc import limits
from meshc.errors import MeshcError
from meshc.hardware import model
from meshc.hardware.model import SCHEMA_VERSION, FieldError, Hardware
from meshc.inputs import load_structured, parse_yaml

SYSTEM_DIR = Path(__file__).parent / "systems"
PRESET_DIR = Path(__file__).parent / "presets"
_SCHEMA_HINT = "`meshc hw schema` lists every field with its unit"


@lru_cache(maxsize=1)
def preset_names() -> tuple[str, ...]:
    """Names of the built-in presets, sorted."""
    return tuple(sorted(p.stem for p in PRESET_DIR.glob("*.yaml")))


def preset_path(name: str) -> Path:
    return PRESET_DIR / f"{name}.yaml"


def load_hardware(source: str | os.PathLike[str]) -> Hardware:
    """A preset by name, or a YAML file by path; cached per file and modification time."""
    path = _resolve(source)
    try:
        real, mtime = os.path.realpath(path), os.stat(path).st_mtime_ns
    except OSError:  # missing, a symlink loop...: reading it names the problem
        return _load(path)
    # the limits in force are part of the key: `--limit cores=N` changes what validates
    return _load_cached(real, mtime, path, limits.get("cores"), limits.get("text_mb"))


@lru_cache(maxsize=128)
def _load_cached(real: str, mtime_ns: int, path: str, *limits_in_force: int) -> Hardware:
    return _load(path)


def _load(path: str) -> Hardware:
    return validate_hardware(load_structured(path, what="hardware file"), path)


def _resolve(source: str | os.PathLike[str]) -> str:
    """The path of the file to read: a preset's, or `source` itself."""
    s = os.fspath(source)
    if not s.strip() or "\0" in s:
        raise MeshcError(f"{s!r} is not a hardware preset name or file path",
                         hint=f"presets: {', '.join(preset_names())}")
    if isinstance(source, str) and s in preset_names():
        return str(preset_path(s))
    p = Path(s)
    if (not isinstance(source, str) or p.suffix in (".yaml", ".yml", ".json") or "/" in s
            or os.sep in s or os.path.lexists(s)):
        return s
    if (SYSTEM_DIR / f"{s}.yaml").is_file():
        raise not_a_chip(s)
    close = difflib.get_close_matches(s, preset_names(), n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    raise MeshcError(
        f"unknown hardware preset {s!r}",
        hint=f"{guess}presets: {', '.join(preset_names())}; or give a path to a .yaml file",
    )


def is_system(source: str) -> bool:
    """Whether `source` names a system of chips (a system preset, or a file whose top level
    has `chips` and no `core_types`) rather than one chip. A file that cannot be read is
    not a system: the chip loader then says what is wrong with it."""
    s = source.strip()
    if (SYSTEM_DIR / f"{s}.yaml").is_file():
        return True
    if not os.path.isfile(s):
        return False
    try:
        data = load_structured(s, what="hardware file")
    except MeshcError:
        return False
    return isinstance(data, dict) and "chips" in data and "core_types" not in data


def not_a_chip(source: str, file: str | None = None) -> MeshcError:
    """The error for a system (several chips, meshc/hardware/system.py) where one chip is
    expected: compiling over a system's chips is not built yet (docs/systems.md)."""
    from meshc.hardware.system import load_system  # system.py imports this module

    try:
        chips = sorted({g.hw.name for g in load_system(source).groups})
    except MeshcError:
        chips = []
    return MeshcError(
        "describes a system of chips where one chip is expected", file=file or source,
        hint=(f"give one of its chips: {', '.join(chips)}; " if chips else "")
        + f"`meshc compile --hw {source}` compiles over its chips (docs/systems.md)")


def parse_hardware(text: str, file: str = "<string>") -> Hardware:
    """Hardware from YAML text; `file` names it in errors."""
    return validate_hardware(parse_yaml(text, file), file)


def validate_hardware(data: Any, file: str = "<data>") -> Hardware:
    """Hardware from an already-parsed mapping (YAML or JSON)."""
    if not isinstance(data, dict):
        raise MeshcError(
            f"expected a mapping of hardware fields, got {type(data).__name__}",
            file=file, hint=_SCHEMA_HINT,
        )
    version = data.get("schema_version")
    if version is not None and version != SCHEMA_VERSION:
        raise MeshcError(
            f"schema_version {version!r} is not supported; this meshc reads {SCHEMA_VERSION}",
            file=file, where="schema_version",
        )
    if "chips" in data and "core_types" not in data:
        raise not_a_chip(file, file)
    try:
        hw = Hardware.model_validate(data)
    except ValidationError as e:
        raise translate_validation_error(e, file) from None
    hw._source = file
    return hw


def translate_validation_error(exc: ValidationError, file: str, schema_hint: str = _SCHEMA_HINT,
                               field_names: tuple[str, ...] | None = None) -> MeshcError:
    """The first pydantic error as a MeshcError: YAML path, plain message, a hint.
    `field_names` feed "did you mean" (default: every field of the hardware schema)."""
    # A misspelt field also shows up as a missing one: report the misspelling first.
    errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc: list[str | int] = list(err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    hint = schema_hint
    if isinstance(cause, FieldError):
        where = ".".join(p for p in (_join(loc), cause.field) if p)
        msg = str(cause)
        hint = cause.hint or hint
    else:
        is_key = "[key]" in loc
        loc = [p for p in loc if p != "[key]"]
        where = _join(loc)
        msg = _message(err, is_key)
        if err["type"] == "extra_forbidden":
            missing = [str(e["loc"][-1]) for e in errors
                       if e["type"] == "missing" and list(e["loc"][:-1]) == loc[:-1]]
            close = difflib.get_close_matches(str(loc[-1]), missing or field_names
                                                or _all_field_names(), n=1)
            if close:
                hint = f"did you mean {close[0]!r}? {hint}"
    if len(errors) > 1:
        hint = f"{hint}; {len(errors) - 1} more problem(s) after this one"
    return MeshcError(msg, file=file, where=where or None, hint=hint)


def _join(loc: list[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: Any, is_key: bool) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    msg = str(err["msg"]).removeprefix("Value error, ")
    msg = msg[0].lower() + msg[1:] if msg else msg
    value = err.get("input")
    if is_key:
        return f"key {_show(value)}: {msg}"
    if isinstance(value, str | int | float | bool) or value is None:
        return f"{msg}, got {_show(value)}"
    return msg


def _show(value: Any) -> str:
    """repr, short: a 5000-digit integer cannot even be repr'd (Python's int limit)."""
    if isinstance(value, bool):
        return str(value).lower()  # as YAML spells it
    if isinstance(value, int) and value.bit_length() > 100:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


@lru_cache(maxsize=1)
def _all_field_names() -> tuple[str, ...]:
    names: set[str] = set()
    for obj in vars(model).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel:
            for name, f in obj.model_fields.items():
                names.add(f.alias or name)
    return tuple(sorted(names))
