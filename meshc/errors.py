"""The one error type users see: what is wrong, where, and what to change.

Bad input raises `MeshcError` with the file and the place in it (a YAML path such as
`nodes[3].inputs[1]`, an ONNX node name, an IR op). The CLI renders it on one line and
exits with code 2; nothing else in meshc prints errors.
"""

from __future__ import annotations


class MeshcError(Exception):
    """An error in the user's input or request, located as precisely as meshc knows."""

    def __init__(
        self, message: str, *, file: str | None = None, where: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.where = where
        self.hint = hint

    def located(self, file: str | None = None, where: str | None = None) -> MeshcError:
        """The same error with a file and place filled in where they were missing."""
        return MeshcError(
            self.message, file=self.file or file, where=self.where or where, hint=self.hint
        )

    def __str__(self) -> str:
        head = ": ".join(p for p in (self.file, self.where) if p)
        text = f"{head}: {self.message}" if head else self.message
        return f"{text} ({self.hint})" if self.hint else text


def printable(value: object) -> str:
    """A user's value as it can be shown in a one-line message: control characters (a
    newline in a node name, a NUL in a file) escaped, everything else as is."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))


def one_line(e: Exception) -> str:
    """An xDSL diagnostic (which prints the annotated IR) as one line: `file:line:col:
    message` for a parse error, the message itself for anything else."""
    from xdsl.utils.exceptions import ParseError

    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    if not lines:
        return type(e).__name__
    if isinstance(e, ParseError) and len(lines) > 1:
        return f"{lines[0]}: {lines[-1]}"
    return lines[-1]
