"""The command palette: every action of the app (from its bindings), every built-in preset to open or
compare with; and Textual's palette screen, guarded against keys that reach it at terminal speed.

A module rather than a package so it ships with the packages pyproject already lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.await_complete import AwaitComplete
from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.screen import ModalScreen

from convtui.model.preset import builtin_preset_names, load_preset
from convtui.tui.bindings import APP_BINDINGS, key_text
from convtui.tui.screens.top_only import DismissesOnlyItself

if TYPE_CHECKING:
    from convtui.tui.app import ConvtuiApp

Command = tuple[str, str, Callable[[], object]]


class ConvtuiCommands(Provider):
    """Actions by their binding's description, presets as "Open preset: NAME" and "Compare with preset: NAME"."""

    def commands(self) -> Iterator[Command]:
        """None over a dialog (ctrl+p opens the palette anywhere): the app's actions act on the main screen."""
        from convtui.tui.widgets.explain import ExplainView

        app: ConvtuiApp = self.app  # type: ignore[assignment]
        if isinstance(self.screen, ModalScreen):
            return
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


class SteadyCommandPalette(DismissesOnlyItself, CommandPalette):
    """Textual's command palette, made safe against keys at terminal speed. Works around Textual 8.2.8
    (drop each override when Textual fixes it), where a fast sequence of keys ended the app:

    - PageUp/PageDown on a list refilled or shown since the last layout: OptionList._move_page reads
      the line cache, which _update_lines fills only once the list has a size (KeyError).
    - A key typed after Enter or Escape closed the palette starts a search, and a "No matches" timer
      outlives the palette; both then look for its list, already removed (NoMatches).
    - Dismissed twice, it popped another screen (see DismissesOnlyItself).
    """

    def _action_command_list(self, action: str) -> None:
        if action in ("page_up", "page_down") and not self.query_one(CommandList).scrollable_content_region:
            return
        super()._action_command_list(action)

    def _gather_commands(self, search_value: str) -> None:
        if self is self.app.screen:
            super()._gather_commands(search_value)

    def dismiss(self, result: object = None) -> AwaitComplete:
        if self is self.app.screen:
            self._cancel_gather_commands()
            self._stop_no_matches_countdown()
        return super().dismiss(result)
