"""The layer catalogue against Keras 3: output shapes, weight names and layouts, params, MACs, validation.

Expected values are written as Keras's formulas with the arguments put in (keras/src/ops/
operation_utils.py compute_conv_output_shape / compute_pooling_output_shape,
keras/src/backend/common/backend_utils.py for Conv2DTranspose, each layer's build() for the
weights), or are published figures (keras.applications summaries, torchvision's tables, papers).
MACs count weighted products only (no bias), as torchinfo does.
"""

from __future__ import annotations

import math
import re

import pytest

from convtui.errors import ConvtuiError, LayerConfigError, ShapeError
from convtui.model import LAYER_TYPES, Stack, layer_from_config, layer_to_config, layer_type_named
from convtui.model.geometry import effective_kernel, same_pads
from convtui.model.layers import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Conv2DTranspose,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
    ReLU,
    SeparableConv2D,
    UpSampling2D,
    ZeroPadding2D,
)


def weights_of(layer, input_shape):
    """{name: (shape, trainable)} of a layer applied to input_shape."""
    return {weight.name: (weight.shape, weight.trainable) for weight in layer.infer(tuple(input_shape)).weights}


def single(input_shape, *layers):
    """The LayerInfo of the last layer of a stack."""
    return Stack(tuple(input_shape), layers).infer().layers[-1]


def keras_valid_side(n, k, s=1, d=1):
    """compute_conv_output_shape, padding="valid": floor((n - d*(k-1) - 1) / s) + 1."""
    return math.floor((n - d * (k - 1) - 1) / s) + 1


def keras_same_side(n, s=1):
    """padding="same": ceil(n / s) (compute_conv_output_shape: floor((n - 1) / s) + 1)."""
    return math.floor((n - 1) / s) + 1


def keras_pool_valid_side(n, pool, s):
    """compute_pooling_output_shape, "valid": floor((n - pool) / s) + 1."""
    return math.floor((n - pool) / s) + 1


def keras_transpose_side(n, k, s, padding):
    """backend_utils._get_output_shape_given_tf_padding with output_padding=None, dilation 1."""
    if padding == "valid":
        return (n - 1) * s + k + (max(k, s) - k)
    return n * s


# --- convolutions ---------------------------------------------------------------------------


def test_conv2d_seed_layer():
    layer = Conv2D(filters=64, kernel_size=3, activation="relu")
    info = single((26, 26, 32), layer)
    side = keras_valid_side(26, 3)
    assert info.output_shape == (side, side, 64) == (24, 24, 64)
    assert weights_of(layer, (26, 26, 32)) == {"kernel": ((3, 3, 32, 64), True), "bias": ((64,), True)}
    assert info.params == 3 * 3 * 32 * 64 + 64 == 18_496
    assert info.trainable_params == info.params and info.non_trainable_params == 0
    assert info.macs == side * side * 3 * 3 * 32 * 64


@pytest.mark.parametrize(
    ("input_shape", "arguments", "expected_hw"),
    [
        ((28, 28, 3), dict(kernel_size=5), (keras_valid_side(28, 5), keras_valid_side(28, 5))),
        ((28, 28, 3), dict(kernel_size=3, strides=2), (keras_valid_side(28, 3, 2),) * 2),
        ((7, 7, 3), dict(kernel_size=3, strides=2, padding="same"), (keras_same_side(7, 2),) * 2),
        ((8, 9, 3), dict(kernel_size=[3, 1], strides=[2, 3], padding="same"), (keras_same_side(8, 2), keras_same_side(9, 3))),
        ((10, 10, 3), dict(kernel_size=3, dilation_rate=2), (keras_valid_side(10, 3, 1, 2),) * 2),
        ((10, 12, 3), dict(kernel_size=[3, 2], dilation_rate=[1, 3]), (keras_valid_side(10, 3), keras_valid_side(12, 2, 1, 3))),
        ((10, 10, 3), dict(kernel_size=3, dilation_rate=2, padding="same"), (10, 10)),
        ((5, 6, 3), dict(kernel_size=[5, 6]), (1, 1)),
        ((32, 32, 3), dict(kernel_size=[1, 7], padding="SAME"), (32, 32)),
    ],
)
def test_conv2d_output_side_follows_keras(input_shape, arguments, expected_hw):
    info = single(input_shape, Conv2D(filters=6, **arguments))
    assert info.status == "ok", info.error
    assert info.output_shape == (*expected_hw, 6)
    kh, kw = (arguments["kernel_size"],) * 2 if isinstance(arguments["kernel_size"], int) else arguments["kernel_size"]
    assert info.weights[0].shape == (kh, kw, input_shape[2], 6)
    assert info.macs == expected_hw[0] * expected_hw[1] * kh * kw * input_shape[2] * 6


def test_conv2d_explicit_padding_is_pytorch_style_symmetric_zero_padding():
    # PyTorch: out = floor((n + 2p - d*(k-1) - 1) / s) + 1
    info = single((224, 224, 3), Conv2D(filters=64, kernel_size=11, strides=4, padding=2))
    side = math.floor((224 + 2 * 2 - (11 - 1) - 1) / 4) + 1
    assert info.output_shape == (side, side, 64) == (55, 55, 64)
    info = single((10, 10, 3), Conv2D(filters=2, kernel_size=3, padding=[2, 0]))
    assert info.output_shape == (10 + 4 - 2, 10 - 2, 2)


def test_conv2d_groups_divide_the_kernel_input_axis():
    layer = Conv2D(filters=16, kernel_size=3, groups=4)
    info = single((9, 9, 8), layer)
    assert info.output_shape == (7, 7, 16)
    assert weights_of(layer, (9, 9, 8))["kernel"] == ((3, 3, 8 // 4, 16), True)
    assert info.params == 3 * 3 * 2 * 16 + 16
    assert info.macs == 7 * 7 * 3 * 3 * 2 * 16


def test_conv2d_without_bias_has_only_a_kernel():
    layer = Conv2D(filters=4, kernel_size=2, use_bias=False)
    assert weights_of(layer, (5, 5, 3)) == {"kernel": ((2, 2, 3, 4), True)}
    assert single((5, 5, 3), layer).params == 2 * 2 * 3 * 4


def test_conv2d_input_channels_not_divisible_by_groups_is_an_invalid_layer():
    info = single((9, 9, 6), Conv2D(filters=8, kernel_size=3, groups=4))
    assert info.status == "invalid"
    assert info.error_field == "groups"
    assert "6" in info.error and "groups" in info.error


def test_conv2d_kernel_larger_than_input_is_invalid_and_says_what_to_do():
    stack = Stack((28, 28, 1), (MaxPooling2D(pool_size=14), Conv2D(filters=8, kernel_size=3), Dense(units=3)))
    first, second, third = stack.infer().layers
    assert first.output_shape == (2, 2, 1)
    assert second.status == "invalid"
    assert "3x3" in second.error and "2x2" in second.error and '"same"' in second.error
    assert third.status == "after_invalid" and third.output_shape is None


def test_conv2d_window_that_fits_exactly_zero_times_is_refused():
    # Keras's "valid" formula gives floor((2 - 2 - 1)/1) + 1 = 0 positions: no output pixel.
    assert keras_valid_side(2, 2, 1, 2) == 0
    info = single((2, 2, 1), Conv2D(filters=1, kernel_size=2, dilation_rate=2))
    assert info.status == "invalid"
    assert "dilated to 3x3" in info.error


def test_depthwise_conv2d():
    layer = DepthwiseConv2D(kernel_size=3, depth_multiplier=2)
    info = single((10, 10, 8), layer)
    assert info.output_shape == (8, 8, 8 * 2)
    assert weights_of(layer, (10, 10, 8)) == {"kernel": ((3, 3, 8, 2), True), "bias": ((16,), True)}
    assert info.params == 3 * 3 * 8 * 2 + 16
    assert info.macs == 8 * 8 * 3 * 3 * 8 * 2


def test_depthwise_conv2d_same_stride_no_bias():
    layer = DepthwiseConv2D(kernel_size=3, strides=2, padding="same", use_bias=False)
    info = single((15, 15, 32), layer)
    assert info.output_shape == (keras_same_side(15, 2), keras_same_side(15, 2), 32) == (8, 8, 32)
    assert weights_of(layer, (15, 15, 32)) == {"kernel": ((3, 3, 32, 1), True)}
    assert info.macs == 8 * 8 * 3 * 3 * 32


def test_separable_conv2d():
    layer = SeparableConv2D(filters=16, kernel_size=3, depth_multiplier=2)
    info = single((10, 10, 8), layer)
    assert info.output_shape == (8, 8, 16)
    assert weights_of(layer, (10, 10, 8)) == {
        "depthwise_kernel": ((3, 3, 8, 2), True),
        "pointwise_kernel": ((1, 1, 8 * 2, 16), True),
        "bias": ((16,), True),
    }
    assert info.params == 3 * 3 * 8 * 2 + 16 * 16 + 16
    assert info.macs == 8 * 8 * (3 * 3 * 8 * 2 + 16 * 16)


@pytest.mark.parametrize(
    ("n", "k", "s", "padding"),
    [(7, 3, 2, "valid"), (7, 3, 2, "same"), (7, 1, 2, "valid"), (5, 4, 4, "valid"), (4, 5, 1, "valid"), (6, 2, 3, "same")],
)
def test_conv2d_transpose_output_side_and_kernel_layout(n, k, s, padding):
    layer = Conv2DTranspose(filters=4, kernel_size=k, strides=s, padding=padding)
    info = single((n, n + 1, 8), layer)
    expected = (keras_transpose_side(n, k, s, padding), keras_transpose_side(n + 1, k, s, padding), 4)
    assert info.output_shape == expected
    # Keras: kernel_shape = kernel_size + (filters, input_channel)
    assert weights_of(layer, (n, n + 1, 8)) == {"kernel": ((k, k, 4, 8), True), "bias": ((4,), True)}
    assert info.params == k * k * 4 * 8 + 4
    # each input pixel paints a k x k x filters patch from its C_in values
    assert info.macs == n * (n + 1) * k * k * 4 * 8


def test_conv2d_transpose_valid_with_kernel_smaller_than_stride_still_fills_the_stride():
    # (n - 1)*s + max(k, s): a 1x1 kernel with stride 2 doubles the side, as "same" does.
    assert single((7, 7, 1), Conv2DTranspose(filters=1, kernel_size=1, strides=2)).output_shape == (14, 14, 1)


# --- pooling --------------------------------------------------------------------------------


@pytest.mark.parametrize("pool_type", [MaxPooling2D, AveragePooling2D])
@pytest.mark.parametrize(
    ("input_hw", "arguments", "expected_hw"),
    [
        ((28, 28), {}, (keras_pool_valid_side(28, 2, 2),) * 2),
        ((7, 9), {}, (keras_pool_valid_side(7, 2, 2), keras_pool_valid_side(9, 2, 2))),
        ((7, 7), dict(padding="same"), (keras_same_side(7, 2),) * 2),
        ((28, 28), dict(pool_size=2, strides=1), (keras_pool_valid_side(28, 2, 1),) * 2),
        ((13, 13), dict(pool_size=3, strides=2), (keras_pool_valid_side(13, 3, 2),) * 2),
        ((13, 10), dict(pool_size=[3, 2], strides=[2, 1], padding="same"), (keras_same_side(13, 2), keras_same_side(10, 1))),
        ((5, 5), dict(pool_size=5), (1, 1)),
    ],
)
def test_pooling_output_side_follows_keras(pool_type, input_hw, arguments, expected_hw):
    layer = pool_type(**arguments)
    info = single((*input_hw, 6), layer)
    assert info.output_shape == (*expected_hw, 6)
    assert info.weights == () and info.params == 0 and info.macs == 0


def test_pool_window_larger_than_input_is_invalid():
    info = single((3, 3, 1), MaxPooling2D(pool_size=4))
    assert info.status == "invalid" and "pool window" in info.error


@pytest.mark.parametrize("pool_type", [GlobalAveragePooling2D, GlobalMaxPooling2D])
def test_global_pooling(pool_type):
    assert single((7, 5, 12), pool_type()).output_shape == (12,)
    assert single((7, 5, 12), pool_type(keepdims=True)).output_shape == (1, 1, 12)
    assert single((7, 5, 12), pool_type()).params == 0


def test_global_pooling_needs_an_image():
    info = single((4, 4, 3), Flatten(), GlobalAveragePooling2D())
    assert info.status == "invalid" and "Flatten" in info.error


# --- everything else ------------------------------------------------------------------------


def test_batch_normalization_weights_and_trainability():
    layer = BatchNormalization()
    info = single((7, 7, 5), layer)
    assert info.output_shape == (7, 7, 5)
    assert weights_of(layer, (7, 7, 5)) == {
        "gamma": ((5,), True),
        "beta": ((5,), True),
        "moving_mean": ((5,), False),
        "moving_variance": ((5,), False),
    }
    assert (info.params, info.trainable_params, info.non_trainable_params) == (20, 10, 10)
    assert info.macs == 0


def test_batch_normalization_without_center_or_scale():
    assert set(weights_of(BatchNormalization(center=False), (3, 3, 4))) == {"gamma", "moving_mean", "moving_variance"}
    assert set(weights_of(BatchNormalization(scale=False), (3, 3, 4))) == {"beta", "moving_mean", "moving_variance"}
    info = single((3, 3, 4), BatchNormalization(center=False, scale=False))
    assert (info.trainable_params, info.non_trainable_params) == (0, 8)


def test_batch_normalization_after_flatten_normalises_the_last_axis():
    info = single((2, 3, 4), Flatten(), BatchNormalization())
    assert info.output_shape == (24,)
    assert info.params == 4 * 24


def test_dense_on_a_vector():
    layer = Dense(units=10)
    info = single((4, 4, 8), Flatten(), layer)
    assert info.output_shape == (10,)
    assert weights_of(layer, (128,)) == {"kernel": ((128, 10), True), "bias": ((10,), True)}
    assert info.params == 128 * 10 + 10
    assert info.macs == 128 * 10


def test_dense_acts_on_the_last_axis_of_any_rank():
    layer = Dense(units=5, use_bias=False)
    info = single((4, 6, 12), layer)
    assert info.output_shape == (4, 6, 5)
    assert weights_of(layer, (4, 6, 12)) == {"kernel": ((12, 5), True)}
    assert info.macs == 4 * 6 * 12 * 5
    assert layer.infer((3, 2, 7, 12)).output_shape == (3, 2, 7, 5)


def test_flatten():
    info = single((3, 4, 5), Flatten())
    assert info.output_shape == (60,) and info.params == 0
    assert Flatten().infer((60,)).output_shape == (60,)


@pytest.mark.parametrize(
    "layer", [Dropout(rate=0.5), Activation(activation="softmax"), ReLU(), ReLU(max_value=6), ReLU(negative_slope=0.1)]
)
def test_elementwise_layers_keep_the_shape_and_have_no_weights(layer):
    info = single((5, 6, 7), layer)
    assert info.output_shape == (5, 6, 7)
    assert (info.params, info.macs, info.weights) == (0, 0, ())
    assert Flatten().infer((5, 6, 7)).output_shape == layer.infer((210,)).output_shape


@pytest.mark.parametrize(
    ("padding", "expected_hw"),
    [(None, (10 + 2, 11 + 2)), (3, (16, 17)), ([1, 2], (12, 15)), ([[1, 2], [3, 4]], (13, 18)), (0, (10, 11))],
)
def test_zero_padding2d(padding, expected_hw):
    layer = ZeroPadding2D() if padding is None else ZeroPadding2D(padding=padding)
    assert single((10, 11, 3), layer).output_shape == (*expected_hw, 3)


@pytest.mark.parametrize(("size", "expected_hw"), [(None, (20, 22)), (3, (30, 33)), ([2, 3], (20, 33))])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_upsampling2d(size, expected_hw, interpolation):
    layer = UpSampling2D(interpolation=interpolation) if size is None else UpSampling2D(size=size, interpolation=interpolation)
    assert single((10, 11, 3), layer).output_shape == (*expected_hw, 3)


# --- type names -----------------------------------------------------------------------------


def keras_snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def test_the_catalogue_has_every_documented_layer_type():
    assert {layer_type.type_name for layer_type in LAYER_TYPES} == {
        "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "MaxPooling2D", "AveragePooling2D",
        "GlobalAveragePooling2D", "GlobalMaxPooling2D", "BatchNormalization", "Dense", "Flatten", "Dropout",
        "Activation", "ReLU", "ZeroPadding2D", "UpSampling2D", "Add", "Subtract", "Multiply", "Average", "Maximum",
        "Minimum", "Concatenate", "Rescaling", "Normalization", "LayerNormalization", "Reshape", "Cropping2D", "Identity",
        "LayerScale",
    }  # fmt: skip


@pytest.mark.parametrize("layer_type", LAYER_TYPES, ids=lambda layer_type: layer_type.type_name)
def test_type_names_are_case_insensitive_and_accept_snake_case(layer_type):
    name = layer_type.type_name
    for spelling in (name, name.lower(), name.upper(), keras_snake_case(name), keras_snake_case(name).upper()):
        assert layer_type_named(spelling) is layer_type, spelling


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("Convolution2D", Conv2D),
        ("convolution2d", Conv2D),
        ("conv_2d", Conv2D),
        ("SeparableConvolution2D", SeparableConv2D),
        ("Convolution2DTranspose", Conv2DTranspose),
        ("conv2d_transpose", Conv2DTranspose),
        ("MaxPool2D", MaxPooling2D),
        ("max_pool2d", MaxPooling2D),
        ("max_pooling2d", MaxPooling2D),
        ("AvgPool2D", AveragePooling2D),
        ("avg_pool2d", AveragePooling2D),
        ("GlobalAvgPool2D", GlobalAveragePooling2D),
        ("GlobalMaxPool2D", GlobalMaxPooling2D),
        ("global_average_pooling2d", GlobalAveragePooling2D),
        ("batch_normalization", BatchNormalization),
        ("re_lu", ReLU),
        ("zero_padding2d", ZeroPadding2D),
        ("up_sampling2d", UpSampling2D),
        ("depthwise_conv2d", DepthwiseConv2D),
    ],
)
def test_aliases(alias, canonical):
    assert layer_type_named(alias) is canonical
    assert layer_to_config(layer_from_config({"type": alias, **minimal_arguments(canonical)}))["type"] == canonical.type_name


def minimal_arguments(layer_type):
    return {
        Conv2D: dict(filters=2, kernel_size=3),
        SeparableConv2D: dict(filters=2, kernel_size=3),
        Conv2DTranspose: dict(filters=2, kernel_size=3),
        DepthwiseConv2D: dict(kernel_size=3),
        Dense: dict(units=3),
        Dropout: dict(rate=0.1),
        Activation: dict(activation="relu"),
    }.get(layer_type, {})


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("Conv2", "Conv2D"), ("MaxPoolin2D", "MaxPooling2D"), ("batchnorm", "BatchNormalization"), ("Dens", "Dense")],
)
def test_unknown_type_suggests_the_closest(name, suggestion):
    with pytest.raises(LayerConfigError) as caught:
        layer_type_named(name)
    assert caught.value.field_name == "type"
    assert f'unknown layer type "{name}"' in str(caught.value)
    assert f'did you mean "{suggestion}"' in str(caught.value)


def test_unknown_type_far_from_everything_lists_the_known_types():
    with pytest.raises(LayerConfigError) as caught:
        layer_type_named("Transformer")
    assert "did you mean" not in str(caught.value)
    assert "Conv2D" in str(caught.value) and "UpSampling2D" in str(caught.value)


# --- argument validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer_type", "arguments", "field", "found"),
    [
        (Conv2D, dict(filters="32", kernel_size=3), "filters", 'found "32" (a string)'),
        (Conv2D, dict(filters=0, kernel_size=3), "filters", "found 0"),
        (Conv2D, dict(filters=-4, kernel_size=3), "filters", "found -4"),
        (Conv2D, dict(filters=10**12, kernel_size=3), "filters", "found 1000000000000"),
        (Conv2D, dict(filters=True, kernel_size=3), "filters", "found true"),
        (Conv2D, dict(filters=8, kernel_size=3.0), "kernel_size", "found 3.0"),
        (Conv2D, dict(filters=8, kernel_size=[3, 3, 3]), "kernel_size", "found [3, 3, 3]"),
        (Conv2D, dict(filters=8, kernel_size=[0, 3]), "kernel_size", "found [0, 3]"),
        (Conv2D, dict(filters=8, kernel_size=3, padding="full"), "padding", 'found "full" (a string)'),
        (Conv2D, dict(filters=8, kernel_size=3, padding=-1), "padding", "found -1"),
        (Conv2D, dict(filters=8, kernel_size=3, strides=[1, 0]), "strides", "found [1, 0]"),
        (Conv2D, dict(filters=8, kernel_size=3, activation="rectifier"), "activation", 'found "rectifier" (a string)'),
        (Conv2D, dict(filters=8, kernel_size=3, use_bias="yes"), "use_bias", 'found "yes" (a string)'),
        (Conv2D, dict(filters=8, kernel_size=3, kernel_initializer="random"), "kernel_initializer", "found"),
        (Conv2D, dict(filters=8, kernel_size=3, groups=0), "groups", "found 0"),
        (DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=1.5), "depth_multiplier", "found 1.5"),
        (Conv2DTranspose, dict(filters=8, kernel_size=3, padding=1), "padding", "found 1"),
        (MaxPooling2D, dict(pool_size=True), "pool_size", "found true"),
        (MaxPooling2D, dict(padding="causal"), "padding", 'found "causal" (a string)'),
        (BatchNormalization, dict(epsilon=-0.1), "epsilon", "found -0.1"),
        (BatchNormalization, dict(momentum=1.5), "momentum", "found 1.5"),
        (Dense, dict(units="ten"), "units", 'found "ten" (a string)'),
        (Dense, dict(units=4, kernel_initializer="edges"), "kernel_initializer", ""),
        (Dropout, dict(rate=1.5), "rate", "found 1.5"),
        (Dropout, dict(rate=-0.5), "rate", "found -0.5"),
        (Activation, dict(activation=None), "activation", "found nothing"),
        (ReLU, dict(max_value=-1.0), "max_value", "found -1.0"),
        (ReLU, dict(negative_slope=-0.2), "negative_slope", "found -0.2"),
        (ZeroPadding2D, dict(padding=[[1], [2, 3]]), "padding", "found [[1], [2, 3]]"),
        (ZeroPadding2D, dict(padding=-1), "padding", "found -1"),
        (UpSampling2D, dict(size=0), "size", "found 0"),
        (UpSampling2D, dict(interpolation="cubic"), "interpolation", 'found "cubic" (a string)'),
        (GlobalAveragePooling2D, dict(keepdims=1), "keepdims", "found 1"),
    ],
)
def test_argument_validation_names_the_field_and_what_was_found(layer_type, arguments, field, found):
    with pytest.raises(LayerConfigError) as caught:
        layer_type(**arguments)
    error = caught.value
    assert error.field_name == field
    assert error.layer_type == layer_type.type_name
    message = str(error)
    assert f"field '{field}'" in message and layer_type.type_name in message
    assert "\n" not in message
    if found:
        assert "expected " in error.message and found in error.message, error.message


@pytest.mark.parametrize("layer_type", [Conv2D, DepthwiseConv2D, SeparableConv2D])
@pytest.mark.parametrize(("strides", "dilation"), [(2, 2), ([1, 2], [2, 1]), ([2, 1], 3)])
def test_strides_with_dilation_is_refused_as_keras_does(layer_type, strides, dilation):
    arguments = {**minimal_arguments(layer_type), "strides": strides, "dilation_rate": dilation}
    with pytest.raises(LayerConfigError) as caught:
        layer_type(**arguments)
    assert caught.value.field_name == "dilation_rate"
    assert "strides" in caught.value.message


@pytest.mark.parametrize("layer_type", [Conv2D, DepthwiseConv2D, SeparableConv2D])
def test_strides_with_dilation_one_or_stride_one_with_dilation_is_accepted(layer_type):
    base = minimal_arguments(layer_type)
    layer_type(**base, strides=2, dilation_rate=1)
    layer_type(**base, strides=1, dilation_rate=3)


@pytest.mark.parametrize(("filters", "groups", "ok"), [(16, 4, True), (16, 3, False), (7, 7, True), (6, 4, False)])
def test_filters_must_be_divisible_by_groups(filters, groups, ok):
    if ok:
        Conv2D(filters=filters, kernel_size=1, groups=groups)
        return
    with pytest.raises(LayerConfigError) as caught:
        Conv2D(filters=filters, kernel_size=1, groups=groups)
    assert caught.value.field_name == "groups"
    assert str(filters) in caught.value.message and str(groups) in caught.value.message


def test_layer_from_config_unknown_and_missing_arguments():
    with pytest.raises(LayerConfigError) as caught:
        layer_from_config({"type": "Conv2D", "filters": 8, "kernal_size": 3})
    assert caught.value.field_name == "kernal_size"
    assert 'did you mean "kernel_size"' in caught.value.message
    with pytest.raises(LayerConfigError) as caught:
        layer_from_config({"type": "Conv2D", "filters": 8})
    assert caught.value.field_name == "kernel_size" and "missing" in caught.value.message
    with pytest.raises(LayerConfigError) as caught:
        layer_from_config({"type": "Flatten", "units": 3})
    assert caught.value.field_name == "units"


def test_arguments_are_normalised_once():
    layer = Conv2D(filters=8, kernel_size=3, padding="SAME", activation="ReLU", strides=[2, 2])
    assert (layer.kernel_size, layer.strides, layer.padding, layer.activation) == ((3, 3), (2, 2), "same", "relu")
    assert layer == Conv2D(filters=8, kernel_size=(3, 3), padding="same", activation="relu", strides=2)
    assert ZeroPadding2D(padding=[1, 2]).padding == ((1, 1), (2, 2))
    assert BatchNormalization(epsilon=0).epsilon == 0.0


def test_every_argument_error_is_a_convtui_error():
    assert issubclass(LayerConfigError, ConvtuiError) and issubclass(ShapeError, ConvtuiError)


# --- "same" padding: TensorFlow's rule ------------------------------------------------------


def brute_force_same_pads(n, k, s, d):
    """The least total zero padding that gives ceil(n/s) windows, counted one by one; odd pixel last."""
    wanted = -(-n // s)
    span = d * (k - 1) + 1
    total = 0
    while sum(1 for start in range(0, n + total) if start % s == 0 and start + span <= n + total) < wanted:
        total += 1
    return (total // 2, total - total // 2)


def test_same_pads_matches_brute_force():
    for n in range(1, 21):
        for k in range(1, 8):
            for s in range(1, 5):
                for d in range(1, 4):
                    assert same_pads(n, k, s, d) == brute_force_same_pads(n, k, s, d), (n, k, s, d)


@pytest.mark.parametrize(
    ("n", "k", "s", "expected"),
    [(4, 2, 1, (0, 1)), (5, 4, 1, (1, 2)), (28, 3, 1, (1, 1)), (8, 3, 2, (0, 1)), (7, 3, 2, (1, 1)), (224, 7, 2, (2, 3))],
)
def test_same_pads_puts_the_odd_pixel_at_the_end(n, k, s, expected):
    # TensorFlow: pad_total = max((ceil(n/s) - 1)*s + k - n, 0), pad_before = pad_total // 2
    assert same_pads(n, k, s) == expected


def test_effective_kernel():
    assert [effective_kernel(3, d) for d in (1, 2, 3)] == [3, 5, 7]


# --- published figures ----------------------------------------------------------------------


def vgg16():
    layers = []
    for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        layers += [Conv2D(filters=filters, kernel_size=3, padding="same", activation="relu") for _ in range(convs)]
        layers.append(MaxPooling2D(pool_size=2, strides=2))
    layers += [Flatten(), Dense(units=4096, activation="relu"), Dense(units=4096, activation="relu")]
    layers.append(Dense(units=1000, activation="softmax"))
    return Stack((224, 224, 3), tuple(layers))


def test_vgg16_matches_keras_applications_and_torchvision():
    info = vgg16().infer()
    assert info.output_shape == (1000,)
    assert info.layers[17].output_shape == (7, 7, 512)
    assert info.total_params == 138_357_544  # keras.applications.VGG16().summary()
    assert round(info.total_macs / 1e9, 2) == 15.47  # torchvision: VGG16 15.47 GFLOPS (multiply-adds)


def mobilenet_v1():
    """keras.applications.MobileNet(alpha=1.0, include_top=True), layer for layer (no Reshape needed)."""

    def conv_bn(filters, strides):
        padding = [ZeroPadding2D(padding=[[0, 1], [0, 1]])] if strides == 2 else []
        return [*padding, Conv2D(filters=filters, kernel_size=3, strides=strides, padding="valid" if strides == 2 else "same", use_bias=False), BatchNormalization(), ReLU(max_value=6)]

    def depthwise_block(filters, strides):
        padding = [ZeroPadding2D(padding=[[0, 1], [0, 1]])] if strides == 2 else []
        return [
            *padding,
            DepthwiseConv2D(kernel_size=3, strides=strides, padding="valid" if strides == 2 else "same", use_bias=False),
            BatchNormalization(),
            ReLU(max_value=6),
            Conv2D(filters=filters, kernel_size=1, use_bias=False),
            BatchNormalization(),
            ReLU(max_value=6),
        ]

    layers = conv_bn(32, 2)
    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5, (1024, 2), (1024, 1)]
    for filters, strides in blocks:
        layers += depthwise_block(filters, strides)
    layers += [GlobalAveragePooling2D(keepdims=True), Dropout(rate=0.001), Conv2D(filters=1000, kernel_size=1, padding="same")]
    layers += [Flatten(), Activation(activation="softmax")]
    return Stack((224, 224, 3), tuple(layers))


def test_mobilenet_v1_matches_keras_applications_and_the_paper():
    info = mobilenet_v1().infer()
    assert info.valid
    assert info.output_shape == (1000,)
    # keras.applications.MobileNet().summary(): Total 4,253,864, Trainable 4,231,976, Non-trainable 21,888
    assert (info.total_params, info.trainable_params, info.non_trainable_params) == (4_253_864, 4_231_976, 21_888)
    # Howard et al. 2017, Table 8: 1.0 MobileNet-224, 569 million mult-adds
    assert round(info.total_macs / 1e6) == 569


def test_keras_io_simple_mnist_convnet():
    stack = Stack(
        (28, 28, 1),
        (
            Conv2D(filters=32, kernel_size=3, activation="relu"),
            MaxPooling2D(pool_size=2),
            Conv2D(filters=64, kernel_size=3, activation="relu"),
            MaxPooling2D(pool_size=2),
            Flatten(),
            Dropout(rate=0.5),
            Dense(units=10, activation="softmax"),
        ),
    )
    info = stack.infer()
    # keras.io/examples/vision/mnist_convnet: (26,26,32) (13,13,32) (11,11,64) (5,5,64) (1600) ... Total params: 34,826
    assert [layer.output_shape for layer in info.layers] == [
        (26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (1600,), (1600,), (10,)
    ]  # fmt: skip
    assert [layer.params for layer in info.layers] == [320, 0, 18_496, 0, 0, 0, 16_010]
    assert info.total_params == 34_826
