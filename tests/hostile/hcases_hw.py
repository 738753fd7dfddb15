"""Hardware YAML files, through `meshc hw show`, `meshc hw cost` and `meshc compile --hw`."""

from __future__ import annotations

from typing import Any

from hostile_case import EITHER, OK, USER_ERROR, Case, Dir, Fifo, Link
from hostile_gen import MESH, MESH_YAML, compile_fast, dump_yaml, mutated

H = "hw.yaml"
SHOW = ("hw", "show", H)


def _text(name: str, text: str | bytes, *mentions: str, argv: tuple[str, ...] = SHOW) -> Case:
    return Case(f"hw-{name}", argv, USER_ERROR, {H: text}, (H, *mentions))


def _field(name: str, path: str, value: Any, where: str, delete: bool = False) -> Case:
    """mesh-4x4 with one field changed; `meshc hw show` must name its YAML path."""
    return _text(name, dump_yaml(mutated(MESH, path, value, delete)), where)


def _compile(name: str, data: Any, expect: str, *mentions: str) -> Case:
    return Case(f"hw-compile-{name}", compile_fast("gpt2", "--hw", H), expect,
                {H: dump_yaml(data)}, (H, *mentions) if expect == USER_ERROR else (), out="out")


def file_cases() -> list[Case]:
    deep = 100_000
    return [
        _text("malformed", "core_types: [unclosed\n", "line"),
        _text("empty", ""),
        _text("top-list", "- mesh\n- noc\n"),
        _text("binary", bytes(range(255, -1, -1)) * 8),
        _text("non-utf8", MESH_YAML.encode().replace(b"synthetic 4x4", b"synth\xff", 1), "line"),
        _text("duplicate-key", "name: a\nname: b\n", "line 2"),
        _text("deep-nesting", "mesh: " + "[" * deep + "]" * deep + "\n"),
        _text("alias-bomb", "a: &a [" + ", ".join(["x"] * 10) + "]\n" + "".join(
            f"b{i}: &b{i} [" + ", ".join([f"*{'a' if i == 0 else f'b{i - 1}'}"] * 10) + "]\n"
            for i in range(8)) + "mesh: *b7\n"),
        _text("python-tag", "name: !!python/object/apply:os.getcwd []\n"),
        _text("5000-digit-sram", MESH_YAML.replace("sram_bytes: 524288", "sram_bytes: " + "9" * 5000)),
        Case("hw-fifo", SHOW, USER_ERROR, {H: Fifo()}, (H,), wall=8.0),
        Case("hw-dev-zero-link", SHOW, USER_ERROR, {H: Link("/dev/zero")}, (H,), wall=8.0),
        Case("hw-directory", SHOW, USER_ERROR, {H: Dir()}, (H,)),
        Case("hw-symlink-loop", SHOW, USER_ERROR, {H: Link("hw2.yaml"), "hw2.yaml": Link(H)}, (H,)),
        Case("hw-missing-file", ("hw", "show", "missing.yaml"), USER_ERROR, {}, ("missing.yaml",)),
        Case("hw-unknown-preset", ("hw", "show", "mesh-5x5"), USER_ERROR, {}, ("mesh-5x5",)),
        Case("hw-ok-copy", SHOW, OK, {H: MESH_YAML}),
        Case("hw-ok-cost", ("hw", "cost", H, "--gemm", "128,256,256"), OK, {H: MESH_YAML}),
    ]


def field_cases() -> list[Case]:
    mlp = "core_types.mlp"
    return [
        _field("bool-sram", f"{mlp}.sram_bytes", True, f"{mlp}.sram_bytes"),
        _field("bool-rows", "mesh.rows", True, "mesh.rows"),
        _field("float-array", f"{mlp}.array_rows", 8.5, f"{mlp}.array_rows"),
        _field("string-sram", f"{mlp}.sram_bytes", "lots", f"{mlp}.sram_bytes"),
        _field("nan-clock", f"{mlp}.clock_hz", float("nan"), f"{mlp}.clock_hz"),
        _field("neg-inf-hbm", "hbm.stacks.0.bytes_per_s", float("-inf"), "hbm.stacks[0].bytes_per_s"),
        _field("zero-sram", f"{mlp}.sram_bytes", 0, f"{mlp}.sram_bytes"),
        _field("negative-link", "noc.link_bytes_per_cycle", -32, "noc.link_bytes_per_cycle"),
        _field("missing-sram", f"{mlp}.sram_bytes", None, f"{mlp}.sram_bytes", delete=True),
        _field("missing-mesh", "mesh", None, "mesh", delete=True),
        _field("unknown-field", f"{mlp}.sram_byte", 1, f"{mlp}.sram_byte"),
        _field("regions-not-list", "mesh.regions", "attention", "mesh.regions"),
        _field("attach-huge", "hbm.stacks.0.attach", [[10**20, 0]], "hbm.stacks[0].attach[0]"),
        _field("rows-huge", "mesh.rows", 10**30, "mesh.rows"),
        _field("unicode-core-name", "core_types.mlp✓", {}, "core_types.mlp✓"),
        _field("null-core-types", "core_types", None, "core_types"),
        _field("macs-nan", f"{mlp}.macs_per_cycle.bf16", float("nan"), f"{mlp}.macs_per_cycle.bf16"),
    ]


def compile_cases() -> list[Case]:
    big = mutated(mutated(MESH, "mesh.rows", 256), "mesh.cols", 256)
    big["hbm"]["stacks"][0]["attach"] = [[r, 0] for r in range(4)]
    big["mesh"]["regions"][0]["rows"] = [0, 255]
    return [
        _compile("bad-sram", mutated(MESH, "core_types.mlp.sram_bytes", 0), USER_ERROR,
                 "core_types.mlp.sram_bytes"),
        _compile("mesh-256x256", big, USER_ERROR, "--limit"),
        _compile("hbm-1e-30", mutated(MESH, "hbm.stacks.0.bytes_per_s", 1e-30), EITHER),
        _compile("clock-1e-30", mutated(MESH, "core_types.mlp.clock_hz", 1e-30), EITHER),
        _compile("sram-one-byte", mutated(MESH, "core_types.mlp.sram_bytes", 1), EITHER),
        _compile("ok-copy", MESH, OK),
        Case("hw-show-256x256", SHOW, EITHER, {H: dump_yaml(big)}, (H,)),
        Case("hw-show-hbm-1e-30", SHOW, EITHER, {H: dump_yaml(mutated(MESH, "hbm.stacks.0.bytes_per_s",
                                                                  1e-30))}),
        Case("hw-compile-missing", compile_fast("gpt2", "--hw", "missing.yaml"), USER_ERROR, {},
             ("missing.yaml",)),
        Case("hw-compile-dot-slash-bad", compile_fast("gpt2", "--hw", "./x.yaml"), USER_ERROR,
             {"x.yaml": "mesh: {rows: 0}\n"}, ("x.yaml",)),
        Case("hw-compile-unknown-preset", compile_fast("gpt2", "--hw", "tpu-v99"), USER_ERROR, {},
             ("tpu-v99",)),
        Case("hw-compile-fifo", compile_fast("gpt2", "--hw", H), USER_ERROR, {H: Fifo()}, (H,),
             wall=8.0),
    ]


def cases() -> list[Case]:
    return file_cases() + field_cases() + compile_cases()
