"""The `meshc` dialect: typed, verified attributes for what the passes record.

Pass state used to be plain strings, so `meshc.residency = "hmb"` silently meant SRAM. Each
fact now has one attribute class whose verifier runs when it is built or parsed:

    module   meshc.hw         #meshc.hw<"mesh-4x4">   the hardware (preset name or YAML path)
    tfm op   meshc.region     #meshc<region mlp>      shared | attention | mlp
    weight   meshc.residency  #meshc<residency hbm>   sram | hbm
    tfm op   meshc.part       #meshc.part<2>          the row block split-rows cut (>= 0)
    func     meshc.role       #meshc<role mlp>        the chips a step runs on: any | attention | mlp

`OP_STATE` maps each op attribute name to its class; `op_state` is the one reader, used by
the tfm op verifier and by the passes, and rejects any other form with a message that names
the attribute, what it holds and what it should hold.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IntAttr, ModuleOp, StringAttr
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Attribute, Dialect, Operation, ParametrizedAttribute, SpacedOpaqueSyntaxAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

ATTR_HW = "meshc.hw"
ATTR_REGION = "meshc.region"
ATTR_RESIDENCY = "meshc.residency"
ATTR_PART = "meshc.part"


class Residency(StrEnum):
    SRAM = "sram"
    HBM = "hbm"


@irdl_attr_definition
class ResidencyAttr(EnumAttribute[Residency], SpacedOpaqueSyntaxAttribute):
    """Where a weight lives while the model runs: `#meshc<residency sram>`."""

    name = "meshc.residency"

    def __init__(self, data: Residency | str) -> None:
        super().__init__(Residency(data))  # a plain "sram" would print and compare wrongly


class Region(StrEnum):
    SHARED = "shared"
    ATTENTION = "attention"
    MLP = "mlp"


@irdl_attr_definition
class RegionAttr(EnumAttribute[Region], SpacedOpaqueSyntaxAttribute):
    """The core region an op runs on: `#meshc<region attention>`."""

    name = "meshc.region"

    def __init__(self, data: Region | str) -> None:
        super().__init__(Region(data))


class Role(StrEnum):
    ANY = "any"
    ATTENTION = "attention"
    MLP = "mlp"


@irdl_attr_definition
class RoleAttr(EnumAttribute[Role], SpacedOpaqueSyntaxAttribute):
    """The chips a step function runs on (split-stages): `#meshc<role attention>`."""

    name = "meshc.role"

    def __init__(self, data: Role | str) -> None:
        super().__init__(Role(data))


@irdl_attr_definition
class HardwareAttr(ParametrizedAttribute):
    """The hardware a module is compiled for: `#meshc.hw<"mesh-4x4">`, a preset name or the
    path of a hardware YAML file, as the user gave it."""

    name = "meshc.hw"
    source: StringAttr

    def __init__(self, source: str) -> None:
        super().__init__(StringAttr(source))

    @property
    def data(self) -> str:
        return self.source.data

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> tuple[StringAttr]:
        with parser.in_angle_brackets():
            return (StringAttr(parser.parse_str_literal(" for meshc.hw (a preset name or file path)")),)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        printer.print_string_literal(self.source.data)
        printer.print_string(">")

    def verify(self) -> None:
        s = self.source.data
        if not s.strip() or any(ord(ch) < 32 for ch in s):
            raise VerifyException(f"meshc.hw must name a hardware preset or file, got {s!r}")


@irdl_attr_definition
class PartAttr(ParametrizedAttribute):
    """The row block of an op split-rows cut: `#meshc.part<2>`."""

    name = "meshc.part"
    index: IntAttr

    def __init__(self, index: int) -> None:
        super().__init__(IntAttr(index))

    @property
    def data(self) -> int:
        return self.index.data

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> tuple[IntAttr]:
        with parser.in_angle_brackets():
            return (IntAttr(parser.parse_integer(allow_boolean=False)),)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f"<{self.index.data}>")

    def verify(self) -> None:
        if self.index.data < 0:
            raise VerifyException(f"meshc.part must be >= 0, got {self.index.data}")


MESHC = Dialect("meshc", [], [ResidencyAttr, RegionAttr, RoleAttr, HardwareAttr, PartAttr])

# the typed form of every meshc.* attribute an op may carry
OP_STATE: dict[str, type[Attribute]] = {
    ATTR_REGION: RegionAttr, ATTR_RESIDENCY: ResidencyAttr, ATTR_PART: PartAttr,
}
_SPELLING = {
    ATTR_REGION: "#meshc<region shared|attention|mlp>",
    ATTR_RESIDENCY: "#meshc<residency sram|hbm>",
    ATTR_PART: "#meshc.part<N>",
    ATTR_HW: '#meshc.hw<"NAME">',
}


def _wrong(key: str, got: Attribute) -> VerifyException:
    return VerifyException(f"{key} must be {_SPELLING[key]}, got {got}")


def op_state(op: Operation, key: str) -> Attribute | None:
    """The typed `key` attribute of `op` (None when absent); any other form of it raises
    VerifyException."""
    a = op.attributes.get(key)
    if a is None or isinstance(a, OP_STATE[key]):
        return a
    raise _wrong(key, a)


def verify_op_state(op: Operation) -> None:
    """Every meshc.* attribute of `op` is one meshc knows, in its typed form."""
    for key in op.attributes:
        if key.startswith("meshc."):
            if key not in OP_STATE:
                raise VerifyException(f"unknown attribute {key} on {op.name}; meshc knows "
                                      f"{', '.join(sorted(OP_STATE))}")
            op_state(op, key)


def module_hardware(module: ModuleOp) -> str | None:
    """The hardware recorded in the module, None when there is none yet."""
    a = module.attributes.get(ATTR_HW)
    if a is None:
        return None
    if not isinstance(a, HardwareAttr):
        raise _wrong(ATTR_HW, a)
    return a.data
