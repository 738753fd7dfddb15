"""Energy per operation by process node: the numbers every pJ in a report comes from.

Tags as in notes/hwnumbers.md: [S] secondary source quoting the primary, [D] derived here
(formula in the comment). A MAC is one multiply plus one add at the operand precision,
the convention of Horowitz's table and of Dally's "HFMA 1.5 pJ". Where no measurement of a
format exists, two first-order rules derive it: multiplier energy grows with the square of
the significand bits, adder energy linearly with the width.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from meshc.hardware.frozen import FrozenMap
from meshc.hardware.precision import Precision

DEFAULT_SRAM_MACRO_BYTES = 32 * 1024


@dataclass(frozen=True)
class NodeTable:
    """Per-operation energies of one process node; every field is in picojoules."""

    node: str
    source: str
    pj_per_mac: Mapping[Precision, float]
    # pJ per byte read or written, keyed by the SRAM macro (bank) size an access hits.
    sram_pj_per_byte_by_macro_bytes: Mapping[int, float]
    vector_pj_per_op: float
    transcendental_pj_per_op: float

    def sram_pj_per_byte_at(self, macro_bytes: int) -> float:
        """pJ/byte for a macro of this size: log-log interpolation, clamped to the table."""
        pts = sorted(self.sram_pj_per_byte_by_macro_bytes.items())
        if macro_bytes <= pts[0][0]:
            return pts[0][1]
        for (s0, e0), (s1, e1) in pairwise(pts):
            if macro_bytes <= s1:
                t = math.log(macro_bytes / s0) / math.log(s1 / s0)
                return math.exp(math.log(e0) + t * (math.log(e1) - math.log(e0)))
        return pts[-1][1]

    @property
    def sram_pj_per_byte(self) -> float:
        """pJ/byte at the default 32 KiB macro."""
        return self.sram_pj_per_byte_at(DEFAULT_SRAM_MACRO_BYTES)


@dataclass(frozen=True)
class EnergyTable(NodeTable):
    """A node table with a preset's overrides applied and its static power."""

    static_w_per_core: float = 0.0


# Horowitz, ISSCC 2014, 45 nm 0.9 V [S] (hwnumbers.md 1.1): int8 add 0.03, int8 mult 0.2,
# fp16 add 0.4, fp16 mult 1.1, fp32 add 0.9, fp32 mult 3.7; SRAM 64-bit read 10/20/100 pJ
# for 8 KB/32 KB/1 MB macros.
N45 = NodeTable(
    node="45nm",
    source="Horowitz ISSCC 2014 (45 nm, 0.9 V), via notes/hwnumbers.md 1.1",
    pj_per_mac=FrozenMap({
        "int4": 0.065,   # [D] 0.2*(4/8)^2 + 0.03*(4/8)
        "int8": 0.23,    # [D] 0.2 + 0.03
        "fp8": 0.345,    # [D] E4M3, 4-bit significand: 1.1*(4/11)^2 + 0.4*(8/16)
        "bf16": 0.98,    # [D] 8-bit significand: 1.1*(8/11)^2 + 0.4
        "f16": 1.5,      # [S] 1.1 + 0.4; Dally Hot Chips 2023 "HFMA 1.5pJ"
        "f32": 4.6,      # [D] 3.7 + 0.9
    }),
    sram_pj_per_byte_by_macro_bytes=FrozenMap({
        8 * 1024: 1.25,       # [D] 10 pJ / 8 B
        32 * 1024: 2.5,       # [D] 20 pJ / 8 B
        1024 * 1024: 12.5,    # [D] 100 pJ / 8 B
    }),
    vector_pj_per_op=2.3,          # [D] mean of fp32 add and mult: (0.9 + 3.7) / 2
    transcendental_pj_per_op=10.7,  # [D] 7 nm LUT 3.8 pJ * 45/7 nm fp32-mult ratio 3.7/1.31
)

# Jouppi et al., ISCA 2021 (TPUv4i) Table 2, 7 nm [S] (hwnumbers.md 1.2; the int8/bf16/fp16
# rows checked against the copy in repo-file id 69043555828): int8 add 0.007 mult 0.07,
# bf16 add 0.11 mult 0.21, fp16 add 0.16 mult 0.34, fp32 add 0.38 mult 1.31;
# SRAM 64-bit access 7.5/8.5/14 pJ for 8 KB/32 KB/1 MB.
N7 = NodeTable(
    node="7nm",
    source="Jouppi et al. ISCA 2021 Table 2 (7 nm), via notes/hwnumbers.md 1.2",
    pj_per_mac=FrozenMap({
        "int4": 0.021,   # [D] 0.07*(4/8)^2 + 0.007*(4/8)
        "int8": 0.077,   # [D] 0.07 + 0.007
        "fp8": 0.125,    # [D] 0.34*(4/11)^2 + 0.16*(8/16)
        "bf16": 0.32,    # [D] 0.21 + 0.11
        "f16": 0.50,     # [D] 0.34 + 0.16
        "f32": 1.69,     # [D] 1.31 + 0.38
    }),
    sram_pj_per_byte_by_macro_bytes=FrozenMap({
        8 * 1024: 0.9375,     # [D] 7.5 pJ / 8 B
        32 * 1024: 1.0625,    # [D] 8.5 pJ / 8 B
        1024 * 1024: 1.75,    # [D] 14 pJ / 8 B
    }),
    vector_pj_per_op=0.845,        # [D] (0.38 + 1.31) / 2
    transcendental_pj_per_op=3.8,  # [S] 7 nm table lookup, Cong workshop slides p.8
)


def _interpolate(a: NodeTable, b: NodeTable, name: str, nm: float, a_nm: float,
                 b_nm: float) -> NodeTable:
    """A node between two tables: geometric interpolation in log(feature size)."""
    t = math.log(a_nm / nm) / math.log(a_nm / b_nm)

    def mix(x: float, y: float) -> float:
        # float ** float is typed Any (a negative base gives a complex); energies are positive
        return round(float(x ** (1 - t) * y**t), 4)

    return NodeTable(
        node=name,
        source=f"[D] geometric interpolation between {a.node} and {b.node} at {nm:g} nm: "
        f"E = E45^(1-t) * E7^t, t = ln(45/{nm:g}) / ln(45/7) = {t:.3f}; no measured table",
        pj_per_mac=FrozenMap({p: mix(a.pj_per_mac[p], b.pj_per_mac[p]) for p in a.pj_per_mac}),
        sram_pj_per_byte_by_macro_bytes=FrozenMap({
            s: mix(e, b.sram_pj_per_byte_by_macro_bytes[s])
            for s, e in a.sram_pj_per_byte_by_macro_bytes.items()
        }),
        vector_pj_per_op=mix(a.vector_pj_per_op, b.vector_pj_per_op),
        transcendental_pj_per_op=mix(a.transcendental_pj_per_op, b.transcendental_pj_per_op),
    )


# For 12-16 nm chips (Groq, Wormhole); no table at that node was found.
N14 = _interpolate(N45, N7, "14nm", 14, 45, 7)

# No table for 5/4 nm exists in the notes (hwnumbers.md 6): presets on those nodes use 7nm,
# an upper bound since logic energy only falls with scaling.
NODES: Mapping[str, NodeTable] = FrozenMap({t.node: t for t in (N45, N14, N7)})
