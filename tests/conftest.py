"""Shared test helpers: running the `convtui` command in a subprocess, the way a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(autouse=True, scope="session")
def users_folders_untouched(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Recovery copies (XDG_CACHE_HOME) and recent files (XDG_STATE_HOME) of every test, and of every
    process a test starts, go to a folder of the run's own: never into the user's Open dialog."""
    folder = tmp_path_factory.mktemp("xdg")
    os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
    os.environ["XDG_STATE_HOME"] = str(folder / "state")


def _run_convtui(*arguments: str | Path, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m convtui ARGUMENTS` with the test's interpreter; text output captured.

    Without COLUMNS: piped commands follow it, and pytest's process may have it set (importing
    readline does), which would make the width depend on how the tests were started.
    """
    return subprocess.run(
        [sys.executable, "-m", "convtui", *map(str, arguments)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=cwd,
        timeout=timeout,
        env={name: value for name, value in os.environ.items() if name != "COLUMNS"},
    )


@pytest.fixture(scope="session")
def run_cli(tmp_path_factory: pytest.TempPathFactory) -> RunCli:
    """Run the CLI from an empty folder (nothing there shadows a built-in preset name)."""
    empty = tmp_path_factory.mktemp("cli-cwd")

    def run(*arguments: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return _run_convtui(*arguments, cwd=cwd or empty)

    return run


@pytest.fixture(scope="session")
def keras() -> ModuleType:
    """Keras 3 on its torch backend (the variable must be set before the first import)."""
    os.environ["KERAS_BACKEND"] = "torch"
    module = pytest.importorskip("keras")
    assert module.backend.backend() == "torch"
    return module
