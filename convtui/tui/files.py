"""The file actions of the App: open (presets and Keras models), save (with the weights the stack
came with), save as, export as Keras or PyTorch code, and the question before unsaved changes are
lost (opening another stack, quitting). A mixin, so the bindings and the palette find them on the App.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from convtui.errors import ConvtuiError
from convtui.files import write_text_atomically
from convtui.model.preset import PRESET_SUFFIX, is_builtin_name, save_preset
from convtui.model.stack import Stack
from convtui.tui.answers import OpenedStack, export_path_answer, folder_note, save_path_answer, save_target, stack_answer
from convtui.tui.history import EditHistory, Version
from convtui.tui.opened_weights import OpenedWeights, opened_weights
from convtui.tui.recent_files import recent_files, remember_file

if TYPE_CHECKING:
    from convtui.engine.weights import StackWeights
    from convtui.tui.widgets.views import Views

ExportTarget = Literal["keras", "pytorch"]
EXPORT_NAMES: dict[str, str] = {"keras": "Keras", "pytorch": "PyTorch"}
QUIT_WAIT_SECONDS = 5.0
"""Quitting first waits this long at most for views still mounting (see Views.settled)."""


class FileActions:
    """Open, save, save as, export, quit; the App provides `stack_changed`, `update_title`, `compare_with_saved`,
    `keep_recovery_copy`, `quit_on_purpose`, `views` and Textual's API.
    """

    history: EditHistory[Version]
    stack: Stack
    source: str | None
    save_folder: Path | None
    opened_weights: OpenedWeights | None
    weights_on_disk: Path | None
    """The .npz that holds the weights of the stack as last saved or opened (what exported code can load)."""
    seed: int
    views: Views
    failed_save_as: Path | None = None
    """The path of a save as that could not be written: the next save as offers it again, to correct."""
    saved_on_leaving: str | None = None
    """What "save and quit" wrote, said again once the app has closed (its notification goes with the screen)."""

    def action_open(self) -> None:
        from convtui.tui.screens.open_stack import OpenStack

        def chosen(answer: OpenedStack | None) -> None:
            if answer is not None:
                self.open_answer(answer)

        self.push_screen(OpenStack(recent_files()), chosen)

    def open_source(self, source: str) -> None:
        """Open a built-in preset or a file by name (the command palette's presets)."""
        try:
            answer = stack_answer(source)
        except ValueError as error:
            self.notify(str(error), severity="error")
            return
        self.open_answer(answer)

    def open_answer(self, answer: OpenedStack) -> None:
        """Open what a dialog loaded, after the question about unsaved changes."""
        self.guard_unsaved(
            "open", lambda: self.open_stack(answer.source, answer.stack, weights=answer.weights, notes=answer.notes, seed=answer.seed)
        )

    def open_stack(
        self,
        source: str | None,
        stack: Stack,
        *,
        weights: StackWeights | None = None,
        notes: Sequence[str] = (),
        seed: int | None = None,
    ) -> None:
        """Replace the stack; `seed`: the one its preset names (None keeps the current seed)."""
        self.history = EditHistory(Version(stack, self.seed if seed is None else seed, opened_weights(stack, source, weights)))
        self.compare_with_saved(stack, "opened")
        self.source = source
        self.weights_on_disk = self.opened_weights.path if self.opened_weights is not None else None
        self.stack_changed(select=0 if stack.layers else -1)
        self.show_notes(notes)
        if source is not None and not is_builtin_name(source):
            remember_file(source)

    def show_notes(self, notes: Sequence[str]) -> None:
        """What an import changed on the way (a Keras model's notes), one notification each."""
        for note in notes:
            self.notify(note, title="Imported", timeout=12)

    # --- saving ----------------------------------------------------------------------------

    def write_stack(self, path: Path) -> tuple[Path, Path | None]:
        """The preset and, when the stack came with weights, NAME.npz beside it with those that still fit.

        The weights as opened stay in memory, so undoing past the save gives back the layers that were seeded.
        """
        from convtui.interop.save_import import save_weights  # numpy: after the first paint

        opened = self.opened_weights
        if opened is None:
            return save_preset(replace(self.stack, weights_file=None), path, seed=self.seed), None
        stack_info = self.stack.infer()
        try:
            carried = opened.carry(stack_info)
        except ConvtuiError:  # its weights file is unreadable: keep naming it, as it was opened
            return save_preset(self.stack, path, seed=self.seed), None
        weights_path = save_weights(carried.weights, path)
        # The weights now lie beside the new preset: its folder is where `weights` is read from.
        written_here = replace(self.stack, weights_file=weights_path.name if weights_path else None, source=str(Path(path).absolute()))
        self.history.current = self.history.current.with_stack(written_here)
        written = save_preset(self.stack, path, seed=self.seed)  # last: a preset never names weights that are not there
        self.weights_on_disk = weights_path
        if weights_path is not None:
            opened.saved_as(weights_path)
        return written, weights_path

    def save_to(self, path: Path) -> str | None:
        """Write the stack; what was written ("net.toml and its weights net.npz"), or None after a notification of why not.

        A stack saved to a new file takes the file's name (see `identity_for`); a save that fails changes nothing.
        """
        kept = self.history
        self.history = renamed_history(kept, identity_for(self.stack, self.source, path))
        try:
            written, weights_path = self.write_stack(path)
        except ConvtuiError as error:
            self.history = kept
            self.notify(str(error), severity="error", timeout=10)
            return None
        remember_file(written)
        self.history.mark_saved()
        self.keep_recovery_copy()
        self.compare_with_saved(self.stack, "saved")
        self.source = str(written)
        self.update_title()
        return f"{written} and its weights {weights_path.name}" if weights_path is not None else str(written)

    def action_save(self) -> bool:
        folder = self.save_folder or Path.cwd()
        path, is_copy = save_target(self.source, self.stack, folder)
        written = self.save_to(path)
        if written is None:
            return False
        note = " (built-in presets and model files stay as they are: this is your own copy)" if is_copy else ""
        self.notify(f"Saved to {written}{note}", timeout=8)
        self.saved_on_leaving = f"convtui: saved to {written}{note}"
        return True

    def action_save_as(self, typed: str | None = None) -> None:
        """Ask for the path; `typed`: the path the user chose before keeping the file there (asked again, to change it)."""
        from convtui.tui.screens.prompt import Prompt

        folder = self.save_folder or Path.cwd()
        default = typed or str(self.failed_save_as or save_target(self.source, self.stack, folder)[0])
        check = partial(save_path_answer, default_name=f"{self.stack.name}{PRESET_SUFFIX}")

        def save(path: Path) -> None:
            written = self.save_to(path)
            self.failed_save_as = path if written is None else None
            if written is not None:
                self.notify(f"Saved to {written}")

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.unless_kept(self.files_saved_at(path), lambda: save(path), lambda: self.action_save_as(str(path)))

        hint = "the path of the .toml file to write (a folder: the stack's name in it)"
        self.push_screen(Prompt("Save as", hint, default, check, note=folder_note), chosen)

    def files_saved_at(self, path: Path) -> list[Path]:
        """What saving to `path` writes: the preset, and NAME.npz beside it when the stack came with weights."""
        from convtui.interop.save_import import weights_path_for

        return [path, *([weights_path_for(path)] if self.opened_weights is not None else [])]

    def unless_kept(self, paths: list[Path], write: Callable[[], object], ask_again: Callable[[], object]) -> None:
        """Write now when none of `paths` exists but as the open stack's own files; else only if the user agrees to
        replace them, and if not, `ask_again` for the path (as a file dialog goes back to its name field)."""
        from convtui.tui.screens.confirm import ReplaceFile

        own = {Path(self.source).resolve()} if self.source is not None else set()
        own |= {self.weights_on_disk.resolve()} if self.weights_on_disk is not None else set()
        existing = [path for path in paths if path.exists() and path.resolve() not in own]
        if not existing:
            write()
            return

        def answered(replace: bool | None) -> None:
            if replace:
                write()
            else:
                self.notify(f"Kept {', '.join(path.name for path in existing)}; nothing was written: choose another name, or Esc.", timeout=6)
                ask_again()

        self.push_screen(ReplaceFile(existing), answered)

    # --- export ----------------------------------------------------------------------------

    def action_export(self, target: ExportTarget, typed: str | None = None) -> None:
        """Ask for the .py path; `typed` as in action_save_as."""
        from convtui.tui.screens.prompt import Prompt

        name = EXPORT_NAMES[target]
        folder = self.save_folder or Path.cwd()
        default = folder / f"{self.stack.name}_{'torch' if target == 'pytorch' else target}.py"
        hint = f"the path of the .py file to write: its build_model() builds the stack in {name}"
        check = partial(export_path_answer, default_name=default.name)

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.unless_kept([path], lambda: self.export_to(path, target), lambda: self.action_export(target, str(path)))

        self.push_screen(Prompt(f"Export as {name} code", hint, typed or str(default), check, note=folder_note), chosen)

    def export_to(self, path: Path, target: ExportTarget) -> bool:
        """Write the code; an invalid stack or an unwritable path is a notification, never a crash."""
        from convtui.interop.export import check_weights_file, export_source, path_in_code

        weights, note = self.weights_for_export()
        try:
            if weights is not None:
                check_weights_file(weights, self.stack)
            source = export_source(self.stack, target, path_in_code(weights, path) if weights is not None else None)
            write_text_atomically(path, source)
        except ConvtuiError as error:
            self.notify(f"Not exported: {error}", severity="error", timeout=10)
            return False
        except Exception as error:  # an exporter bug must not take the user's work with it
            self.notify(f"Not exported: {type(error).__name__}: {error}", severity="error", timeout=10)
            return False
        loads = f", loading the weights of {weights.name}" if weights is not None else ""
        self.notify(f"Exported {EXPORT_NAMES[target]} code to {path}{loads}; run it with `python {path}`.{note}", timeout=10)
        return True

    def weights_for_export(self) -> tuple[Path | None, str]:
        """The .npz the code can load (the saved weights, when every layer still has its own), else None and why not."""
        opened = self.opened_weights
        if opened is None:
            return None, ""
        try:
            carried = opened.carry(self.stack.infer())
        except ConvtuiError:
            return None, " The code does not load weights: the stack's weights file cannot be read."
        if self.weights_on_disk is None:
            return None, " The code does not load the imported weights: save the stack (s) to write them as an .npz, then export again."
        if self.history.is_dirty:
            return None, " The code does not load the weights: the stack has unsaved changes; save it (s), then export again."
        if not carried.complete:
            return None, " The code does not load weights: some layers have none saved (the seeded ones, see the line under the views)."
        return self.weights_on_disk, ""

    # --- leaving ---------------------------------------------------------------------------

    def guard_unsaved(self, verb: str, then: Callable[[], object]) -> None:
        """Run `then` now, or after asking what to do with the unsaved changes."""
        from convtui.tui.screens.unsaved import UnsavedChanges

        if not self.history.is_dirty:
            then()
            return

        def answered(choice: str | None) -> None:
            if choice == "discard" or (choice == "save" and self.action_save()):
                then()

        self.push_screen(UnsavedChanges(self.stack.name, verb), answered)

    async def action_quit(self) -> None:
        with suppress(asyncio.TimeoutError):  # quitting must never hang
            await asyncio.wait_for(self.views.settled(), QUIT_WAIT_SECONDS)
        self.saved_on_leaving = None  # only a save made by this question is said on leaving
        self.guard_unsaved("quit", self.quit_on_purpose)



# --- a stack's identity when saved to a new file ------------------------------------------------

StackChange = Callable[[Stack], Stack]


def identity_for(stack: Stack, source: str | None, path: Path) -> StackChange | None:
    """Saved to a file other than its own, the stack takes the file's stem as its name, and a built-in's
    description says where it came from (it may no longer describe the stack); None when nothing changes.
    """
    if source is not None and not is_builtin_name(source) and Path(source).resolve() == path.resolve():
        return None
    name = path.stem
    description = stack.description
    if source is not None and is_builtin_name(source) and description:
        description = f"Based on the built-in {source}: {description}"
    if (name, description) == (stack.name, stack.description):
        return None
    return lambda each: replace(each, name=name, description=description)


def renamed_history(history: EditHistory[Version], change: StackChange | None) -> EditHistory[Version]:
    """The same history with every stack changed, so undo keeps the new name; the version last saved stays as it was."""
    if change is None:
        return history
    return history.mapped(lambda version: version.with_stack(change(version.stack)))
