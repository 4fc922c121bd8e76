"""The base of the app's dialogs: a modal screen that dismisses only itself and takes the keys typed before it showed."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any, TypeVar

from textual.actions import SkipAction
from textual.binding import Binding
from textual.keys import KEY_NAME_REPLACEMENTS
from textual.screen import ModalScreen
from textual.widgets import Input

from convtui.tui.screens.top_only import DismissesOnlyItself

ResultType = TypeVar("ResultType")


def key_name(character: str) -> str:
    """The name Textual gives the key that types `character` ("a", "A", "full_stop", "space")."""
    name = character if character.isalnum() else unicodedata.name(character).lower().replace("-", "_").replace(" ", "_")
    return KEY_NAME_REPLACEMENTS.get(name, name)


TYPED_KEYS = {key_name(chr(code)): chr(code) for code in range(0x20, 0x7F)}
"""The keys that type a printable ASCII character, by name."""


def type_into(field: Input, character: str) -> None:
    """What Input does with a character typed into it."""
    if field.selection.is_empty:
        field.insert_text_at_cursor(character)
    else:
        field.replace(character, *field.selection)


# Keys typed right after the key that opens a dialog reach it, in order, as if typed once it showed.
#
# Textual (8.2.8) routes each key to the widget focused when the app reads it. At terminal speed (tmux send-keys
# "olenet" Enter) the keys after "o" are all queued in the main screen's table before "o" has bubbled up to the app
# and opened the dialog; they bubble up after it, with the dialog on top, where the app checks only bindings (of
# the dialog's focused widget and the dialog): a letter is typed into an Input by the Input's own key handler, never
# by a binding, so the letters were lost, while Enter, bound by the dialog's field (or list), opened what was
# highlighted. Hidden bindings take those keys: on the dialog's Input (Textual drops the bindings of printable keys
# above a focused Input, never its own) and on the dialog for the keys that reach it before it has the keyboard,
# or while its list has it. A key typed into the dialog's own widgets is handled by them and never gets that far.


class TypeaheadInput(Input):
    """An Input that also takes the printable keys typed before its dialog had the keyboard (see above)."""

    BINDINGS = [Binding(key, f"typed_early({key!r})", show=False, system=True) for key in TYPED_KEYS]

    def action_typed_early(self, key: str) -> None:
        type_into(self, TYPED_KEYS[key])


class Dialog(DismissesOnlyItself, ModalScreen[ResultType]):
    """A modal dialog of the app: takes the keys typed before it had the keyboard (see above)."""

    BINDINGS = [Binding(key, f"early_key({key!r})", show=False, system=True) for key in [*TYPED_KEYS, "enter", "backspace"]]
    CSS_PATH = str(Path(__file__).parent.parent / "dialogs.tcss")
    """Read when the first dialog opens (Textual loads a screen's CSS as it is pushed): the first frame parses app.tcss only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.early_keys: list[str] | None = []
        """Keys that came before the dialog was mounted, replayed once it is; None then."""

    async def on_mount(self) -> None:
        """Replay, in order, the keys that came before the dialog was mounted (after the subclass's on_mount)."""
        for key in self.early_keys or []:
            if self.typeahead(key, TYPED_KEYS.get(key)):
                continue
            active = self.active_bindings.get(key)  # what the key does now: Enter submits the field, and so on
            if active is not None and active.enabled and not active.binding.action.startswith("early_key"):
                await self.app.run_action(active.binding.action, active.node)
        self.early_keys = None

    def action_early_key(self, key: str) -> None:
        """A key that reached the app unhandled while the dialog is on top."""
        if self.early_keys is not None:
            self.early_keys.append(key)
        elif not self.typeahead(key, TYPED_KEYS.get(key)):
            raise SkipAction()  # Textual tries the key's next binding (the app's own)

    def typeahead(self, key: str, character: str | None) -> bool:
        """Take a key typed before the dialog had the keyboard, as its focused widget would have; whether taken.

        Here, a character typed into the focused Input; a dialog typed into otherwise overrides this.
        """
        field = self.focused
        if character is None or not isinstance(field, Input):
            return False
        type_into(field, character)
        return True
