"""The residual wrap: choose the first of the layers to wrap (the selected one is the last), see the
Add it makes and, when the shortcut's shape differs, the 1x1 projection offered and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Label, OptionList, Static

from convtui.tui.graph_edits import ResidualPlan
from convtui.tui.screens.choose_node import NodeOption, node_prompts
from convtui.tui.screens.dialog import Dialog

WrapChoice = tuple[ResidualPlan, bool]
"""The plan, and whether to put its projection on the shortcut."""


def plan_text(plan: ResidualPlan, names: Sequence[str], project: bool) -> str:
    """The layers the wrap adds, as Keras's functional calls, then why."""
    wrapped = names[plan.first] if plan.first == plan.last else f"{names[plan.first]} .. {names[plan.last]}"
    shortcut = f"{plan.projection.label}({plan.shortcut})" if project and plan.projection is not None else plan.shortcut
    source = f"The shortcut starts at {plan.shortcut}, the latest layer above that every path into {wrapped} comes from."
    return f"Add({names[plan.last]}, {shortcut}) after {wrapped}\n{source}\n{plan.reason}"


class ResidualDialog(Dialog[WrapChoice | None]):
    """Dismisses with the plan and the projection choice, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("p", "toggle_projection", "Projection on/off"),
    ]

    def __init__(self, options: Sequence[NodeOption], plan_for: Callable[[int], ResidualPlan]) -> None:
        """`options`: layers 0 to the selected one (an option's position is its layer's index); `plan_for(first)` plans wrapping first..selected."""
        super().__init__()
        self.options = list(options)
        self.plan_for = plan_for
        self.plan = plan_for(len(self.options) - 1)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="residual"):
            yield Label(f"Wrap up to {self.options[-1][0]} in a residual connection", classes="dialog-title")
            yield Static(
                "An Add after the wrapped layers takes their output and their input (the shortcut), as ResNet's blocks do."
                " ↑ ↓ choose the first layer wrapped.",
                classes="dialog-description",
            )
            yield OptionList(*node_prompts(self.options), id="wrap-first")
            yield Static(id="residual-plan")
            yield Checkbox("1x1 projection on the shortcut (p)", id="projection", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (Enter)", variant="primary", id="accept", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#projection", Checkbox).can_focus = False
        self.query_one(OptionList).highlighted = len(self.options) - 1
        self.show_plan(self.plan)

    @on(OptionList.OptionHighlighted)
    def first_changed(self, event: OptionList.OptionHighlighted) -> None:
        self.show_plan(self.plan_for(event.option_index))

    def show_plan(self, plan: ResidualPlan) -> None:
        """A new plan starts with its projection on when it has one: what makes the Add valid. Without one the
        box is hidden: a greyed-out box still reads "X", beside a plan that says no projection is needed."""
        self.plan = plan
        checkbox = self.query_one("#projection", Checkbox)
        checkbox.disabled = plan.projection is None
        checkbox.display = plan.projection is not None
        with checkbox.prevent(Checkbox.Changed):
            checkbox.value = plan.projection is not None
        self.update_text()

    def update_text(self) -> None:
        names = [name for name, _, _ in self.options]
        self.query_one("#residual-plan", Static).update(plan_text(self.plan, names, self.project))

    @property
    def project(self) -> bool:
        return self.plan.projection is not None and self.query_one("#projection", Checkbox).value

    @on(Checkbox.Changed)
    def projection_changed(self) -> None:
        self.update_text()

    def action_toggle_projection(self) -> None:
        checkbox = self.query_one("#projection", Checkbox)
        if not checkbox.disabled:
            checkbox.toggle()

    @on(OptionList.OptionSelected)
    @on(Button.Pressed, "#accept")
    def accept(self) -> None:
        self.dismiss((self.plan, self.project))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
