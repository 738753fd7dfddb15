"""Symbolic ONNX dimensions: names (`seq`) and the expressions exporters write
(`past_seq + 1`, `Min(256, seq)`, `2*s0`, `(s0 + 1)//2`), bound with `--dim NAME=VALUE`.

A `dim_param` that does not parse as an arithmetic expression over names (the
TorchScript exporter writes names such as `Concatpresent.0.key_dim_2`) is one name.

The grammar is bounded so that a hostile model cannot make evaluation slow: at most
`MAX_TEXT` characters, integer and exact-fraction arithmetic, `**` only with an exponent up
to `MAX_POW`, every intermediate within `MAX_MAGNITUDE`. A division by zero, a result that
is not an integer and a dimension over `--limit dim` are errors (`MeshcError` without a
file: the caller locates it).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from functools import lru_cache
from typing import cast

from meshc import limits
from meshc.errors import MeshcError

MAX_TEXT = 200
MAX_POW = 8
MAX_MAGNITUDE = 1 << 64

_Num = int | Fraction
_FUNCS: dict[str, tuple[int, Callable[..., _Num]]] = {  # name -> (arity, 0: any >= 2)
    "Min": (0, min), "Max": (0, max), "min": (0, min), "max": (0, max),
    "floor": (1, math.floor), "ceiling": (1, math.ceil), "ceil": (1, math.ceil),
    "FloorToInt": (1, math.floor), "CeilToInt": (1, math.ceil), "TruncToInt": (1, math.trunc),
    "IntTrueDiv": (2, lambda a, b: Fraction(a) / b),
    "FloatTrueDiv": (2, lambda a, b: Fraction(a) / b),
    "FloorDiv": (2, lambda a, b: a // b), "CleanDiv": (2, lambda a, b: a // b),
    "Mod": (2, lambda a, b: a % b), "PythonMod": (2, lambda a, b: a % b),
    "abs": (1, abs), "Abs": (1, abs),
}
_BINOPS: dict[type, Callable[[_Num, _Num], _Num]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b, ast.Div: lambda a, b: Fraction(a) / b,
    ast.Mod: lambda a, b: a % b, ast.Pow: lambda a, b: _pow(a, b),
}


class Expr:
    """A parsed dim_param: `names` it depends on and `value(env)`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._tree: ast.expr | None = None
        if len(text) <= MAX_TEXT:
            try:
                tree = ast.parse(text.strip(), mode="eval").body
                if _ok(tree):
                    self._tree = tree
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                pass
        if self._tree is None:
            self.names: frozenset[str] = frozenset([text])
        else:
            self.names = frozenset(
                n.id for n in ast.walk(self._tree)
                if isinstance(n, ast.Name) and n.id not in _FUNCS)

    def value(self, env: Mapping[str, int]) -> int:
        """The dimension under `env`: a positive-or-zero integer within `--limit dim`."""
        missing = sorted(self.names - set(env))
        if missing:
            raise MeshcError(f"dimension '{self.text}' needs unbound name(s) "
                             f"{', '.join(missing)}")
        if self._tree is None:
            v: _Num = env[self.text]
        else:
            try:
                v = _eval(self._tree, env)
            except ZeroDivisionError:
                raise MeshcError(f"dimension '{self.text}' divides by zero") from None
            except MeshcError as e:
                raise MeshcError(f"dimension '{self.text}': {e.message}") from None
        if v != int(v):
            raise MeshcError(f"dimension '{self.text}' evaluates to {v}, not an integer")
        limits.check("dim", int(v), f"dimension '{self.text}'")
        return int(v)


def _pow(a: _Num, b: _Num) -> _Num:
    if b != int(b) or not 0 <= b <= MAX_POW:
        raise MeshcError(f"an exponent of {b} (meshc evaluates powers up to {MAX_POW})")
    return a ** int(b)


def _ok(node: ast.AST) -> bool:
    if isinstance(node, ast.BinOp):
        return type(node.op) in _BINOPS and _ok(node.left) and _ok(node.right)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub | ast.UAdd) and _ok(node.operand)
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool) and (
            math.isfinite(node.value) and abs(node.value) <= MAX_MAGNITUDE)
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS) or node.keywords:
            return False
        arity = _FUNCS[node.func.id][0]
        n = len(node.args)
        return (n == arity or (arity == 0 and n >= 2)) and all(_ok(a) for a in node.args)
    return False


def _eval(node: ast.expr, env: Mapping[str, int]) -> _Num:
    v: _Num
    if isinstance(node, ast.BinOp):
        v = _BINOPS[type(node.op)](_eval(node.left, env), _eval(node.right, env))
    elif isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        v = -v if isinstance(node.op, ast.USub) else v
    elif isinstance(node, ast.Constant):
        c = node.value  # _ok admitted only a finite int or float
        v = Fraction(c) if isinstance(c, float) else cast(int, c)
    elif isinstance(node, ast.Name):
        v = env[node.id]
    else:
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        v = _FUNCS[node.func.id][1](*(_eval(a, env) for a in node.args))
    if not -MAX_MAGNITUDE <= v <= MAX_MAGNITUDE:
        raise MeshcError(f"it reaches {float(v):.3g}, beyond what meshc evaluates (2^64)")
    return v


@lru_cache(maxsize=4096)
def parse(text: str) -> Expr:
    return Expr(text)
