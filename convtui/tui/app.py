"""The convtui App: the one source of truth for the stack (an undoable history of immutable
stacks), the display choices, and the forward pass that reruns in a worker after every edit.

Views never hold a stack of their own: they follow `view_state`, which the App replaces.
The first screen paints before numpy, Pillow or the engine is imported: the forward worker loads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SystemCommand
from textual.command import CommandPalette
from textual.screen import Screen
from textual.theme import ThemeProvider
from textual.reactive import reactive
from textual.timer import Timer
from textual.worker import get_current_worker

from convtui.catalogue import default_sample
from convtui.model.blocks import block_names
from convtui.model.convention import Convention
from convtui.model.preset import is_builtin_name
from convtui.model.stack import Stack, StackInfo
from convtui.startup import resume_collection
from convtui.tui.bindings import APP_BINDINGS, EDIT_BINDINGS, FILE_BINDINGS, GRAPH_BINDINGS, TRAIN_BINDINGS, VIEW_BINDINGS
from convtui.tui.commands import ConvtuiCommands, SteadyCommandPalette
from convtui.tui.compare import CompareActions, saved_comparison
from convtui.tui.editing import EditingActions
from convtui.tui.files import FileActions
from convtui.tui.forward_run import ImageCache, RunResult, WeightsCache, run_stack
from convtui.tui.history import EditHistory, Version
from convtui.tui.messages import ForwardEarly, ForwardFinished, ForwardProgress
from convtui.tui.opened_weights import OpenedWeights, opened_weights
from convtui.tui.recovery import RecoveryActions
from convtui.tui.recovery_copies import RecoveryKeeper, recovery_folder
from convtui.tui.screens.main import MainScreen
from convtui.tui.state import RunState, ViewState
from convtui.tui.training import TrainingActions
from convtui.tui.widgets.stack_table import StackTable
from convtui.tui.widgets.views import Views

if TYPE_CHECKING:
    from convtui.engine.weights import StackWeights

PROGRESS_AFTER_SECONDS = 0.25


class ConvtuiApp(EditingActions, FileActions, CompareActions, TrainingActions, RecoveryActions, App[None]):
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
        weights: StackWeights | None = None,
        notes: Sequence[str] = (),
        source: str | None = None,
        seed: int = 0,
        image: str | None = None,
        convention: Convention = "keras",
        max_memory: int | None = None,
        save_folder: Path | None = None,
    ) -> None:
        """`weights`: a Keras model's (layer index -> name -> array), used instead of the seed wherever they
        still fit; without them, the preset's own `weights = "..."` file. `notes`: what its import changed, shown at start.
        """
        super().__init__()
        self.history: EditHistory[Version] = EditHistory(Version(stack, seed, opened_weights(stack, source, weights)))
        self.source = source
        self.weights_on_disk: Path | None = self.opened_weights.path if self.opened_weights is not None else None
        self.import_notes = tuple(notes)
        self.chosen_image = image
        self.last_read_image: str | None = None
        """The chosen image of the last run that could read its image (None: the default sample)."""
        self.max_memory = max_memory
        self.save_folder = save_folder
        self.recovery = RecoveryKeeper(recovery_folder(), on_error=self.recovery_failed)
        self.images = ImageCache()
        self.weights_cache = WeightsCache()
        self.layers_done = 0
        self.progress_timer: Timer | None = None
        stack_info = stack.infer()
        opened = saved_comparison(stack, stack_info, "opened")
        self.set_reactive(ConvtuiApp.view_state, ViewState(stack_info, convention, selected_layer=0 if stack.layers else -1, compared=opened))

    # --- the stack and what derives from it ------------------------------------------------

    @property
    def stack(self) -> Stack:
        return self.history.current.stack

    @property
    def seed(self) -> int:
        """The seed of the initial weights: part of the version, so changing it is an undoable edit."""
        return self.history.current.seed

    @property
    def opened_weights(self) -> OpenedWeights | None:
        """The weights the stack runs on where they fit (opened, recovered or trained); the seed's elsewhere."""
        return self.history.current.weights

    @property
    def image_source(self) -> str:
        """The image the user chose, else the sample that suits the stack's input (grey or colour)."""
        return self.chosen_image or default_sample(self.stack.input_shape)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own commands without its Quit: the app's Quit (with the unsaved-changes question) is in the palette already."""
        return (command for command in super().get_system_commands(screen) if command.title != "Quit")

    def action_command_palette(self) -> None:
        """Textual's palette, as Textual opens it, with the guard of SteadyCommandPalette."""
        if self.use_command_palette and not CommandPalette.is_open(self):
            # No id="--command-palette" as Textual 8.2.8 gives it (nothing looks it up): ctrl+p pressed while the last
            # palette is still being removed would raise DuplicateIds and end the app.
            self.push_screen(SteadyCommandPalette())

    def search_themes(self) -> None:
        """Textual's "Change theme" command, in the guarded palette."""
        self.push_screen(SteadyCommandPalette(providers=[ThemeProvider], placeholder="Search for themes…"))

    def get_default_screen(self) -> MainScreen:
        return MainScreen()

    def on_ready(self) -> None:
        """The first frame is on screen."""
        resume_collection()  # paused by `convtui` while it started (startup.py)

    def on_mount(self) -> None:
        self.start_run()
        self.offer_recovery()
        self.show_notes(self.import_notes)

    def update_title(self) -> None:
        self.title = f"{self.stack.name}{' *' if self.history.is_dirty else ''}"
        where = "built-in preset" if self.source and is_builtin_name(self.source) else (self.source or "new stack")
        convention = "PyTorch (C, H, W)" if self.view_state.convention == "torch" else "Keras (H, W, C)"
        weights = f"weights {self.opened_weights.label} · " if self.opened_weights is not None else ""
        self.sub_title = f"{where} · {convention} · {weights}seed {self.seed} · image {self.image_source}"

    def edit(self, stack: Stack, select: int | None = None) -> None:
        """Make `stack` the current one (undoable); a change that changes nothing is ignored."""
        self.edit_version(self.history.current.with_stack(stack), select)

    def edit_version(self, version: Version, select: int | None = None) -> None:
        """Make `version` current (undoable): a new stack, seed or set of weights; one that changes nothing is ignored."""
        before = self.stack
        if self.history.apply(version):
            self.version_changed(before, select)

    def version_changed(self, before: Stack, select: int | None = None) -> None:
        """Rerun after an edit, undo or redo; the same stack (a new seed or new weights) keeps its shapes' StackInfo,
        which the Train view compares with the trained one by identity."""
        if self.stack == before:
            self.start_run()
        else:
            self.stack_changed(select)

    def stack_changed(self, select: int | None = None) -> None:
        """Propagate shapes at once (the table follows), then rerun the forward pass."""
        stack_info = self.stack.infer()
        selected = self.view_state.selected_layer if select is None else select
        self.start_run(stack_info=stack_info, selected_layer=max(-1, min(selected, len(stack_info.layers) - 1)))

    def selection(self) -> int:
        """The selected layer, taken from the table's cursor when it is on screen: a key pressed right
        after a move can arrive before the table's highlight message does.
        """
        for table in self.screen.query(StackTable):
            self.select_layer(table.selected_index)
        return self.view_state.selected_layer

    def select_layer(self, index: int) -> None:
        if index != self.view_state.selected_layer:
            self.view_state = replace(self.view_state, selected_layer=index)

    def select_filter(self, index: int) -> None:
        self.view_state = replace(self.view_state, filter_index=max(0, min(index, self.view_state.filter_count - 1)))

    def set_image(self, source: str) -> None:
        """Run on `source` from now on; the worker reads it, and one it cannot read gives back the image before it."""
        self.chosen_image = source
        self.start_run()

    def fall_back_from_unreadable_image(self, message: str) -> None:
        """Back to the last image that was read (the default sample when there was none, or it was this one), and rerun."""
        refused = self.image_source
        self.chosen_image = self.last_read_image if self.last_read_image != self.chosen_image else None
        self.notify(f"{message}; the stack runs on {self.image_source} again", title=f"Image {refused} not loaded", severity="error", timeout=10)
        self.start_run()

    # --- the forward pass ------------------------------------------------------------------

    def start_run(self, **changes: object) -> None:
        """Apply `changes` to the view state, mark it running, and run the current stack in the background."""
        stack_info = changes.get("stack_info", self.view_state.stack_info)
        assert isinstance(stack_info, StackInfo)
        self.view_state = replace(self.view_state, **changes, run=RunState(stack_info, "running"))  # type: ignore[arg-type]
        self.update_title()
        self.keep_recovery_copy()  # with the title's unsaved mark: an edit, an undo, trained weights
        self.layers_done = 0
        self.run_progress = None
        if self.progress_timer is not None:
            self.progress_timer.stop()
        self.progress_timer = self.set_timer(PROGRESS_AFTER_SECONDS, self.reveal_progress)
        # After the next paint: the new shapes reach the screen before the engine takes the CPU.
        selected = self.view_state.selected_layer
        self.call_after_refresh(self.run_forward, self.stack, stack_info, self.seed, self.image_source, self.opened_weights, selected)

    def reveal_progress(self) -> None:
        """Show progress only for a run long enough to notice, so quick reruns redraw nothing extra."""
        if self.view_state.run.status == "running":
            self.run_progress = (self.layers_done, len(self.view_state.stack_info.layers))

    @work(thread=True, exclusive=True, group="forward", exit_on_error=False)
    def run_forward(self, stack: Stack, stack_info: StackInfo, seed: int, image_source: str, opened: OpenedWeights | None, selected: int) -> None:
        """Runs off the event loop; a newer edit cancels it between layers. A long run shows the selected
        layer early when it comes early (VGG16's first convolution before its 138 M weights are made)."""
        worker = get_current_worker()
        try:
            result = run_stack(
                stack,
                stack_info,
                seed=seed,
                image_source=image_source,
                images=self.images,
                weights_cache=self.weights_cache,
                opened_weights=opened,
                should_stop=lambda: worker.is_cancelled,
                on_layer=lambda done, total: self.post_message(ForwardProgress(stack_info, done, total)),
                max_memory=self.max_memory,
                selected=selected,
                on_early=lambda result: None if worker.is_cancelled else self.post_message(ForwardEarly(stack_info, result)),
            )
        except Exception as error:  # an engine bug must show as a message, not end the app
            result = RunResult(None, {}, (), f"the forward pass failed: {type(error).__name__}: {error}")
        if result is not None and not worker.is_cancelled:
            self.post_message(ForwardFinished(stack_info, result))

    def on_forward_progress(self, message: ForwardProgress) -> None:
        if self.view_state.stack_info is message.stack_info and self.view_state.run.status == "running":
            self.layers_done = message.layers_done
            if self.run_progress is not None:
                self.run_progress = (message.layers_done, message.layers_total)

    def on_forward_early(self, message: ForwardEarly) -> None:
        state = self.view_state
        if state.stack_info is message.stack_info and state.run.status == "running":
            self.view_state = replace(state, run=RunState(message.stack_info, "running", message.result))

    def on_forward_finished(self, message: ForwardFinished) -> None:
        state = self.view_state
        if state.stack_info is message.stack_info:
            if message.result.image_failed and self.chosen_image is not None:
                self.fall_back_from_unreadable_image(message.result.message)
                return
            if message.result.image is not None:
                self.last_read_image = self.chosen_image
            self.run_progress = None
            if self.progress_timer is not None:
                self.progress_timer.stop()
            self.view_state = replace(state, run=RunState(message.stack_info, "done", message.result))

    # --- display ---------------------------------------------------------------------------

    def action_toggle_convention(self) -> None:
        convention: Convention = "torch" if self.view_state.convention == "keras" else "keras"
        self.view_state = replace(self.view_state, convention=convention)
        self.update_title()

    @property
    def views(self) -> Views:
        """The views on the main screen (their tabs mount just after the first paint)."""
        main = self.screen_stack[0]
        assert isinstance(main, MainScreen)
        return main.views

    def action_focus_stack(self) -> None:
        """Esc on the main screen: out of a field (the Input tab's file, the Train form) or a view, back to the table,
        where 1-6 switch tabs again instead of being typed in. Dialogs and menus bind Esc themselves."""
        main = self.screen_stack[0]
        if self.screen is main:
            main.query_one(StackTable).focus()

    def action_show_tab(self, tab: str) -> None:
        self.views.show(tab)

    def action_step_filter(self, step: int) -> None:
        self.selection()
        self.select_filter(self.view_state.selected_filter + step)

    def action_step_filter_page(self, step: int) -> None:
        """A page of filters on or back: of the Kernels view's tiles while it is open, else of the feature maps."""
        self.select_filter(self.view_state.selected_filter + step * (self.filter_page_size() or 1))

    def filter_page_size(self) -> int | None:
        from convtui.tui.widgets.feature_maps import FeatureMapsView
        from convtui.tui.widgets.kernels import KernelsView

        if self.views.active == "kernels":
            kernels = self.views.mounted_view(KernelsView)
            return kernels.filter_page_size(self.view_state) if kernels is not None else None
        maps = self.views.mounted_view(FeatureMapsView)
        return maps.page.capacity if maps is not None and maps.page is not None else None

    def action_step_channel_page(self, step: int) -> None:
        """Page the Kernels view's input channels by as many as it shows across, from the view state as it
        is now (not from the last drawing), so that every press of a burst counts."""
        from convtui.tui.widgets.kernels import KernelsView

        view = self.views.mounted_view(KernelsView)
        page = view.page_for(self.view_state) if view is not None else None
        if page is not None:
            self.view_state = replace(self.view_state, first_channel=page.first_after(step))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The channel keys only while the Kernels tab is open and the selected layer has more input channels
        than it shows: the footer offers them there and nowhere else (False hides them)."""
        if action == "step_channel_page":
            from convtui.tui.widgets.kernels import KernelsView

            view = self.views.mounted_view(KernelsView)
            if view is None or self.views.active != "kernels":
                return False
            page = view.page_for(self.view_state)
            return page is not None and page.count < page.total
        return super().check_action(action, parameters)

    def on_tabbed_content_tab_activated(self) -> None:
        self.refresh_bindings()  # the footer follows the open tab (check_action)

    choices_made_in: EditHistory | None = None
    """The edit history the filter and channel choices belong to."""

    def validate_view_state(self, state: ViewState) -> ViewState:
        """A stack opened in place of this one (a new edit history) starts at its first filter and channel page."""
        made_in, self.choices_made_in = self.choices_made_in, self.history
        return state.for_another_stack() if made_in is not None and made_in is not self.history else state

    def action_toggle_enlarged(self) -> None:
        self.view_state = replace(self.view_state, enlarged=not self.view_state.enlarged)

    def action_toggle_block(self) -> None:
        """Fold the selected layer's block into one row, or expand it."""
        self.selection()
        info = self.view_state.layer
        if info is None or info.block is None:
            self.notify(
                "The selected layer is in no block: w wraps layers in a residual block, which makes one"
                " (so do a preset's block = \"...\" and a Keras import's name prefixes)."
            )
            return
        self.fold(self.view_state.folded ^ {info.block})

    def action_toggle_all_blocks(self) -> None:
        """Fold every block, or expand them all when some are folded already (torchinfo's depth 1 and back)."""
        blocks = block_names(self.view_state.stack_info)
        if not blocks:
            self.notify("This stack has no blocks to fold.")
            return
        self.fold(frozenset() if self.view_state.folded else frozenset(blocks))

    def fold(self, folded: frozenset[str]) -> None:
        """Show `folded` folded; a folded row that opens selects its block's first layer (a folded row selects the
        block's last, its output), so the block reads from its top down."""
        state = self.view_state
        row = state.folded_row
        selected = row.layers[0] if row is not None and row.block not in folded else state.selected_layer
        self.view_state = replace(state, folded=folded, selected_layer=selected)

    def action_toggle_colour(self) -> None:
        self.view_state = replace(self.view_state, colour=not self.view_state.colour)

    def action_toggle_scale(self) -> None:
        self.view_state = replace(self.view_state, scale="layer" if self.view_state.scale == "map" else "map")

    def action_help(self) -> None:
        from convtui.tui.screens.help import HelpScreen
        from convtui.tui.widgets.explain import ExplainView

        sections = [
            ("Stack", EDIT_BINDINGS),
            ("Graph", GRAPH_BINDINGS),
            ("Views", VIEW_BINDINGS),
            ("Training", TRAIN_BINDINGS),
            ("Explain view (when focused)", ExplainView.BINDINGS),
            ("File", FILE_BINDINGS),
        ]
        self.push_screen(HelpScreen(sections))  # type: ignore[arg-type]
