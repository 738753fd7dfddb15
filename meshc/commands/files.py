"""Writing one output file atomically: it is whole (old or new) at every moment, and a
temporary file is never left behind, even on Ctrl-C. Folders of outputs: outdir.py."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from meshc.errors import MeshcError


def write_text(path: str, text: str) -> None:
    target = Path(path)
    if target.is_dir():
        raise MeshcError("is a folder, not a file to write", file=path)
    if not target.parent.is_dir():
        raise MeshcError(f"cannot write: no folder {target.parent}", file=path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as open() would create it, not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise MeshcError(f"cannot write: {e.strerror or e}", file=path) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
