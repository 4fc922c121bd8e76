"""The Train view: start, pause, an edit while paused, resume, stop, and the trained weights
becoming the stack's weights; snapshots of a finished tiny run; the plot and confusion renderables.

Steps pass a gate the test opens one step at a time, so a pause or a stop lands on a known step
and the process is idle while the test presses keys (Textual's pilot waits for an idle process).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from rich.console import Group
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Input, Label, TabbedContent
from tui_helpers import MakeApp, freeze_cursors, press_and_settle, render_text, run_app, settle, type_into

from convtui.engine.weights import initial_weights
from convtui.model.layers import Conv2D, Dense, GlobalAveragePooling2D
from convtui.model.stack import Stack
from convtui.render.confusion import ConfusionMatrix
from convtui.render.line_plot import LinePlot, Series
from convtui.tui.app import ConvtuiApp
from convtui.tui.train_session import TrainSession
from convtui.tui.widgets.train_view import SAMPLE_SECONDS

TINY = Stack((8, 8, 1), (Conv2D(filters=4, kernel_size=3, activation="relu"), GlobalAveragePooling2D(), Dense(units=4, activation="softmax")), name="tiny")
"""conv2d (3, 3, 1, 4), global_average_pooling2d, dense (4, 4): four stripe orientations."""
WITH_A_NEW_CONV = Stack((8, 8, 1), (TINY.layers[0], Conv2D(filters=4, kernel_size=1, activation="relu"), *TINY.layers[1:]), name="tiny")
"""TINY with conv2d_1 inserted: conv2d and dense keep their shapes, conv2d_1 is new."""
LONG_RUN = 100
"""Epochs of 4 steps (58 training stripes, batch 16): more than any gated test lets through."""


class StepGate:
    """Lets the training worker take only the steps a test allows; the worker waits (idle) for the next."""

    def __init__(self) -> None:
        self.permits = threading.Semaphore(0)
        self.taken = 0
        self.arrived = 0
        """Steps that reached the gate: one more than taken while the worker waits there."""

    def allow(self, steps: int) -> None:
        self.permits.release(steps)

    def open(self) -> None:
        """Let a worker still waiting at the end of a test run on to its stop."""
        self.permits.release(1_000_000)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[StepGate]:
    opened = StepGate()
    step = TrainSession.step

    def gated(session: TrainSession, indices: np.ndarray) -> None:
        opened.arrived += 1
        opened.permits.acquire()
        step(session, indices)
        opened.taken += 1

    monkeypatch.setattr(TrainSession, "step", gated)
    yield opened
    opened.open()


def fill_form(app: ConvtuiApp, epochs: int, data: str = "stripes:64", rate: str = "0.01") -> None:
    for field, value in (("data", data), ("epochs", str(epochs)), ("batch", "16"), ("rate", rate)):
        app.screen.query_one(f"#train-{field}", Input).value = value


async def run_steps(pilot: Pilot[None], gate: StepGate, steps: int) -> None:
    """Let `steps` more steps through and wait until they are done and the worker waits at the gate again."""
    target = gate.taken + steps
    gate.allow(steps)
    for _ in range(2000):  # 10 s: a run that ended (failed) takes no more steps
        if gate.taken >= target and gate.arrived > target:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{steps} steps not taken; training is {pilot.app.train_status}")  # type: ignore[attr-defined]


async def then(pilot: Pilot[None], gate: StepGate, key: str) -> None:
    """Press p or T while the worker waits at the gate, let its step through, and wait until the worker returned."""
    await pilot.press(key)
    gate.allow(1)
    await settle(pilot)


def current_weights(app: ConvtuiApp) -> dict[int, dict[str, np.ndarray]]:
    run = app.view_state.current_run
    assert run is not None
    return run.weights


def test_start_trains_and_the_views_run_on_the_trained_weights(make_app: MakeApp) -> None:
    app = make_app(stack=TINY)
    seeded = initial_weights(TINY.infer(), 0)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("6")
        assert app.screen.query_one(TabbedContent).active == "train"
        fill_form(app, epochs=2)
        await pilot.press("t")
        await settle(pilot)
        session = app.training
        assert app.train_status == "finished" and session is not None
        assert [report.epoch for report in session.history] == [1, 2]
        assert session.history[-1].validation is not None
        assert app.opened_weights is not None and app.opened_weights.label == "training"
        assert app.history.is_dirty, "trained weights are an unsaved change"
        weights = current_weights(app)
        assert np.array_equal(weights[0]["kernel"], session.weights[0]["kernel"])
        assert not np.array_equal(weights[0]["kernel"], seeded[0]["kernel"])
        assert not any(notification.title == "Training again" for notification in app._notifications)
        await pilot.press("t")
        await settle(pilot)
        again = [notification.message for notification in app._notifications if notification.title == "Training again"]
        assert again == ["A new run of 2 epoch(s), from the weights trained so far (the optimiser starts afresh)."]
        assert app.train_status == "finished" and app.training is not session

    run_app(app, scenario)


def test_pause_edit_resume_keeps_unchanged_layers_and_their_optimiser_state(make_app: MakeApp, gate: StepGate) -> None:
    app = make_app(stack=TINY)

    async def scenario(pilot: Pilot[None]) -> None:
        fill_form(app, epochs=LONG_RUN)
        await pilot.press("t")
        await run_steps(pilot, gate, 5)
        await then(pilot, gate, "p")
        session = app.training
        assert app.train_status == "paused" and session is not None and gate.taken == 6
        paused_kernel = session.weights[0]["kernel"].copy()
        assert np.array_equal(current_weights(app)[0]["kernel"], paused_kernel), "the views show the weights so far"
        dense, dense_momentum = session.weights[2], session.optimizer.optimizer.slots[("momentum", (2, "kernel"))]

        app.edit(WITH_A_NEW_CONV)
        await settle(pilot)
        shown = current_weights(app)
        assert np.array_equal(shown[0]["kernel"], paused_kernel) and np.array_equal(shown[3]["kernel"], dense["kernel"])
        assert np.array_equal(shown[1]["kernel"], initial_weights(WITH_A_NEW_CONV.infer(), 0)[1]["kernel"]), "the new layer starts from the seed"

        await pilot.press("t")
        await run_steps(pilot, gate, 2)
        await then(pilot, gate, "p")
        assert app.train_status == "paused" and session.stack_info.layers[1].name == "conv2d_1"
        assert session.weights[3] is dense, "dense kept its arrays (trained on in place)"
        assert session.optimizer.optimizer.slots[("momentum", (3, "kernel"))] is dense_momentum
        assert not np.array_equal(session.weights[0]["kernel"], paused_kernel), "conv2d trained on from where it was"

    run_app(app, scenario)


WIDER_CONV = Stack((8, 8, 1), (Conv2D(filters=8, kernel_size=3, activation="relu"), *TINY.layers[1:]), name="tiny")
"""TINY with 8 filters: conv2d's and dense's weights change shape (dense (8, 4))."""


def test_an_edit_that_changes_weight_shapes_while_paused_trains_on(make_app: MakeApp, gate: StepGate) -> None:
    """The optimiser's scratch buffers are shaped like the weights before the edit: resuming used them
    and ended the run ("training failed: ValueError: operands could not be broadcast together")."""
    app = make_app(stack=TINY)

    async def scenario(pilot: Pilot[None]) -> None:
        fill_form(app, epochs=LONG_RUN)
        await pilot.press("t")
        await run_steps(pilot, gate, 2)
        await then(pilot, gate, "p")
        app.edit(WIDER_CONV)
        await settle(pilot)
        await pilot.press("t")
        await run_steps(pilot, gate, 2)
        await then(pilot, gate, "p")
        session = app.training
        assert app.train_status == "paused" and session is not None
        assert session.weights[0]["kernel"].shape == (3, 3, 1, 8) and session.weights[2]["kernel"].shape == (8, 4)

    run_app(app, scenario)


def test_learning_rate_is_editable_only_while_paused(make_app: MakeApp, gate: StepGate) -> None:
    app = make_app(stack=TINY)

    async def scenario(pilot: Pilot[None]) -> None:
        fill_form(app, epochs=LONG_RUN)
        await pilot.press("t")
        await run_steps(pilot, gate, 1)
        rate, data = app.screen.query_one("#train-rate", Input), app.screen.query_one("#train-data", Input)
        assert rate.disabled and data.disabled
        await then(pilot, gate, "p")
        assert not rate.disabled and data.disabled
        rate.value = "0.05"
        await pilot.press("t")
        assert app.training is not None and app.training.optimizer.optimizer.learning_rate == 0.05
        await then(pilot, gate, "T")

    run_app(app, scenario)


def test_stop_validates_what_was_trained_and_keeps_it(make_app: MakeApp, gate: StepGate) -> None:
    app = make_app(stack=TINY)

    async def scenario(pilot: Pilot[None]) -> None:
        fill_form(app, epochs=LONG_RUN)
        await pilot.press("t")
        await run_steps(pilot, gate, 5)
        await then(pilot, gate, "T")
        session = app.training
        assert app.train_status == "stopped" and session is not None
        assert [(report.epoch, report.steps) for report in session.history] == [(1, 4), (2, 2)], "the stopped epoch is validated on its 2 steps"
        assert session.history[-1].validation is not None
        assert np.array_equal(current_weights(app)[0]["kernel"], session.weights[0]["kernel"])

    run_app(app, scenario)


def test_keys_work_while_training(make_app: MakeApp) -> None:
    """Ungated: the worker takes the CPU, and the keys still act at once."""
    app = make_app(stack=TINY)

    async def scenario(pilot: Pilot[None]) -> None:
        fill_form(app, epochs=50 * LONG_RUN)
        await pilot.press("t", "2")
        assert app.screen.query_one(TabbedContent).active == "explain" and app.train_status in ("loading", "training")
        await pilot.press("T")
        await settle(pilot)
        assert app.train_status == "stopped"

    run_app(app, scenario)


def test_save_after_training_writes_the_trained_weights(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app(stack=TINY)

    async def scenario(pilot: Pilot[None]) -> None:
        fill_form(app, epochs=1)
        await pilot.press("t")
        await settle(pilot)
        assert app.action_save()
        assert app.training is not None
        with np.load(tmp_path / "tiny.npz") as saved:
            assert np.array_equal(saved["layers.0.kernel"], app.training.weights[0]["kernel"])
        assert not app.history.is_dirty

    run_app(app, scenario)


def test_a_stack_that_cannot_train_is_refused_with_the_reason(make_app: MakeApp) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await settle(pilot)
        assert app.train_status == "idle"
        assert any("one vector of class scores" in notification.message for notification in app._notifications)

    run_app(app, scenario)


def test_training_is_one_undo_step(make_app: MakeApp) -> None:
    app = make_app(stack=TINY)
    seeded = initial_weights(TINY.infer(), 0)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("6")
        fill_form(app, epochs=1)
        await pilot.press("t")
        await settle(pilot)
        assert app.train_status == "finished" and app.history.is_dirty
        trained = current_weights(app)[0]["kernel"].copy()
        await press_and_settle(pilot, "escape", "u")
        assert app.opened_weights is None and not app.history.is_dirty, "back to the seeded weights, nothing unsaved"
        assert np.array_equal(current_weights(app)[0]["kernel"], seeded[0]["kernel"])
        await press_and_settle(pilot, "U")
        assert np.array_equal(current_weights(app)[0]["kernel"], trained) and app.history.is_dirty

    run_app(app, scenario)


def test_a_resume_the_edited_stack_cannot_take_leaves_the_run_paused(make_app: MakeApp, gate: StepGate) -> None:
    """Four classes of stripes, and the last layer edited to 3 units while paused: t ended the run ("failed")."""
    app = make_app(stack=TINY)

    async def scenario(pilot: Pilot[None]) -> None:
        fill_form(app, epochs=LONG_RUN)
        await pilot.press("t")
        await run_steps(pilot, gate, 2)
        await then(pilot, gate, "p")
        session = app.training
        assert app.train_status == "paused" and session is not None
        app.edit(app.stack.with_layer(2, Dense(units=3, activation="softmax")))
        await settle(pilot)
        await press_and_settle(pilot, "t")
        assert app.train_status == "paused" and app.training is session
        [refusal] = [notification for notification in app._notifications if notification.severity == "error"]
        assert refusal.title == "Not resumed" and "4 units" in refusal.message
        assert app.screen.query_one("#train-resume").display and not app.screen.query_one("#train-start").display
        app.edit(app.stack.with_layer(2, TINY.layers[2]))
        await settle(pilot)
        await pilot.press("t")
        await run_steps(pilot, gate, 1)
        assert app.train_status == "training", "fixed, the run goes on"
        await then(pilot, gate, "T")

    run_app(app, scenario)


def test_a_start_that_fails_on_its_data_says_it_did_not_start(make_app: MakeApp) -> None:
    app = make_app(stack=TINY)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("6")
        fill_form(app, epochs=1, data="0.001")
        await press_and_settle(pilot, "escape", "t")
        [failure] = [notification for notification in app._notifications if notification.severity == "error"]
        assert failure.title == "Not started"

    run_app(app, scenario)


def footer_keys(app: ConvtuiApp) -> list[str]:
    """The descriptions of the keys the footer shows now."""
    return [active.binding.description for active in app.screen.active_bindings.values() if active.binding.show]


def test_the_footer_shows_the_train_keys_on_the_train_tab_and_esc_in_its_fields(make_app: MakeApp) -> None:
    """The Train tab's footer had no t, p or T (as the Kernels tab adds "<> Channels"), and a field's no hint that Esc gives them back."""
    app = make_app(stack=TINY)

    async def scenario(pilot: Pilot[None]) -> None:
        assert "Train" not in footer_keys(app)
        await press_and_settle(pilot, "6")
        assert {"Train", "Pause", "Stop"} <= set(footer_keys(app))
        app.screen.query_one("#train-rate", Input).focus()
        await settle(pilot)
        assert "Leave the field (then t, p, T)" in footer_keys(app) and "Train" not in footer_keys(app)
        await press_and_settle(pilot, "escape")
        assert "Train" in footer_keys(app)
        await press_and_settle(pilot, "2")
        assert "Train" not in footer_keys(app)

    run_app(app, scenario)


def test_a_number_field_says_what_is_wrong_as_it_is_typed(make_app: MakeApp) -> None:
    """A learning rate of "abc" had no message until t was pressed."""
    app = make_app(stack=TINY)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "6")
        await type_into(pilot, "#train-rate", "abc")
        problem = app.screen.query_one("#train-problem", Label)
        assert problem.display and "the learning rate must be a number above 0, not 'abc'" in str(problem.render())
        assert app.screen.query_one("#train-rate", Input).has_class("-invalid")
        await type_into(pilot, "#train-rate", "0.01")
        assert not problem.display and not app.screen.query_one("#train-rate", Input).has_class("-invalid")

    run_app(app, scenario)


# --- snapshots ----------------------------------------------------------------------------------


async def finished_tiny_run(pilot: Pilot[None]) -> None:
    """Two epochs of 64 stripes, the examples per second frozen, sampled by the view's timer."""
    await settle(pilot)
    app: ConvtuiApp = pilot.app  # type: ignore[assignment]
    await pilot.press("6")
    fill_form(app, epochs=2)
    await pilot.press("t")
    await settle(pilot)
    assert app.training is not None and app.training.latest is not None
    app.training.latest = replace(app.training.latest, examples_per_second=12345.0)
    await asyncio.sleep(SAMPLE_SECONDS * 2)
    await settle(pilot)
    freeze_cursors(pilot)


class TestTrainView:
    def test_finished_run_120x40(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(stack=TINY), run_before=finished_tiny_run, terminal_size=(120, 40))

    def test_finished_run_80x24(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(stack=TINY), run_before=finished_tiny_run, terminal_size=(80, 24))


# --- renderables --------------------------------------------------------------------------------


def test_line_plot_draws_axes_ticks_and_a_legend() -> None:
    plot = LinePlot([Series("train", [(0.5, 2.0), (1.0, 1.0), (2.0, 0.5)]), Series("validation", [(1.0, 1.2), (2.0, 0.8)])], title="loss", x_range=(0, 2), height=4)
    lines = render_text(plot, width=40).splitlines()
    assert lines[0].startswith("loss") and "train" in lines[0] and "validation" in lines[0]
    assert [line[:5] for line in lines[1:5]] == [" 2.1┤", "1.05┤", "    │", "   0┤"], "0 to the highest value and 5% more, three ticks"
    assert lines[5].startswith("    └┬") and lines[6].split() == ["0", "1", "2"]
    assert any(0x2800 < ord(character) <= 0x28FF for line in lines[1:5] for character in line), "braille dots"


def test_confusion_matrix_shows_classes_in_use_and_their_accuracy() -> None:
    confusion = np.array([[8, 2, 0], [0, 10, 0], [0, 0, 0]])
    text = render_text(ConfusionMatrix(confusion, ("a", "b", "c"), title="confusion"), width=60)
    rows = [line.split() for line in text.splitlines()]
    assert rows[0] == ["confusion"]
    assert rows[2] == ["a", "8", "2", "0.80"] and rows[3] == ["b", "·", "10", "1.00"]
    assert not any(row and row[0] == "c" for row in rows), "a class neither the data nor the predictions use is left out"


def test_keys_typed_as_the_app_opens_wait_for_the_views(make_app: MakeApp, gate: StepGate) -> None:
    """The views mount just after the first paint; keys typed before (a fast typist, or keys in the terminal's
    buffer) open their tab and start training once they are there, instead of ending the app."""
    app = make_app(stack=TINY)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            assert not app.views.ready.is_set(), "the keys below come before the views are mounted"
            await pilot.press("2", "t")
            while app.train_status in ("idle", "loading"):
                await asyncio.sleep(0.005)
            assert app.views.active == "train" and app.train_status == "training"
            await then(pilot, gate, "T")
            assert app.train_status == "stopped" and app.views.tabs.query_one("TrainView") is not None

    asyncio.run(main())


def test_a_tab_asked_for_before_the_views_mount_opens_with_its_view(make_app: MakeApp) -> None:
    app = make_app()

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            assert not app.views.ready.is_set(), "the key below comes before the views are mounted"
            await pilot.press("3")
            await settle(pilot)
            assert app.views.active == "kernels"
            assert app.views.tabs.get_pane("kernels").query("KernelsView"), "the opened tab's view is mounted"
            assert not app.views.tabs.query("Deferred"), "after the first run every hidden view is mounted"

    asyncio.run(main())


def test_page_down_from_the_form_scrolls_the_charts_to_the_tables_below(make_app: MakeApp) -> None:
    """The gradients and the confusion matrix lie below the fold at 120x40: PageDown reaches them from the form."""
    app = make_app(stack=TINY)

    async def scenario(pilot: Pilot[None]) -> None:
        await finished_tiny_run(pilot)
        scroll = app.screen.query_one("#train-scroll")
        app.screen.query_one("#train-rate").focus()
        assert scroll.max_scroll_y > 0 and scroll.scroll_y == 0
        await press_and_settle(pilot, "pagedown")
        assert scroll.scroll_y > 0 and app.focused is app.screen.query_one("#train-rate"), "the charts scroll, the focus stays"
        await press_and_settle(pilot, "pageup")
        assert scroll.scroll_y == 0

    run_app(app, scenario)


def test_the_tables_sit_side_by_side_only_when_both_fit_whole() -> None:
    """Squeezed into half the pane the confusion matrix cut its headers ("predict…"): it goes below instead."""
    from rich.console import Console

    from convtui.tui.widgets.train_view import side_by_side

    confusion = ConfusionMatrix(np.eye(10, dtype=np.int64) * 5, tuple(str(digit) for digit in range(10)), title="confusion")
    small = ConfusionMatrix(np.eye(2, dtype=np.int64), ("a", "b"), title="confusion")
    console = Console(width=100)
    assert "predict…" not in render_text(side_by_side(Text("gradients"), confusion, 100, console), width=100)
    assert isinstance(side_by_side(Text("gradients"), confusion, 100, console), Group), "too wide: one above the other"
    assert not isinstance(side_by_side(Text("gradients"), small, 100, console), Group), "both fit: side by side"
