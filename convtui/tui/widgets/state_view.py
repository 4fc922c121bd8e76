"""Base of the views on the right: each holds the App's current ViewState and renders from it."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from convtui.tui.state import ViewState
from convtui.tui.widgets.notices import Notice

VIEW_STATE = "view_state"
"""The App's reactive attribute every view follows."""


class StateView(Widget):
    """Follows the App's `view_state`; subclasses only implement `render_state()`.

    Colours come from component classes, so notices and titles follow the theme. A view that
    fails to draw says so in its place instead of ending the app.
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

    def render(self) -> RenderableType:
        if self.state is None:
            return ""
        try:
            return self.render_state(self.state)
        except Exception as error:  # a drawing bug must not take the learner's work with it
            self.log.error(f"{type(self).__name__} failed to draw: {error!r}")
            return self.styled(f"This view could not be drawn ({type(error).__name__}: {error}).", "error")

    def render_state(self, state: ViewState) -> RenderableType:
        raise NotImplementedError

    def styled(self, text: str, component: str) -> Text:
        """Text in one of the view's component styles ("title", "muted", "error", "progress")."""
        return Text(text, style=self.get_component_rich_style(f"view--{component}"))

    def notice_text(self, notice: Notice) -> Text:
        message, kind = notice
        return self.styled(message, kind)
