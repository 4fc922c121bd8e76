"""The command palette: every action of the app (from its bindings), every built-in preset to open or compare with.

A module rather than a package so it ships with the packages pyproject already lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from convtui.model.preset import builtin_preset_names, load_preset
from convtui.tui.bindings import APP_BINDINGS, key_text
from convtui.tui.widgets.explain import ExplainView

if TYPE_CHECKING:
    from convtui.tui.app import ConvtuiApp

Command = tuple[str, str, Callable[[], object]]


class ConvtuiCommands(Provider):
    """Actions by their binding's description, presets as "Open preset: NAME" and "Compare with preset: NAME"."""

    def commands(self) -> Iterator[Command]:
        app: ConvtuiApp = self.app  # type: ignore[assignment]
        for binding in APP_BINDINGS:
            help_text = f"{key_text(binding)}  {binding.tooltip}".rstrip()
            yield binding.description, help_text, partial(app.run_action, binding.action)
        for explain in self.screen.query(ExplainView):
            for binding in ExplainView.BINDINGS:
                help_text = f"{key_text(binding)} in the Explain view: move the drill-down's output position"
                yield f"Drill-down: {binding.description.lower()}", help_text, partial(app.run_action, binding.action, explain)
        descriptions = {name: load_preset(name).description for name in builtin_preset_names()}
        for name, description in descriptions.items():
            yield f"Open preset: {name}", description, partial(app.open_source, name)
        for name, description in descriptions.items():
            yield f"Compare with preset: {name}", f"In the Compare tab (5): {description}", partial(app.compare_with_source, name)

    async def discover(self) -> Hits:
        for title, help_text, callback in self.commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self.commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
