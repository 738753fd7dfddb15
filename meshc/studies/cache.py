"""The content-keyed store of point outcomes: `DIR/points/KE/KEY.json`.

A point's key (tasks.content_key) hashes everything its outcome depends on, so an entry is
never stale: a rerun, or an overlapping sweep, reuses it. Each entry is written whole
(a temporary file moved into place) as the point finishes, so a sweep stopped half-way
keeps what is done. Outcomes of meshc's own bugs are never stored.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from meshc.errors import MeshcError


def default_dir() -> Path:
    """$XDG_CACHE_HOME/meshc/sweep, else ~/.cache/meshc/sweep."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "meshc" / "sweep"


class Cache:
    def __init__(self, directory: Path | None) -> None:
        self.dir = directory  # None: --no-cache

    def _path(self, key: str) -> Path:
        assert self.dir is not None
        return self.dir / "points" / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored outcome, or None (absent, or unreadable: then it is recomputed)."""
        if self.dir is None:
            return None
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("key") == key else None

    def put(self, key: str, outcome: dict[str, Any]) -> None:
        if self.dir is None:
            return
        path = self._path(key)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"key": key, **outcome}, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise MeshcError(f"cannot write the cache: {e.strerror or e}", file=str(self.dir),
                             hint="use another --cache folder, or --no-cache") from None
