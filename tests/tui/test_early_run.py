"""A long run shows the selected layer first: the layers up to it run ahead of the rest (forward_run.early_layers)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from textual.pilot import Pilot
from tui_helpers import MakeApp, run_app, settle

from convtui.model.layers import Conv2D, Dense, Flatten
from convtui.model.preset import load_preset
from convtui.model.stack import Stack
import convtui.tui.app as app_module
from convtui.tui.app import ConvtuiApp
from convtui.tui.forward_run import EARLY_MIN_WORK, ImageCache, RunResult, WeightsCache, early_layers, run_stack, run_work
from convtui.tui.messages import ForwardEarly
from convtui.tui.state import RunState, ViewState
from convtui.tui.widgets.notices import run_notice

LONG = Stack((32, 32, 3), (Conv2D(filters=8, kernel_size=3), Conv2D(filters=8, kernel_size=3), Flatten(), Dense(units=1600)))
"""Its Dense layer holds 10 M weights: making them is most of the run, and the convolutions need none of them."""
SEED = load_preset("seed-28x28x1")


def run(stack: Stack, selected: int | None, early: list[RunResult], cache: WeightsCache | None = None, **options: object) -> RunResult | None:
    return run_stack(
        stack, stack.infer(), seed=0, image_source="digit", images=ImageCache(), weights_cache=cache or WeightsCache(),
        selected=selected, on_early=early.append, **options,  # type: ignore[arg-type]
    )


def test_only_a_long_run_whose_selected_layer_is_a_small_part_of_it_runs_early() -> None:
    long_info = LONG.infer()
    assert run_work(long_info.layers) >= EARLY_MIN_WORK
    assert early_layers(long_info, 0) == 1 and early_layers(long_info, 1) == 2
    assert early_layers(long_info, 3) is None, "the last layer is the whole run"
    assert early_layers(long_info, -1) is None, "the input row needs no layer"
    assert early_layers(SEED.infer(), 0) is None, "a run of a few milliseconds shows everything at once"
    costly_first = Stack((32, 32, 3), (Flatten(), Dense(units=3300), Dense(units=10)))
    assert run_work(costly_first.infer().layers) >= EARLY_MIN_WORK
    assert early_layers(costly_first.infer(), 1) is None, "the layers up to the selected one are most of the run"


def test_the_early_result_is_the_full_runs_first_layers_with_the_same_weights() -> None:
    early: list[RunResult] = []
    cache = WeightsCache()
    result = run(LONG, 1, early, cache)
    assert result is not None and len(early) == 1
    look = early[0]
    assert len(look.outputs) == 2 and set(look.weights) == {0, 1}
    assert all(np.array_equal(look.outputs[index], result.outputs[index]) for index in (0, 1))
    assert look.weights[1]["kernel"] is result.weights[1]["kernel"], "the full run reuses the early look's weights"
    assert look.image is not None and np.array_equal(look.image.pixels, result.image.pixels)  # type: ignore[union-attr]
    again = run(LONG, 0, [], cache)
    assert again is not None and again.weights[3]["kernel"] is result.weights[3]["kernel"], "an early look evicts no layer from the cache"


def test_no_early_result_for_a_short_run_or_without_a_listener() -> None:
    early: list[RunResult] = []
    assert run(SEED, 0, early) is not None and early == []
    progress: list[tuple[int, int]] = []
    result = run_stack(LONG, LONG.infer(), seed=0, image_source="digit", images=ImageCache(), weights_cache=WeightsCache(), on_layer=lambda done, total: progress.append((done, total)))
    assert result is not None and len(result.outputs) == 4
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_a_run_cancelled_during_its_early_part_returns_nothing() -> None:
    early: list[RunResult] = []
    assert run(LONG, 0, early, should_stop=lambda: True) is None and early == []


def test_the_views_show_the_early_layers_and_say_running_for_the_others() -> None:
    early: list[RunResult] = []
    run(LONG, 0, early)
    info = LONG.infer()
    running = ViewState(info, selected_layer=0, run=RunState(info, "running", early[0]))
    assert run_notice(running) is None and running.shown_run is early[0]
    assert running.current_run is None, "current_run is the finished run only"
    assert run_notice(replace(running, selected_layer=-1)) is None, "the input row shows the image"
    assert run_notice(replace(running, selected_layer=2)) == ("Running the forward pass ...", "progress")
    not_yet = ViewState(info, selected_layer=0, run=RunState(info, "running"))
    assert run_notice(not_yet) == ("Running the forward pass ...", "progress")


class RecordingApp(ConvtuiApp):
    """Keeps the view state each early look left."""

    CSS_PATH = Path(app_module.__file__).with_name("app.tcss")  # a subclass would look beside its own module
    early_states: list[ViewState]

    def on_forward_early(self, message: ForwardEarly) -> None:
        super().on_forward_early(message)
        self.early_states = [*getattr(self, "early_states", []), self.view_state]


def test_the_app_shows_the_selected_layer_before_the_run_ends() -> None:
    app = RecordingApp(LONG)

    async def scenario(pilot: Pilot[None]) -> None:
        [early] = app.early_states
        assert early.run.status == "running" and early.run.is_for(early.stack_info)
        assert len(early.run.result.outputs) == 1 and run_notice(early) is None  # type: ignore[union-attr]
        done = app.view_state.current_run
        assert done is not None and len(done.outputs) == 4

    run_app(app, scenario)


def test_no_early_look_at_a_run_the_memory_guard_refuses() -> None:
    early: list[RunResult] = []
    refused = run(LONG, 0, early, max_memory=30 * 2**20)  # its Dense weights alone take 38 MiB
    assert early == [], "the early look would show maps that the run's error then replaces"
    assert refused is not None and "budget" in refused.message



def test_the_app_refuses_a_forward_pass_over_the_budget_before_making_its_weights(make_app: MakeApp) -> None:
    """The weights alone fit the budget, the whole pass does not: the app made the weights (1.1 GB for 1,000,000
    filters, 1.3 s) before the forward pass refused; `convtui run` refuses at once."""
    app = make_app(max_memory=64 * 2**20)

    async def scenario(pilot: Pilot[None]) -> None:
        app.edit(app.stack.with_layer(1, replace(app.stack.layers[1], filters=20000)))  # 22 MB of weights, a 110 MB pass
        await settle(pilot)
        refused = app.view_state.current_run
        assert refused is not None and "the forward pass needs about" in refused.message
        assert refused.weights == {} and refused.image is None, "nothing was made"

    run_app(app, scenario)
