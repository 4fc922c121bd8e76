"""The views on the right, one tab each: feature maps, explain, kernels, input, compare, train.

The tabs mount after the first paint (the main screen wraps them in Lazy) and import their views
only then, so the stack table and its figures show before any view's code is loaded; the hidden
tabs mount later still, when they are not needed yet.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.lazy import Lazy
from textual.widgets import TabbedContent, TabPane, Tabs


class ViewScroll(VerticalScroll, can_focus=False):
    """Scrolls a long view with the mouse and page keys; focus goes to the view inside, which has keys of its own."""


class ViewTabs(TabbedContent):
    """The views' tabs. They switch with 1-6 or a click, so the tab strip takes no focus: Tab goes straight
    from the table to the open view."""

    def compose(self) -> ComposeResult:
        from convtui.tui.widgets.compare import CompareView
        from convtui.tui.widgets.explain import ExplainView
        from convtui.tui.widgets.feature_maps import FeatureMapsView
        from convtui.tui.widgets.input_view import InputView
        from convtui.tui.widgets.kernels import KernelsView
        from convtui.tui.widgets.train_view import TrainView

        for pane in (
            TabPane("Feature maps", FeatureMapsView(id="feature-maps-view"), id="feature-maps"),
            TabPane("Explain", Lazy(ViewScroll(ExplainView(id="explain-view"))), id="explain"),
            TabPane("Kernels", Lazy(ViewScroll(KernelsView(id="kernels-view"))), id="kernels"),
            TabPane("Input", Lazy(InputView(id="input-view")), id="input"),
            TabPane("Compare", Lazy(ViewScroll(CompareView(id="compare-view"))), id="compare"),
            TabPane("Train", Lazy(TrainView(id="train-view")), id="train"),
        ):
            self.compose_add_child(pane)
        yield from super().compose()

    def on_mount(self) -> None:
        self.query_one(Tabs).can_focus = False
