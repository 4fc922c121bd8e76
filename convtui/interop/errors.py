"""Import failures: every problem is collected first, then reported as one line naming each layer at fault."""

from __future__ import annotations

from dataclasses import dataclass, field

from convtui.errors import ConvtuiError


class ModelImportError(ConvtuiError):
    """A model file that cannot be read, or a model convtui cannot represent; nothing is written."""


@dataclass
class Problems:
    """Why an import cannot be done: reasons per layer title ('layer 3 "add" (Add)') and for the whole model."""

    by_layer: dict[str, list[str]] = field(default_factory=dict)
    model: list[str] = field(default_factory=list)

    def add(self, layer_title: str, reason: str) -> None:
        self.by_layer.setdefault(layer_title, []).append(reason)

    def __bool__(self) -> bool:
        return bool(self.by_layer or self.model)

    def raise_if_any(self, file: str) -> None:
        """One ModelImportError: `cannot import 2 layers: layer 3 "add" (Add): ...; layer 5 ...`."""
        if not self:
            return
        parts = [f"the model: {reason}" for reason in self.model]
        parts += [f"{title}: {', '.join(reasons)}" for title, reasons in self.by_layer.items()]
        count = len(self.by_layer)
        head = f"cannot import {count} layer{'s' if count != 1 else ''}" if count else "cannot import the model"
        hint = "convtui imports models with one input made of its catalogue's layers (see the README); rebuild the model from those"
        raise ModelImportError(f"{head}: {'; '.join(parts)}. {hint}", file=file)
