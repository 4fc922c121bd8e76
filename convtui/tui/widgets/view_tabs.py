"""The views' tabs, one per view: feature maps, explain, kernels, input, compare, train.

Imported when the tabs first mount (see views.py, the handle the app holds from the start); the
hidden tabs' views mount later still, each in a Deferred of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import TabbedContent, TabPane, Tabs

from convtui.tui.state import ViewState
from convtui.tui.widgets.deferred import Deferred
from convtui.tui.widgets.state_view import VIEW_STATE

if TYPE_CHECKING:
    from convtui.tui.widgets.views import Views


class ViewScroll(VerticalScroll, can_focus=False):
    """Scrolls a long view with the mouse and page keys; focus goes to the view inside, which has keys of its own."""


class ViewTabs(TabbedContent):
    """The views' tabs. They switch with 1-6 or a click, so the tab strip takes no focus: Tab goes straight
    from the table to the open view."""

    def __init__(self, views: Views, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self.views = views

    def compose(self) -> ComposeResult:
        from convtui.tui.widgets.compare import CompareView
        from convtui.tui.widgets.explain import ExplainView
        from convtui.tui.widgets.feature_maps import FeatureMapsView
        from convtui.tui.widgets.input_view import InputView
        from convtui.tui.widgets.kernels import KernelsView
        from convtui.tui.widgets.train_view import TrainView

        for pane in (
            TabPane("Feature maps", FeatureMapsView(id="feature-maps-view"), id="feature-maps"),
            TabPane("Explain", Deferred(lambda: ViewScroll(ExplainView(id="explain-view"))), id="explain"),
            TabPane("Kernels", Deferred(lambda: ViewScroll(KernelsView(id="kernels-view"))), id="kernels"),
            TabPane("Input", Deferred(lambda: InputView(id="input-view")), id="input"),
            TabPane("Compare", Deferred(lambda: ViewScroll(CompareView(id="compare-view"))), id="compare"),
            TabPane("Train", Deferred(lambda: TrainView(id="train-view")), id="train"),
        ):
            self.compose_add_child(pane)
        yield from super().compose()

    def on_mount(self) -> None:
        self.query_one(Tabs).can_focus = False
        self.watch(self.app, VIEW_STATE, self.reveal_after_first_run)
        self.call_after_refresh(self.views.tabs_mounted)  # once the tab strip has activated its first tab

    @on(TabbedContent.TabActivated)
    def reveal_opened(self, event: TabbedContent.TabActivated) -> None:
        for deferred in event.pane.query(Deferred):
            deferred.reveal()

    def reveal_after_first_run(self, state: ViewState) -> None:
        """Once the first run is done, mount the hidden views after the next paint (the maps paint first)."""
        if state.current_run is not None and self.query(Deferred):
            self.call_after_refresh(self.reveal_all)

    def reveal_all(self) -> None:
        for deferred in self.query(Deferred):
            deferred.reveal()
