"""Figures for people: sizes in decimal units (as HBM and SRAM are sold) next to the exact
count, so a message reads at a glance and can still be checked to the byte."""

from __future__ import annotations

_UNITS = ("kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def fmt_bytes(n: int, exact: bool = True) -> str:
    """`1.34 TB (1,342,177,280,000 B)`, or `1.34 TB` without `exact`; below 1 kB only the
    bytes: `512 B`."""
    n = int(n)
    if abs(n) < 1000:
        return f"{n:,} B"
    value, unit = float(n), "B"
    for u in _UNITS:
        if abs(value) < 999.5:  # 999,600 B is 1.00 MB, not 1e+03 kB
            break
        value, unit = value / 1000, u
    short = f"{value:#.3g}".rstrip(".") + f" {unit}"  # 48.0 GB, 348 GB
    return f"{short} ({n:,} B)" if exact else short


def fmt_si(x: float, unit: str) -> str:
    """`x` with a decimal prefix, 4 significant digits: `918 TFLOPS`, `1.638 TB/s`."""
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.4g} {prefix}{unit}"
    return f"{x:.4g} {unit}"
