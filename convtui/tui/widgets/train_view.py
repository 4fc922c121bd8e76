"""Train: the settings of a training run and its buttons above; below, sampled a few times a second
from the worker's latest snapshot, the loss and accuracy curves, the first convolution's filters,
the selected layer's feature maps on a fixed validation image, each layer's gradient size and the
last epoch's confusion matrix.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Button, Input, Label, Select

from convtui.catalogue import OPTIMIZER_DEFAULT_RATES
from convtui.render.heatmap import Heatmap, HeatmapGrid, range_text
from convtui.tui.state import ViewState
from convtui.tui.train_session import TrainSetup, TrainSnapshot, default_data
from convtui.tui.widgets.kernels import kernel_tiles
from convtui.tui.widgets.state_view import StateView

if TYPE_CHECKING:
    from convtui.tui.app import ConvtuiApp
    from convtui.tui.training import TrainStatus

SAMPLE_SECONDS = 0.25
"""How often the view looks at the worker's latest snapshot: at most four redraws a second."""
PLOT_HEIGHT = 7
SIDE_BY_SIDE_WIDTH = 90
"""From this width the two plots (and the two tables) sit side by side."""
MAX_MAPS = 16
MAP_WIDTH = 12
"""Cells per feature map: small, so the maps sit in a row or two under the curves."""
MAX_FILTERS = 16
TRAIN_STYLE, VALIDATION_STYLE = "cyan", "magenta"
BUTTONS = {"start": "Start (t)", "pause": "Pause (p)", "resume": "Resume (t)", "stop": "Stop (T)"}
SHOWN_BUTTONS: dict[str, tuple[str, ...]] = {"loading": ("pause", "stop"), "training": ("pause", "stop"), "paused": ("resume", "stop")}
"""Which buttons each status offers; the others (pausing, stopping: none; idle, finished, ...: start) below."""
INTRO = (
    "Choose the data (a generated set: shapes, digits or stripes, NAME:COUNT, drawn at the stack's input size; "
    "or a folder of class folders, or an .npz), the optimiser, learning rate, batch size and epochs, then Start (t). "
    "The curves, the first convolution's filters, the selected layer's feature maps and the confusion matrix follow "
    "the training live; p pauses (then edit the stack or the learning rate), t resumes, T stops."
)


NUMBER_FIELDS: dict[str, tuple[type[int] | type[float], str]] = {
    "rate": (float, "the learning rate"),
    "batch": (int, "the batch size"),
    "epochs": (int, "the epochs"),
}
"""Each number field's type and what its messages call it."""


def positive(text: str, kind: type[int] | type[float], what: str) -> int | float:
    """A field's number, or a ValueError that says which field wants what."""
    try:
        value = kind(text.strip())
    except ValueError:
        value = 0
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"{what} must be a {'whole ' if kind is int else ''}number above 0, not '{text}'")
    return value


def number_problem(text: str, kind: type[int] | type[float], what: str) -> str | None:
    """What is wrong with a field's number, or None."""
    try:
        positive(text, kind, what)
    except ValueError as error:
        return str(error)
    return None


class TrainForm(Vertical):
    """The run's settings and buttons; the App reads them when a run starts or resumes."""

    BINDINGS = [Binding("escape", "app.focus_stack", "Leave the field (then t, p, T)")]
    """Shown in the footer while a field has the focus: there t, p and T are typed, not pressed."""
    app: ConvtuiApp

    def compose(self) -> ComposeResult:
        with Horizontal(classes="train-row"):
            yield Label("data")
            yield Input(id="train-data", compact=True, tooltip="shapes, digits, stripes (NAME:COUNT), a folder of class folders, or an .npz")
            yield Label("optimiser")
            yield Select([(name, name) for name in OPTIMIZER_DEFAULT_RATES], value="adam", allow_blank=False, compact=True, id="train-optimizer")
        with Horizontal(classes="train-row"):
            yield Label("learning rate")
            yield Input(str(OPTIMIZER_DEFAULT_RATES["adam"]), id="train-rate", compact=True)
            yield Label("batch")
            yield Input("32", id="train-batch", compact=True)
            yield Label("epochs")
            yield Input("2", id="train-epochs", compact=True)
            for name, label in BUTTONS.items():
                yield Button(label, id=f"train-{name}", action=f"app.{name}_training", compact=True)
        yield Label(id="train-problem")

    def on_mount(self) -> None:
        self.query_one("#train-data", Input).value = default_data(self.app.view_state.stack_info)
        self.follow_status("idle")

    @on(Select.Changed, "#train-optimizer")
    def optimizer_changed(self, event: Select.Changed) -> None:
        """Each optimiser's own default learning rate, unless the user typed another."""
        rate = self.query_one("#train-rate", Input)
        defaults = {str(learning_rate) for learning_rate in OPTIMIZER_DEFAULT_RATES.values()}
        if rate.value in defaults:
            rate.value = str(OPTIMIZER_DEFAULT_RATES[str(event.value)])

    @on(Input.Changed, "#train-rate, #train-batch, #train-epochs")
    def number_changed(self, event: Input.Changed) -> None:
        """Say what is wrong with a number as it is typed, not only when t is pressed."""
        problems = []
        for name, (kind, what) in NUMBER_FIELDS.items():
            field = self.query_one(f"#train-{name}", Input)
            wrong = number_problem(field.value, kind, what)
            field.set_class(wrong is not None, "-invalid")
            problems += [wrong] if wrong is not None else []
        problem = self.query_one("#train-problem", Label)
        problem.update("; ".join(problems))
        problem.display = bool(problems)

    def text(self, name: str) -> str:
        return self.query_one(f"#train-{name}", Input).value

    def number(self, name: str) -> int | float:
        """A number field's value, or a ValueError that says what it wants."""
        kind, what = NUMBER_FIELDS[name]
        return positive(self.text(name), kind, what)

    def setup(self, seed: int) -> TrainSetup:
        """The settings of a new run; a ValueError names the field that is wrong."""
        data = self.text("data").strip()
        if not data:
            raise ValueError("give the data: shapes, digits, stripes (NAME:COUNT), a folder of class folders or an .npz file")
        learning_rate, epochs = self.resume_values()
        optimizer = str(self.query_one("#train-optimizer", Select).value)
        return TrainSetup(data, optimizer, learning_rate, int(self.number("batch")), epochs, seed)

    def resume_values(self) -> tuple[float, int]:
        """The learning rate and epochs, the settings a paused run takes on."""
        return float(self.number("rate")), int(self.number("epochs"))

    def follow_status(self, status: TrainStatus) -> None:
        """Fields editable when nothing runs (only the learning rate and epochs while paused); the buttons that apply."""
        for name in ("data", "optimizer", "batch"):
            self.query_one(f"#train-{name}").disabled = status in ("loading", "training", "pausing", "stopping", "paused")
        for name in ("rate", "epochs"):
            self.query_one(f"#train-{name}").disabled = status in ("loading", "training", "pausing", "stopping")
        shown = SHOWN_BUTTONS.get(status, () if status in ("pausing", "stopping") else ("start",))
        for name in BUTTONS:
            self.query_one(f"#train-{name}").display = name in shown


def status_line(status: TrainStatus, snapshot: TrainSnapshot) -> str:
    """Where the run is and its running figures: "training · epoch 1/2 · step 20/57 · loss 0.41 ...", with the
    last epoch's validation accuracy once there is one; "-" for a figure no step has made yet."""
    validation = f" · validation accuracy {snapshot.evaluation.accuracy:.4f}" if snapshot.evaluation is not None else ""
    return (
        f"{status} · epoch {snapshot.epoch}/{snapshot.setup.epochs} · step {snapshot.step}/{snapshot.steps} · "
        f"loss {figure(snapshot.loss)} · accuracy {figure(snapshot.accuracy)}{validation} · {snapshot.examples_per_second:,.0f} examples/s"
    )


def figure(value: float) -> str:
    """A running mean to 4 places; "-" before the first step (the mean of nothing is NaN)."""
    return "-" if math.isnan(value) else f"{value:.4f}"


def settings_line(snapshot: TrainSnapshot) -> str:
    setup = snapshot.setup
    return f"{snapshot.data_text} · {setup.optimizer}, learning rate {snapshot.learning_rate:g}, batch {setup.batch_size}"


def status_hint(status: TrainStatus, snapshot: TrainSnapshot, state: ViewState) -> str:
    """What the user can do now, and whether the trained stack is the one in the table."""
    edited = snapshot.stack_info is not state.stack_info
    if status == "paused":
        change = " The stack was edited: resuming keeps the weights of every layer whose weight shapes did not change." if edited else ""
        return f"Paused: the other views show the weights so far. Edit the stack or the learning rate, then t resumes; T stops.{change}"
    if status in ("training", "pausing") and edited:
        return "Training goes on with the stack as it was; pause (p) and resume (t) to train the edited stack."
    if status in ("finished", "stopped"):
        return "The trained weights are the stack's weights now: feature maps, kernels, the drill-down, save (s) and export use them."
    return ""


def curves(snapshot: TrainSnapshot, width: int) -> RenderableType:
    """Loss and accuracy over the epochs planned, training per step and validation per epoch."""
    from convtui.render.line_plot import LinePlot, Series  # numpy: loaded once training has begun

    x_range = (0.0, float(snapshot.setup.epochs))
    loss = LinePlot(
        [Series("train", snapshot.train_loss, TRAIN_STYLE), Series("validation", snapshot.validation_loss, VALIDATION_STYLE)],
        title="loss", x_range=x_range, height=PLOT_HEIGHT,
    )  # fmt: skip
    accuracy = LinePlot(
        [Series("train", snapshot.train_accuracy, TRAIN_STYLE), Series("validation", snapshot.validation_accuracy, VALIDATION_STYLE)],
        title="accuracy", x_range=x_range, y_range=(0.0, 1.0), height=PLOT_HEIGHT,
    )  # fmt: skip
    return side_by_side(loss, accuracy, width)


def side_by_side(left: RenderableType, right: RenderableType, width: int, console: Console | None = None) -> RenderableType:
    """Two renderables in two equal columns when the width allows, else one above the other. With `console`, only
    when each fits its half at its natural width: a table squeezed into half the pane cuts its headers ("predict…")."""
    half = (width - 3) // 2
    if width < SIDE_BY_SIDE_WIDTH or (console is not None and max(natural_width(console, left), natural_width(console, right)) > half):
        return Group(left, Text(""), right)
    grid = Table.grid(padding=(0, 3), expand=True)
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(left, right)
    return grid


def natural_width(console: Console, renderable: RenderableType) -> int:
    """The width `renderable` takes when nothing limits it."""
    return Measurement.get(console, console.options, renderable).maximum


def gradient_table(snapshot: TrainSnapshot) -> Table:
    table = Table(title="gradient size (L2 norm, last step)", title_justify="left", title_style="bold", box=None, padding=(0, 1), header_style="bold")
    for name, justify in (("layer", "left"), ("type", "left"), ("|gradient|", "right"), ("|weights|", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in snapshot.gradients:
        table.add_row(row.name, row.type_name, f"{row.gradient_norm:.3g}", f"{row.weight_norm:.3g}")
    return table


class TrainCharts(StateView):
    """Thin: renders the last sampled snapshot, with the selected layer and display choices from the view state."""

    status: reactive[TrainStatus] = reactive("idle", layout=True)
    snapshot: reactive[TrainSnapshot | None] = reactive(None, layout=True)

    def render_state(self, state: ViewState) -> RenderableType:
        snapshot = self.snapshot
        if snapshot is None:
            if self.status == "loading":
                return self.styled("Loading the data ...", "progress")
            return self.styled(INTRO, "muted")
        width = self.size.width
        parts: list[RenderableType] = [self.styled(status_line(self.status, snapshot), "title"), Text(settings_line(snapshot), style="dim")]
        if hint := status_hint(self.status, snapshot, state):
            parts.append(self.styled(hint, "progress"))
        parts += [Text(""), curves(snapshot, width), Text("")]
        parts += self.filters(snapshot, state, width) + self.feature_maps(snapshot, state)
        from convtui.render.confusion import ConfusionMatrix

        evaluation = snapshot.evaluation
        confusion = (
            ConfusionMatrix(evaluation.confusion, snapshot.class_names, title=f"confusion matrix, validation: accuracy {evaluation.accuracy:.4f}")
            if evaluation is not None
            else self.styled("The confusion matrix appears after the first epoch.", "muted")
        )
        parts += [Text(""), side_by_side(gradient_table(snapshot), confusion, width, self.app.console)]
        return Group(*parts)

    def filters(self, snapshot: TrainSnapshot, state: ViewState, width: int) -> list[RenderableType]:
        if snapshot.filters is None:
            return []
        name, kernel = snapshot.filters
        channels = min(kernel.shape[2], 3)
        filters = max(1, MAX_FILTERS // channels)
        grid, _, _ = kernel_tiles(kernel[:, :, :channels, :filters], 0, 0, width, state.scale, state.colour)
        shown = f"filters 0-{min(filters, kernel.shape[3]) - 1} of {kernel.shape[3]}" + (f", input channels 0-{channels - 1} of {kernel.shape[2]}" if kernel.shape[2] > 1 else "")
        return [Text.assemble(self.styled(f"{name}: the first convolution's filters", "title"), (f"  {shown}", "dim")), grid, Text("")]

    def feature_maps(self, snapshot: TrainSnapshot, state: ViewState) -> list[RenderableType]:
        """The selected layer (found by name in the trained stack) on the fixed validation image; the image itself for the input row."""
        selected = state.layer
        info = snapshot.stack_info.named(selected.name) if selected is not None else None
        if selected is not None and info is None:
            return [self.styled(f"{selected.name} is not in the stack being trained; resume to train it.", "muted")]
        output = snapshot.sample if info is None else snapshot.outputs[info.index]
        title = f"{'the input' if info is None else info.name} on a validation image (a {snapshot.sample_label})"
        if output.ndim == 3:
            maps = output[:, :, :MAX_MAPS]
            drawing: RenderableType = HeatmapGrid(maps, scale=state.scale, cell_width=MAP_WIDTH, color=state.colour)
            more = f"  channels 0-{maps.shape[2] - 1} of {output.shape[2]}"
        else:
            import numpy as np

            flat = np.asarray(output).reshape(1, -1)
            drawing = Heatmap(flat, height=2, color=state.colour)
            more = f"  {flat.shape[1]} values, {range_text(flat.min(), flat.max())}"
        return [Text.assemble(self.styled(title, "title"), (more, "dim")), drawing]


class TrainView(Vertical):
    """The form above the charts; samples the App's training a few times a second (the worker never waits for it)."""

    BINDINGS = [
        Binding("pagedown", "scroll_charts(1)", "Charts down", show=False),
        Binding("pageup", "scroll_charts(-1)", "Charts up", show=False),
    ]
    app: ConvtuiApp

    def action_scroll_charts(self, pages: int) -> None:
        """PageDown/PageUp scroll the charts (the gradients and the confusion matrix lie below) from the form's fields too."""
        charts = self.query_one("#train-scroll", VerticalScroll)
        if pages > 0:
            charts.scroll_page_down(animate=False)
        else:
            charts.scroll_page_up(animate=False)

    def compose(self) -> ComposeResult:
        yield TrainForm(id="train-form")
        with VerticalScroll(id="train-scroll"):
            yield TrainCharts(id="train-charts")

    def on_mount(self) -> None:
        self.set_interval(SAMPLE_SECONDS, self.sample)

    def sample(self) -> None:
        """The latest snapshot and status; the reactives redraw only when one of them changed."""
        session = self.app.training
        charts = self.query_one(TrainCharts)
        charts.status = self.app.train_status
        charts.snapshot = session.latest if session is not None else None
