"""The files opened or saved lately, for the Open dialog: a short JSON list under the XDG state folder.

Remembering is a convenience: a list that cannot be read is an empty one, and one that cannot be
written is left as it was; neither ever interrupts the user.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from convtui.errors import ConvtuiError
from convtui.files import write_text_atomically

RECENT_LIMIT = 12
"""How many files the list keeps, newest first."""


def recent_list_path() -> Path:
    """$XDG_STATE_HOME/convtui/recent.json, else ~/.local/state/convtui/recent.json (the XDG default)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "convtui" / "recent.json"


def recent_files() -> list[str]:
    """The remembered paths, newest first, without those that no longer exist."""
    try:
        entries = json.loads(recent_list_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if isinstance(entry, str) and Path(entry).is_file()]


def remember_file(path: str | os.PathLike[str]) -> None:
    """Put `path` (made absolute) first in the list; a failure to write it is ignored."""
    entry = str(Path(path).expanduser().absolute())
    entries = [entry, *(known for known in recent_files() if known != entry)][:RECENT_LIMIT]
    target = recent_list_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(target, json.dumps(entries, indent=1) + "\n")
    except (OSError, ConvtuiError):
        pass
