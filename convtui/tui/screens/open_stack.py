"""The Open dialog: the built-in presets (with their parameter counts) and the files opened or saved
lately, filtered as one types; Enter opens the highlighted one, or the path typed.

The list never takes the focus: up and down move its highlight while the field keeps the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from convtui.errors import ConvtuiError
from convtui.interop import is_model_file
from convtui.model.preset import builtin_preset_names, closest_builtin, load_preset
from convtui.tui.answers import OpenedStack, stack_answer
from convtui.tui.screens.dialog import Dialog, TypeaheadInput

OPEN_HINT = "Type to filter the list, or the path to a .toml file or a Keras model (.keras, .h5, .json)."
NAME_WIDTH = 20
"""The column of the built-ins' names, so their parameter counts line up."""


@dataclass(frozen=True)
class Choice:
    """One line of the list: what opening it means (a built-in's name or a file's path) and whether it is a file."""

    source: str
    is_file: bool


@cache
def builtin_parameter_counts() -> dict[str, int | None]:
    """Every built-in's parameter count (None for one that does not infer): ~60 ms in all, so once per process, in a worker."""
    return {name: parameter_count(name) for name in builtin_preset_names()}


def parameter_count(name: str) -> int | None:
    try:
        return load_preset(name).infer().total_params
    except ConvtuiError:
        return None


def matches(query: str, choice: Choice) -> int | None:
    """How well `choice` fits what is typed, best first: 0 in a file's own name (or a built-in's), 1 elsewhere in
    its path, 2 the letters in order; None for no fit.
    """
    wanted, text = query.strip().lower(), choice.source.lower()
    if wanted in Path(text).name:
        return 0
    if wanted in text:
        return 1
    letters = iter(text)
    return 2 if all(letter in letters for letter in wanted) else None


def filtered(query: str, choices: list[Choice]) -> list[Choice]:
    """The choices that fit, best first, each rank in the list's own order (recent files, then built-ins)."""
    ranked = [(rank, index) for index, choice in enumerate(choices) if (rank := matches(query, choice)) is not None]
    return [choices[index] for _, index in sorted(ranked)]


def refusal(text: str) -> str:
    """Why the typed text does not open, or "" when it does: stack_answer's sentence, but a name that is
    nothing at all points to the list on screen rather than to `convtui presets`.
    """
    try:
        stack_answer(text)
    except ValueError as error:
        source = text.strip()
        if not source or is_model_file(source) or Path(source).expanduser().exists():
            return str(error)
        guess = closest_builtin(source)
        return f"{source}: no such file, and nothing in the list fits" + (f'; did you mean "{guess}"?' if guess else "")
    return ""


def shown_path(source: str) -> str:
    """A path as a person reads it: the home folder as ~."""
    home = str(Path.home())
    return "~" + source[len(home):] if source.startswith(home + "/") else source


def choice_prompt(choice: Choice, counts: dict[str, int | None] | None) -> Text:
    """A recent file's path, or a built-in's name and its parameter count ("…" while it is counted)."""
    if choice.is_file:
        return Text.assemble((shown_path(choice.source), ""), ("  recent", "dim"), no_wrap=True, overflow="ellipsis")
    count = counts.get(choice.source) if counts is not None else None
    figure = "…" if counts is None else (f"{count:,} parameters" if count is not None else "does not infer")
    return Text.assemble((choice.source.ljust(NAME_WIDTH), ""), (figure.rjust(22), "dim"), no_wrap=True, overflow="ellipsis")


class OpenStack(Dialog[OpenedStack | None]):
    """Choose a stack to open: dismisses with it loaded, or None when cancelled."""

    DEFAULT_CSS = """
    OpenStack #choices {
        height: 40vh;  /* fixed, so the dialog keeps its size while the list is filtered */
    }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("down", "move(1)", "Next", show=False),
    ]

    def __init__(self, recent: list[str]) -> None:
        super().__init__()
        files = [Choice(path, True) for path in recent]
        self.choices = files + [Choice(name, False) for name in builtin_preset_names()]
        self.shown: list[Choice] = []
        self.counts: dict[str, int | None] | None = builtin_parameter_counts() if builtin_parameter_counts.cache_info().currsize else None
        """None until the worker has counted them (once per process)."""
        self.moved = False
        """Whether up or down chose a line since the last key typed: then Enter opens it, whatever was typed."""
        self.filtered_for = ""
        """The text the list was last filtered for as typed (Input.Changed comes after the key that changed it)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="prompt open-stack"):
            yield Label("Open", classes="dialog-title")
            yield Static(OPEN_HINT, classes="dialog-description")
            yield TypeaheadInput(id="answer", placeholder="lenet5, ~/nets/mine.toml, model.keras")
            yield Static(id="reason", classes="field-note", markup=False)
            choices = OptionList(id="choices")
            choices.can_focus = False
            yield choices
            with Horizontal(classes="dialog-buttons"):
                yield Button("Open (Enter)", variant="primary", id="accept", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.show_choices()
        if self.counts is None:
            self.count_parameters()

    @work(thread=True, exclusive=True, group="parameter-counts")
    def count_parameters(self) -> None:
        counts = builtin_parameter_counts()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.counted, counts)

    def counted(self, counts: dict[str, int | None]) -> None:
        if not self.is_attached:  # closed while they were counted
            return
        self.counts = counts
        try:
            self.show_choices(keep_highlight=True)
        except NoMatches:  # closing: Textual removes its widgets before it detaches the screen
            pass

    def show_choices(self, *, keep_highlight: bool = False) -> None:
        """The list as filtered by the field; the first line highlighted unless up or down chose one."""
        options = self.query_one("#choices", OptionList)
        highlighted = options.highlighted
        self.shown = filtered(self.query_one("#answer", Input).value, self.choices)
        options.set_options(Option(choice_prompt(choice, self.counts)) for choice in self.shown)
        options.highlighted = highlighted if keep_highlight and highlighted is not None and highlighted < len(self.shown) else (0 if self.shown else None)
        self.explain()

    def target(self) -> str | None:
        """What Enter opens: the line up or down chose, else the typed text if it opens, else the first line that fits."""
        highlighted = self.query_one("#choices", OptionList).highlighted
        line = self.shown[highlighted].source if highlighted is not None else None
        typed = self.query_one("#answer", Input).value
        if self.moved or not typed.strip() or refusal(typed):
            return line
        return typed

    def explain(self) -> None:
        """Under the field: what Enter will open, or why the typed text cannot be opened."""
        target = self.target()
        error = refusal(self.query_one("#answer", Input).value) if target is None else ""
        self.say(error or (f"Enter opens {shown_path(target)}" if target else ""), error=bool(error))
        self.query_one("#accept", Button).disabled = target is None

    def say(self, text: str, *, error: bool) -> None:
        reason = self.query_one("#reason", Static)
        reason.update(text)
        reason.set_class(error, "-error")

    def action_move(self, step: int) -> None:
        if self.query_one("#answer", Input).value != self.filtered_for:
            self.typed()  # keys typed just before, their Input.Changed not handled yet: up and down move in their list
        options = self.query_one("#choices", OptionList)
        if not options.option_count:
            return
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()
        self.moved = True
        self.explain()

    @on(Input.Changed)
    def typed(self) -> None:
        value = self.query_one("#answer", Input).value
        if value == self.filtered_for:  # filtered already, when up or down came before this Input.Changed
            return
        self.filtered_for = value
        self.moved = False
        self.show_choices()

    @on(OptionList.OptionSelected)
    def clicked(self, event: OptionList.OptionSelected) -> None:
        self.open(self.shown[event.option_index].source)

    @on(Input.Submitted)
    @on(Button.Pressed, "#accept")
    def accept(self) -> None:
        target = self.target()
        if target is not None:
            self.open(target)

    def open(self, source: str) -> None:
        """Load it and close, or say under the field why it does not open (a recent file since changed)."""
        try:
            answer = stack_answer(source)
        except ValueError as error:
            self.say(str(error), error=True)
            return
        self.dismiss(answer)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
