"""The drill-down's arithmetic: channel contributions plus the bias equal the engine's output."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from convtui.engine.contributions import conv_drilldown, layer_drilldown, ConvGeometry
from convtui.engine.forward import forward
from convtui.engine.runners import activate
from convtui.engine.weights import initial_weights
from convtui.errors import EngineError
from convtui.model.layers import Conv2D, Conv2DTranspose, DepthwiseConv2D, Layer, SeparableConv2D
from convtui.model.stack import Stack
from convtui.tui.widgets.drilldown import drilldown_renderable


def engine_output(layer: Layer, pixels: np.ndarray, seed: int = 3) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    stack = Stack(pixels.shape, (layer,))
    weights = initial_weights(stack, seed)
    # Give the bias values, so a drill-down that forgets it fails.
    for named in weights.values():
        if "bias" in named:
            named["bias"] = np.linspace(-0.5, 0.5, named["bias"].size).astype(np.float32)
    return forward(stack, pixels, weights).outputs[0][0], weights[0]


def assert_every_position_matches(layer: Layer, pixels: np.ndarray) -> None:
    output, weights = engine_output(layer, pixels)
    for row in range(output.shape[0]):
        for column in range(output.shape[1]):
            for filter_index in range(output.shape[2]):
                drilldown = layer_drilldown(layer, pixels, weights, filter_index, row, column)
                value = float(activate(np.array([drilldown.total]), getattr(layer, "activation", None))[0])
                assert value == pytest.approx(float(output[row, column, filter_index]), rel=1e-4, abs=1e-5)


CASES = [
    Conv2D(filters=4, kernel_size=3),
    Conv2D(filters=4, kernel_size=3, strides=2, padding="same"),
    Conv2D(filters=3, kernel_size=(2, 3), strides=(2, 1), padding="same"),
    Conv2D(filters=4, kernel_size=3, dilation_rate=2, padding="same"),
    Conv2D(filters=4, kernel_size=3, padding=(1, 2)),
    Conv2D(filters=6, kernel_size=3, groups=3, padding="same"),
    Conv2D(filters=2, kernel_size=1),
    DepthwiseConv2D(kernel_size=3, depth_multiplier=2, padding="same"),
    DepthwiseConv2D(kernel_size=3, strides=2),
    SeparableConv2D(filters=4, kernel_size=3, padding="same"),
    SeparableConv2D(filters=5, kernel_size=(3, 2), strides=2, depth_multiplier=2, dilation_rate=1),
    SeparableConv2D(filters=2, kernel_size=3, dilation_rate=2, depth_multiplier=3, activation="relu"),
    Conv2DTranspose(filters=3, kernel_size=3),
    Conv2DTranspose(filters=3, kernel_size=3, strides=2, padding="same"),
    Conv2DTranspose(filters=2, kernel_size=(4, 2), strides=(2, 3), padding="same"),
    Conv2DTranspose(filters=2, kernel_size=2, strides=3),  # stride > kernel: some outputs no tap reaches
]


@pytest.mark.parametrize("layer", CASES, ids=lambda layer: layer.label)
def test_contributions_sum_to_the_engine_output(layer: Layer) -> None:
    pixels = np.random.default_rng(0).normal(size=(7, 8, 6 if getattr(layer, "groups", 1) > 1 else 3)).astype(np.float32)
    assert_every_position_matches(layer, pixels)


@settings(max_examples=40, deadline=None)
@given(
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    padding=st.sampled_from(["valid", "same", 0, 1, 2]),
    groups=st.sampled_from([1, 2]),
    size=st.tuples(st.integers(5, 9), st.integers(5, 9)),
)
def test_contributions_match_for_random_geometry(kernel, stride, dilation, padding, groups, size) -> None:
    if stride > 1 and dilation > 1:
        dilation = 1
    layer = Conv2D(filters=2 * groups, kernel_size=kernel, strides=stride, padding=padding, dilation_rate=dilation, groups=groups)
    info = Stack((*size, 2 * groups), (layer,)).infer().layers[0]
    if not info.is_valid:
        return
    pixels = np.random.default_rng(1).uniform(-1, 1, size=(*size, 2 * groups)).astype(np.float32)
    assert_every_position_matches(layer, pixels)


@settings(max_examples=30, deadline=None)
@given(
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.sampled_from(["valid", "same"]),
    size=st.tuples(st.integers(2, 5), st.integers(2, 5)),
)
def test_transposed_contributions_match_for_random_geometry(kernel, stride, padding, size) -> None:
    layer = Conv2DTranspose(filters=2, kernel_size=kernel, strides=stride, padding=padding)
    pixels = np.random.default_rng(2).uniform(-1, 1, size=(*size, 2)).astype(np.float32)
    assert_every_position_matches(layer, pixels)


def test_patch_is_zero_in_the_padding_and_sees_the_right_pixels() -> None:
    pixels = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    kernel = np.ones((3, 3, 1, 1), dtype=np.float32)
    drilldown = conv_drilldown(pixels, kernel, None, ConvGeometry((1, 1), "same", (1, 1), 1), 0, 0, 0)
    assert drilldown.channels[0].patch.tolist() == [[0, 0, 0], [0, 0, 1], [0, 4, 5]]
    assert drilldown.total == 10.0


def test_grouped_filter_reads_only_its_group_channels() -> None:
    layer = Conv2D(filters=4, kernel_size=1, groups=2)
    pixels = np.ones((2, 2, 6), dtype=np.float32)
    _, weights = engine_output(layer, pixels)
    drilldown = layer_drilldown(layer, pixels, weights, 3, 0, 0)
    assert [channel.channel for channel in drilldown.channels] == [3, 4, 5]


def test_a_filter_that_does_not_exist_is_an_engine_error() -> None:
    layer = Conv2D(filters=2, kernel_size=1)
    pixels = np.ones((2, 2, 1), dtype=np.float32)
    _, weights = engine_output(layer, pixels)
    with pytest.raises(EngineError, match="filters 0 to 1"):
        layer_drilldown(layer, pixels, weights, 2, 0, 0)


def test_a_transposed_patch_holds_the_pixels_whose_stamps_reach_the_output() -> None:
    pixels = np.arange(1, 10, dtype=np.float32).reshape(3, 3, 1)
    layer = Conv2DTranspose(filters=1, kernel_size=3, strides=2)
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3, 1, 1)
    # Output (2, 3): rows p*2 + a = 2 -> (p, a) = (1, 0), (0, 2); columns q*2 + b = 3 -> (q, b) = (1, 1).
    drilldown = layer_drilldown(layer, pixels, {"kernel": kernel, "bias": np.zeros(1, np.float32)}, 0, 2, 3)
    assert drilldown.channels[0].patch.tolist() == [[0, 5, 0], [0, 0, 0], [0, 2, 0]]
    assert drilldown.total == 5 * 1 + 2 * 7


def test_a_separable_slice_is_the_depthwise_filter_times_the_pointwise_weight() -> None:
    layer = SeparableConv2D(filters=2, kernel_size=3)
    pixels = np.ones((3, 3, 2), dtype=np.float32)
    depthwise = np.stack([np.full((3, 3), 1.0), np.full((3, 3), 2.0)], axis=-1)[..., None].astype(np.float32)
    pointwise = np.array([[10.0, 20.0], [30.0, 40.0]], dtype=np.float32).reshape(1, 1, 2, 2)
    weights = {"depthwise_kernel": depthwise, "pointwise_kernel": pointwise, "bias": np.zeros(2, np.float32)}
    drilldown = layer_drilldown(layer, pixels, weights, 1, 0, 0)
    assert [channel.weights[0, 0] for channel in drilldown.channels] == [20.0, 80.0]
    assert drilldown.total == 9 * 20 + 9 * 80


def rendered(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_a_layer_without_a_bias_shows_no_bias_row() -> None:
    """mobilenet-v1's convolutions have use_bias = False: no "+ bias[k]" row, no bias in the sum."""
    layer = Conv2D(filters=2, kernel_size=3, use_bias=False)
    pixels = np.linspace(0, 1, 27, dtype=np.float32).reshape(3, 3, 3)
    output, weights = engine_output(layer, pixels)
    drilldown = layer_drilldown(layer, pixels, weights, 1, 0, 0)
    assert drilldown.bias is None and drilldown.total == pytest.approx(drilldown.channel_sum)
    text = rendered(drilldown_renderable(drilldown, None, float(output[0, 0, 1])))
    assert "bias" not in text and "equal" in text


def test_the_drilldown_writes_the_position_in_the_chosen_convention() -> None:
    layer = Conv2D(filters=2, kernel_size=1)
    pixels = np.ones((4, 5, 1), dtype=np.float32)
    output, weights = engine_output(layer, pixels)
    drilldown = layer_drilldown(layer, pixels, weights, 1, 3, 4)
    assert "engine's output at (3, 4, 1)" in rendered(drilldown_renderable(drilldown, None, float(output[3, 4, 1])))
    assert "engine's output at (1, 3, 4)" in rendered(drilldown_renderable(drilldown, None, float(output[3, 4, 1]), "torch"))
