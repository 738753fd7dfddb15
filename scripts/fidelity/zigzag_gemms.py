"""Reference energy and latency for GEMMs from ZigZag 3.9.1 (the PyPI ``zigzag-dse==3.9.1``).

Run it only inside the side venv made by ``/work/shared/tools/peer-venvs.sh /work/peers``::

    /work/peers/zigzag/bin/python scripts/fidelity/zigzag_gemms.py tests/fidelity/fixtures/zigzag.json

ZigZag is never a runtime or CI dependency of meshc; this script only writes the fixture.

Hardware: ZigZag's own TPU-like core as shipped in the wheel (``zigzag/inputs/hardware/tpu_like.yaml``:
a 32 x 32 weight-stationary array, 0.04 pJ/MAC, a 128 B weight register and a 2 B (16-bit)
accumulator per PE, a 2 MB SRAM for inputs and outputs, DRAM at 700/750 pJ per 64-bit word), and
``tpu_like_128``: the same file with only ``operational_array.sizes`` set to [128, 128] (the
mapping file is ZigZag's ``tpu_like.yaml`` mapping with its 32s made 128s: K on D1, C on D2).
A last, clearly labelled diagnostic variant changes more (32-bit per-PE accumulator and a 512-bit
DRAM port) to show which of the figures in /work/shared/notes/peers.md it reproduces.

Every run uses ZigZag's public API ``zigzag.api.get_hardware_performance_zigzag`` with its defaults
(LOMA temporal mapping search, ``lpf_limit=6``, ``opt="latency"``). The workload is ZigZag's own
GEMM layer form ``O[b][k] += I[b][c] * W[c][k]`` with loop sizes B = M, C = K, K = N.

Per case the fixture records total energy, MAC energy, energy per memory level and operand (also
split by the four data directions), word accesses per level, the latency breakdown and the chosen
mapping; once per hardware it records each memory level exactly as ZigZag holds it (size in bits,
read/write pJ per access, port widths in bits per cycle, operands, served dimensions, instance count).
"""

from __future__ import annotations

import json
import logging
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

PEER = "zigzag-dse"
PEER_VERSION = "3.9.1"

MAPPING_128 = """- name: default
  spatial_mapping:
    D1:
      - K, 128
    D2:
      - C, 128
  memory_operand_links:
    O: O
    W: I2
    I: I1
"""


@dataclass(frozen=True)
class Case:
    """One GEMM on one hardware variant."""

    name: str
    hardware: str
    m: int
    k: int
    n: int
    w_bits: int
    i_bits: int
    o_bits: int
    o_final_bits: int


CASES: tuple[Case, ...] = (
    Case("gemm_512x4096x4096_int8_tpu32", "tpu_like", 512, 4096, 4096, 8, 8, 16, 8),
    Case("gemm_512x4096x4096_int8", "tpu_like_128", 512, 4096, 4096, 8, 8, 16, 8),
    Case("gemv_1x4096x4096_int8", "tpu_like_128", 1, 4096, 4096, 8, 8, 16, 8),
    Case("gemm_512x512x512_int8", "tpu_like_128", 512, 512, 512, 8, 8, 16, 8),
    Case("gemm_512x4096x4096_int16", "tpu_like_128", 512, 4096, 4096, 16, 16, 16, 16),
    Case("gemm_512x4096x4096_int8_diag", "diag_acc32_dram512", 512, 4096, 4096, 8, 8, 32, 8),
)


def hardware_texts(zz_root: Path) -> dict[str, tuple[str, str]]:
    """{hardware name: (accelerator yaml text, mapping yaml text)}."""
    hw = (zz_root / "inputs" / "hardware" / "tpu_like.yaml").read_text()
    mp = (zz_root / "inputs" / "mapping" / "tpu_like.yaml").read_text()
    hw128 = hw.replace("sizes: [32, 32]", "sizes: [128, 128]")
    assert hw128 != hw
    diag = hw128.replace("rf_2B:\n    size: 16", "rf_4B:\n    size: 32")
    acc_bw = "bandwidth_min: 16\n        bandwidth_max: 16"
    diag = diag.replace(acc_bw, acc_bw.replace("16", "32"))
    dram_old = "bandwidth_min: 64\n        bandwidth_max: 64\n        allocation: \n          - I1, fh"
    assert dram_old in diag
    diag = diag.replace(dram_old, dram_old.replace("64", "512"))
    return {
        "tpu_like": (hw, mp),
        "tpu_like_128": (hw128, MAPPING_128),
        "diag_acc32_dram512": (diag, MAPPING_128),
    }


def workload(case: Case) -> list[dict[str, Any]]:
    return [
        {
            "id": 0,
            "name": case.name,
            "operator_type": "Gemm",
            "equation": "O[b][k]+=I[b][c]*W[c][k]",
            "dimension_relations": [],
            "loop_dims": ["B", "C", "K"],
            "loop_sizes": [case.m, case.k, case.n],
            "operand_precision": {
                "W": case.w_bits,
                "I": case.i_bits,
                "O": case.o_bits,
                "O_final": case.o_final_bits,
            },
            "operand_source": {"I": 0, "W": 0},
        }
    ]


def directions(four_way: Any) -> dict[str, float]:
    """ZigZag's FourWayDataMoving -> {rd_out_to_high, wr_in_by_high, rd_out_to_low, wr_in_by_low}."""
    return {str(d.name).lower(): float(v) for d, v in four_way.data.items()}


def describe_core(cme: Any) -> dict[str, Any]:
    """Every memory level and the MAC array exactly as ZigZag's cost model holds them."""
    acc = cme.accelerator
    array = acc.operational_array
    levels: list[dict[str, Any]] = []
    for lvl in acc.memory_hierarchy.mem_level_list:
        inst = lvl.memory_instance
        levels.append(
            {
                "name": lvl.name,
                "size_bits": int(inst.size),
                "read_pj_per_access": float(lvl.read_energy),
                "write_pj_per_access": float(lvl.write_energy),
                "latency": inst.latency,
                "mem_operands": sorted(str(op) for op in lvl.operands),
                "served_dimensions": sorted(str(d) for d in lvl.served_dimensions),
                "instances": int(lvl.unroll_count),
                "ports": [
                    {"name": p.name, "type": str(p.type), "bw_min_bits": p.bw_min, "bw_max_bits": p.bw_max}
                    for p in inst.ports
                ],
            }
        )
    links = cme.memory_operand_links
    per_operand: dict[str, list[str]] = {}
    for layer_op in cme.memory_word_access:
        mem_op = links.layer_to_mem_op(layer_op)
        per_operand[str(layer_op)] = [m.name for m in acc.memory_hierarchy.get_memory_levels(mem_op)]
    return {
        "mac_pj": float(array.unit.energy_cost),
        "array_dims": {str(d): int(s) for d, s in array.dimension_sizes.items()},
        "memory_levels_bottom_up": levels,
        "levels_per_layer_operand": per_operand,
        "layer_to_memory_operand": {str(op): str(links.layer_to_mem_op(op)) for op in cme.memory_word_access},
    }


def run_case(case: Case, texts: dict[str, tuple[str, str]], work: Path) -> dict[str, Any]:
    from zigzag.api import get_hardware_performance_zigzag  # only importable in the side venv

    hw_text, map_text = texts[case.hardware]
    hw_file = work / f"{case.name}_hw.yaml"
    map_file = work / f"{case.name}_map.yaml"
    hw_file.write_text(hw_text)
    map_file.write_text(map_text)
    t0 = time.perf_counter()
    energy, latency, cmes = get_hardware_performance_zigzag(
        workload(case),
        str(hw_file),
        str(map_file),
        opt="latency",
        dump_folder=str(work / case.name),
        loma_show_progress_bar=False,
    )
    seconds = time.perf_counter() - t0
    cme = cmes[0][1][0][0]  # the single layer's CostModelEvaluation
    per_level: dict[str, list[dict[str, Any]]] = {}
    core = describe_core(cme)
    for layer_op, energies in cme.mem_energy_breakdown.items():
        names = core["levels_per_layer_operand"][str(layer_op)]
        further = cme.mem_energy_breakdown_further[layer_op]
        words = cme.memory_word_access[layer_op]
        per_level[str(layer_op)] = [
            {
                "level": names[i],
                "energy_pj": float(energies[i]),
                "energy_pj_by_direction": directions(further[i]),
                "word_accesses_by_direction": directions(words[i]),
            }
            for i in range(len(energies))
        ]
    level_totals: dict[str, float] = {}
    for rows in per_level.values():
        for row in rows:
            level_totals[row["level"]] = level_totals.get(row["level"], 0.0) + row["energy_pj"]
    return {
        "name": case.name,
        "hardware": case.hardware,
        "M": case.m,
        "K": case.k,
        "N": case.n,
        "precision_bits": workload(case)[0]["operand_precision"],
        "macs": int(cme.layer.total_mac_count),
        "energy_total_pj": float(energy),
        "energy_total_uj": float(energy) / 1e6,
        "mac_energy_pj": float(cme.mac_energy),
        "mem_energy_pj": float(cme.mem_energy),
        "energy_per_level_pj": level_totals,
        "energy_per_operand_level": per_level,
        "latency_cycles": float(latency),
        "latency": {
            "ideal_cycle": float(cme.ideal_cycle),
            "ideal_temporal_cycle": float(cme.ideal_temporal_cycle),
            "stall_slack_comb": float(cme.stall_slack_comb),
            "latency_total0_ideal_plus_stall": float(cme.latency_total0),
            "data_onloading_cycle": float(cme.data_onloading_cycle),
            "latency_total1_plus_onloading": float(cme.latency_total1),
            "data_offloading_cycle": float(cme.data_offloading_cycle),
            "systolic_drain_cycle": float(cme.systolic_drain_cycle),
            "latency_total2_plus_offloading_and_drain": float(cme.latency_total2),
            "mac_utilization2": float(cme.mac_utilization2),
        },
        "spatial_mapping": str(cme.spatial_mapping),
        "temporal_mapping": {
            str(op): str(v) for op, v in cme.temporal_mapping.mapping_dic_stationary.items()
        },
        "workload": workload(case),
        "seconds": round(seconds, 2),
    }, core


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    out_path = Path(argv[1])
    got = version(PEER)
    if got != PEER_VERSION:
        raise SystemExit(f"expected {PEER} {PEER_VERSION}, found {got}")
    import zigzag

    zz_root = Path(zigzag.__file__).parent
    texts = hardware_texts(zz_root)
    logging.disable(logging.INFO)
    cases: list[dict[str, Any]] = []
    cores: dict[str, Any] = {}
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zigzag_fid_") as tmp:
        for case in CASES:
            row, core = run_case(case, texts, Path(tmp))
            cases.append(row)
            cores.setdefault(case.hardware, core)
            print(
                f"{case.name:34s} {row['energy_total_uj']:10.1f} uJ {row['latency_cycles']:>12.0f} cc"
                f" ({row['seconds']} s)",
                file=sys.stderr,
            )
    doc = {
        "peer": PEER,
        "peer_version": got,
        "python": platform.python_version(),
        "command": f"/work/peers/zigzag/bin/python scripts/fidelity/zigzag_gemms.py {out_path}",
        "wall_seconds": round(time.perf_counter() - t_all, 1),
        "api": "zigzag.api.get_hardware_performance_zigzag(workload, hw, mapping, opt='latency'), defaults "
        "otherwise (LOMA, lpf_limit=6, access_same_data_considered_as_no_access=True)",
        "units": "energy in pJ (ZigZag's unit); sizes and port widths in bits; latency in cycles",
        "hardware": {
            name: {
                "source": "zigzag/inputs/hardware/tpu_like.yaml from the installed wheel"
                + ("" if name == "tpu_like" else ", modified as in this script's hardware_texts()"),
                "accelerator_yaml": hw,
                "accelerator_parsed": yaml.safe_load(hw),
                "mapping_yaml": mp,
                "as_used_by_zigzag": cores.get(name),
            }
            for name, (hw, mp) in texts.items()
        },
        "cases": cases,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
