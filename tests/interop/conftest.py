"""Fixtures of the interop tests: Keras (torch backend), PyTorch and h5py once per session, Keras's nodes of a model, and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from interop_helpers import RunInterop

from convtui import cli




@pytest.fixture(scope="session")
def torch() -> ModuleType:
    return pytest.importorskip("torch")


@pytest.fixture(scope="session")
def h5py() -> ModuleType:
    return pytest.importorskip("h5py")


def flattened_keras_nodes(model: Any) -> Iterator[Any]:
    """Every layer and operation of a Keras model, sub-models flattened, in the order its config lists them."""
    operations = model.operations if hasattr(model, "operations") else model.layers
    for operation in operations:
        if type(operation).__name__ == "InputLayer":
            continue
        if hasattr(operation, "layers"):
            yield from flattened_keras_nodes(operation)
        else:
            yield operation


@pytest.fixture(scope="session")
def keras_nodes() -> Callable[[Any], list[Any]]:
    """`keras_nodes(model)`: the nodes convtui's import makes of a Keras model, as Keras's own objects, in order."""
    return lambda model: list(flattened_keras_nodes(model))


@pytest.fixture
def run_interop(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> RunInterop:
    """`convtui ARGUMENTS` through cli.main: the exit code, stdout and stderr."""

    def run(*arguments: str | Path, cwd: Path | None = None) -> tuple[int, str, str]:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        try:
            code = cli.main([str(argument) for argument in arguments])
        except SystemExit as exit:
            code = int(exit.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
