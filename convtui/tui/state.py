"""What the views show, as one immutable value the App replaces: views are functions of it.

The stack itself lives in the App's edit history; this holds its propagation, the display
choices and the latest forward run, so every view derives from the same snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from convtui.model.blocks import TableRow, folded_row_of
from convtui.model.convention import Convention
from convtui.model.stack import LayerInfo, StackInfo

if TYPE_CHECKING:
    from convtui.tui.forward_run import RunResult

Scale = Literal["map", "layer"]
RunStatus = Literal["idle", "running", "done"]


@dataclass(frozen=True, eq=False)
class RunState:
    """The forward pass for one stack: in progress or finished (its progress is the App's `run_progress`)."""

    stack_info: StackInfo | None = None
    status: RunStatus = "idle"
    result: RunResult | None = None
    """The finished run's; while running, None or the early look at the layers up to the selected one."""

    def is_for(self, stack_info: StackInfo) -> bool:
        return self.stack_info is stack_info


@dataclass(frozen=True, eq=False)
class Comparison:
    """The second stack of the Compare view: the current stack as opened or last saved (until the
    user picks another), or a built-in preset or a file as it was when picked.
    """

    title: str
    """Its name in the view: "NAME as opened", "NAME as saved", the preset's name or the file's."""
    stack_info: StackInfo
    follows_saves: bool = False
    """True for the opened or saved version of the current stack: each save moves it along."""


@dataclass(frozen=True, eq=False)
class ViewState:
    """Everything the views need; `eq=False` so that every replacement reaches the watchers."""

    stack_info: StackInfo
    convention: Convention = "keras"
    selected_layer: int = 0
    """-1 is the input row."""
    filter_index: int = 0
    first_channel: int = 0
    """The first input channel the Kernels view shows (it pages them: as many as fit across)."""
    enlarged: bool = False
    """Show the selected filter large, with its statistics, instead of the grid."""
    colour: bool = True
    """Colour cells; False shows the plain ASCII ramp."""
    scale: Scale = "map"
    run: RunState = RunState()
    folded: frozenset[str] = frozenset()
    """The blocks the stack table shows folded, one row each."""
    compared: Comparison | None = None
    """What the Compare view sets the current stack against (the app starts it at the stack as opened)."""

    @property
    def layer(self) -> LayerInfo | None:
        layers = self.stack_info.layers
        return layers[self.selected_layer] if 0 <= self.selected_layer < len(layers) else None

    @property
    def folded_row(self) -> TableRow | None:
        """The folded block row the selection is on, if it is one: the views then show the block, not its last layer."""
        return folded_row_of(self.stack_info, self.folded, self.selected_layer)

    @property
    def filter_count(self) -> int:
        """Channels of the selected layer's output (of the input, for the input row); 1 when flat."""
        shape = self.stack_info.input_shape if self.layer is None else self.layer.output_shape
        return shape[-1] if shape and len(shape) == 3 else 1

    @property
    def selected_filter(self) -> int:
        """The chosen filter, within the selected layer's channels (the choice survives other layers)."""
        return min(self.filter_index, self.filter_count - 1)

    def for_another_stack(self) -> ViewState:
        """The choices that belong to one stack (filter, channel page, folded blocks) back at their start, for a stack opened in its place."""
        return replace(self, filter_index=0, first_channel=0, folded=frozenset())

    @property
    def current_run(self) -> RunResult | None:
        """The finished run of exactly this stack, if there is one."""
        return self.shown_run if self.run.status == "done" else None

    @property
    def shown_run(self) -> RunResult | None:
        """The run of exactly this stack that the views draw from: finished, or while it runs the early look
        at the layers up to the selected one (a long run shows them first), if there is one."""
        return self.run.result if self.run.is_for(self.stack_info) else None
