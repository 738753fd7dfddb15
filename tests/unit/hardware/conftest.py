"""Shared fixtures: a valid spec (mesh-4x4) as a dict to break, and a writer for it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshc.hardware.load import preset_path
from meshc.inputs import parse_yaml


def preset_spec(name: str) -> dict[str, Any]:
    path = preset_path(name)
    spec = parse_yaml(path.read_text(), str(path))
    assert isinstance(spec, dict)
    return spec


@pytest.fixture
def spec() -> dict[str, Any]:
    """mesh-4x4 as a fresh dict each test."""
    return preset_spec("mesh-4x4")


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    def write(data: Any, name: str = "bad.yaml") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
        return path

    return write
