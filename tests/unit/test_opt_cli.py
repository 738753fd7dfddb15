"""`meshc opt` and the .mlir frontend on bad input: one line, exit 2, no file lost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from meshc.cli import main
from meshc.commands.opt import expand_pipeline
from meshc.errors import MeshcError
from meshc.frontends.mlir import load

IR = 'func.func @f(%x: tensor<2xbf16>) -> tensor<2xbf16> {\n  func.return %x : tensor<2xbf16>\n}\n'


def opt(*args: str) -> Result:
    return CliRunner().invoke(main, ["opt", *args])


def one_error_line(r: Result) -> str:
    assert r.exit_code == 2, (r.output, r.exception)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("meshc opt: error: ")
    return lines[0].removeprefix("meshc opt: error: ")


@pytest.fixture
def ir(tmp_path: Path) -> Path:
    path = tmp_path / "in.mlir"
    path.write_text(IR)
    return path


def test_missing_input(tmp_path: Path) -> None:
    path = tmp_path / "missing.mlir"
    assert one_error_line(opt(str(path))) == f"{path}: no such IR file"


def test_non_utf8_input(tmp_path: Path) -> None:
    path = tmp_path / "bad.mlir"
    path.write_bytes(b"func.func @f() {\n  \xff\n}\n")
    assert one_error_line(opt(str(path))) == f"{path}: line 2, column 3: not UTF-8 text (byte 0xff)"


def test_fifo_input_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "fifo.mlir"
    os.mkfifo(path)
    assert "is a FIFO" in one_error_line(opt(str(path)))


def test_output_in_a_missing_folder(ir: Path, tmp_path: Path) -> None:
    out = tmp_path / "no" / "dir" / "x.mlir"
    line = one_error_line(opt(str(ir), "-o", str(out)))
    assert line.startswith(f"{out}: -o: the folder") and "does not exist" in line
    assert not (tmp_path / "no").exists()


def test_output_written_only_on_success(ir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mlir"
    out.write_text("precious\n")
    bad = tmp_path / "bad.mlir"
    bad.write_text('func.func @f() {\n  "nope"() : () -> ()\n}\n')
    one_error_line(opt(str(bad), "-o", str(out)))
    assert out.read_text() == "precious\n"  # a failed run leaves -o alone
    assert opt(str(ir), "-o", str(out)).exit_code == 0
    assert "func.func @f" in out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mlir", "in.mlir", "out.mlir"]


def test_output_onto_the_input_keeps_it(ir: Path) -> None:
    assert opt(str(ir), "-o", str(ir)).exit_code == 0
    assert "func.return" in ir.read_text()  # xDSL alone truncated it before reading


@pytest.mark.parametrize(("args", "line"), [
    (("--pipeline", "default", "--hw"), "--hw: needs a value"),
    (("--pipeline", "default", "--hw", "-o", "x.mlir"), "--hw: needs a value"),
    (("--pipeline",), "--pipeline: needs a value"),
    (("--pipeline", "fastest"), "unknown pipeline 'fastest' (known: default, quantized, "
     "disaggregated)"),
    (("--pipeline", "default", "--hw", "no/such.yaml"), "no/such.yaml: no such hardware file"),
    (("-p", "tile-grain{hw=/x/y.yaml}"), "bad pass pipeline: Unknown token at column 15 of "
     "'tile-grain{hw=/x/y.yaml}' (quote values with \"/\", spaces or other symbols: "
     "hw=\"./my.yaml\")"),
    (("-p", "tile-grain{"), "bad pass pipeline: Expected argument name here at column 12 of "
     "'tile-grain{'"),
    (("-p", "no-such-pass"), "bad pass pipeline: Unrecognized passes: ['no-such-pass'] in "
     "'no-such-pass'"),
])
def test_bad_options(ir: Path, args: tuple[str, ...], line: str) -> None:
    assert one_error_line(opt(str(ir), *args)) == line


def test_hw_path_with_spaces_and_commas_is_recorded_in_the_module(ir: Path,
                                                                   tmp_path: Path) -> None:
    hw = tmp_path / "my hw" / "a,b{c}.yaml"
    hw.parent.mkdir()
    hw.write_text((Path(__file__).parents[2] / "meshc/hardware/presets/mesh-2x2.yaml").read_text())
    args, got = expand_pipeline([str(ir), "--pipeline", "default", "--hw", str(hw)])
    assert got == str(hw) and args[:2] == [str(ir), "-p"] and str(hw) not in args[2]
    r = opt(str(ir), "--hw", str(hw))  # no pass string carries the path: nothing to quote
    assert r.exit_code == 0, r.output
    assert f'meshc.hw = #meshc.hw<"{hw}">' in r.stdout


# -- the .mlir frontend (`meshc compile x.mlir`) ----------------------------------------


def test_frontend_refuses_a_module_without_function(tmp_path: Path) -> None:
    path = tmp_path / "empty.mlir"
    path.write_text("builtin.module {}\n")
    with pytest.raises(MeshcError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: the module has no function: nothing to compile")


def test_frontend_parse_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.mlir"
    path.write_text('func.func @f() {\n  "nope"() : () -> ()\n}\n')
    with pytest.raises(MeshcError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}:2:")
    assert str(info.value).endswith("Operation nope is not registered")


@pytest.mark.parametrize(("content", "words"), [
    (b"func.func @f() {}\n\xfe", "line 2, column 1: not UTF-8 text (byte 0xfe)"),
    (None, "no such IR file"),
    ("fifo", "is a FIFO, not a regular IR file"),
])
def test_frontend_unreadable_file(tmp_path: Path, content: bytes | str | None,
                                  words: str) -> None:
    path = tmp_path / "m.mlir"
    if content == "fifo":
        os.mkfifo(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(MeshcError) as info:
        load(path)
    assert str(info.value) == f"{path}: {words}"


def test_frontend_loads_a_function(ir: Path) -> None:
    assert [op.sym_name.data for op in load(ir).ops] == ["f"]  # type: ignore[attr-defined]


HUGE = IR.replace("tensor<2xbf16>", "tensor<99999999999999999999xbf16>")
DEEP = "builtin.module {" * 5000 + "}" * 5000


def test_frontend_refuses_a_dimension_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.mlir"
    path.write_text(HUGE)
    with pytest.raises(MeshcError) as info:
        load(path)
    assert info.value.file == str(path)
    assert info.value.message.startswith("an argument of func.func has a dimension of "
                                         "99,999,999,999,999,999,999")
    assert "--limit dim=N" in str(info.value)


def test_deep_nesting_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.mlir"
    path.write_text(DEEP)
    with pytest.raises(MeshcError, match="nested too deeply"):
        load(path)
    assert one_error_line(opt(str(path))) == f"{path}: nested too deeply to read"


def test_an_ir_diagnostic_names_the_input(tmp_path: Path) -> None:
    path = tmp_path / "t.mlir"  # verifies after parsing: xDSL's message has no file
    path.write_text("func.func @f(%x: tensor<2xbf16>) -> tensor<3xbf16> {\n"
                    "  func.return %x : tensor<2xbf16>\n}\n")
    assert one_error_line(opt(str(path))).startswith(f"{path}: ")
