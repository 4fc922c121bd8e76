"""The main screen: the stack table and its totals on the left, the views in tabs on the right
(stacked on top of each other in a narrow terminal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header

from convtui.tui.bindings import TRAIN_VIEW_BINDINGS
from convtui.tui.state import ViewState
from convtui.tui.widgets.footer import SteadyFooter
from convtui.tui.widgets.stack_table import StackTable
from convtui.tui.widgets.run_status import RunStatus
from convtui.tui.widgets.state_view import VIEW_STATE
from convtui.tui.widgets.totals import StackTotals
from convtui.tui.widgets.views import Views

if TYPE_CHECKING:
    from convtui.tui.app import ConvtuiApp
    from convtui.tui.widgets.feature_maps import FeatureMapsView
    from convtui.tui.widgets.input_view import InputView


VIEWS_AT_THE_LATEST = 0.5
"""Seconds after the first paint when the views mount if no result has come (a long run without an early look)."""


def stack_pane_title(focused: bool) -> str:
    """The stack pane's title: what its keys do when it has the focus, how to give it the focus when not."""
    return "Stack · ↑↓ select a layer" if focused else "Stack · Tab or click: focus here"


def view_pane_title(tab: str, focused: bool, drilldown: bool = True) -> str:
    """The views pane's title; on Explain with a drill-down (`drilldown`: the selected layer has one) it says
    that the drill-down's arrows work only once it has the focus."""
    if tab == "explain" and drilldown:
        return "Views · arrows move (i, j) · Tab: back to the stack" if focused else "Views · Tab: focus here, then arrows move (i, j)"
    return "Views · Tab: next field" if focused else "Views · 1-6 switch tabs"


class MainScreen(Screen[None]):
    """Lays the widgets out and passes their events to the App, which owns the stack."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    BINDINGS = TRAIN_VIEW_BINDINGS

    app: ConvtuiApp

    def __init__(self) -> None:
        super().__init__()
        self.shown_stack: object = None
        self.shown_choices: tuple[object, ...] = ()
        self.shown_folded: frozenset[str] = frozenset()
        """The blocks the table showed folded: one that opens is scrolled into view whole."""
        self.pane_titles: tuple[str, str] | None = None
        self.views = Views()
        """The views' tabs mount in its slot with the first result (see views.py): `views.show` and `views.view` wait for them."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            with Vertical(id="stack-pane"):
                yield StackTable(id="stack-table")
                yield StackTotals(id="totals")
            with Vertical(id="view-pane"):
                yield self.views.slot  # the views mount there with the first result (see views.py)
                yield RunStatus()
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.watch(self.app, VIEW_STATE, self.follow_state)
        self.set_timer(VIEWS_AT_THE_LATEST, self.views.slot.reveal)
        self.query_one(StackTable).focus()
        self.watch(self, "focused", self.show_pane_titles)

    def show_pane_titles(self) -> None:
        """Which pane has the focus shows in its title (and its style, app.tcss); so does how to move the focus.
        Called on every change of the view state: a title is set (which repaints its pane) only when it changes."""
        stack_pane, view_pane = self.query_one("#stack-pane"), self.query_one("#view-pane")
        tab = self.views.active
        titles = (
            stack_pane_title(stack_pane.has_focus_within),
            view_pane_title(tab, view_pane.has_focus_within, tab == "explain" and self.selected_has_drilldown()),
        )
        if titles != self.pane_titles:
            self.pane_titles = titles
            stack_pane.border_title, view_pane.border_title = titles

    def selected_has_drilldown(self) -> bool:
        """Whether the selected layer's Explain view has a drill-down (a convolution); only asked on the Explain tab,
        which shows once the engine (numpy) is loaded."""
        from convtui.engine.contributions import supports_drilldown

        state = self.app.view_state
        info = state.layer
        folded = state.folded_row is not None  # shows the block's summary
        return info is not None and not folded and supports_drilldown(info.layer)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The Train keys in the footer only on the Train tab, and not while one of its fields has the focus (a
        letter types there; the field's footer offers Esc instead). Hidden, the App's own bindings take the keys."""
        if action == "train":
            focused = self.focused
            in_form = focused is not None and any(node.id == "train-form" for node in focused.ancestors_with_self)
            return self.views.active == "train" and not in_form
        return super().check_action(action, parameters)

    async def action_train(self, step: str) -> None:
        await self.app.run_action(f"{step}_training")

    def on_tabbed_content_tab_activated(self) -> None:
        """A tab opened (handled by name: Textual's tabs load with the views, after the first paint)."""
        self.show_pane_titles()

    def follow_state(self, state: ViewState) -> None:
        """Redraw the table only when the stack, the convention or the folding changed (not for the run)."""
        if state.run.result is not None:  # the first look or the whole run
            self.views.slot.reveal()
        table = self.query_one(StackTable)
        totals = self.query_one(StackTotals)
        choices = (state.convention, state.folded)
        if self.shown_stack is not state.stack_info or self.shown_choices != choices:
            opened, self.shown_folded = self.shown_folded - state.folded, state.folded
            self.shown_stack, self.shown_choices = state.stack_info, choices
            table.show(state.stack_info, state.convention, state.selected_layer, state.folded)
            totals.stack_info, totals.convention = state.stack_info, state.convention
            if state.layer is not None and state.layer.block in opened:
                table.reveal_block(state.selected_layer)  # a block just expanded shows whole
        elif table.row_of(table.selected_index) != table.row_of(state.selected_layer):
            table.select(state.selected_layer)
        self.show_pane_titles()  # on Explain, whether the selected layer has a drill-down to move in

    @on(StackTable.LayerHighlighted)
    def layer_highlighted(self, event: StackTable.LayerHighlighted) -> None:
        self.app.select_layer(event.index)

    @on(StackTable.LayerChosen)
    def layer_chosen(self, event: StackTable.LayerChosen) -> None:
        self.app.action_edit_layer()

    # The views' messages are handled by name: their classes load after the first paint (views.py).
    def on_feature_maps_view_filter_clicked(self, event: FeatureMapsView.FilterClicked) -> None:
        self.app.select_filter(event.filter_index)

    def on_input_view_image_chosen(self, event: InputView.ImageChosen) -> None:
        self.app.set_image(event.source)
