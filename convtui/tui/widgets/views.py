"""The app's handle on the views on the right (feature maps, explain, kernels, input, compare, train),
there from the first frame, before their tabs are.

The tabs (view_tabs.py, Textual's TabbedContent) mount in their slot (`Views.slot`) once the first
result of the forward pass is there, or when a key needs them, or VIEWS_AT_THE_LATEST after the
first paint; their module, Textual's tabs and the views' modules are imported only then (about
4 ms of Textual's tabs alone). So the stack table and its figures show before any view's code is
loaded, and the forward worker imports the engine while the event loop is idle: mounted right
after the first paint, the tabs' mounting and the redraws it brings (~0.2 s of the main thread)
held the GIL while the worker imported the engine, which took 0.4 s instead of 0.14, and VGG16's
first maps came that much later. The hidden tabs' views mount later still: when their tab opens,
when a key needs them, or once the first run is done (mounted with the first, they held VGG16's
first maps back by another 0.1 s).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar

from textual.widget import Widget

from convtui.tui.widgets.deferred import Deferred

if TYPE_CHECKING:
    from convtui.tui.widgets.view_tabs import ViewTabs

ViewType = TypeVar("ViewType", bound=Widget)

FIRST_TAB = "feature-maps"


class Views:
    """What the app asks of the views, whether or not their tabs are mounted yet."""

    def __init__(self) -> None:
        self.tabs: ViewTabs | None = None
        """The tabs, once the slot has built them."""
        self.slot = Deferred(self.build_tabs)
        """What the screen composes; the tabs mount in its place once `slot.reveal()` is called."""
        self.ready = asyncio.Event()
        """Set once the tabs are mounted and showing the tab asked for."""
        self.wanted_tab: str | None = None
        """A tab asked for before the tabs were mounted: opened as they mount."""

    def build_tabs(self) -> ViewTabs:
        from convtui.tui.widgets.view_tabs import ViewTabs

        self.tabs = ViewTabs(self, id="views")
        return self.tabs

    @property
    def active(self) -> str:
        """The open tab; before the tabs are mounted, the one they will open on."""
        if self.tabs is not None and self.ready.is_set():
            return self.tabs.active
        return self.wanted_tab or FIRST_TAB

    def show(self, tab: str) -> None:
        """Open `tab` now, or as soon as the tabs are mounted."""
        if self.tabs is not None and self.ready.is_set():
            self.tabs.active = tab
        else:
            self.wanted_tab = tab
            self.slot.reveal()

    def tabs_mounted(self) -> None:
        """Called by the tabs once mounted, after their first tab is active: open the tab asked for before."""
        if self.tabs is not None and self.wanted_tab is not None:
            self.tabs.active = self.wanted_tab
        self.ready.set()

    async def view(self, tab: str, kind: type[ViewType]) -> ViewType:
        """Open `tab` and return its view of type `kind` once it is mounted (a key can ask before it is)."""
        self.show(tab)
        await self.ready.wait()
        assert self.tabs is not None
        await self.reveal(tab)
        return self.tabs.get_pane(tab).query_one(kind)

    def mounted_view(self, kind: type[ViewType]) -> ViewType | None:
        """The view of type `kind` if it is mounted, else None."""
        if self.tabs is None or not self.ready.is_set():
            return None
        found = self.tabs.query(kind)
        return found.first() if found else None

    async def reveal(self, tab: str) -> None:
        """Mount `tab`'s view if it is not yet, and wait until it is."""
        assert self.tabs is not None
        deferred = self.tabs.get_pane(tab).query(Deferred)
        if deferred:
            deferred.first().reveal()
            await deferred.first().mounted.wait()

    async def settled(self) -> None:
        """Wait until the tabs and every view being mounted are there: the app quits only then (a widget
        still mounting as the app closes ends it with an error)."""
        if not self.slot.asked:
            return
        await self.slot.mounted.wait()
        if self.tabs is None or not self.tabs.is_attached:  # the app closed before they mounted
            return
        await self.ready.wait()
        for deferred in [deferred for deferred in self.tabs.query(Deferred) if deferred.asked]:
            await deferred.mounted.wait()
