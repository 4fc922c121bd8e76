"""The project's error types: every error a user can cause says where it is and what to do.

The CLI prints `str(error)` on one line and exits with `error.exit_code`; the app shows the
same sentence next to the thing that caused it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field


def printable(text: str) -> str:
    """One line: control characters (newlines, DEL, ...) shown as escapes, never printed raw."""
    return "".join(char.encode("unicode_escape").decode("ascii") if unicodedata.category(char).startswith("C") else char for char in text)


@dataclass(eq=False)
class ConvtuiError(Exception):
    """Base of every error convtui raises on purpose; carries where it happened."""

    message: str
    file: str | None = None
    layer_index: int | None = None
    layer_type: str | None = None
    field_name: str | None = None
    exit_code: int = field(default=2, kw_only=True)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def located(self, **where: object) -> ConvtuiError:
        """Fill in location fields that are still unknown (the caller knows more than the raiser)."""
        for name, value in where.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        return self

    @property
    def where(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file)
        if self.layer_index is not None:
            parts.append(f"layer {self.layer_index}" + (f" ({self.layer_type})" if self.layer_type else ""))
        elif self.layer_type:
            parts.append(self.layer_type)
        if self.field_name is not None:
            parts.append(f"field '{self.field_name}'")
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.where
        return printable(f"{where}: {self.message}" if where else self.message)


class PresetError(ConvtuiError):
    """A preset file that cannot be read, parsed or validated."""


class LayerConfigError(ConvtuiError):
    """A layer argument that is not acceptable (wrong type, out of range, unknown)."""


class ShapeError(ConvtuiError):
    """A layer that cannot apply to the shape it receives (kernel too large, side <= 0, ...)."""


class EngineError(ConvtuiError):
    """A forward pass that cannot run: memory guard, unusable weights or image."""
