"""A system of chips as data: chip types and counts, a topology and chip-to-chip links.

    from meshc.hardware.system import load_system, system_of_one
    s = load_system("tpu-v6e-8")                 # a system preset name or a system file
    s.n_chips, s.fabric                          # 8 chips; what collectives.py costs
    system_of_one(load_hardware("h100-like"))    # any chip is a system of one, no links

A system YAML (schema_version 1) is validated once, as a chip file is (load.py's error
translation: every failure names the file and the YAML path); each chip type it names is a
chip preset or a chip hardware file resolved relative to the system file, loaded by
`load_hardware`. docs/systems.md describes the schema and the presets.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from meshc.errors import MeshcError
from meshc.hardware import ranges as rg
from meshc.hardware.frozen import DUMP, FREEZE
from meshc.hardware.load import (
    SYSTEM_DIR,
    load_hardware,
    preset_names,
    translate_validation_error,
)
from meshc.hardware.model import Hardware, Name
from meshc.hardware.precision import PRECISIONS
from meshc.hardware.schema_base import CONFIG, FieldError
from meshc.inputs import load_structured, parse_yaml

_SCHEMA_HINT = "`meshc system schema` lists every field with its unit"

TopologyKind = Literal["ring", "torus2d", "torus3d", "mesh2d", "switch"]
_AXES = {"ring": 1, "torus2d": 2, "torus3d": 3, "mesh2d": 2, "switch": 1}
Role = Literal["any", "attention", "mlp"]


class Topology(BaseModel):
    """How the chips are wired. ring, torus2d, torus3d: neighbours along each axis with
    wraparound; mesh2d: a 2D mesh without wraparound (dies on a wafer, a TPU slice smaller
    than a full axis); switch: every chip one hop from every other (NVSwitch)."""

    model_config = CONFIG

    kind: TopologyKind
    dims: tuple[rg.ChipsPerAxis, ...] | None = Field(
        None, description="chips along each axis: 2 values for torus2d and mesh2d, 3 for "
        "torus3d; absent for ring and switch (all the chips)")

    @model_validator(mode="after")
    def _dims(self) -> Topology:
        grid = self.kind in ("torus2d", "torus3d", "mesh2d")
        if grid and (self.dims is None or len(self.dims) != _AXES[self.kind]):
            raise FieldError("dims", f"{self.kind} needs {_AXES[self.kind]} values (chips "
                             "along each axis)")
        if not grid and self.dims is not None:
            raise FieldError("dims", f"a {self.kind} takes no dims: it holds all the chips")
        return self


class Links(BaseModel):
    """The chip-to-chip links, all alike. A hop is chip to neighbour (ring, torus, mesh)
    or chip to chip through the switch."""

    model_config = CONFIG

    bytes_per_s: rg.LinkBytesPerS = Field(description="one link, one direction")
    latency_s: rg.LinkSeconds = Field(description="one hop, first byte sent to first received")
    pj_per_bit: rg.PicoJoules = Field(description="one bit over one hop")
    per_chip: rg.LinksPerChip = Field(
        description="links per chip: shared equally by its neighbours (2 per axis) on a "
        "ring, torus or mesh; all into the switch on a switch")


class ChipGroup(BaseModel):
    """`count` chips of one type."""

    model_config = CONFIG

    hw: str = Field(min_length=1, description="a chip preset name, or a chip hardware file "
                    "(relative to this system file)")
    count: rg.ChipCount
    role: Role = Field("any", description="what the chips are for in a heterogeneous system: "
                       "attention (KV cache in HBM), mlp (weights in SRAM) or any")
    description: str = ""


class SystemSpec(BaseModel):
    """The system file: chip groups (placed in file order along the topology), the
    topology and the links. A system of one chip needs neither topology nor links."""

    model_config = CONFIG

    schema_version: Literal[1]
    name: str = Field(min_length=1)
    description: str = ""
    sources: tuple[str, ...] = Field((), description="where the numbers come from")
    chips: Annotated[dict[Name, ChipGroup], FREEZE, DUMP] = Field(min_length=1)
    topology: Topology | None = None
    links: Links | None = None

    @model_validator(mode="after")
    def _check(self) -> SystemSpec:
        n = sum(g.count for g in self.chips.values())
        if n == 1:
            return self
        for f in ("topology", "links"):
            if getattr(self, f) is None:
                raise FieldError(f, f"required field is missing: the system has {n} chips")
        assert self.topology is not None and self.links is not None
        t = self.topology
        if t.dims is not None and math.prod(t.dims) != n:
            raise FieldError("topology.dims", f"{'x'.join(map(str, t.dims))} = "
                             f"{math.prod(t.dims)} chips, but the chip groups hold {n}")
        ways = 1 if t.kind == "switch" else 2 * _AXES[t.kind]
        if self.links.per_chip % ways:
            raise FieldError("links.per_chip", f"{self.links.per_chip} links do not split "
                             f"evenly over a {t.kind} chip's {ways} neighbours")
        return self


@dataclass(frozen=True)
class Fabric:
    """The network as the collectives see it (collectives.py). A grid is a ring, torus or
    mesh: `dims` chips per axis, `wrap` per axis; a switch puts every chip one hop from
    every other. `links_per_hop` links join two neighbours (grid) or a chip to the switch;
    a hop carries `link_bytes_per_s * links_per_hop` per direction."""

    kind: Literal["grid", "switch"]
    dims: tuple[int, ...]
    wrap: tuple[bool, ...]
    link_bytes_per_s: float
    links_per_hop: int
    latency_s: float
    pj_per_bit: float

    @property
    def chips(self) -> int:
        return math.prod(self.dims)

    @property
    def hop_bytes_per_s(self) -> float:
        return self.link_bytes_per_s * self.links_per_hop

    def sub(self, chips: int) -> Fabric:
        """The fabric of `chips` neighbouring chips, as a parallel group occupies it: on a
        switch, a switch of `chips`; on a grid, a block filled from the last axis (whole
        axes keep their wraparound, a part of an axis is a line), axes of one chip dropped.
        A count that does not fill such a block is a MeshcError."""
        if not 1 <= chips <= self.chips:
            raise MeshcError(f"a group of {chips} chips does not fit {self.chips} chips")
        if self.kind == "switch" or chips == 1:
            return replace(self, dims=(chips,), wrap=(False,))
        dims: list[int] = []
        wrap: list[bool] = []
        left = chips
        for d, w in zip(reversed(self.dims), reversed(self.wrap), strict=True):
            if left == 1:
                break
            if left >= d and left % d == 0:
                dims.insert(0, d)
                wrap.insert(0, w)
                left //= d
            elif left < d:
                dims.insert(0, left)
                wrap.insert(0, False)
                left = 1
            else:
                break
        if left != 1:
            shape = "x".join(map(str, self.dims))
            raise MeshcError(f"{chips} chips do not fill a block of the {shape} grid",
                             hint="use a group size that fills whole axes from the last "
                             "one, or divides it")
        return replace(self, dims=tuple(dims), wrap=tuple(wrap))


@dataclass(frozen=True)
class ChipSet:
    """One group of the system: `count` chips of type `hw`."""

    name: str
    hw: Hardware
    count: int
    role: Role


@dataclass(frozen=True, eq=False)
class System:
    """A validated system: its spec, its chip groups (file order) and the file it came from."""

    spec: SystemSpec
    groups: tuple[ChipSet, ...]
    source: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def n_chips(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def fabric(self) -> Fabric:
        t, links = self.spec.topology, self.spec.links
        if t is None or links is None:  # a system of one
            return Fabric("switch", (self.n_chips,), (False,), 0.0, 0, 0.0, 0.0)
        b, lat, pj = links.bytes_per_s, links.latency_s, links.pj_per_bit
        if t.kind == "switch":
            return Fabric("switch", (self.n_chips,), (False,), b, links.per_chip, lat, pj)
        dims = t.dims or (self.n_chips,)  # a ring: one axis
        return Fabric("grid", dims, (t.kind != "mesh2d",) * len(dims), b,
                      links.per_chip // (2 * len(dims)), lat, pj)

    def peak_flops(self, precision: str) -> float:
        return sum(g.count * g.hw.peak_flops(precision) for g in self.groups)

    @property
    def hbm_bytes(self) -> int:
        return sum(g.count * g.hw.hbm_bytes for g in self.groups)

    @property
    def hbm_bytes_per_s(self) -> float:
        return sum(g.count * g.hw.hbm_bytes_per_s for g in self.groups)

    @property
    def sram_bytes(self) -> int:
        return sum(g.count * g.hw.sram_bytes for g in self.groups)

    @property
    def link_bytes_per_s_per_chip(self) -> float:
        """What one chip can send over all its links at once, one direction."""
        links = self.spec.links
        return links.per_chip * links.bytes_per_s if links else 0.0

    def summary(self) -> dict[str, Any]:
        """The facts `meshc system show --format json` prints (less the example)."""
        native = [p for p in PRECISIONS if any(p in g.hw.summary()["peak_tflops"]
                                               for g in self.groups)]
        t, links = self.spec.topology, self.spec.links
        return {
            "name": self.name,
            "description": self.spec.description,
            "chips": self.n_chips,
            "groups": [{"name": g.name, "hw": g.hw.name, "count": g.count, "role": g.role,
                        "hbm_bytes": g.hw.hbm_bytes, "sram_bytes": g.hw.sram_bytes,
                        "peak_tflops": g.hw.summary()["peak_tflops"]} for g in self.groups],
            "topology": t.model_dump() if t else None,
            "links": links.model_dump() if links else None,
            "peak_tflops": {p: round(self.peak_flops(p) / 1e12, 3) for p in native},
            "hbm_bytes": self.hbm_bytes,
            "hbm_bytes_per_s": self.hbm_bytes_per_s,
            "sram_bytes": self.sram_bytes,
            "link_bytes_per_s_per_chip": self.link_bytes_per_s_per_chip,
            "link_bytes_per_s_total": self.link_bytes_per_s_per_chip * self.n_chips,
        }


# --- loading ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def system_names() -> tuple[str, ...]:
    """Names of the built-in system presets, sorted."""
    return tuple(sorted(p.stem for p in SYSTEM_DIR.glob("*.yaml")))


def load_system(source: str | os.PathLike[str]) -> System:
    """A system preset by name, a system YAML/JSON file by path, or a chip preset's name
    (a system of one)."""
    s = os.fspath(source)
    if isinstance(source, str) and s in system_names():
        s = str(SYSTEM_DIR / f"{s}.yaml")
    elif isinstance(source, str) and s in preset_names():
        return system_of_one(load_hardware(s))
    elif not os.path.lexists(s):
        raise MeshcError(f"{s!r} is not a system preset or file",
                         hint=f"system presets: {', '.join(system_names())}; or a chip "
                         "preset (`meshc hw list`), a system of one")
    return validate_system(load_structured(s, what="system file"), s)


def parse_system(text: str, file: str = "<string>") -> System:
    """A system from YAML text; chip files resolve relative to `file`'s folder."""
    return validate_system(parse_yaml(text, file), file)


def validate_system(data: Any, file: str = "<data>") -> System:
    """A system from an already-parsed mapping; loads the chips it names."""
    if not isinstance(data, dict):
        raise MeshcError(f"expected a mapping of system fields, got {type(data).__name__}",
                         file=file, hint=_SCHEMA_HINT)
    try:
        spec = SystemSpec.model_validate(data)
    except ValidationError as e:
        raise translate_validation_error(e, file, _SCHEMA_HINT, _field_names()) from None
    base = Path(file).parent
    return System(spec, tuple(ChipSet(n, _chip(g.hw, base, file, f"chips.{n}.hw"), g.count,
                                      g.role) for n, g in spec.chips.items()), file)


def _chip(hw: str, base: Path, file: str, where: str) -> Hardware:
    if hw in preset_names():
        return load_hardware(hw)
    path = base / hw
    if not os.path.lexists(path):
        raise MeshcError(f"{hw!r} is neither a chip preset nor a file (looked for {path})",
                         file=file, where=where,
                         hint=f"chip presets: {', '.join(preset_names())}")
    return load_hardware(path)


def system_of_one(hw: Hardware) -> System:
    """Any chip as a system of one chip: no topology, no links, collectives cost 0."""
    spec = SystemSpec.model_validate({"schema_version": 1, "name": hw.name,
                                      "description": hw.description,
                                      "chips": {"chip": {"hw": hw.name, "count": 1}}})
    return System(spec, (ChipSet("chip", hw, 1, "any"),), hw.source)


@lru_cache(maxsize=1)
def _field_names() -> tuple[str, ...]:
    return tuple(sorted({f.alias or n for m in (Topology, Links, ChipGroup, SystemSpec)
                         for n, f in m.model_fields.items()}))
