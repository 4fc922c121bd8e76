"""The layer form: the layer's name and inputs, then one field per argument, each checked as it is typed.

Every field is parsed and run through the layer's own converter (the checks a preset gets),
the reason shown next to it; the inputs must be layers above it (merges need two or more);
then the whole layer is built and propagated from the shapes it will receive, so the learner
sees the output shape and params before accepting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import MISSING, Field, fields
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList, Suggester
from textual.widgets import Button, Input, Label, Static

from convtui.errors import ConvtuiError, LayerConfigError
from convtui.model.arguments import ACTIVATION_NAMES, KERNEL_INITIALIZERS
from convtui.model.convention import shape_text
from convtui.model.graph import check_name
from convtui.model.layers import Layer, Shape
from convtui.tui.field_values import parse_names, parse_value, value_text
from convtui.tui.graph_edits import NodeChoice, NodeContext, completion
from convtui.tui.screens.dialog import Dialog

STARTING_VALUES: dict[str, Any] = {
    "filters": 32,
    "kernel_size": 3,
    "units": 64,
    "rate": 0.5,
    "activation": "relu",
    "scale": 1 / 255,
    "init_values": 1e-6,
}
"""What a new layer's required arguments start at, so the form opens on a working layer."""
SHAPED_STARTING_VALUES: dict[str, Callable[[Shape], Any]] = {
    "target_shape": lambda shape: [math.prod(shape)],
    "projection_dim": lambda shape: shape[-1],
}
"""Required arguments that fit only one input shape: Reshape starts by flattening, LayerScale with one scale per channel."""

CHOICES: dict[str, tuple[str, ...]] = {
    "padding": ("valid", "same"),
    "activation": ACTIVATION_NAMES,
    "kernel_initializer": KERNEL_INITIALIZERS,
    "interpolation": ("nearest", "bilinear"),
}
BOOLEAN_CHOICES = ("true", "false")


NAME_HELP = "unique; what other layers' inputs call it"
INPUTS_HELP = "input or layers above it, comma-separated (→ completes)"


def input_count_problem(layer_type: type[Layer], count: int) -> str | None:
    """Why `count` inputs do not suit this type (merges take two or more, other layers one)."""
    if count == 0:
        return "list the names of the layers it takes: input, or layers above it"
    if layer_type.max_inputs == 1 and count > 1:
        return f"{layer_type.type_name} takes one input; a merge (Add, Concatenate, ...) joins several"
    if count < layer_type.min_inputs:
        return f"{layer_type.type_name} joins at least {layer_type.min_inputs} inputs: add another name"
    if layer_type.max_inputs is not None and count > layer_type.max_inputs:
        return f"{layer_type.type_name} takes exactly {layer_type.max_inputs} inputs"
    return None


NAME_CHARACTER_PROBLEMS = (
    (",", "inputs are names separated by commas"),
    ("\"'[]", "the inputs field strips quotes and brackets"),
)


def name_character_problem(name: str) -> str | None:
    """Why no inputs field could name this layer: a space, comma, quote or bracket in its name (write _ instead)."""
    if any(character.isspace() for character in name):
        return "a name is one word: use _ instead of spaces"
    for characters, reason in NAME_CHARACTER_PROBLEMS:
        found = next((character for character in name if character in characters), None)
        if found is not None:
            return f'no {found} in a name: {reason}, so no layer could take this one'
    return None


class NamesSuggester(Suggester):
    """Completes the name being typed after the last comma from the names the layer may take."""

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__(case_sensitive=True)
        self.names = list(names)

    async def get_suggestion(self, value: str) -> str | None:
        _, _, typed = value.rpartition(",")
        typed = typed.lstrip()
        match = completion(typed, self.names)
        return None if match is None else value[: len(value) - len(typed)] + match


def starting_text(spec: Field[Any], layer: Layer | None, input_shape: Shape | None) -> str:
    """The layer's own value; for a new layer, the default or a starting value that works."""
    if layer is not None:
        return value_text(getattr(layer, spec.name))
    if spec.default is not MISSING:
        return value_text(spec.default)
    if spec.name in SHAPED_STARTING_VALUES:
        return value_text(SHAPED_STARTING_VALUES[spec.name](input_shape) if input_shape else None)
    return value_text(STARTING_VALUES.get(spec.name))


def note_id(field_id: str) -> str:
    """The id of the note beside a field: "field-filters" -> "note-filters", "layer-name" -> "note-layer-name"."""
    return "note-" + field_id.removeprefix("field-")


def hidden_fields(tops: Iterable[int], height: int) -> tuple[int, int]:
    """How many fields are out of view above and below, from each field's row relative to the first row shown."""
    rows = list(tops)
    return sum(row < 0 for row in rows), sum(row >= height for row in rows)


def hidden_fields_text(above: int, below: int) -> str:
    """The line under the fields that says more are out of view, and how to reach them."""

    def fields_text(count: int) -> str:
        return f"{count} more field{'s' if count != 1 else ''}"

    parts = ([f"↑ {fields_text(above)} above"] if above else []) + ([f"↓ {fields_text(below)} below"] if below else [])
    return " · ".join(parts) + " (Tab or scroll)" if parts else ""


class FieldsScroll(VerticalScroll, can_focus=False):
    """Scrolls the fields in a short terminal; not a focus stop itself, so the first field has the focus."""

    class Moved(Message):
        """The fields shown changed (scrolled or resized), so the line saying what is hidden must follow."""

    def on_mount(self) -> None:
        self.watch(self, "scroll_y", lambda: self.post_message(self.Moved()), init=False)

    def on_resize(self) -> None:
        self.post_message(self.Moved())


class LayerForm(Dialog[NodeChoice | None]):
    """Add or edit one layer; dismisses with the layer, its name and inputs, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "accept", "Accept"),
    ]

    def __init__(self, layer_type: type[Layer], context: NodeContext, *, layer: Layer | None = None) -> None:
        super().__init__()
        self.layer_type = layer_type
        self.initial_layer = layer
        self.context = context
        self.specs = [spec for spec in fields(layer_type) if "convert" in spec.metadata]

    def compose(self) -> ComposeResult:
        verb = "Edit" if self.initial_layer is not None else "Add"
        with Vertical(id="dialog", classes="layer-form"):
            yield Label(f"{verb} {self.layer_type.type_name}", classes="dialog-title")
            yield Static(self.layer_type.description, classes="dialog-description")
            with FieldsScroll(id="fields-scroll"), Grid(id="fields"):
                yield from self.node_fields()
                for spec in self.specs:
                    yield Label(spec.name, classes="field-name")
                    yield Input(
                        starting_text(spec, self.initial_layer, self.context.shapes_above.get(self.context.inputs[0])),
                        placeholder="default" if spec.default is not MISSING else "required",
                        id=f"field-{spec.name}",
                        suggester=self.suggester(spec),
                        select_on_focus=True,
                        compact=True,
                    )
                    yield Static(spec.metadata["help"], id=f"note-{spec.name}", classes="field-note", markup=False)
            yield Static(id="more-fields", classes="dialog-hint")
            if not self.specs:
                yield Static("This layer has no arguments beyond its name and inputs.", classes="field-note")
            yield Static(id="preview", markup=False)  # notes and preview quote what was typed: "[/x" is no markup
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (Enter)", variant="primary", id="accept", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)

    def node_fields(self) -> ComposeResult:
        """The name and the inputs: where the layer sits in the graph."""
        yield Label("name", classes="field-name")
        yield Input(self.context.name, id="layer-name", select_on_focus=True, compact=True)
        yield Static(NAME_HELP, id="note-layer-name", classes="field-note", markup=False)
        yield Label("inputs", classes="field-name")
        suggester = NamesSuggester(self.context.shapes_above)
        yield Input(", ".join(self.context.inputs), id="layer-inputs", suggester=suggester, select_on_focus=True, compact=True)
        yield Static(INPUTS_HELP, id="note-layer-inputs", classes="field-note", markup=False)

    def suggester(self, spec: Field[Any]) -> SuggestFromList | None:
        words = CHOICES.get(spec.name) or (BOOLEAN_CHOICES if spec.type in ("bool", bool) else None)
        return SuggestFromList(words, case_sensitive=False) if words else None

    def on_mount(self) -> None:
        self.check()

    @on(FieldsScroll.Moved)
    def fields_moved(self) -> None:
        self.call_after_refresh(self.show_hidden_fields)

    def show_hidden_fields(self) -> None:
        """Say how many fields are scrolled out of view, so a short terminal does not hide that they exist."""
        scroll = self.query_one(FieldsScroll)
        first_row = scroll.query_one("#fields").virtual_region.y - round(scroll.scroll_y)
        tops = (first_row + field.virtual_region.y for field in self.query("#fields Input"))
        text = hidden_fields_text(*hidden_fields(tops, scroll.scrollable_content_region.height))
        line = self.query_one("#more-fields", Static)
        line.update(text)
        line.display = bool(text)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Bring the focused field's whole row into view, its note too, not just the line being typed on."""
        field = event.widget
        if isinstance(field, Input) and field.id and field.parent is self.query_one("#fields"):
            note = self.query_one(f"#{note_id(field.id)}")
            self.call_after_refresh(self.query_one(FieldsScroll).scroll_to_widget, note, animate=False)

    @on(Input.Changed)
    def on_field_changed(self) -> None:
        self.check()

    @on(Input.Submitted)
    @on(Button.Pressed, "#accept")
    def action_accept(self) -> None:
        choice = self.check()
        if choice is not None:
            self.dismiss(choice)

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

    def name_problem(self, name: str) -> str | None:
        """Why the typed name cannot be this layer's: malformed, or another layer's."""
        try:
            check_name(name or None)
        except ValueError as error:
            return str(error)
        if not name:
            return "a layer needs a name"
        problem = name_character_problem(name)
        if problem is not None:
            return problem
        taken = self.context.taken.get(name)
        if taken is not None and name != self.context.name:
            return f'"{name}" is layer {taken}\'s name; names are unique'
        return None

    def inputs_problem(self, inputs: tuple[str, ...]) -> str | None:
        problems = (self.context.input_problem(name) for name in inputs)
        return next((problem for problem in problems if problem), None) or input_count_problem(self.layer_type, len(inputs))

    def node_values(self) -> tuple[str, tuple[str, ...], dict[str, str]]:
        """The typed name and inputs, and the reason for each that is not acceptable (keyed by field id)."""
        name = self.query_one("#layer-name", Input).value.strip()
        inputs = parse_names(self.query_one("#layer-inputs", Input).value)
        problems = {"layer-name": self.name_problem(name), "layer-inputs": self.inputs_problem(inputs)}
        return name, inputs, {field: problem for field, problem in problems.items() if problem}

    def check(self) -> NodeChoice | None:
        """Show every field's reason and the resulting shape; the choice when all fields are acceptable."""
        values, errors = self.field_values()
        name, inputs, node_errors = self.node_values()
        layer = None
        if not errors:
            try:
                layer = self.layer_type(**values)
            except LayerConfigError as error:
                errors[error.field_name or self.specs[0].name] = error.message
        for spec in self.specs:
            self.show_note(f"field-{spec.name}", errors.get(spec.name), spec.metadata["help"])
        self.show_note("layer-name", node_errors.get("layer-name"), NAME_HELP)
        self.show_note("layer-inputs", node_errors.get("layer-inputs"), INPUTS_HELP)
        choice = NodeChoice(layer, name, inputs) if layer is not None and not node_errors else None
        self.show_preview(choice, len(errors) + len(node_errors))
        self.query_one("#accept", Button).disabled = choice is None
        return choice

    def show_note(self, field_id: str, problem: str | None, help_text: str) -> None:
        note = self.query_one(f"#{note_id(field_id)}", Static)
        note.update(problem or help_text)
        note.set_class(problem is not None, "-error")
        self.query_one(f"#{field_id}", Input).set_class(problem is not None, "-invalid")

    def show_preview(self, choice: NodeChoice | None, error_count: int) -> None:
        preview = self.query_one("#preview", Static)
        if choice is None:
            preview.update(f"{error_count} field{'s' if error_count != 1 else ''} to fix before this layer can be used")
            preview.set_classes("-error")
            return
        shapes = tuple(self.context.shapes_above[name] for name in choice.inputs)
        if any(shape is None for shape in shapes):
            preview.update(f"{choice.layer.label}: its input shape is unknown until the invalid layer before it is fixed")
            preview.set_classes("-warning")
            return
        received = ", ".join(shape_text(shape) for shape in shapes)
        try:
            inference = choice.layer.infer_inputs(shapes, choice.inputs)  # type: ignore[arg-type]
        except ConvtuiError as error:
            preview.update(f"{received} -> cannot apply: {error.message}")
            preview.set_classes("-warning")
            return
        params = sum(weight.size for weight in inference.weights)
        preview.update(f"{received} -> {shape_text(inference.output_shape)}, {params:,} params")
        preview.set_classes("-ok")
