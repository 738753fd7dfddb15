"""Symbolic ONNX dimensions: names (`seq`) and the expressions exporters write
(`past_seq + 1`, `Min(256, seq)`, `2*s0`, `(s0 + 1)//2`), bound with `--dim NAME=VALUE`.

A `dim_param` that does not parse as an arithmetic expression over names (the
TorchScript exporter writes names such as `Concatpresent.0.key_dim_2`) is one name.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from functools import lru_cache

_FUNCS: dict[str, Callable[..., float]] = {
    "Min": min, "Max": max, "min": min, "max": max,
    "floor": math.floor, "ceiling": math.ceil, "ceil": math.ceil,
    "FloorToInt": math.floor, "CeilToInt": math.ceil, "TruncToInt": math.trunc,
    "IntTrueDiv": lambda a, b: a / b, "FloatTrueDiv": lambda a, b: a / b,
    "FloorDiv": lambda a, b: a // b, "CleanDiv": lambda a, b: a // b,
    "Mod": lambda a, b: a % b, "PythonMod": lambda a, b: a % b, "abs": abs, "Abs": abs,
}
_BINOPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b, ast.Div: lambda a, b: a / b,
    ast.Mod: lambda a, b: a % b, ast.Pow: lambda a, b: a ** b,
}


class Expr:
    """A parsed dim_param: `names` it depends on and `value(env)`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._tree: ast.expr | None = None
        try:
            tree = ast.parse(text.strip(), mode="eval").body
            if _ok(tree):
                self._tree = tree
        except SyntaxError:
            pass
        if self._tree is None:
            self.names: frozenset[str] = frozenset([text])
        else:
            self.names = frozenset(
                n.id for n in ast.walk(self._tree)
                if isinstance(n, ast.Name) and n.id not in _FUNCS)

    def value(self, env: Mapping[str, int]) -> int:
        if self._tree is None:
            return env[self.text]
        v = _eval(self._tree, env)
        if isinstance(v, float):
            if not v.is_integer():
                raise ValueError(f"dimension '{self.text}' evaluates to {v}, not an integer")
            v = int(v)
        return int(v)


def _ok(node: ast.AST) -> bool:
    if isinstance(node, ast.BinOp):
        return type(node.op) in _BINOPS and _ok(node.left) and _ok(node.right)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub | ast.UAdd) and _ok(node.operand)
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Call):
        return (isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords
                and all(_ok(a) for a in node.args))
    return False


def _eval(node: ast.expr, env: Mapping[str, int]) -> float:
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval(node.left, env), _eval(node.right, env))
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    return _FUNCS[node.func.id](*(_eval(a, env) for a in node.args))


@lru_cache(maxsize=4096)
def parse(text: str) -> Expr:
    return Expr(text)
