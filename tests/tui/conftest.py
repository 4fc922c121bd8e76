"""The app factory for the tui tests: fixed seed, the preset's default sample image, and saving
into a temporary folder, so every test and snapshot is deterministic and leaves nothing behind.
Every test's cache folder (where recovery copies go) is a temporary one too: none touches ~/.cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import MakeApp

from convtui.model.preset import load_preset
from convtui.model.stack import Stack
from convtui.tui.app import ConvtuiApp


@pytest.fixture(autouse=True)
def cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG_CACHE_HOME in tmp_path, so recovery copies are written there, never in the user's cache."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the Open dialog's recent files, likewise
    return folder


@pytest.fixture
def make_app(tmp_path: Path) -> MakeApp:
    """`make_app("vgg16")` or `make_app(stack=Stack(...))`; seed 0 and the preset's default image."""

    def make(preset: str = "seed-28x28x1", *, stack: Stack | None = None, **options: object) -> ConvtuiApp:
        options.setdefault("save_folder", tmp_path)
        chosen = stack if stack is not None else load_preset(preset)
        return ConvtuiApp(chosen, source=None if stack is not None else preset, seed=0, **options)  # type: ignore[arg-type]

    return make
