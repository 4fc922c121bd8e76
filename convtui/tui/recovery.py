"""The recovery actions of the App: keep a copy of unsaved edits in the cache folder after every
change, offer the copies a session that ended without saving left, open one as unsaved edits of
its source, and remove this session's copy when it saves or quits on purpose. A mixin, like FileActions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text

from convtui.errors import ConvtuiError
from convtui.model.stack import Stack
from convtui.tui.answers import OpenedStack, stack_answer
from convtui.tui.history import EditHistory, Version
from convtui.tui.opened_weights import OpenedWeights
from convtui.tui.recovery_copies import RecoveryCopy, RecoveryKeeper, recovery_copies

if TYPE_CHECKING:
    from convtui.engine.weights import StackWeights
    from convtui.tui.screens.recover import RecoverChoice


class RecoveryActions:
    """The App provides `history`, `source`, `opened_weights`, `open_stack`, `edit_version`, `guard_unsaved` and Textual's API."""

    recovery: RecoveryKeeper
    history: EditHistory[Version]
    stack: Stack
    source: str | None
    opened_weights: OpenedWeights | None
    open_stack: Callable[..., None]
    guard_unsaved: Callable[[str, Callable[[], object]], None]
    edit_version: Callable[[Version], None]
    saved_on_leaving: str | None

    def keep_recovery_copy(self) -> None:
        """Wherever the title's unsaved mark may change (each run start: an edit, an undo, an open, trained
        weights; and a save): the copy follows what is unsaved."""
        self.recovery.follow(self.source, self.stack, self.opened_weights, unsaved=self.history.is_dirty)

    def recovery_failed(self, message: str) -> None:
        """From the writer's thread; an app already gone has nobody to tell."""
        try:
            self.call_from_thread(self.notify, message, title="No recovery copy", severity="warning", timeout=10)  # type: ignore[attr-defined]
        except RuntimeError:
            pass

    def quit_on_purpose(self) -> None:
        """The user chose to leave: nothing is left to recover. Where "save and quit" wrote is printed after the app closes."""
        self.recovery.discard()
        self.exit(message=Text(self.saved_on_leaving) if self.saved_on_leaving else None)  # type: ignore[attr-defined]

    def offer_recovery(self) -> None:
        """Ask about the newest copy a session left (one at a time: discarding one asks about the next)."""
        copies = [copy for copy in recovery_copies(self.recovery.folder) if copy.process != os.getpid()]  # not this session's own
        if not copies:
            return
        from convtui.tui.screens.recover import RecoverCopy  # here: a start with nothing to recover loads no dialog
        newest = copies[0]

        def answered(choice: RecoverChoice | None) -> None:
            if choice == "open":
                self.guard_unsaved("open", lambda: self.open_recovered(newest))
            elif choice == "discard":
                newest.remove()
                self.offer_recovery()

        self.push_screen(RecoverCopy(newest, len(copies) - 1), answered)  # type: ignore[attr-defined]

    def open_recovered(self, copy: RecoveryCopy) -> None:
        """Open its source as it is on disk, then the recovered stack as an edit of it (undo goes back to the source)."""
        try:
            stack, weights = copy.load()
        except ConvtuiError as error:
            self.notify(f"{error}; the copy stays in {copy.manifest.parent}", title="Recovery copy not opened", severity="error", timeout=10)  # type: ignore[attr-defined]
            return
        self.recovery.adopt(copy)
        source = recovered_source(copy)
        if source is not None:
            self.open_stack(source.source, source.stack, weights=source.weights, seed=source.seed)
        else:
            self.open_stack(copy.source, stack)
            self.history.saved = None  # its source is gone: nothing on disk holds this stack, so it stays unsaved
        self.edit_version(recovered_version(self.history.current, stack, weights))
        self.notify(f"Opened the unsaved edits to {copy.where}: u undoes them, s saves them.", title="Recovered", timeout=8)  # type: ignore[attr-defined]


def recovered_version(opened: Version, stack: Stack, weights: StackWeights | None) -> Version:
    """The copy's stack, with the weights it ran on (not the seed's) in place of the source's: one edit of the
    source as opened, so undo gives back the source's stack and weights together."""
    recovered = OpenedWeights(stack.infer(), "the recovery copy", weights=weights) if weights else opened.weights
    return Version(stack, opened.seed, recovered)


def recovered_source(copy: RecoveryCopy) -> OpenedStack | None:
    """The copy's source as it is now; None when it is gone or no longer opens."""
    try:
        return stack_answer(copy.source) if copy.source is not None else None
    except ValueError:
        return None
