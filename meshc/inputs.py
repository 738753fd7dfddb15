"""Reading a user's input file: only regular files, within a size limit, and parsed
YAML/JSON that can neither blow up nor hide a mistake.

Every frontend and the hardware loader read through here, so that a FIFO, a device, a
symlink loop, a 5000-digit integer, a YAML alias bomb or a nest 10^5 levels deep fails as
one located `MeshcError` instead of hanging, exhausting memory or raising a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from meshc import limits
from meshc.errors import MeshcError

_NOT_REGULAR = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
                stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket",
                stat.S_IFDIR: "a directory"}


def read_bytes(path: str | os.PathLike[str], *, limit: str = "text_mb",
               what: str = "file") -> bytes:
    """The bytes of a regular file no larger than the limit `limit` (in MB)."""
    file = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise _os_error(e, file, what) from None
    except ValueError:  # a NUL byte in the path
        raise MeshcError(f"not a {what} name: it holds a NUL byte", file=repr(file)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _NOT_REGULAR.get(stat.S_IFMT(st.st_mode), "not a regular file")
            raise MeshcError(f"is {kind}, not a regular {what}", file=file)
        cap = limits.get(limit) * 1_000_000
        if st.st_size > cap:
            raise limits.refuse(limit, st.st_size / 1e6, f"{file} is too large").located(
                file=file)
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:  # a file that grows while read (or lies about its size)
                raise limits.refuse(limit, size / 1e6, "the file is too large").located(
                    file=file)
        return b"".join(chunks)
    except OSError as e:
        raise _os_error(e, file, what) from None
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike[str], *, what: str = "file") -> str:
    """A regular UTF-8 text file; a bad byte is reported by line and column."""
    data = read_bytes(path, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise MeshcError(f"not UTF-8 text (byte 0x{data[e.start]:02x})", file=os.fspath(path),
                         where=f"line {line}, column {col}") from None


def load_structured(path: str | os.PathLike[str], *, what: str = "file") -> Any:
    """YAML or JSON by suffix (.json is JSON, anything else YAML)."""
    text = read_text(path, what=what)
    file = os.fspath(path)
    if Path(file).suffix.lower() == ".json":
        return parse_json(text, file)
    return parse_yaml(text, file)


# -- JSON ---------------------------------------------------------------------------------


def parse_json(text: str, file: str) -> Any:
    """JSON with duplicate keys rejected and bounded nesting and integers."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise MeshcError(f"duplicate key '{k}'", file=file)
            out[k] = v
        return out

    try:
        data = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise MeshcError(f"not valid JSON: {e.msg}", file=file,
                         where=f"line {e.lineno}, column {e.colno}") from None
    except RecursionError:
        raise _too_deep(file) from None
    except ValueError as e:  # an integer of thousands of digits; NaN/Infinity
        raise MeshcError(f"not valid JSON: {_value_error(e)}", file=file) from None
    _check_size(data, file)
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


# -- YAML ---------------------------------------------------------------------------------

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """Safe YAML that reads `16e9` as a float (YAML 1.2) and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool):
                continue  # a complex key; SafeConstructor reports it if unhashable
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]


# PyYAML follows YAML 1.1, where an exponent needs a dot and a sign (1.0e+9); hardware
# numbers are written 16e9 and 1.75e9, so accept the YAML 1.2 spelling too.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def parse_yaml(text: str, file: str) -> Any:
    """Safe YAML (1.2 floats, no duplicate keys), bounded nesting, aliases and integers."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = (getattr(e, "problem", None) or str(e)).strip().splitlines()[0]
        raise MeshcError(f"not valid YAML: {problem}", file=file, where=where) from None
    except RecursionError:
        raise _too_deep(file) from None
    except ValueError as e:  # int() of thousands of digits
        raise MeshcError(f"not valid YAML: {_value_error(e)}", file=file) from None
    _check_size(data, file)
    return data


# -- shared -------------------------------------------------------------------------------


def _check_size(data: Any, file: str) -> None:
    """Counts values as a reader will see them (a YAML alias counts each time it is used),
    so that an alias bomb of a few lines is refused before anything walks it."""
    cap = limits.get("nodes")
    count, stack = 0, [data]
    while stack:
        v = stack.pop()
        count += 1
        if count > cap:
            raise limits.refuse("nodes", count, "the input expands to too many values "
                                "(YAML aliases?)").located(file=file)
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def _too_deep(file: str) -> MeshcError:
    return MeshcError("nested too deeply to read", file=file,
                      hint="a spec, config or hardware file is a few levels deep")


def _value_error(e: ValueError) -> str:
    msg = str(e)
    if "digits" in msg:
        return "an integer with thousands of digits"
    return msg.splitlines()[0] if msg else type(e).__name__


def _os_error(e: OSError, file: str, what: str) -> MeshcError:
    if e.errno == errno.ENOENT:
        return MeshcError(f"no such {what}", file=file)
    if e.errno == errno.ELOOP:
        return MeshcError("a loop of symbolic links", file=file)
    if e.errno == errno.EISDIR:
        return MeshcError(f"is a directory, not a {what}", file=file)
    return MeshcError(f"cannot read: {e.strerror or e}", file=file)
