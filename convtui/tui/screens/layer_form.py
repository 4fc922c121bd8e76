"""The layer form: one field per argument of a layer type, each checked as it is typed.

Every field is parsed and run through the layer's own converter (the checks a preset gets),
the reason shown next to it; then the whole layer is built and propagated from the shape it
will receive, so the learner sees the output shape and params before accepting.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, fields
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Static

from convtui.errors import ConvtuiError, LayerConfigError
from convtui.model.arguments import ACTIVATION_NAMES, KERNEL_INITIALIZERS
from convtui.model.convention import shape_text
from convtui.model.layers import Layer, Shape
from convtui.tui.field_values import parse_value, value_text

STARTING_VALUES: dict[str, Any] = {"filters": 32, "kernel_size": 3, "units": 64, "rate": 0.5, "activation": "relu"}
"""What a new layer's required arguments start at, so the form opens on a working layer."""

CHOICES: dict[str, tuple[str, ...]] = {
    "padding": ("valid", "same"),
    "activation": ACTIVATION_NAMES,
    "kernel_initializer": KERNEL_INITIALIZERS,
    "interpolation": ("nearest", "bilinear"),
}
BOOLEAN_CHOICES = ("true", "false")


def starting_text(spec: Field[Any], layer: Layer | None) -> str:
    if layer is not None:
        return value_text(getattr(layer, spec.name))
    if spec.default is MISSING:
        return value_text(STARTING_VALUES.get(spec.name))
    return value_text(spec.default)


class FieldsScroll(VerticalScroll, can_focus=False):
    """Scrolls the fields in a short terminal; not a focus stop itself, so the first field has the focus."""


class LayerForm(ModalScreen[Layer | None]):
    """Add or edit one layer; dismisses with the new layer, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "accept", "Accept"),
    ]

    def __init__(self, layer_type: type[Layer], *, layer: Layer | None = None, input_shape: Shape | None = None) -> None:
        super().__init__()
        self.layer_type = layer_type
        self.initial_layer = layer
        self.input_shape = input_shape
        self.specs = [spec for spec in fields(layer_type) if "convert" in spec.metadata]

    def compose(self) -> ComposeResult:
        verb = "Edit" if self.initial_layer is not None else "Add"
        with Vertical(id="dialog", classes="layer-form"):
            yield Label(f"{verb} {self.layer_type.type_name}", classes="dialog-title")
            yield Static(self.layer_type.description, classes="dialog-description")
            with FieldsScroll(id="fields-scroll"), Grid(id="fields"):
                for spec in self.specs:
                    yield Label(spec.name, classes="field-name")
                    yield Input(
                        starting_text(spec, self.initial_layer),
                        placeholder="default" if spec.default is not MISSING else "required",
                        id=f"field-{spec.name}",
                        suggester=self.suggester(spec),
                        select_on_focus=True,
                        compact=True,
                    )
                    yield Static(spec.metadata["help"], id=f"note-{spec.name}", classes="field-note")
            if not self.specs:
                yield Static("This layer has no arguments.", classes="field-note")
            yield Static(id="preview")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (Enter)", variant="primary", id="accept", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)

    def suggester(self, spec: Field[Any]) -> SuggestFromList | None:
        words = CHOICES.get(spec.name) or (BOOLEAN_CHOICES if spec.type in ("bool", bool) else None)
        return SuggestFromList(words, case_sensitive=False) if words else None

    def on_mount(self) -> None:
        self.check()

    @on(Input.Changed)
    def on_field_changed(self) -> None:
        self.check()

    @on(Input.Submitted)
    @on(Button.Pressed, "#accept")
    def action_accept(self) -> None:
        layer = self.check()
        if layer is not None:
            self.dismiss(layer)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def field_values(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Each field's parsed value, and the reason for each field whose value is not acceptable."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for spec in self.specs:
            raw = parse_value(self.query_one(f"#field-{spec.name}", Input).value)
            if raw is None and spec.default is not MISSING:
                raw = spec.default
            try:
                spec.metadata["convert"](raw)
            except ValueError as error:
                errors[spec.name] = str(error)
            values[spec.name] = raw
        return values, errors

    def check(self) -> Layer | None:
        """Show every field's reason and the resulting shape; the layer when all fields are acceptable."""
        values, errors = self.field_values()
        layer = None
        if not errors:
            try:
                layer = self.layer_type(**values)
            except LayerConfigError as error:
                errors[error.field_name or self.specs[0].name] = error.message
        for spec in self.specs:
            note = self.query_one(f"#note-{spec.name}", Static)
            note.update(errors.get(spec.name, spec.metadata["help"]))
            note.set_class(spec.name in errors, "-error")
            self.query_one(f"#field-{spec.name}", Input).set_class(spec.name in errors, "-invalid")
        self.show_preview(layer, len(errors))
        self.query_one("#accept", Button).disabled = layer is None
        return layer

    def show_preview(self, layer: Layer | None, error_count: int) -> None:
        preview = self.query_one("#preview", Static)
        if layer is None:
            preview.update(f"{error_count} field{'s' if error_count != 1 else ''} to fix before this layer can be used")
            preview.set_classes("-error")
            return
        if self.input_shape is None:
            preview.update(f"{layer.label}: its input shape is unknown until the invalid layer before it is fixed")
            preview.set_classes("-warning")
            return
        try:
            inference = layer.infer(self.input_shape)
        except ConvtuiError as error:
            preview.update(f"{shape_text(self.input_shape)} -> cannot apply: {error.message}")
            preview.set_classes("-warning")
            return
        params = sum(weight.size for weight in inference.weights)
        preview.update(f"{shape_text(self.input_shape)} -> {shape_text(inference.output_shape)}, {params:,} params")
        preview.set_classes("-ok")
