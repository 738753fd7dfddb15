"""What the frontends and passes learn for the user, carried in the module to the report.

A note is a (source, text) pair: `source` names who found it (`frontend`, a pass name),
`text` is one sentence for a person ("gpt2 has 1,024 positions; --seq 2048 reads past
them"). They live in the module attribute `meshc.notes`, in the order they were added, so
they survive `meshc import` / `meshc opt` round trips and reach report.json/report.md.
"""

from __future__ import annotations

from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr

ATTR_NOTES = "meshc.notes"


def add_note(module: ModuleOp, source: str, text: str) -> None:
    """Appends one note (a note already present is not repeated)."""
    entry = ArrayAttr([StringAttr(source), StringAttr(text)])
    old = module.attributes.get(ATTR_NOTES)
    items = list(old.data) if isinstance(old, ArrayAttr) else []
    if entry not in items:
        module.attributes[ATTR_NOTES] = ArrayAttr([*items, entry])


def notes(module: ModuleOp) -> tuple[tuple[str, str], ...]:
    """The notes of a module, in order."""
    attr = module.attributes.get(ATTR_NOTES)
    if not isinstance(attr, ArrayAttr):
        return ()
    out = []
    for e in attr.data:
        if isinstance(e, ArrayAttr) and len(e.data) == 2 and all(
                isinstance(s, StringAttr) for s in e.data):
            out.append((e.data[0].data, e.data[1].data))
    return tuple(out)
