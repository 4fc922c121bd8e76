"""Input: the image the stack runs on, and where to choose another (a sample or a file path)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from convtui.engine.images import SAMPLES, image_summary_line
from convtui.render.heatmap import HeatmapGrid
from convtui.tui.state import ViewState
from convtui.tui.widgets.state_view import StateView

CHANNEL_NAMES = {1: ["grey"], 3: ["red", "green", "blue"]}


class ImagePreview(StateView):
    """Thin: the loaded image, one heatmap per channel, and what was done to fit it."""

    def render_state(self, state: ViewState) -> RenderableType:
        run = state.run
        result = run.result if run.is_for(state.stack_info) else None
        if result is None:
            return self.styled("Loading the image ...", "progress")
        if result.image is None:
            return self.styled(result.message, "error")
        pixels = result.image.pixels
        names = CHANNEL_NAMES.get(pixels.shape[2], [""] * pixels.shape[2])
        return Group(self.styled(image_summary_line(result.image), "title"), HeatmapGrid(pixels, labels=names, color=state.colour))


class InputView(Vertical):
    """The preview above a chooser: built-in samples, or a path typed in."""

    class ImageChosen(Message):
        """A sample name or a file path to run the stack on."""

        def __init__(self, source: str) -> None:
            super().__init__()
            self.source = source

    def compose(self) -> ComposeResult:
        yield ImagePreview()
        with Horizontal(id="image-chooser"):
            with Vertical(id="image-samples"):
                yield Label("Samples", classes="chooser-title")
                yield OptionList(*(Option(f"{name}: {sample.description}", id=name) for name, sample in SAMPLES.items()))
            with Vertical(id="image-file"):
                yield Label("Or a file (PNG, JPEG, BMP, GIF, .npy)", classes="chooser-title")
                yield Input(placeholder="path/to/image.png, then Enter", id="image-path")

    @on(OptionList.OptionSelected)
    def sample_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        assert event.option.id is not None
        self.post_message(self.ImageChosen(event.option.id))

    @on(Input.Submitted, "#image-path")
    def path_given(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.post_message(self.ImageChosen(event.value.strip()))
