"""The file actions of the App: open, save, save as, and the question before unsaved changes are
lost (opening another stack, quitting). A mixin, so the bindings and the palette find them on the App.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from convtui.errors import ConvtuiError
from convtui.model.preset import builtin_preset_names, save_preset
from convtui.model.stack import Stack
from convtui.tui.answers import preset_answer, save_path_answer, save_target
from convtui.tui.history import EditHistory
from convtui.tui.screens.prompt import Prompt
from convtui.tui.screens.unsaved import UnsavedChanges


class FileActions:
    """Open, save, save as, quit; the App provides `stack_changed`, `update_title` and Textual's API."""

    history: EditHistory
    stack: Stack
    source: str | None
    save_folder: Path | None

    def action_open(self) -> None:
        prompt = Prompt("Open", "a built-in preset name or the path to a .toml file", "", preset_answer, suggestions=builtin_preset_names())

        def chosen(answer: tuple[str, Stack] | None) -> None:
            if answer is not None:
                self.guard_unsaved("open", lambda: self.open_stack(*answer))

        self.push_screen(prompt, chosen)

    def open_source(self, source: str) -> None:
        """Open a built-in preset or a file by name (the command palette's presets)."""
        try:
            _, stack = preset_answer(source)
        except ValueError as error:
            self.notify(str(error), severity="error")
            return
        self.guard_unsaved("open", lambda: self.open_stack(source, stack))

    def open_stack(self, source: str, stack: Stack) -> None:
        self.history = EditHistory(stack)
        self.source = source
        self.stack_changed(select=0 if stack.layers else -1)

    def save_to(self, path: Path) -> bool:
        """Write the stack; a failure is said in a notification and leaves it unsaved."""
        try:
            written = save_preset(self.stack, path)
        except ConvtuiError as error:
            self.notify(str(error), severity="error", timeout=10)
            return False
        self.history.mark_saved()
        self.source = str(written)
        self.update_title()
        return True

    def action_save(self) -> bool:
        folder = self.save_folder or Path.cwd()
        path, is_copy = save_target(self.source, self.stack, folder)
        if not self.save_to(path):
            return False
        note = " (built-in presets stay as shipped: this is your own copy)" if is_copy else ""
        self.notify(f"Saved to {path}{note}", timeout=8)
        return True

    def action_save_as(self) -> None:
        folder = self.save_folder or Path.cwd()
        default = str(save_target(self.source, self.stack, folder)[0])

        def chosen(path: Path | None) -> None:
            if path is not None and self.save_to(path):
                self.notify(f"Saved to {path}")

        self.push_screen(Prompt("Save as", "the path of the .toml file to write", default, save_path_answer), chosen)

    def guard_unsaved(self, verb: str, then: Callable[[], object]) -> None:
        """Run `then` now, or after asking what to do with the unsaved changes."""
        if not self.history.is_dirty:
            then()
            return

        def answered(choice: str | None) -> None:
            if choice == "discard" or (choice == "save" and self.action_save()):
                then()

        self.push_screen(UnsavedChanges(self.stack.name, verb), answered)

    async def action_quit(self) -> None:
        self.guard_unsaved("quit", self.exit)
