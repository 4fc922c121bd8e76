"""Recovery copies on disk: while the stack has unsaved edits, a copy of it waits in the user's cache folder
(the preset, and the weights that are not the seed's), so a crash or a killed terminal loses nothing.

Each copy is NAME.toml, NAME.npz when it has weights, and NAME.json saying what it is, written last
(each file atomically), so a listed copy is always complete. A session keeps one copy at a time
(one per opened source), named after its source and its process, so two sessions never share one.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from convtui.errors import ConvtuiError
from convtui.files import write_text_atomically
from convtui.model.preset import is_builtin_name, parse_preset, preset_text, read_preset_text
from convtui.model.stack import Stack
from convtui.tui.opened_weights import OpenedWeights, read_weights

if TYPE_CHECKING:
    from convtui.engine.weights import StackWeights

WRITE_AFTER_SECONDS = 0.5
"""A burst of edits (typing, undoing in a row) writes one copy, this long after the last of them."""
UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]+")


def recovery_folder() -> Path:
    """$XDG_CACHE_HOME/convtui/recovery, else ~/.cache/convtui/recovery (a relative XDG_CACHE_HOME is ignored, as the XDG spec says)."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(cache) if os.path.isabs(cache) else Path.home() / ".cache") / "convtui" / "recovery"


def source_identity(source: str | None) -> str | None:
    """A built-in preset's name, or a file's absolute path: the next session may start in another folder."""
    if source is None or is_builtin_name(source):
        return source
    return str(Path(source).expanduser().resolve())


def copy_stem(source: str | None, process: int) -> str:
    """"seed-28x28x1-4242", "net-4242": readable, and one per source and process."""
    name = UNSAFE_NAME_CHARACTERS.sub("-", Path(source).stem if source else "new-stack").strip("-")[:40]
    return f"{name or 'stack'}-{process}"


def process_running(process: int) -> bool:
    """Whether another process with this id runs (POSIX; elsewhere unknown, so False: its copies are offered)."""
    if process == os.getpid() or os.name != "posix":
        return False
    try:
        os.kill(process, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class RecoveryCopy:
    """One copy on disk, as its NAME.json describes it."""

    manifest: Path
    source: str | None
    stack_name: str
    written: float
    """When it was written, in seconds since the epoch."""
    process: int
    has_weights: bool

    @property
    def stem(self) -> str:
        return self.manifest.stem

    @property
    def preset_path(self) -> Path:
        return self.manifest.with_suffix(".toml")

    @property
    def weights_path(self) -> Path:
        return self.manifest.with_suffix(".npz")

    @property
    def where(self) -> str:
        """How the dialog names its source: a preset's name or a file's path."""
        return self.source or "a new stack"

    def load(self) -> tuple[Stack, StackWeights | None]:
        """The stack as it was at the last edit, and its weights that were not the seed's; ConvtuiError when unreadable."""
        stack = parse_preset(read_preset_text(self.preset_path), str(self.preset_path))
        weights = read_weights(self.weights_path, stack.infer()) if self.has_weights else None
        return stack, weights

    def remove(self) -> None:
        remove_copy(self.manifest)


def remove_copy(manifest: Path) -> None:
    """The manifest first, so a half-removed copy is never listed."""
    for suffix in (".json", ".toml", ".npz"):
        manifest.with_suffix(suffix).unlink(missing_ok=True)


def read_copy(manifest: Path) -> RecoveryCopy | None:
    """None for a manifest that is not one of ours, or whose preset is gone."""
    try:
        fields = json.loads(manifest.read_text(encoding="utf-8"))
        copy = RecoveryCopy(manifest, fields["source"], str(fields["stack"]), float(fields["written"]), int(fields["process"]), bool(fields["weights"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return copy if copy.preset_path.is_file() else None


def recovery_copies(folder: Path) -> list[RecoveryCopy]:
    """The copies left by sessions that ended without saving, newest first (not those of a convtui still running)."""
    copies = [read_copy(manifest) for manifest in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    kept = [copy for copy in copies if copy is not None and not process_running(copy.process)]
    return sorted(kept, key=lambda copy: copy.written, reverse=True)


def write_copy(folder: Path, stem: str, source: str | None, stack: Stack, weights: StackWeights | None) -> RecoveryCopy:
    """The weights, the preset, then the manifest, each atomically."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    copy = RecoveryCopy(folder / f"{stem}.json", source, stack.name, time.time(), os.getpid(), bool(weights))
    if weights:
        from convtui.engine.weights import save_arrays, weights_to_arrays

        save_arrays(weights_to_arrays(weights), copy.weights_path)
    else:
        copy.weights_path.unlink(missing_ok=True)
    write_text_atomically(copy.preset_path, preset_text(stack))
    fields = {"source": source, "stack": stack.name, "written": copy.written, "process": copy.process, "weights": copy.has_weights}
    write_text_atomically(copy.manifest, json.dumps(fields, indent=2) + "\n")
    return copy


@dataclass(frozen=True, eq=False)
class Unsaved:
    """What the copy should hold: the stack with unsaved edits, its source and the weights it was opened with."""

    source: str | None
    stack: Stack
    opened: OpenedWeights | None

    def weights(self) -> StackWeights | None:
        """The opened weights that still fit the stack (the others come from the seed); None when there are none, or they cannot be read."""
        if self.opened is None:
            return None
        try:
            return self.opened.carry(self.stack.infer()).weights or None
        except ConvtuiError:
            return None


@dataclass(eq=False)
class RecoveryKeeper:
    """Keeps this session's copy in step with what is unsaved: written a moment after the last edit,
    removed once nothing is unsaved. The disk work runs in a timer's thread, never while keys are handled.
    """

    folder: Path
    on_error: Callable[[str], None] = lambda message: None
    """Told (from the writer's thread) the first time a copy cannot be written."""
    _wanted: Unsaved | None = None
    _written: Unsaved | None = None
    _written_stem: str | None = None
    _timer: threading.Timer | None = None
    _failed: bool = False
    _disk: threading.Lock = field(default_factory=threading.Lock)

    def follow(self, source: str | None, stack: Stack, opened: OpenedWeights | None, *, unsaved: bool) -> None:
        """After every change to the history (edit, undo, open, save)."""
        self._wanted = Unsaved(source_identity(source), stack, opened) if unsaved else None
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(WRITE_AFTER_SECONDS, self.sync)
        self._timer.start()

    def adopt(self, copy: RecoveryCopy) -> None:
        """This session now holds `copy`'s edits: its next write replaces the copy, and it is removed with this session's."""
        with self._disk:
            self._written_stem = copy.stem

    def discard(self) -> None:
        """Quitting on purpose: remove the copy now (after a write in progress, if any)."""
        self._wanted = None
        if self._timer is not None:
            self._timer.cancel()
        self.sync()

    def flush(self) -> None:
        """Wait until the disk holds what is wanted now (tests; the timer does it otherwise)."""
        if self._timer is not None:
            self._timer.cancel()
        self.sync()

    def sync(self) -> None:
        """Make the disk hold the latest wanted copy (or none); a newer edit's timer syncs again."""
        with self._disk:
            wanted = self._wanted
            if wanted is self._written:
                return
            try:
                stem = self.write(wanted) if wanted is not None else None
            except (ConvtuiError, OSError) as error:
                if not self._failed:
                    self.on_error(f"{error}; unsaved edits are not kept in {self.folder} until this is fixed")
                self._failed = True
                return
            if self._written_stem is not None and self._written_stem != stem:
                remove_copy(self.folder / f"{self._written_stem}.json")
            self._written, self._written_stem, self._failed = wanted, stem, False

    def write(self, wanted: Unsaved) -> str:
        stem = copy_stem(wanted.source, os.getpid())
        write_copy(self.folder, stem, wanted.source, wanted.stack, wanted.weights())
        return stem
