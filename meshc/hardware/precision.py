"""Number formats a core can store and multiply, and how they map to MLIR element types."""

from __future__ import annotations

from typing import Literal, TypeGuard

from meshc.errors import MeshcError

Precision = Literal["int4", "int8", "fp8", "bf16", "f16", "f32"]

# Widening order: a core that lacks a format executes it at the next one it has.
# int8 -> fp8 and bf16 -> f16 keep the width; every later step widens.
PRECISIONS: tuple[Precision, ...] = ("int4", "int8", "fp8", "bf16", "f16", "f32")

_BITS: dict[Precision, int] = {"int4": 4, "int8": 8, "fp8": 8, "bf16": 16, "f16": 16, "f32": 32}

# MLIR builtin element types; both OCP fp8 flavours and signless/signed ints collapse.
_MLIR: dict[str, Precision] = {
    "f32": "f32", "bf16": "bf16", "f16": "f16",
    "f8E4M3FN": "fp8", "f8E5M2": "fp8", "f8E4M3": "fp8", "f8E4M3FNUZ": "fp8",
    "f8E5M2FNUZ": "fp8",
    "i8": "int8", "si8": "int8", "ui8": "int8",
    "i4": "int4", "si4": "int4", "ui4": "int4",
}


def is_precision(p: str) -> TypeGuard[Precision]:
    """Whether `p` names a precision (narrows a string from outside to Precision)."""
    return p in _BITS


def check_precision(p: str, where: str | None = None) -> Precision:
    """`p` itself if it is a precision name, else a MeshcError naming the valid ones."""
    if not is_precision(p):
        raise MeshcError(
            f"unknown precision {p!r}", where=where, hint=f"use one of {', '.join(PRECISIONS)}"
        )
    return p


def precision_bits(p: str) -> int:
    """Storage width in bits (int4 -> 4, bf16 -> 16 ...)."""
    return _BITS[check_precision(p)]


def precision_bytes(p: str) -> float:
    """Storage width in bytes; int4 is 0.5."""
    return precision_bits(p) / 8


def precision_rank(p: str) -> int:
    """Position in the widening order (int4 is 0, f32 is 5)."""
    return PRECISIONS.index(check_precision(p))


def wider_of(a: str, b: str) -> Precision:
    """The later of two precisions in the widening order."""
    return PRECISIONS[max(precision_rank(a), precision_rank(b))]


def precision_of_mlir(elt: str) -> Precision:
    """The precision name for an MLIR element type spelling ("f8E4M3FN" -> "fp8")."""
    try:
        return _MLIR[elt]
    except KeyError:
        raise MeshcError(
            f"element type {elt!r} has no meshc precision",
            hint=f"supported: {', '.join(sorted(_MLIR))}",
        ) from None
