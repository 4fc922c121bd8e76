"""Input: the image the stack runs on, and where to choose another (a sample or a file path)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from convtui.catalogue import SAMPLE_ENTRIES
from convtui.tui.state import ViewState
from convtui.tui.widgets.state_view import StateView

if TYPE_CHECKING:
    import numpy as np

CHANNEL_NAMES = {1: ["grey"], 3: ["red", "green", "blue"]}


class ImagePreview(StateView):
    """Thin: the loaded image, one heatmap per channel, and what was done to fit it."""

    def render_state(self, state: ViewState) -> RenderableType:
        from convtui.engine.images import image_summary_line

        result = state.shown_run
        if result is None:
            return self.styled("Loading the image ...", "progress")
        if result.image is None:
            return self.styled(result.message, "error")
        pixels = result.image.pixels
        title = self.styled(image_summary_line(result.image), "title")
        if pixels.shape[2] == 1:  # a grey image has no tile caption to give its range
            title.append(f" · {value_range(pixels)}", "dim")
        # What was done to fit the image (converted, resized, how) wraps rather than being cut; the image takes what is left.
        title_lines = len(title.wrap(self.app.console, max(1, self.size.width)))
        return Group(title, fitted_image(pixels, self.size.width, max(1, self.size.height - title_lines), state.colour))


def value_range(pixels: np.ndarray) -> str:
    from convtui.render.heatmap import range_text

    return range_text(pixels.min(), pixels.max())


def fitted_image(pixels: np.ndarray, width: int, height: int, colour: bool) -> RenderableType:
    """The image as large as width x height cells allow, aspect ratio kept: a grey image as one map,
    a colour one as a tile per channel, or in its own colours where the three tiles do not fit.
    """
    from convtui.render.heatmap import ColourImage, Heatmap, HeatmapGrid
    from convtui.tui.widgets.feature_maps import plan_page

    if pixels.shape[2] == 1:
        return Heatmap(pixels[:, :, 0], width=width, height=height, color=colour, colormap="gray")
    names = CHANNEL_NAMES.get(pixels.shape[2], [""] * pixels.shape[2])
    maps = [pixels[:, :, channel] for channel in range(pixels.shape[2])]
    page = plan_page(maps, 0, width, height, colour, widest_label=max(names, key=len))
    if page.count < len(maps) and len(maps) == 3:
        return ColourImage(pixels, width=width, height=height, color=colour)
    shown = range(page.first, page.first + page.count)
    return HeatmapGrid([maps[index] for index in shown], indices=list(shown), labels=[names[index] for index in shown], cell_width=page.map_width, color=colour)


CHOOSER_HEIGHT = 9
MIN_PREVIEW_LINES = 12
"""Below this many lines for the image (a 28x28 digit at 2 pixel rows a line needs 14), the chooser moves beside it."""


class InputView(Vertical):
    """The preview above a chooser (built-in samples, or a path typed in); beside it when the view is short."""

    DEFAULT_CSS = f"""
    InputView #input-chooser {{ height: {CHOOSER_HEIGHT}; }}
    InputView #input-samples, InputView #input-file {{ width: 1fr; height: 100%; }}
    InputView #input-samples OptionList {{ height: 1fr; }}
    InputView.-beside {{ layout: horizontal; }}
    InputView.-beside ImagePreview {{ width: 1fr; margin-right: 2; }}
    InputView.-beside #input-chooser {{ layout: vertical; width: 1fr; height: 1fr; }}
    InputView.-beside #input-samples {{ height: 1fr; }}
    InputView.-beside #input-file {{ height: 4; }}
    """

    class ImageChosen(Message):
        """A sample name or a file path to run the stack on."""

        def __init__(self, source: str) -> None:
            super().__init__()
            self.source = source

    def compose(self) -> ComposeResult:

        yield ImagePreview()
        with Horizontal(id="input-chooser"):
            with Vertical(id="input-samples"):
                yield Label("Samples", classes="chooser-title")
                yield OptionList(*(Option(f"{name}: {sample.description}", id=name) for name, sample in SAMPLE_ENTRIES.items()))
            with Vertical(id="input-file"):
                yield Label("Or a file (PNG, JPEG, BMP, GIF, .npy)", classes="chooser-title")
                yield Input(placeholder="path/to/image.png, then Enter", id="image-path")

    def on_resize(self, event: events.Resize) -> None:
        """Beside when the image would get fewer than MIN_PREVIEW_LINES above the chooser."""
        self.set_class(event.size.height - CHOOSER_HEIGHT < MIN_PREVIEW_LINES, "-beside")

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
