from __future__ import annotations

import pytest

from meshc.errors import MeshcError
from meshc.hardware import PRECISIONS, precision_bits, precision_bytes, precision_of_mlir
from meshc.hardware.precision import wider_of


def test_names_and_bits() -> None:
    assert PRECISIONS == ("int4", "int8", "fp8", "bf16", "f16", "f32")
    assert [precision_bits(p) for p in PRECISIONS] == [4, 8, 8, 16, 16, 32]
    assert precision_bytes("int4") == 0.5


@pytest.mark.parametrize(("elt", "p"), [
    ("f32", "f32"), ("bf16", "bf16"), ("f16", "f16"), ("f8E4M3FN", "fp8"),
    ("f8E5M2", "fp8"), ("i8", "int8"), ("i4", "int4"),
])
def test_mlir_spellings(elt: str, p: str) -> None:
    assert precision_of_mlir(elt) == p


def test_unknown_spellings_raise() -> None:
    with pytest.raises(MeshcError, match="f64"):
        precision_of_mlir("f64")
    with pytest.raises(MeshcError, match="unknown precision 'fp4'"):
        precision_bits("fp4")


def test_wider_of() -> None:
    assert wider_of("int4", "bf16") == "bf16"
    assert wider_of("f32", "int8") == "f32"


def test_is_precision_narrows_only_the_names_meshc_knows() -> None:
    from meshc.hardware.precision import PRECISIONS, is_precision

    assert all(is_precision(p) for p in PRECISIONS)
    assert not is_precision("fp16") and not is_precision("BF16") and not is_precision("")
