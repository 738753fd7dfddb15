"""What every hardware schema model shares: the pydantic config and the error that pins
a failed cross-field check to its YAML path (load.py turns it into a MeshcError)."""

from __future__ import annotations

from pydantic import ConfigDict

CONFIG = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class FieldError(ValueError):
    """A failed check pinned to `field`, a path below the object that raised it."""

    def __init__(self, field: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # "" pins it to the object itself
        self.hint = hint
