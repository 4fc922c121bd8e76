"""Import failures: every problem is collected first, then reported as one line naming each layer at fault."""

from __future__ import annotations

from dataclasses import dataclass, field

from convtui.errors import ConvtuiError


class ModelImportError(ConvtuiError):
    """A model file that cannot be read, or a model convtui cannot represent; nothing is written."""


CATALOGUE_ADVICE = "convtui imports models with one input made of its catalogue's layers (see the README); rebuild the model from those"


@dataclass
class Problems:
    """Why an import cannot be done: reasons per layer title ('layer 3 "add" (Add)') and for the whole model, and what to do."""

    by_layer: dict[str, list[str]] = field(default_factory=dict)
    model: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    """What to do, once each: the reasons say what is wrong, this how to get past it."""

    def add(self, layer_title: str, reason: str) -> None:
        self.by_layer.setdefault(layer_title, []).append(reason)

    def advise(self, advice: str) -> None:
        if advice not in self.advice:
            self.advice.append(advice)

    def __bool__(self) -> bool:
        return bool(self.by_layer or self.model)

    def raise_if_any(self, file: str) -> None:
        """One ModelImportError: `cannot import 2 layers: layer 3 "add" (Add): ...; layer 5 .... ADVICE`."""
        if not self:
            return
        count = len(self.by_layer)
        parts = [f"the model: {reason}" if count else reason for reason in self.model]
        parts += [f"{title}: {', '.join(reasons)}" for title, reasons in self.by_layer.items()]
        head = f"cannot import {count} layer{'s' if count != 1 else ''}" if count else "cannot import the model"
        advice = "".join(f". {item}" for item in self.advice)
        raise ModelImportError(f"{head}: {'; '.join(parts)}{advice}", file=file)
