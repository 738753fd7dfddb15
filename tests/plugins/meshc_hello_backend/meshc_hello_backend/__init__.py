"""An example meshc plug-in: a backend (hello.txt, one line per phase) and a pass
(hello-note, a note for the report), the examples of docs/adding-a-backend.md and
docs/adding-a-pass.md."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass


class HelloBackend:
    """hello.txt: one line per phase with its latency and energy per token."""

    name = "hello"

    def emit(self, result):  # result: meshc.result.CompileResult
        lines = [f"hello from {result.model} on {result.hardware}"]
        for p in result.phases:
            lines.append(f"{p.name}: {p.latency_s * 1e6:.3f} us, {p.pj_per_token:.4g} pJ/token")
        return {"hello.txt": "\n".join(lines) + "\n"}


@dataclass(frozen=True)
class HelloNotePass(ModulePass):
    """Adds one note to the report: `text` and the number of ops the module holds.

    Input: any module. Output: the same module with one more `meshc.notes` entry.
    Options: text (the note's first words). Never fails."""

    name = "hello-note"

    text: str = "hello"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from meshc.ir.notes import add_note

        n = sum(1 for _ in op.walk()) - 1
        add_note(op, self.name, f"{self.text}: the module holds {n} ops here")
