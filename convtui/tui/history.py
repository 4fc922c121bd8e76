"""The app's one source of truth for the stack: the current stack, its undo and redo lists, and
the stack last saved, so that "unsaved changes" is a comparison rather than a flag to keep in sync.

Stacks are immutable, so an edit is just the next stack; undo and redo move stacks between lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from convtui.model.stack import Stack


@dataclass
class EditHistory:
    """Undo and redo without limit over immutable stacks."""

    current: Stack
    saved: Stack | None = None
    undo_stack: list[Stack] = field(default_factory=list)
    redo_stack: list[Stack] = field(default_factory=list)

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

    def apply(self, stack: Stack) -> bool:
        """Make `stack` current; an edit that changes nothing is not recorded (returns False)."""
        if stack == self.current:
            return False
        self.undo_stack.append(self.current)
        self.redo_stack.clear()
        self.current = stack
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
