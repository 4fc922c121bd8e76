"""Base of the views on the right: each holds the App's current ViewState and renders from it."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from convtui.tui.state import ViewState
from convtui.tui.widgets.notices import Notice

VIEW_STATE = "view_state"
"""The App's reactive attribute every view follows."""


class StateView(Widget):
    """Follows the App's `view_state`; subclasses only implement `render()`.

    Colours come from component classes, so notices and titles follow the theme.
    """

    COMPONENT_CLASSES = {"view--title", "view--muted", "view--error", "view--progress"}
    DEFAULT_CSS = """
    StateView > .view--title { text-style: bold; color: $text-primary; }
    StateView > .view--muted { color: $text-muted; }
    StateView > .view--error { color: $text-error; text-style: bold; }
    StateView > .view--progress { color: $text-warning; text-style: italic; }
    """

    state: reactive[ViewState | None] = reactive(None, layout=True)

    def on_mount(self) -> None:
        self.watch(self.app, VIEW_STATE, self.follow_state)

    def follow_state(self, state: ViewState | None) -> None:
        self.state = state

    def styled(self, text: str, component: str) -> Text:
        """Text in one of the view's component styles ("title", "muted", "error", "progress")."""
        return Text(text, style=self.get_component_rich_style(f"view--{component}"))

    def notice_text(self, notice: Notice) -> Text:
        message, kind = notice
        return self.styled(message, kind)
