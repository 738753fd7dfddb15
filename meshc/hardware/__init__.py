"""The machine as data (frozen, validated from YAML) and the per-core cost model.

    from meshc.hardware import load_hardware
    hw = load_hardware("tpu-v6e-like")       # a preset name or a path to a .yaml file
    hw.core_types["mxu"].exec_precision("int4")
"""

from meshc.hardware.energy import NODES, EnergyTable, NodeTable
from meshc.hardware.load import load_hardware, parse_hardware, preset_names, validate_hardware
from meshc.hardware.model import (
    SCHEMA_VERSION,
    CoreType,
    EnergySpec,
    Hardware,
    Hbm,
    HbmStack,
    Mesh,
    Noc,
    Region,
)
from meshc.hardware.precision import (
    PRECISIONS,
    Precision,
    precision_bits,
    precision_bytes,
    precision_of_mlir,
)

__all__ = [
    "NODES",
    "PRECISIONS",
    "SCHEMA_VERSION",
    "CoreType",
    "EnergySpec",
    "EnergyTable",
    "Hardware",
    "Hbm",
    "HbmStack",
    "Mesh",
    "Noc",
    "NodeTable",
    "Precision",
    "Region",
    "load_hardware",
    "parse_hardware",
    "precision_bits",
    "precision_bytes",
    "precision_of_mlir",
    "preset_names",
    "validate_hardware",
]
