"""Writing outputs atomically: nothing half-written is ever left behind as if complete."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from meshc.errors import MeshcError


def write_text(path: str, text: str) -> None:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, target)
    except OSError as e:
        raise MeshcError(f"cannot write: {e.strerror}", file=path) from None


def write_tree(directory: str, artifacts: Mapping[str, str | bytes]) -> None:
    """Writes `artifacts` (relative path -> content) into `directory`, all or nothing:
    they go to a temporary directory beside it that is renamed into place at the end."""
    target = Path(directory)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp"))
    except OSError as e:
        raise MeshcError(f"cannot create the output directory: {e.strerror}",
                         file=directory) from None
    try:
        for rel, content in sorted(artifacts.items()):
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise MeshcError(f"cannot write outputs: {e.strerror}", file=directory) from None
