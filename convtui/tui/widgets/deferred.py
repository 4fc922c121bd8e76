"""A placeholder that mounts the widget it stands for only when asked: the views' tabs, a hidden tab's view."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.widget import MountError, Widget


class Deferred(Widget):
    """Stands in for a widget until `reveal` mounts it in its place."""

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
