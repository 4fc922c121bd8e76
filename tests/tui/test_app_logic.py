"""The app's plain-Python parts: the edit history, what prompts and form fields accept, the run."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from convtui.model.layers import Conv2D, Dense, Dropout, Flatten, Layer, MaxPooling2D, ReLU, ZeroPadding2D
from convtui.model.preset import load_preset
from convtui.model.stack import Stack
from convtui.tui.answers import input_shape_answer, preset_answer, save_path_answer, save_target, seed_answer
from convtui.tui.field_values import parse_value, value_text
from convtui.tui.forward_run import ImageCache, WeightsCache, run_stack
from convtui.tui.history import EditHistory

SEED = load_preset("seed-28x28x1")


def test_history_undo_redo_and_dirty() -> None:
    history = EditHistory(SEED)
    smaller = SEED.with_layer(1, Conv2D(filters=16, kernel_size=3, activation="relu"))
    assert not history.apply(SEED), "an edit that changes nothing is not recorded"
    assert history.apply(smaller) and history.is_dirty
    assert history.undo() and history.current == SEED and not history.is_dirty
    assert not history.undo()
    assert history.redo() and history.current == smaller
    history.mark_saved()
    assert not history.is_dirty
    history.undo()
    assert history.is_dirty, "going back from the saved stack is a change"
    history.apply(SEED.without(0))
    assert not history.can_redo, "a new edit drops the redo list"


@pytest.mark.parametrize(
    ("text", "value"),
    [("3", 3), ("[3, 5]", [3, 5]), ("same", "same"), ('"same"', "same"), ("true", True), ("0.5", 0.5), ("", None), ("None", None)],
)
def test_form_fields_read_toml_values_and_bare_words(text: str, value: object) -> None:
    assert parse_value(text) == value


LAYERS_WITH_CHANGED_ARGUMENTS = [
    Conv2D(filters=8, kernel_size=(3, 5), strides=2, padding="same", activation="relu", use_bias=False),
    Conv2D(filters=8, kernel_size=3, padding=(1, 2), dilation_rate=2),
    ZeroPadding2D(padding=((1, 0), (2, 3))),
    ZeroPadding2D(padding=2),
    ReLU(max_value=6.0, negative_slope=0.1),
    Dropout(rate=0.25),
    MaxPooling2D(pool_size=3, strides=(1, 2)),
]


@pytest.mark.parametrize("layer", LAYERS_WITH_CHANGED_ARGUMENTS, ids=lambda layer: layer.label)
def test_each_field_text_reads_back_to_the_same_argument(layer: Layer) -> None:
    for spec in fields(layer):
        value = getattr(layer, spec.name)
        assert spec.metadata["convert"](parse_value(value_text(value))) == value, spec.name


def test_prompt_answers() -> None:
    assert input_shape_answer("28x28x1") == (28, 28, 1) == input_shape_answer("(28, 28, 1)")
    for bad in ("28, 28", "a, b, c", "0, 1, 1"):
        with pytest.raises(ValueError):
            input_shape_answer(bad)
    assert seed_answer(" 7 ") == 7
    with pytest.raises(ValueError):
        seed_answer("-1")
    assert preset_answer("lenet5")[1] == load_preset("lenet5")
    with pytest.raises(ValueError, match="did you mean"):
        preset_answer("lenet")


def test_save_paths(tmp_path: Path) -> None:
    assert save_path_answer(str(tmp_path / "mine")) == tmp_path / "mine.toml"
    with pytest.raises(ValueError, match="does not exist"):
        save_path_answer(str(tmp_path / "nowhere" / "mine"))
    assert save_target("seed-28x28x1", SEED, tmp_path) == (tmp_path / "seed-28x28x1.toml", True)
    assert save_target(None, SEED, tmp_path) == (tmp_path / "seed-28x28x1.toml", True)
    assert save_target(str(tmp_path / "x.toml"), SEED, tmp_path) == (tmp_path / "x.toml", False)
    (tmp_path / "seed-28x28x1.toml").write_text("the user's earlier copy")
    (tmp_path / "seed-28x28x1-2.toml").write_text("and another")
    assert save_target("seed-28x28x1", SEED, tmp_path) == (tmp_path / "seed-28x28x1-3.toml", True)


def test_run_stops_at_the_first_invalid_layer_and_keeps_weights() -> None:
    stack = Stack((8, 8, 1), (Conv2D(filters=2, kernel_size=3), Conv2D(filters=2, kernel_size=9), Flatten(), Dense(units=3)))
    stack_info = stack.infer()
    result = run_stack(stack, stack_info, seed=0, image_source="digit", images=ImageCache(), weights_cache=WeightsCache())
    assert result is not None and result.message == ""
    assert len(result.outputs) == 1 and result.output(1) is None
    assert result.layer_input(stack_info.layers[1], stack_info) is result.outputs[0]
    assert set(result.weights) == {0}


def test_weights_cache_keeps_unchanged_layers_and_matches_the_engine() -> None:
    from convtui.engine.weights import initial_weights

    cache = WeightsCache()
    first = cache.initial_weights(SEED.infer(), 0)
    edited = SEED.with_layer(1, Conv2D(filters=16, kernel_size=3, activation="relu"))
    second = cache.initial_weights(edited.infer(), 0)
    assert second[0] is first[0], "the untouched layer is not drawn again"
    expected = initial_weights(edited, 0)
    assert all(np.array_equal(second[index][name], expected[index][name]) for index in expected for name in expected[index])


def test_run_reports_the_memory_guard_and_an_unreadable_image() -> None:
    images, weights = ImageCache(), WeightsCache()
    # 100 KB: the input (3 KB) and the weights (74 KB) would fit, every output kept would not: refused before either is made
    refused = run_stack(SEED, SEED.infer(), seed=0, image_source="digit", images=images, weights_cache=weights, max_memory=100_000)
    assert refused is not None and "budget" in refused.message and "layer 0" in refused.message and refused.weights == {}
    heavy = Stack((100, 100, 10), (Flatten(), Dense(units=1000)))  # 100,001,000 params: 381 MiB of weights
    too_heavy = run_stack(heavy, heavy.infer(), seed=0, image_source="digit", images=images, weights_cache=weights, max_memory=50 * 2**20)
    assert too_heavy is not None and too_heavy.message.startswith("the weights alone take 381.47 MB, over the 50.00 MB budget")
    assert too_heavy.weights == {} and too_heavy.image is None
    unreadable = run_stack(SEED, SEED.infer(), seed=0, image_source="/no/such/file.png", images=images, weights_cache=weights)
    assert unreadable is not None and unreadable.image is None and "no such file" in unreadable.message


def test_a_cancelled_run_returns_nothing() -> None:
    result = run_stack(SEED, SEED.infer(), seed=0, image_source="digit", images=ImageCache(), weights_cache=WeightsCache(), should_stop=lambda: True)
    assert result is None
