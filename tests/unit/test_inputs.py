"""meshc.inputs: only regular files, within limits; YAML/JSON that cannot blow up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from meshc import limits
from meshc.errors import MeshcError
from meshc.inputs import load_structured, parse_json, parse_yaml, read_bytes, read_text


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("a: 16e9\nb: [1, 2]\n")
    assert load_structured(f) == {"a": 16e9, "b": [1, 2]}


@pytest.mark.parametrize("make, message", [
    (lambda p: os.mkfifo(p), "is a FIFO"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.symlink_to(p), "loop of symbolic links"),
    (lambda p: None, "no such file"),
])
def test_what_is_not_a_regular_file_is_refused_without_blocking(
        tmp_path: Path, make: object, message: str) -> None:
    p = tmp_path / "x.yaml"
    make(p)  # type: ignore[operator]
    with pytest.raises(MeshcError, match=message) as e:
        read_bytes(p)
    assert str(p) in str(e.value)


def test_a_device_is_refused() -> None:
    with pytest.raises(MeshcError, match="character device"):
        read_bytes("/dev/zero")


def test_a_file_over_the_limit_is_refused_with_the_option(tmp_path: Path) -> None:
    f = tmp_path / "big.yaml"
    f.write_bytes(b"a" * 2_000_001)
    try:
        limits.set_limits(("text_mb=1",))
        with pytest.raises(MeshcError, match=r"--limit text_mb=N"):
            read_bytes(f)
    finally:
        limits.reset()


def test_bad_utf8_is_located(tmp_path: Path) -> None:
    f = tmp_path / "x.mlir"
    f.write_bytes(b"ok\nab\xffc\n")
    with pytest.raises(MeshcError, match=r"line 2, column 3: not UTF-8 text \(byte 0xff\)"):
        read_text(f)


@pytest.mark.parametrize("text", ["[" * 100_000, "a:\n" + "- " * 50_000 + "1"])
def test_deep_nesting_is_an_error_not_a_crash(text: str) -> None:
    with pytest.raises(MeshcError, match=r"nested too deeply|not valid"):
        parse_yaml(text, "f.yaml")
    with pytest.raises(MeshcError):
        parse_json(text, "f.json")


def test_json_deep_nesting_and_huge_integers() -> None:
    with pytest.raises(MeshcError, match="nested too deeply"):
        parse_json("[" * 100_000 + "]" * 100_000, "f.json")
    with pytest.raises(MeshcError, match="thousands of digits"):
        parse_json('{"hidden": ' + "9" * 5000 + "}", "f.json")
    with pytest.raises(MeshcError, match="thousands of digits"):
        parse_yaml("hidden: " + "9" * 5000, "f.yaml")
    with pytest.raises(MeshcError, match="NaN is not a number"):
        parse_json('{"a": NaN}', "f.json")


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(MeshcError, match="duplicate key 'a'"):
        parse_json('{"a": 1, "a": 2}', "f.json")
    with pytest.raises(MeshcError, match=r"line 2, column 1.*duplicate key 'a'"):
        parse_yaml("a: 1\na: 2\n", "f.yaml")


def test_a_yaml_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(MeshcError, match="expands to too many values"):
        parse_yaml("\n".join(lines), "bomb.yaml")
