"""The footer of keys: Textual's, redrawn only when the keys it shows change."""

from __future__ import annotations

from collections.abc import Hashable

from textual.widgets import Footer


class SteadyFooter(Footer):
    """Textual's Footer (8.2.8) builds its row of keys anew (about 20 widgets mounted, styled and drawn)
    on every bindings signal: a focus change, a screen's callbacks, a tab opened, even when the keys
    shown stay the same. As `convtui vgg16` started it did so four times in 0.4 s, on the thread the
    forward worker needed to import the engine (with the views' mounting, the import took 0.4 s
    instead of 0.14). This one rebuilds the row only when the keys differ from the ones it shows.
    """

    def __init__(self) -> None:
        super().__init__()
        self.shown: Hashable = None
        """What the row of keys was last built from."""

    def keys_to_show(self) -> Hashable:
        """Everything Footer.compose reads: each shown binding with its state, and the palette key's switch."""
        bindings = tuple((binding, enabled, tooltip) for _, binding, enabled, tooltip in self.screen.active_bindings.values() if binding.show)
        return bindings, self.show_command_palette

    async def recompose(self) -> None:
        keys = self.keys_to_show()
        if keys != self.shown:
            self.shown = keys
            await super().recompose()
