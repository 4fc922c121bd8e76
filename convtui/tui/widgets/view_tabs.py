"""The views on the right, one tab each: feature maps, explain, kernels, input, compare, train.

The tabs mount in their slot (`ViewTabs.slot`) once the first result of the forward pass is
there, or when a key needs them, or VIEWS_AT_THE_LATEST after the first paint; they import their
views only then. So the stack table and its figures show before any view's code is loaded, and
the forward worker imports the engine while the event loop is idle: mounted right after the
first paint, the tabs' mounting and the redraws it brings (~0.2 s of the main thread) held the
GIL while the worker imported the engine, which took 0.4 s instead of 0.14, and VGG16's first
maps came that much later. The hidden tabs' views mount later still: when their tab opens, when
a key needs them, or once the first run is done (mounted with the first, they held VGG16's first
maps back by another 0.1 s).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import MountError, Widget
from textual.widgets import TabbedContent, TabPane, Tabs

from convtui.tui.state import ViewState
from convtui.tui.widgets.state_view import VIEW_STATE

ViewType = TypeVar("ViewType", bound=Widget)


class ViewScroll(VerticalScroll, can_focus=False):
    """Scrolls a long view with the mouse and page keys; focus goes to the view inside, which has keys of its own."""


class Deferred(Widget):
    """Stands in for a widget (the tabs, a hidden tab's view) until `reveal` mounts it in its place."""

    DEFAULT_CSS = "Deferred { height: 0; }"

    def __init__(self, build: Callable[[], Widget]) -> None:
        super().__init__()
        self.build = build
        self.asked = False
        self.mounted = asyncio.Event()
        """Set once the widget is mounted (or cannot be: the app closed first)."""

    def reveal(self) -> None:
        """Mount the widget once, from this widget's message queue (so Textual counts it as pending work)."""
        if not self.asked:
            self.asked = True
            self.call_later(self.mount_view)

    async def mount_view(self) -> None:
        try:
            parent = self.parent
            if isinstance(parent, Widget) and parent.is_attached:
                await parent.mount(self.build(), after=self)
                await self.remove()
        except MountError:  # the app closed first: there is nothing left to show the view on
            self.log.warning(f"{self.build} not mounted: the app is closing")
        finally:
            self.mounted.set()


class ViewTabs(TabbedContent):
    """The views' tabs. They switch with 1-6 or a click, so the tab strip takes no focus: Tab goes straight
    from the table to the open view."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self.slot = Deferred(lambda: self)
        """What the screen composes; the tabs mount in its place once `slot.reveal()` is called."""
        self.ready = asyncio.Event()
        self.wanted_tab: str | None = None
        """A tab asked for before the tabs were mounted: opened as they mount."""

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
        self.call_after_refresh(self.open_wanted_tab)  # once the tab strip has activated its first tab

    def open_wanted_tab(self) -> None:
        if self.wanted_tab is not None:
            self.active = self.wanted_tab
        self.ready.set()

    def show(self, tab: str) -> None:
        """Open `tab` now, or as soon as the tabs are mounted."""
        if self.ready.is_set():
            self.active = tab
        else:
            self.wanted_tab = tab
            self.slot.reveal()

    async def view(self, tab: str, kind: type[ViewType]) -> ViewType:
        """Open `tab` and return its view of type `kind` once it is mounted (a key can ask before it is)."""
        self.show(tab)
        await self.ready.wait()
        await self.reveal(tab)
        return self.get_pane(tab).query_one(kind)

    async def reveal(self, tab: str) -> None:
        """Mount `tab`'s view if it is not yet, and wait until it is."""
        deferred = self.get_pane(tab).query(Deferred)
        if deferred:
            deferred.first().reveal()
            await deferred.first().mounted.wait()

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

    async def settled(self) -> None:
        """Wait until the tabs and every view being mounted are there: the app quits only then (a widget
        still mounting as the app closes ends it with an error)."""
        if not self.slot.asked:
            return
        await self.slot.mounted.wait()
        if not self.is_attached:  # the app closed before they mounted
            return
        await self.ready.wait()
        for deferred in [deferred for deferred in self.query(Deferred) if deferred.asked]:
            await deferred.mounted.wait()
