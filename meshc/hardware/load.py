"""YAML -> Hardware. The only module that sees raw dicts; every failure is a MeshcError
naming the file and the YAML path (`core_types.mlp.sram_bytes`, `hbm.stacks[1].attach`)."""

from __future__ import annotations

import difflib
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from meshc.errors import MeshcError
from meshc.hardware import model
from meshc.hardware.model import SCHEMA_VERSION, FieldError, Hardware

PRESET_DIR = Path(__file__).parent / "presets"
_SCHEMA_HINT = "`meshc hw schema` lists every field with its unit"

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe YAML that reads `16e9` as a float (YAML 1.2) and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if not isinstance(key, str | int | float | bool):
                continue  # a complex key; SafeConstructor reports it if unhashable
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]


# PyYAML follows YAML 1.1, where an exponent needs a dot and a sign (1.0e+9); hardware
# numbers are written 16e9 and 1.75e9, so accept the YAML 1.2 spelling too.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


@lru_cache(maxsize=1)
def preset_names() -> tuple[str, ...]:
    """Names of the built-in presets, sorted."""
    return tuple(sorted(p.stem for p in PRESET_DIR.glob("*.yaml")))


def preset_path(name: str) -> Path:
    return PRESET_DIR / f"{name}.yaml"


def load_hardware(source: str | os.PathLike[str]) -> Hardware:
    """A preset by name, or a YAML file by path; cached per file and modification time."""
    path, display = _resolve(source)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as e:
        raise MeshcError(f"cannot read hardware file: {e.strerror}", file=display) from None
    return _load_cached(str(path), mtime, display)


@lru_cache(maxsize=128)
def _load_cached(path: str, mtime_ns: int, display: str) -> Hardware:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MeshcError(f"cannot read hardware file: {e}", file=display) from None
    return parse_hardware(text, file=display)


def _resolve(source: str | os.PathLike[str]) -> tuple[Path, str]:
    s = os.fspath(source)
    if isinstance(source, str) and s in preset_names():
        return preset_path(s), str(preset_path(s))
    p = Path(s)
    is_path = not isinstance(source, str) or p.suffix in (".yaml", ".yml") or os.sep in s
    if is_path or "/" in s or p.exists():
        if p.is_dir():
            raise MeshcError("is a directory, not a hardware YAML file", file=s)
        return p.resolve(), s
    close = difflib.get_close_matches(s, preset_names(), n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    raise MeshcError(
        f"unknown hardware preset {s!r}",
        hint=f"{guess}presets: {', '.join(preset_names())}; or give a path to a .yaml file",
    )


def parse_hardware(text: str, file: str = "<string>") -> Hardware:
    """Hardware from YAML text; `file` names it in errors."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(e, "problem", None) or str(e)
        raise MeshcError(f"malformed YAML: {problem}", file=file, where=where) from None
    return validate_hardware(data, file)


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
    try:
        hw = Hardware.model_validate(data)
    except ValidationError as e:
        raise _translate(e, file) from None
    hw._source = file
    return hw


def _translate(exc: ValidationError, file: str) -> MeshcError:
    """The first pydantic error as a MeshcError: YAML path, plain message, a hint."""
    # A misspelt field also shows up as a missing one: report the misspelling first.
    errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc: list[str | int] = list(err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    hint = _SCHEMA_HINT
    if isinstance(cause, FieldError):
        where = _join(loc)
        where = f"{where}.{cause.field}" if where else cause.field
        msg = str(cause)
    else:
        is_key = "[key]" in loc
        loc = [p for p in loc if p != "[key]"]
        where = _join(loc)
        msg = _message(err, is_key)
        if err["type"] == "extra_forbidden":
            missing = [str(e["loc"][-1]) for e in errors
                       if e["type"] == "missing" and list(e["loc"][:-1]) == loc[:-1]]
            close = difflib.get_close_matches(str(loc[-1]), missing or _all_field_names(), n=1)
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
        return f"key {value!r}: {msg}"
    if isinstance(value, str | int | float | bool) or value is None:
        return f"{msg}, got {value!r}"
    return msg


@lru_cache(maxsize=1)
def _all_field_names() -> tuple[str, ...]:
    names: set[str] = set()
    for obj in vars(model).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel:
            for name, f in obj.model_fields.items():
                names.add(f.alias or name)
    return tuple(sorted(names))
