"""`meshc opt`: xDSL's opt driver with meshc's dialects, passes and named pipelines.

Every bad input (a missing or non-UTF-8 file, a malformed `-p`, an output folder that does
not exist) prints one line and returns 2. The input is read whole before anything is
written, and `-o` is written only when every pass succeeded (atomically), so `-o` naming
the input file, or a run that fails half-way, never loses a file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from io import BytesIO, StringIO
from typing import IO

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import DiagnosticException, ParseError
from xdsl.xdsl_opt_main import xDSLOptMain

from meshc import limits
from meshc.errors import MeshcError, one_line
from meshc.inputs import read_text
from meshc.registry import dialect_factories, pass_factories


class _Held(StringIO):
    """The `-o` text, held until the run has succeeded (xDSL closes its output stream)."""

    def close(self) -> None:
        pass


class MeshcOptMain(xDSLOptMain):
    """xDSL's driver; `hw`, when given, is recorded in every module before the passes."""

    _held: _Held | None = None

    def __init__(self, *, description: str, args: Sequence[str], hw: str | None = None) -> None:
        self._hw = hw
        super().__init__(description=description, args=args)

    def register_all_dialects(self) -> None:
        super().register_all_dialects()
        known = set(self.ctx.registered_dialect_names)
        for name, factory in dialect_factories().items():
            if name not in known:  # the xdsl.universe entry point may have added them
                self.ctx.register_dialect(name, factory)

    def register_all_passes(self) -> None:
        super().register_all_passes()
        for name, factory in pass_factories().items():
            self.register_pass(name, factory)

    def setup_pipeline(self) -> None:
        from meshc.pipelines import parse_passes

        # xDSL's parse error is a BaseException with a five-line caret diagram: parse the
        # same string once through meshc's own reader, which makes it one MeshcError
        parse_passes(self.args.passes)
        super().setup_pipeline()

    def apply_passes(self, prog: ModuleOp) -> None:
        if self._hw is not None:
            from meshc.pipelines import set_hardware

            set_hardware(prog, self._hw)
        super().apply_passes(prog)

    def get_input_stream(self) -> tuple[IO[bytes], str]:
        """The whole input as UTF-8 checked bytes: a regular file within the size limit,
        or stdin."""
        name = self.args.input_file
        if name is None:
            return BytesIO(_read_stdin().encode()), "mlir"
        text = read_text(name, what="IR file")
        return BytesIO(text.encode()), os.path.splitext(name)[1].lstrip(".")

    def prepare_output(self) -> IO[str]:
        out = self.args.output_file
        if out is None:
            return sys.stdout
        _check_output(out)  # before any work: a missing folder is found up front
        self._held = _Held()
        return self._held

    def run(self) -> None:
        super().run()
        if self._held is not None:
            _write_atomic(self.args.output_file, self._held.getvalue())


def _read_stdin() -> str:
    cap = limits.get("text_mb") * 1_000_000
    data = sys.stdin.buffer.read(cap + 1)
    if len(data) > cap:
        raise limits.refuse("text_mb", len(data) / 1e6, "stdin is too large").located(
            file="<stdin>")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MeshcError(f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})",
                         file="<stdin>") from None


def _check_output(path: str) -> None:
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise MeshcError(f"the folder {folder!r} of the output file does not exist",
                         file=path, where="-o")
    if os.path.isdir(path):
        raise MeshcError("is a directory, not an output file", file=path, where="-o")


def _write_atomic(path: str, text: str) -> None:
    """Writes beside `path` and renames: the old file stays whole until the new one is."""
    folder = os.path.dirname(path) or "."
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".meshc-opt-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        raise MeshcError(f"cannot write: {e.strerror or e}", file=path, where="-o") from None


def _take(args: list[str], flag: str) -> str | None:
    """Removes `flag VALUE` (or `flag=VALUE`) from `args`; the value, None if absent."""
    for i, a in enumerate(args):
        if a.startswith(flag + "="):
            del args[i]
            value = a[len(flag) + 1:]
        elif a == flag:
            if i + 1 >= len(args) or args[i + 1].startswith("-"):
                raise MeshcError("needs a value", where=flag)
            value = args[i + 1]
            del args[i:i + 2]
        else:
            continue
        if not value:
            raise MeshcError("needs a value", where=flag)
        return value
    return None


def expand_pipeline(args: Sequence[str]) -> tuple[list[str], str | None]:
    """Takes `--pipeline NAME` and `--hw HW` out of `args`: the xDSL arguments with NAME
    turned into its `-p` pass list, and HW (checked now, so that a bad one is reported as
    such before the input is read), which the driver records in the module."""
    args = list(args)
    name, hw = _take(args, "--pipeline"), _take(args, "--hw")
    if hw is not None:
        from meshc.hardware import load_hardware

        load_hardware(hw)
    if name is not None:
        from meshc.pipelines import pipeline_spec

        args += ["-p", pipeline_spec(name)]
    return args, hw


def run(args: Sequence[str]) -> int:
    """Runs the driver; user errors print one line and return 2."""
    driver: MeshcOptMain | None = None
    try:
        xdsl_args, hw = expand_pipeline(args)
        driver = MeshcOptMain(description="meshc opt: run meshc passes on IR", args=xdsl_args,
                              hw=hw)
        driver.run()
    except (MeshcError, ValueError) as e:
        print(f"meshc opt: error: {one_line(e)}", file=sys.stderr)
        return 2
    except (ParseError, DiagnosticException, RecursionError) as e:  # the IR is at fault
        line = ("nested too deeply to read" if isinstance(e, RecursionError) else one_line(e))
        name = (driver.args.input_file if driver else None) or "<stdin>"
        print(f"meshc opt: error: {line if line.startswith(name) else f'{name}: {line}'}",
              file=sys.stderr)
        return 2
    return 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
