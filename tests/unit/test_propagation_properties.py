"""Properties of propagation over random stacks (hypothesis), checked against brute force.

- building layers from random configs raises only convtui's own errors; `Stack.infer()` never raises;
- after an invalid layer, every later layer is "after_invalid";
- conv and pooling sides equal a count of window positions over the padded input;
- the receptive field equals the span of input pixels found by walking the windows back;
- presets round-trip: parse_preset(preset_text(stack)) == stack.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, fields

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from convtui.errors import ConvtuiError
from convtui.model import LAYER_TYPES, Stack, layer_from_config, parse_preset, preset_text
from convtui.model.arguments import ACTIVATION_NAMES, KERNEL_INITIALIZERS
from convtui.model.explain import explain
from convtui.model.layers import (
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Cropping2D,
    DepthwiseConv2D,
    LayerNormalization,
    MaxPooling2D,
    Normalization,
    ReLU,
    Rescaling,
    SeparableConv2D,
    UpSampling2D,
    ZeroPadding2D,
)

CHAIN_LAYER_TYPES = tuple(layer_type for layer_type in LAYER_TYPES if layer_type.max_inputs == 1)
"""The types a chain can hold: merges take several inputs (tests/unit/test_graph.py covers them)."""

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- strategies -----------------------------------------------------------------------------


def pair(low: int, high: int) -> st.SearchStrategy:
    side = st.integers(low, high)
    return st.one_of(side, st.lists(side, min_size=2, max_size=2), st.tuples(side, side))


VALID_VALUES: dict[str, st.SearchStrategy] = {
    "filters": st.integers(1, 8),
    "units": st.integers(1, 12),
    "kernel_size": pair(1, 5),
    "strides": pair(1, 3),
    "pool_size": pair(1, 4),
    "dilation_rate": pair(1, 3),
    "groups": st.sampled_from([1, 1, 2, 4]),
    "depth_multiplier": st.integers(1, 3),
    "use_bias": st.booleans(),
    "activation": st.sampled_from(ACTIVATION_NAMES),
    "kernel_initializer": st.sampled_from(KERNEL_INITIALIZERS),
    "keepdims": st.booleans(),
    "epsilon": st.floats(0, 0.5),
    "momentum": st.floats(0, 1),
    "center": st.booleans(),
    "scale": st.booleans(),
    "rate": st.floats(0, 0.9),
    "max_value": st.one_of(st.none(), st.floats(0, 10)),
    "negative_slope": st.floats(0, 2),
    "threshold": st.floats(-3, 3),
    "size": pair(1, 3),
    "interpolation": st.sampled_from(["nearest", "bilinear", "Bilinear"]),
    "mean": st.one_of(st.floats(-5, 5), st.lists(st.floats(-5, 5), min_size=1, max_size=3)),
    "variance": st.one_of(st.floats(0, 5), st.lists(st.floats(0, 5), min_size=1, max_size=3)),
    "invert": st.booleans(),
    "rms_scaling": st.booleans(),
    "offset": st.one_of(st.floats(-2, 2), st.lists(st.floats(-2, 2), min_size=1, max_size=3)),
    "target_shape": st.lists(st.sampled_from([-1, 1, 2, 3, 4, 6, 12]), min_size=1, max_size=4),
    "cropping": st.one_of(st.integers(0, 2), st.lists(st.integers(0, 2), min_size=2, max_size=2), st.just([1, [0, 2]])),
    "init_values": st.floats(-1, 1),
    "projection_dim": st.integers(1, 12),
    "noise_shape": st.one_of(st.none(), st.lists(st.one_of(st.none(), st.just("None"), st.integers(1, 4)), min_size=1, max_size=4)),
    "seed": st.one_of(st.none(), st.integers(0, 2**32 - 1)),
}
TYPED_VALUES: dict[tuple[type, str], st.SearchStrategy] = {
    # arguments whose name means something else on another layer type
    (Rescaling, "scale"): st.one_of(st.floats(-10, 10), st.lists(st.floats(-2, 2), min_size=1, max_size=3)),
    (Normalization, "axis"): st.sampled_from([-1, 3, [1, 2], [-3, -2, -1], None, []]),
    (LayerNormalization, "axis"): st.sampled_from([-1, 2, [1, 2, 3], [-2, -1]]),
}
PADDING_VALUES = {
    "conv": st.one_of(st.sampled_from(["valid", "same", "SAME", "Valid"]), st.integers(0, 2), st.lists(st.integers(0, 2), min_size=2, max_size=2)),
    "window": st.sampled_from(["valid", "same", "Same"]),
    "zero": st.one_of(st.integers(0, 2), st.lists(st.integers(0, 2), min_size=2, max_size=2), st.just([[0, 1], [2, 0]])),
}

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(999_999, 10**13),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.lists(st.integers(-2, 4), max_size=3),
    st.lists(st.lists(st.integers(-1, 3), max_size=3), max_size=3),
    st.lists(st.one_of(st.text(max_size=2), st.floats(), st.booleans()), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def padding_kind(layer_type: type) -> str:
    if layer_type is ZeroPadding2D:
        return "zero"
    if layer_type in (Conv2D, DepthwiseConv2D, SeparableConv2D):
        return "conv"
    return "window"


def valid_value(layer_type: type, name: str) -> st.SearchStrategy:
    if name == "padding":
        return PADDING_VALUES[padding_kind(layer_type)]
    return TYPED_VALUES.get((layer_type, name), VALID_VALUES.get(name))


@st.composite
def layer_configs(draw, junk: bool = True) -> dict:
    """A preset table for a random layer type: mostly valid values, some junk, sometimes a key too many or too few."""
    layer_type = draw(st.sampled_from(CHAIN_LAYER_TYPES))
    names = [layer_type.type_name, *layer_type.aliases]
    spelling = draw(st.sampled_from(names))
    spelling = draw(st.sampled_from([spelling, spelling.lower(), spelling.upper()]))
    config: dict = {"type": spelling}
    for spec in fields(layer_type):
        required = spec.default is MISSING
        include = True if required and not junk else draw(st.integers(0, 9)) < (9 if required else 5)
        if not include:
            continue
        use_junk = junk and draw(st.integers(0, 9)) == 0
        config[spec.name] = draw(JUNK if use_junk else valid_value(layer_type, spec.name))
    if junk and draw(st.integers(0, 19)) == 0:
        config[draw(st.sampled_from(["filter", "kernel", "stride", "xyz", "Units"]))] = 1
    return config


input_shapes = st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(1, 12))


def build(configs: list[dict]) -> list:
    """The layers whose configs are accepted; any error that is not a ConvtuiError fails the test."""
    layers = []
    for config in configs:
        try:
            layers.append(layer_from_config(config))
        except ConvtuiError as error:
            assert error.message and error.field_name
    return layers


# --- construction and propagation never crash -----------------------------------------------


@FAST
@given(configs=st.lists(layer_configs(), max_size=8), input_shape=input_shapes)
def test_construction_raises_only_convtui_errors_and_infer_never_raises(configs, input_shape):
    layers = build(configs)
    stack_info = Stack(input_shape, tuple(layers)).infer()
    assert len(stack_info.layers) == len(layers)
    check_statuses(stack_info)


@FAST
@given(config=layer_configs())
@example(config={"type": "Dense", "units": "3\n2"})
@example(config={"type": "Conv\n2D"})
def test_every_construction_error_is_one_line(config):
    # The CLI prints str(error) as its one line on stderr: no value the file holds may break it.
    try:
        layer_from_config(config)
    except ConvtuiError as error:
        assert "\n" not in str(error) and "\r" not in str(error), str(error)


@FAST
@given(input_shape=st.one_of(JUNK, st.lists(JUNK, max_size=4), input_shapes))
def test_a_junk_input_shape_is_a_convtui_error(input_shape):
    try:
        stack = Stack(input_shape)
    except ConvtuiError as error:
        assert error.field_name == "input_shape"
    else:
        assert len(stack.input_shape) == 3 and all(side >= 1 for side in stack.input_shape)


def check_statuses(stack_info) -> None:
    shape = stack_info.input_shape
    seen_invalid = False
    for index, info in enumerate(stack_info.layers):
        assert info.index == index
        if seen_invalid:
            assert info.status == "after_invalid", index
            assert info.output_shape is None and info.params == 0 and info.macs == 0
            assert info.error
            continue
        assert info.input_shape == shape
        if info.status == "invalid":
            seen_invalid = True
            assert info.error and info.output_shape is None
            continue
        assert info.status == "ok"
        assert info.output_shape and all(isinstance(side, int) and side >= 1 for side in info.output_shape)
        assert info.trainable_params + info.non_trainable_params == info.params
        assert info.macs >= 0
        shape = info.output_shape
    assert stack_info.valid == (not seen_invalid)
    assert stack_info.total_params == sum(info.params for info in stack_info.layers)


@FAST
@given(configs=st.lists(layer_configs(), max_size=6), input_shape=input_shapes)
def test_explain_and_every_summary_format_work_on_any_stack(configs, input_shape):
    from convtui.render import summary

    stack_info = Stack(input_shape, tuple(build(configs))).infer()
    for index in range(len(stack_info.layers)):
        for convention in ("keras", "torch"):
            assert explain(stack_info, index, convention)
    for convention in ("keras", "torch"):
        summary.summary_json(stack_info, convention)
        summary.summary_csv(stack_info, convention)
        summary.summary_markdown(stack_info, convention)


def test_infer_never_raises_on_a_deep_stack_of_downsampling_layers():
    # Keras accepts any number of "same" stride-2 poolings: each output is ceil(n/2), so 1x1 stays 1x1.
    layers = [MaxPooling2D(pool_size=2, padding="same") for _ in range(1100)]
    layers.append(MaxPooling2D(pool_size=1, strides=2, padding="same"))  # a 1x1 window adds nothing to the field
    stack_info = Stack((8, 8, 1), tuple(layers)).infer()
    assert stack_info.valid
    assert stack_info.output_shape == (1, 1, 1)
    sizes = [info.receptive_field.size[0] for info in stack_info.layers]
    assert not any(math.isnan(size) for size in sizes), "a receptive field size is NaN"
    assert all(before <= after for before, after in zip(sizes, sizes[1:])), "a receptive field shrank"
    assert sizes[-1] == sizes[-2]


def test_infer_never_raises_on_a_deep_stack_of_upsampling_layers():
    stack = Stack((1, 1, 1), (*(UpSampling2D(size=1_000_000) for _ in range(60)), BatchNormalization()))
    stack_info = stack.infer()
    assert stack_info.valid
    assert stack_info.output_shape == (10 ** (6 * 60), 10 ** (6 * 60), 1)


# --- window positions by brute force --------------------------------------------------------


def brute_force_same_pads(n: int, span: int, s: int) -> tuple[int, int]:
    """The least total padding giving ceil(n/s) windows; the odd pixel goes at the end (TensorFlow)."""
    wanted = -(-n // s)
    total = 0
    while count_windows(n + total, span, s) < wanted:
        total += 1
    return (total // 2, total - total // 2)


def count_windows(length: int, span: int, s: int) -> int:
    return sum(1 for start in range(0, length) if start % s == 0 and start + span <= length)


def brute_force_side(n: int, k: int, s: int, d: int, padding) -> int:
    span = d * (k - 1) + 1
    if padding == "valid":
        pads = (0, 0)
    elif padding == "same":
        pads = brute_force_same_pads(n, span, s)
    else:
        pads = (padding, padding)
    return count_windows(n + pads[0] + pads[1], span, s)


@st.composite
def window_cases(draw):
    layer_type = draw(st.sampled_from([Conv2D, DepthwiseConv2D, SeparableConv2D, MaxPooling2D, AveragePooling2D]))
    n = (draw(st.integers(1, 30)), draw(st.integers(1, 30)))
    k = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    s = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    d = (1, 1) if max(s) > 1 else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if layer_type in (MaxPooling2D, AveragePooling2D):
        padding = draw(st.sampled_from(["valid", "same"]))
        layer = layer_type(pool_size=list(k), strides=list(s), padding=padding)
        d = (1, 1)
    else:
        padding = draw(st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 3)))
        extra = {"filters": 3} if layer_type is not DepthwiseConv2D else {}
        layer = layer_type(kernel_size=list(k), strides=list(s), dilation_rate=list(d), padding=padding, **extra)
    return layer, n, k, s, d, padding


@settings(max_examples=400, deadline=None)
@given(case=window_cases(), channels=st.integers(1, 4))
def test_output_sides_equal_the_count_of_window_positions(case, channels):
    layer, n, k, s, d, padding = case
    expected = [brute_force_side(n[axis], k[axis], s[axis], d[axis], padding) for axis in (0, 1)]
    info = Stack((*n, channels), (layer,)).infer().layers[0]
    if min(expected) <= 0:
        assert info.status == "invalid"
    else:
        assert info.status == "ok", info.error
        assert info.output_shape[:2] == tuple(expected)
    if padding == "same":
        assert expected == [math.ceil(n[axis] / s[axis]) for axis in (0, 1)]  # Keras's "same": ceil(n/s)


# --- receptive field by walking the windows back --------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 8),
    k=st.integers(1, 7),
    padding=st.sampled_from(["valid", "same"]),
    pixelwise=st.lists(st.sampled_from(["bn", "relu", "none"]), min_size=8, max_size=8),
)
def test_receptive_field_of_stride_one_convs_is_one_plus_n_times_k_minus_one(count, k, padding, pixelwise):
    layers = []
    for index in range(count):
        layers.append(Conv2D(filters=2, kernel_size=k, padding=padding))
        extra = {"bn": [BatchNormalization()], "relu": [ReLU()], "none": []}[pixelwise[index]]
        layers += extra
    side = 1 + count * (k - 1)
    stack_info = Stack((side, side + 3, 1), tuple(layers)).infer()
    assert stack_info.valid
    field = stack_info.layers[-1].receptive_field
    assert field.size == (1 + count * (k - 1),) * 2
    assert field.jump == (1, 1)


@st.composite
def window_layers(draw):
    kind = draw(st.sampled_from(["conv", "depthwise", "pool", "zero", "crop", "bn"]))
    k = draw(st.integers(1, 5))
    s = draw(st.integers(1, 3))
    d = draw(st.integers(1, 3)) if s == 1 else 1
    padding = draw(st.sampled_from(["valid", "same"]))
    if kind == "conv":
        return Conv2D(filters=1, kernel_size=[k, k + 1], strides=s, dilation_rate=d, padding=padding)
    if kind == "depthwise":
        return DepthwiseConv2D(kernel_size=k, strides=[s, 1], padding=draw(st.integers(0, 2)))
    if kind == "pool":
        return MaxPooling2D(pool_size=k, strides=s, padding=padding)
    if kind == "zero":
        return ZeroPadding2D(padding=[[draw(st.integers(0, 2)), 0], [draw(st.integers(0, 2)), 1]])
    if kind == "crop":
        return Cropping2D(cropping=[[draw(st.integers(0, 3)), 1], [draw(st.integers(0, 3)), 0]])
    return BatchNormalization()


def taps(layer, axis: int, size: int) -> tuple[list[int], int, int]:
    """(tap offsets, stride, pad before) of one axis, for an input side of `size`."""
    if isinstance(layer, ZeroPadding2D):
        return [0], 1, layer.padding[axis][0]
    if isinstance(layer, Cropping2D):  # a crop is a padding of minus the rows it removes
        return [0], 1, -layer.cropping[axis][0]
    if isinstance(layer, BatchNormalization):
        return [0], 1, 0
    kernel = layer.pool_size if isinstance(layer, MaxPooling2D) else layer.kernel_size
    stride = layer.step if isinstance(layer, MaxPooling2D) else layer.strides
    dilation = getattr(layer, "dilation_rate", (1, 1))
    span = dilation[axis] * (kernel[axis] - 1) + 1
    if layer.padding == "valid":
        before = 0
    elif layer.padding == "same":
        before = brute_force_same_pads(size, span, stride[axis])[0]
    else:
        before = layer.padding[axis]
    return [i * dilation[axis] for i in range(kernel[axis])], stride[axis], before


def walk_back(stack_info, axis: int, output_index: int) -> set[int]:
    """Input coordinates (padding included) that one output pixel of the last layer reads, found tap by tap."""
    positions = {output_index}
    for info in reversed(stack_info.layers):
        offsets, stride, before = taps(info.layer, axis, info.input_shape[axis])
        positions = {p * stride - before + offset for p in positions for offset in offsets}
    return positions


@settings(max_examples=150, deadline=None)
@given(layers=st.lists(window_layers(), min_size=1, max_size=5), input_hw=st.tuples(st.integers(40, 90), st.integers(40, 90)))
def test_receptive_field_equals_the_span_of_input_pixels_walked_back(layers, input_hw):
    stack_info = Stack((*input_hw, 2), tuple(layers)).infer()
    if not stack_info.valid:
        return
    field = stack_info.layers[-1].receptive_field
    for axis in (0, 1):
        first = walk_back(stack_info, axis, 0)
        second = walk_back(stack_info, axis, 1)
        assert field.size[axis] == max(first) - min(first) + 1
        assert field.start[axis] == (max(first) + min(first)) / 2
        assert field.jump[axis] == min(second) - min(first)


# --- save / load round trip -----------------------------------------------------------------


@st.composite
def valid_stacks(draw):
    layers = build(draw(st.lists(layer_configs(junk=False), max_size=8)))
    return Stack(
        draw(input_shapes),
        tuple(layers),
        name=draw(st.text(max_size=12)),
        description=draw(st.text(max_size=30)),
    )


@FAST
@given(stack=valid_stacks())
@example(stack=Stack((28, 28, 1), (Conv2D(filters=4, kernel_size=3),), name="tab\there", description='quote " back \\ slash\n'))
@example(stack=Stack((28, 28, 1), (ReLU(threshold=-0.0, max_value=1e-300),), name="delete \x7f character"))
def test_preset_text_round_trips(stack):
    assert parse_preset(preset_text(stack), "x") == stack


@pytest.mark.parametrize("layer_type", LAYER_TYPES, ids=lambda layer_type: layer_type.type_name)
def test_round_trip_keeps_non_default_arguments_of_every_layer_type(layer_type):
    arguments = {
        spec.name: st_example(layer_type, spec.name) for spec in fields(layer_type)
    }
    layer = layer_type(**arguments)
    inputs = ("input",) * layer_type.min_inputs if layer_type.max_inputs != 1 else None
    stack = Stack((16, 16, 4), (layer,), inputs=(inputs,))
    assert parse_preset(preset_text(stack), "x").layers == (layer,)


def st_example(layer_type: type, name: str):
    """A non-default, valid value of each argument."""
    values = {
        "filters": 8, "units": 5, "kernel_size": [3, 2], "strides": [1, 2], "pool_size": 3, "dilation_rate": 1,
        "groups": 2, "depth_multiplier": 2, "use_bias": False, "activation": "gelu", "kernel_initializer": "he_normal",
        "keepdims": True, "epsilon": 1e-5, "momentum": 0.9, "center": False, "scale": False, "rate": 0.25,
        "max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5, "size": [2, 3], "interpolation": "bilinear",
        "axis": 2, "mean": [0.5, 1.0, 2.0, 3.0], "variance": [1.0, 4.0, 0.25, 2.0], "invert": True, "rms_scaling": True,
        "offset": -1.0, "target_shape": [-1, 8], "cropping": [1, [0, 2]], "init_values": 1e-6, "projection_dim": 4,
        "noise_shape": [None, 1, "None", 4], "seed": 7,
    }  # fmt: skip
    typed = {(Rescaling, "scale"): [0.5, 0.25, 2.0, 1.0], (Normalization, "axis"): [1, 2, 3], (LayerNormalization, "axis"): [-3, -1]}
    if name == "padding":
        return {"zero": [[1, 2], [0, 3]], "conv": [1, 2], "window": "same"}[padding_kind(layer_type)]
    return typed.get((layer_type, name), values.get(name))
