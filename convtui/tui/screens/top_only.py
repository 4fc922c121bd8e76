"""A screen that dismisses only itself: the base of the dialogs and of the command palette.

Its own module, so that the palette (loaded with the app) does not load the dialogs' module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.await_complete import AwaitComplete


class DismissesOnlyItself:
    """A dismiss that does nothing unless the screen is the top one (mixed in before Textual's screen class)."""

    if TYPE_CHECKING:
        app: Any

    def dismiss(self, result: Any = None) -> AwaitComplete:
        # Works around Textual 8.2.8: Screen.dismiss pops the top screen, whichever it is. With keys at terminal
        # speed a dialog is dismissed twice (Enter and Escape queued together), or from under the command palette
        # (ctrl+p opens over dialogs), and popped another screen, or the last one, which ended the app.
        # Drop this class when Textual's dismiss checks that its screen is on top.
        if self is not self.app.screen:
            return AwaitComplete()
        return super().dismiss(result)  # type: ignore[misc]
