"""Fidelity tests: `load_fixture(name)` (peer_fixtures.py) as a function for
parametrizing at import time, and as the `peer` fixture for test bodies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from peer_fixtures import load_fixture

__all__ = ["load_fixture", "peer"]


@pytest.fixture
def peer() -> Callable[[str], dict[str, Any]]:
    """`peer("zigzag")` is fixtures/zigzag.json as a fresh dict."""
    return load_fixture
