"""The app's one source of truth for what the user edits: the current version, its undo and redo lists,
and the version last saved, so that "unsaved changes" is a comparison rather than a flag to keep in sync.

A version is the stack with the seed and the weights it runs on: changing the seed or adopting trained
weights is an edit like a layer's, so undo gives back all three together. Versions are immutable, so an
edit is just the next version; undo and redo move versions between lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Generic, TypeVar

from convtui.model.stack import Stack

if TYPE_CHECKING:
    from convtui.tui.opened_weights import OpenedWeights

T = TypeVar("T")


@dataclass(frozen=True)
class Version:
    """What a save writes: the stack, its seed, and the weights it carries (compared by identity: OpenedWeights is eq=False)."""

    stack: Stack
    seed: int = 0
    weights: OpenedWeights | None = None
    selected: int | None = field(default=None, compare=False)
    """The layer undo or redo selects on coming back here: the one the edit that left this version touched,
    or the one the edit that made it selected (None: the selection stays)."""

    def with_stack(self, stack: Stack) -> Version:
        return replace(self, stack=stack)


@dataclass
class EditHistory(Generic[T]):
    """Undo and redo without limit over immutable values (the app's are Versions)."""

    current: T
    saved: T | None = None
    undo_stack: list[T] = field(default_factory=list)
    redo_stack: list[T] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.saved is None:
            self.saved = self.current

    @property
    def is_dirty(self) -> bool:
        return self.current != self.saved

    @property
    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self.redo_stack)

    def apply(self, value: T) -> bool:
        """Make `value` current; an edit that changes nothing is not recorded (returns False)."""
        if value == self.current:
            return False
        self.undo_stack.append(self.current)
        self.redo_stack.clear()
        self.current = value
        return True

    def undo(self) -> bool:
        if not self.undo_stack:
            return False
        self.redo_stack.append(self.current)
        self.current = self.undo_stack.pop()
        return True

    def redo(self) -> bool:
        if not self.redo_stack:
            return False
        self.undo_stack.append(self.current)
        self.current = self.redo_stack.pop()
        return True

    def mark_saved(self) -> None:
        self.saved = self.current

    def mapped(self, change: Callable[[T], T]) -> EditHistory[T]:
        """The same history with every value changed but the one last saved (a save as renames them all)."""
        history = EditHistory(change(self.current), undo_stack=[change(value) for value in self.undo_stack], redo_stack=[change(value) for value in self.redo_stack])
        history.saved = self.saved  # None stays None: nothing on disk holds any of them
        return history
