"""How a model is spread over a system's chips: the parallel degrees, as `--parallel` gives
them (`tp=8,pp=2,mb=4`), and where each group of chips sits.

    tp   tensor parallel: heads and MLP columns over tp chips (shard-tensor)
    pp   pipeline stages: contiguous layer ranges (split-stages)
    ep   expert parallel: a MoE's experts over ep chips, attention data-parallel across
         them (shard-experts)
    dp   data-parallel replicas of the whole chain, each on its own chips
    mb   micro-batches a replica's batch is cut into, pipelined through the stages
    mlp_tp  on a system with attention and MLP chips (roles), the MLP chips' tensor
         parallelism (default: tp)

A stage of a homogeneous system runs on tp x ep chips, so tp x ep x pp x dp chips are used.
With attention/MLP disaggregation each stage has tp attention chips and mlp_tp MLP chips.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from meshc.errors import MeshcError

KEYS = ("tp", "pp", "ep", "dp", "mb", "mlp_tp")
_MAX = 1 << 20


@dataclass(frozen=True)
class Parallel:
    tp: int = 1
    pp: int = 1
    ep: int = 1
    dp: int = 1
    mb: int = 1
    mlp_tp: int = 0  # 0: as tp

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            low = 0 if f.name == "mlp_tp" else 1
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= _MAX:
                raise MeshcError(f"{f.name}={v!r} must be an integer from {max(low, 1)} to "
                                 f"{_MAX}", where="--parallel")

    @property
    def mlp(self) -> int:
        """The MLP chips' tensor parallelism under disaggregation."""
        return self.mlp_tp or self.tp

    @property
    def stage_chips(self) -> int:
        """Chips of one stage on a homogeneous system."""
        return self.tp * self.ep

    @property
    def chips(self) -> int:
        """Chips used on a homogeneous system."""
        return self.stage_chips * self.pp * self.dp

    def as_dict(self) -> dict[str, int]:
        """The degrees, mlp_tp only when set."""
        out = {k: getattr(self, k) for k in KEYS}
        if not self.mlp_tp:
            del out["mlp_tp"]
        return out

    def text(self) -> str:
        """The `--parallel` text that gives these degrees (1s left out)."""
        return ",".join(f"{k}={v}" for k, v in self.as_dict().items()
                        if v != 1 or k == "mlp_tp") or "tp=1"


def parse_parallel(text: str) -> Parallel:
    """`tp=8,pp=2,mb=4` (any order, each key once; the rest 1)."""
    given: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in KEYS:
            raise MeshcError(f"'{part}' is not one of {', '.join(k + '=N' for k in KEYS)}",
                             where="--parallel", hint="e.g. --parallel tp=8,pp=2,mb=4, "
                             "or --parallel auto")
        if key in given:
            raise MeshcError(f"{key} is given twice", where="--parallel")
        if not (value.isascii() and value.isdigit()) or len(value) > 7:
            raise MeshcError(f"{key}={value!r} is not a whole number", where="--parallel")
        given[key] = int(value)
    return Parallel(**given)
