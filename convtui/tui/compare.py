"""The compare actions of the App: pick a second stack (a built-in preset, a TOML file or a Keras
model) for the Compare view, which then follows every edit of the current stack.
A mixin, so the bindings and the palette find them on the App.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from convtui.model.preset import builtin_preset_names
from convtui.model.stack import Stack, StackInfo
from convtui.tui.answers import STACK_HINT, OpenedStack, stack_answer
from convtui.tui.state import Comparison, ViewState

COMPARE_TAB = "compare"
SavedVerb = Literal["opened", "saved"]


def saved_comparison(stack: Stack, stack_info: StackInfo, verb: SavedVerb) -> Comparison:
    """The current stack as opened or last saved: what the Compare view shows until the user picks another stack."""
    return Comparison(f"{stack.name} as {verb}", stack_info, follows_saves=True)


class CompareActions:
    """Compare with a preset or a file; the App provides `view_state`, `action_show_tab` and Textual's API."""

    view_state: ViewState

    def action_compare_with_file(self) -> None:
        from convtui.tui.screens.prompt import Prompt

        def chosen(answer: OpenedStack | None) -> None:
            if answer is not None:
                self.compare_with(answer.title, answer.stack)

        self.push_screen(Prompt("Compare with", STACK_HINT, "", stack_answer, suggestions=builtin_preset_names()), chosen)

    def compare_with_source(self, source: str) -> None:
        """Compare with a built-in preset or a file by name (the command palette's presets)."""
        try:
            answer = stack_answer(source)
        except ValueError as error:
            self.notify(str(error), severity="error")
            return
        self.compare_with(answer.title, answer.stack)

    def compare_with_saved(self, stack: Stack, verb: SavedVerb) -> None:
        """Compare with `stack`, the current one as opened or just saved, unless the user picked another comparison."""
        compared = self.view_state.compared
        if verb == "opened" or compared is None or compared.follows_saves:
            self.view_state = replace(self.view_state, compared=saved_comparison(stack, stack.infer(), verb))

    def compare_with(self, title: str, stack: Stack) -> None:
        """Set the second stack and show the Compare tab."""
        self.view_state = replace(self.view_state, compared=Comparison(title, stack.infer()))
        self.action_show_tab(COMPARE_TAB)
