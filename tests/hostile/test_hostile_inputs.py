"""Every generated hostile case (hostile_gen.py): a clear one-line error or a clean result,
never a traceback, never exit 70, nothing outside the output folder touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_case import Case, run_case
from hostile_gen import all_cases

CASES = all_cases()


def test_enough_cases() -> None:
    assert len(CASES) >= 150
    surfaces = {c.name.split("-")[0] for c in CASES}
    assert {"spec", "hw", "onnx", "ir", "hf", "cli", "out"} <= surfaces


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile(case: Case, tmp_path: Path) -> None:
    run, found = run_case(case, tmp_path)
    assert not found, (f"meshc {' '.join(case.argv)}"[:200] + "\n  " + "\n  ".join(found)
                       + f"\n  {run.describe()}")
