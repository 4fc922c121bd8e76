"""The convtui App: the one source of truth for the stack (an undoable history of immutable
stacks), the display choices, and the forward pass that reruns in a worker after every edit.

Views never hold a stack of their own: they follow `view_state`, which the App replaces.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from textual import work
from textual.app import App
from textual.reactive import reactive
from textual.widgets import TabbedContent
from textual.worker import get_current_worker

from convtui.errors import ConvtuiError
from convtui.model.convention import Convention
from convtui.model.layers import Layer
from convtui.model.preset import builtin_preset_names, is_builtin_name, save_preset
from convtui.model.stack import Stack, StackInfo
from convtui.tui.answers import input_shape_answer, preset_answer, save_path_answer, save_target, seed_answer
from convtui.tui.bindings import APP_BINDINGS, EDIT_BINDINGS, FILE_BINDINGS, VIEW_BINDINGS
from convtui.tui.commands import ConvtuiCommands
from convtui.tui.forward_run import ImageCache, RunResult, run_stack
from convtui.tui.history import EditHistory
from convtui.tui.messages import ForwardFinished, ForwardProgress
from convtui.tui.screens.help import HelpScreen
from convtui.tui.screens.layer_form import LayerForm
from convtui.tui.screens.layer_picker import LayerPicker
from convtui.tui.screens.main import MainScreen
from convtui.tui.screens.prompt import Prompt
from convtui.tui.screens.unsaved import UnsavedChanges
from convtui.tui.state import RunState, ViewState
from convtui.tui.widgets.explain import ExplainView
from convtui.tui.widgets.feature_maps import FeatureMapsView


PROGRESS_AFTER_SECONDS = 0.25


def default_image(stack: Stack) -> str:
    """A colour picture for colour inputs, the digit for everything else."""
    return "scene" if stack.input_shape[2] == 3 else "digit"


class ConvtuiApp(App[None]):
    """Build a stack, see its shapes and formulas at once and its feature maps a moment later."""

    CSS_PATH = "app.tcss"
    BINDINGS = APP_BINDINGS
    COMMANDS = App.COMMANDS | {ConvtuiCommands}
    TITLE = "convtui"

    view_state: reactive[ViewState] = reactive(None, init=False)  # type: ignore[arg-type]
    run_progress: reactive[tuple[int, int] | None] = reactive(None)
    """(layers done, layers in all) while a forward pass runs; None when none does."""

    def __init__(
        self,
        stack: Stack,
        *,
        source: str | None = None,
        seed: int = 0,
        image: str | None = None,
        convention: Convention = "keras",
        max_memory: int | None = None,
        save_folder: Path | None = None,
    ) -> None:
        super().__init__()
        self.history = EditHistory(stack)
        self.source = source
        self.seed = seed
        self.image_source = image or default_image(stack)
        self.max_memory = max_memory
        self.save_folder = save_folder
        self.images = ImageCache()
        self.run_started = 0.0
        self.set_reactive(ConvtuiApp.view_state, ViewState(stack.infer(), convention, selected_layer=0 if stack.layers else -1))

    # --- the stack and what derives from it ------------------------------------------------

    @property
    def stack(self) -> Stack:
        return self.history.current

    def get_default_screen(self) -> MainScreen:
        return MainScreen()

    def on_mount(self) -> None:
        self.start_run()

    def update_title(self) -> None:
        self.title = f"{self.stack.name}{' *' if self.history.is_dirty else ''}"
        where = "built-in preset" if self.source and is_builtin_name(self.source) else (self.source or "new stack")
        convention = "PyTorch (C, H, W)" if self.view_state.convention == "torch" else "Keras (H, W, C)"
        self.sub_title = f"{where} · {convention} · seed {self.seed} · image {self.image_source}"

    def edit(self, stack: Stack, select: int | None = None) -> None:
        """Make `stack` the current one (undoable); a change that changes nothing is ignored."""
        if self.history.apply(stack):
            self.stack_changed(select)

    def stack_changed(self, select: int | None = None) -> None:
        """Propagate shapes at once (the table follows), then rerun the forward pass."""
        stack_info = self.stack.infer()
        selected = self.view_state.selected_layer if select is None else select
        self.start_run(stack_info=stack_info, selected_layer=max(-1, min(selected, len(stack_info.layers) - 1)))

    def select_layer(self, index: int) -> None:
        if index != self.view_state.selected_layer:
            self.view_state = replace(self.view_state, selected_layer=index)

    def select_filter(self, index: int) -> None:
        self.view_state = replace(self.view_state, filter_index=max(0, min(index, self.filter_count() - 1)))

    def filter_count(self) -> int:
        """Channels of the selected layer's output (of the input, for the input row)."""
        state = self.view_state
        info = state.layer
        shape = state.stack_info.input_shape if info is None else info.output_shape
        return shape[-1] if shape and len(shape) == 3 else 1

    def set_image(self, source: str) -> None:
        self.image_source = source
        self.start_run()

    # --- the forward pass ------------------------------------------------------------------

    def start_run(self, **changes: object) -> None:
        """Apply `changes` to the view state, mark it running, and run the current stack in the background."""
        stack_info = changes.get("stack_info", self.view_state.stack_info)
        assert isinstance(stack_info, StackInfo)
        self.view_state = replace(self.view_state, **changes, run=RunState(stack_info, "running"))  # type: ignore[arg-type]
        self.update_title()
        self.run_started = time.monotonic()
        self.run_progress = None
        self.run_forward(self.stack, stack_info, self.seed, self.image_source)

    @work(thread=True, exclusive=True, group="forward", exit_on_error=False)
    def run_forward(self, stack: Stack, stack_info: StackInfo, seed: int, image_source: str) -> None:
        """Runs off the event loop; a newer edit cancels it between layers."""
        worker = get_current_worker()
        folder = Path(self.source).parent if self.source and Path(self.source).exists() else None
        try:
            result = run_stack(
                stack,
                stack_info,
                seed=seed,
                image_source=image_source,
                images=self.images,
                preset_folder=folder,
                should_stop=lambda: worker.is_cancelled,
                on_layer=lambda done, total: self.post_message(ForwardProgress(stack_info, done, total)),
                max_memory=self.max_memory,
            )
        except Exception as error:  # an engine bug must show as a message, not end the app
            result = RunResult(None, {}, (), f"the forward pass failed: {type(error).__name__}: {error}")
        if result is not None and not worker.is_cancelled:
            self.post_message(ForwardFinished(stack_info, result))

    def on_forward_progress(self, message: ForwardProgress) -> None:
        """Show progress only for a run long enough to notice, so quick reruns redraw nothing extra."""
        slow = time.monotonic() - self.run_started > PROGRESS_AFTER_SECONDS
        if slow and self.view_state.stack_info is message.stack_info and self.view_state.run.status == "running":
            self.run_progress = (message.layers_done, message.layers_total)

    def on_forward_finished(self, message: ForwardFinished) -> None:
        state = self.view_state
        if state.stack_info is message.stack_info:
            self.run_progress = None
            self.view_state = replace(state, run=RunState(message.stack_info, "done", message.result))

    # --- editing ---------------------------------------------------------------------------

    def action_add_layer(self) -> None:
        position = self.view_state.selected_layer + 1

        def chosen(layer_type: type[Layer] | None) -> None:
            if layer_type is not None:
                self.push_screen(LayerForm(layer_type, input_shape=self.shape_before(position)), added)

        def added(layer: Layer | None) -> None:
            if layer is not None:
                self.edit(self.stack.with_inserted(position, layer), select=position)

        self.push_screen(LayerPicker(position), chosen)

    def shape_before(self, position: int) -> tuple[int, ...] | None:
        """The shape a layer at `position` receives (None after an invalid layer)."""
        if position == 0:
            return self.stack.input_shape
        return self.view_state.stack_info.layers[position - 1].output_shape

    def action_edit_layer(self) -> None:
        index = self.view_state.selected_layer
        if index < 0:
            self.action_input_shape()
            return
        layer = self.stack.layers[index]

        def edited(new_layer: Layer | None) -> None:
            if new_layer is not None:
                self.edit(self.stack.with_layer(index, new_layer), select=index)

        self.push_screen(LayerForm(type(layer), layer=layer, input_shape=self.shape_before(index)), edited)

    def action_delete_layer(self) -> None:
        index = self.view_state.selected_layer
        if index < 0:
            self.notify("Select a layer to delete (the input row stays).", severity="warning")
            return
        self.edit(self.stack.without(index), select=min(index, len(self.stack.layers) - 2))

    def action_move_layer(self, offset: int) -> None:
        index = self.view_state.selected_layer
        if 0 <= index and 0 <= index + offset < len(self.stack.layers):
            self.edit(self.stack.with_moved(index, offset), select=index + offset)

    def action_input_shape(self) -> None:
        current = ", ".join(map(str, self.stack.input_shape))
        prompt = Prompt("Input shape", "height, width, channels (Keras order, whatever the convention shown)", current, input_shape_answer)

        def chosen(shape: tuple[int, ...] | None) -> None:
            if shape is not None:
                self.edit(self.stack.with_input_shape(shape))

        self.push_screen(prompt, chosen)

    def action_seed(self) -> None:
        def chosen(seed: int | None) -> None:
            if seed is not None and seed != self.seed:
                self.seed = seed
                self.start_run()

        self.push_screen(Prompt("Seed", "the seed of the initial weights (Keras initialisers)", str(self.seed), seed_answer), chosen)

    def action_undo(self) -> None:
        if self.history.undo():
            self.stack_changed()
        else:
            self.notify("Nothing to undo.")

    def action_redo(self) -> None:
        if self.history.redo():
            self.stack_changed()
        else:
            self.notify("Nothing to redo.")

    # --- display ---------------------------------------------------------------------------

    def action_toggle_convention(self) -> None:
        convention: Convention = "torch" if self.view_state.convention == "keras" else "keras"
        self.view_state = replace(self.view_state, convention=convention)
        self.update_title()

    def action_show_tab(self, tab: str) -> None:
        self.screen.query_one(TabbedContent).active = tab

    def action_step_filter(self, step: int) -> None:
        self.select_filter(self.view_state.filter_index + step)

    def action_step_filter_page(self, step: int) -> None:
        page = self.screen.query_one(FeatureMapsView).page
        self.select_filter(self.view_state.filter_index + step * (page.count if page else 1))

    def action_toggle_enlarged(self) -> None:
        self.view_state = replace(self.view_state, enlarged=not self.view_state.enlarged)

    def action_toggle_colour(self) -> None:
        self.view_state = replace(self.view_state, colour=not self.view_state.colour)

    def action_toggle_scale(self) -> None:
        self.view_state = replace(self.view_state, scale="layer" if self.view_state.scale == "map" else "map")

    def action_help(self) -> None:
        sections = [("Stack", EDIT_BINDINGS), ("Views", VIEW_BINDINGS), ("Explain view (when focused)", ExplainView.BINDINGS), ("File", FILE_BINDINGS)]
        self.push_screen(HelpScreen(sections))  # type: ignore[arg-type]

    # --- files -----------------------------------------------------------------------------

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

    def save_to(self, path: Path, stack: Stack | None = None) -> bool:
        stack = stack or self.stack
        try:
            written = save_preset(stack, path)
        except ConvtuiError as error:
            self.notify(str(error), severity="error", timeout=10)
            return False
        self.history.mark_saved(stack)
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
