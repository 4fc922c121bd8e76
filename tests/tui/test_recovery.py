"""Recovery copies: unsaved edits kept in the cache folder (conftest points XDG_CACHE_HOME into
tmp_path), left by a session that ends without saving, offered and reopened by the next one, and
removed by saving or quitting on purpose.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from textual.pilot import Pilot
from tui_helpers import MakeApp, press_and_settle, run_app, settle

from convtui.engine.weights import initial_weights, save_arrays, weights_to_arrays
from convtui.model.preset import load_preset, save_preset
from convtui.model.stack import Stack
from convtui.tui.app import ConvtuiApp
from convtui.tui.recovery_copies import RecoveryCopy, RecoveryKeeper, recovery_copies, recovery_folder, write_copy
from convtui.tui.screens.recover import RecoverCopy
from convtui.tui.screens.unsaved import UnsavedChanges


def with_filters(stack: Stack, filters: int) -> Stack:
    """The seed with its second convolution's filters changed (layer 1)."""
    return stack.with_layer(1, replace(stack.layers[1], filters=filters))  # type: ignore[call-arg]


def ended_process() -> int:
    """The id of a process that has ended (a crashed session's)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def crashed_copy(folder: Path, source: str | None, stack: Stack, weights: dict | None = None) -> RecoveryCopy:
    """A copy as a session that died leaves it: written by another process, which has ended."""
    copy = write_copy(folder, "crashed", source, stack, weights)
    text = copy.manifest.read_text().replace(f'"process": {os.getpid()}', f'"process": {ended_process()}')
    copy.manifest.write_text(text)
    return recovery_copies(folder)[0]


def edited(app: ConvtuiApp, filters: int) -> None:
    app.edit(with_filters(app.stack, filters))
    app.recovery.flush()


# --- the folder and the files ------------------------------------------------------------


def test_the_folder_follows_xdg_cache_home_else_the_home_cache(cache_folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert recovery_folder() == cache_folder / "convtui" / "recovery"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert recovery_folder() == tmp_path / "home" / ".cache" / "convtui" / "recovery", "a relative XDG_CACHE_HOME is ignored"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert recovery_folder() == tmp_path / "home" / ".cache" / "convtui" / "recovery"


def test_a_copy_holds_the_stack_and_its_weights(tmp_path: Path) -> None:
    stack = with_filters(load_preset("seed-28x28x1"), 16)
    weights = initial_weights(stack.infer(), 3)
    copy = write_copy(tmp_path / "recovery", "net-1", "/models/net.toml", stack, weights)
    assert sorted(path.name for path in copy.manifest.parent.iterdir()) == ["net-1.json", "net-1.npz", "net-1.toml"]
    [listed] = recovery_copies(tmp_path / "recovery")
    assert (listed.source, listed.stack_name, listed.has_weights) == ("/models/net.toml", stack.name, True)
    loaded, loaded_weights = listed.load()
    assert loaded == stack and loaded_weights is not None
    assert all(np.array_equal(loaded_weights[index][name], array) for index, named in weights.items() for name, array in named.items())
    listed.remove()
    assert not any((tmp_path / "recovery").iterdir())


def test_copies_are_listed_newest_first_without_those_of_a_running_session(tmp_path: Path) -> None:
    folder = tmp_path / "recovery"
    stack = load_preset("lenet5")
    older = write_copy(folder, "older", "lenet5", stack, None)
    newer = write_copy(folder, "newer", "vgg16", stack, None)
    running = write_copy(folder, "running", "resnet18", stack, None)
    for copy, process, written in ((older, ended_process(), 1.0), (newer, ended_process(), 2.0), (running, os.getppid(), 3.0)):
        text = copy.manifest.read_text().replace(f'"process": {os.getpid()}', f'"process": {process}')
        copy.manifest.write_text(text.replace(f'"written": {copy.written}', f'"written": {written}'))
    (folder / "broken.json").write_text("{not json")
    assert [copy.stem for copy in recovery_copies(folder)] == ["newer", "older"]


def test_the_keeper_writes_after_edits_and_removes_the_copy_once_nothing_is_unsaved(tmp_path: Path) -> None:
    keeper = RecoveryKeeper(tmp_path / "recovery")
    stack = load_preset("seed-28x28x1")
    keeper.follow("seed-28x28x1", with_filters(stack, 8), None, unsaved=True)
    keeper.follow("seed-28x28x1", with_filters(stack, 16), None, unsaved=True)
    keeper.flush()
    [copy] = recovery_copies(tmp_path / "recovery")
    assert copy.load() == (with_filters(stack, 16), None), "the last edit is what the copy holds"
    keeper.follow("seed-28x28x1", stack, None, unsaved=False)
    keeper.flush()
    assert recovery_copies(tmp_path / "recovery") == []


def test_a_copy_that_cannot_be_written_is_said_once(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    told: list[str] = []
    keeper = RecoveryKeeper(blocked / "recovery", on_error=told.append)
    stack = load_preset("seed-28x28x1")
    for filters in (8, 16):
        keeper.follow("seed-28x28x1", with_filters(stack, filters), None, unsaved=True)
        keeper.flush()
    assert len(told) == 1 and "not kept" in told[0]


# --- in the app --------------------------------------------------------------------------


def test_edits_are_kept_and_saving_removes_the_copy(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        edited(app, 16)
        [copy] = recovery_copies(app.recovery.folder)
        assert copy.source == "seed-28x28x1" and copy.load()[0] == app.stack
        await press_and_settle(pilot, "s")
        app.recovery.flush()
        assert recovery_copies(app.recovery.folder) == []
        edited(app, 8)
        assert len(recovery_copies(app.recovery.folder)) == 1
        await press_and_settle(pilot, "u")
        app.recovery.flush()
        assert recovery_copies(app.recovery.folder) == [], "undone back to the saved stack: nothing to keep"

    run_app(app, scenario)


def test_quitting_on_purpose_removes_the_copy(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        edited(app, 16)
        assert len(recovery_copies(app.recovery.folder)) == 1
        await press_and_settle(pilot, "q")
        assert isinstance(app.screen, UnsavedChanges)
        await pilot.press("d")

    run_app(app, scenario)
    assert recovery_copies(app.recovery.folder) == []


def test_a_session_that_crashes_leaves_its_copy(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        edited(app, 16)
        app.call_later(lambda: 1 / 0)
        await pilot.pause()

    with pytest.raises(ZeroDivisionError):
        run_app(app, scenario)
    [copy] = recovery_copies(app.recovery.folder)
    assert copy.load()[0] == with_filters(load_preset("seed-28x28x1"), 16)


def test_the_next_session_opens_the_copy_as_unsaved_edits_of_its_source(make_app: MakeApp, cache_folder: Path, tmp_path: Path) -> None:
    source = tmp_path / "net.toml"
    save_preset(load_preset("seed-28x28x1"), source)
    edited_stack = with_filters(load_preset(source), 16)
    crashed_copy(recovery_folder(), str(source), edited_stack)
    app = make_app("lenet5")

    async def scenario(pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, RecoverCopy)
        assert "net.toml" in str(app.screen.query_one(".dialog-description").render())
        await press_and_settle(pilot, "o")
        assert app.stack == edited_stack and app.source == str(source)
        assert app.history.is_dirty and app.title.endswith("*")
        app.recovery.flush()
        [copy] = recovery_copies(app.recovery.folder)
        assert copy.stem != "crashed" and copy.load()[0] == edited_stack, "the session took the copy over"
        await press_and_settle(pilot, "u")
        assert app.stack == load_preset(source) and not app.history.is_dirty, "undo goes back to the source"

    run_app(app, scenario)


def test_discard_removes_the_copy_and_later_keeps_it(make_app: MakeApp) -> None:
    stack = with_filters(load_preset("seed-28x28x1"), 16)
    crashed_copy(recovery_folder(), "seed-28x28x1", stack)
    later = make_app()

    async def answer_later(pilot: Pilot[None]) -> None:
        assert isinstance(later.screen, RecoverCopy)
        await press_and_settle(pilot, "escape")
        assert not isinstance(later.screen, RecoverCopy) and later.stack == load_preset("seed-28x28x1")

    run_app(later, answer_later)
    assert len(recovery_copies(recovery_folder())) == 1
    discard = make_app()

    async def answer_discard(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "d")
        assert not isinstance(discard.screen, RecoverCopy)

    run_app(discard, answer_discard)
    assert recovery_copies(recovery_folder()) == []


def test_a_copy_whose_source_is_gone_opens_unsaved_with_its_weights(make_app: MakeApp, tmp_path: Path) -> None:
    stack = with_filters(load_preset("seed-28x28x1"), 16)
    weights = initial_weights(stack.infer(), 7)
    crashed_copy(recovery_folder(), str(tmp_path / "gone" / "model.keras"), stack, weights)
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "o")
        await settle(pilot)
        assert app.stack == stack and app.history.is_dirty
        assert app.opened_weights is not None
        carried = app.opened_weights.carry(app.view_state.stack_info)
        assert carried.complete and np.array_equal(carried.weights[0]["kernel"], weights[0]["kernel"])
        app.recovery.flush()
        [copy] = recovery_copies(app.recovery.folder)
        assert copy.has_weights and copy.load()[0] == stack

    run_app(app, scenario)


def test_undoing_recovered_edits_gives_back_the_saved_stack_and_its_weights(make_app: MakeApp, tmp_path: Path) -> None:
    """The copy's stack and weights are one edit of the saved file: undo gave back its stack but kept the copy's
    weights (layer 5 seeded, "weights the recovery copy", unsaved), so s would have overwritten the trained .npz."""
    source = tmp_path / "net.toml"
    saved_stack = replace(load_preset("seed-28x28x1"), weights_file="net.npz")
    trained = initial_weights(saved_stack.infer(), 5)
    save_arrays(weights_to_arrays(trained), tmp_path / "net.npz")
    save_preset(saved_stack, source)
    last = len(saved_stack.layers) - 1
    edited_stack = load_preset(source).without(last)
    crashed_copy(recovery_folder(), str(source), edited_stack, {index: trained[index] for index in range(last) if index in trained})
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "o")
        assert app.stack == edited_stack and app.title.endswith("*") and "weights the recovery copy" in app.sub_title
        await press_and_settle(pilot, "u")
        assert app.stack == load_preset(source) and not app.history.is_dirty and app.title == "seed-28x28x1"
        assert "weights net.npz" in app.sub_title
        assert app.opened_weights is not None
        carried = app.opened_weights.carry(app.view_state.stack_info)
        assert carried.complete and np.array_equal(carried.weights[last]["kernel"], trained[last]["kernel"]), "the saved layer's weights"
        await press_and_settle(pilot, "U")
        assert app.stack == edited_stack and app.history.is_dirty, "redo brings the recovered edits back"

    run_app(app, scenario)
