"""The layer types and arguments added for branching networks, against Keras 3's rules.

Shapes, weights and counts are Keras's (each layer's build() and compute_output_shape in
keras/src/layers, keras.applications.convnext for LayerScale); the figures from running Keras
(Normalization counting its int count weight as one parameter) are checked against real Keras
in tests/engine/test_new_layer_ops.py.
"""

from __future__ import annotations

import math

import pytest

from convtui.errors import LayerConfigError
from convtui.model import Stack, layer_from_config, layer_to_config, parse_preset, preset_text
from convtui.model.layers import (
    Activation,
    Conv2D,
    Cropping2D,
    Dense,
    Dropout,
    Flatten,
    Identity,
    LayerNormalization,
    LayerScale,
    Normalization,
    Rescaling,
    Reshape,
)


def single(input_shape, layer):
    """The LayerInfo of a one-layer stack."""
    return Stack(tuple(input_shape), (layer,)).infer().layers[0]


def weights_of(info):
    return {weight.name: (weight.shape, weight.trainable) for weight in info.weights}


# --- Rescaling and Normalization ------------------------------------------------------------


def test_rescaling_keeps_the_shape_and_has_no_weights():
    info = single((32, 32, 3), Rescaling(scale=1 / 255))
    assert info.output_shape == (32, 32, 3) and info.weights == () and info.macs == 0
    assert Rescaling(scale=1 / 255).offset == 0.0
    assert single((4, 4, 3), Rescaling(scale=[1, 2, 3], offset=-1)).is_valid


def test_rescaling_per_channel_needs_one_value_per_channel():
    info = single((4, 4, 3), Rescaling(scale=[0.5, 0.25]))
    assert info.status == "invalid" and info.error_field == "scale"
    assert "2 values" in info.error and "3" in info.error
    assert single((4, 4, 3), Rescaling(scale=1.0, offset=[1, 2, 3, 4])).error_field == "offset"


@pytest.mark.parametrize(
    ("arguments", "input_shape", "expected"),
    [
        # EfficientNet's Normalization(axis=-1): mean (C,), variance (C,), count () -> 2C + 1, all non-trainable
        (dict(), (5, 5, 3), {"mean": ((3,), False), "variance": ((3,), False), "count": ((), False)}),
        (dict(axis=None), (5, 5, 3), {"mean": ((), False), "variance": ((), False), "count": ((), False)}),
        (dict(axis=[1, 2]), (5, 6, 3), {"mean": ((5, 6), False), "variance": ((5, 6), False), "count": ((), False)}),
        (dict(axis=[-1, 1]), (5, 6, 3), {"mean": ((5, 3), False), "variance": ((5, 3), False), "count": ((), False)}),
    ],
)
def test_normalization_without_statistics_has_keras_non_trainable_weights(arguments, input_shape, expected):
    info = single(input_shape, Normalization(**arguments))
    assert info.output_shape == input_shape
    assert weights_of(info) == expected
    assert info.trainable_params == 0
    assert info.non_trainable_params == sum(math.prod(shape) for shape, _ in expected.values())  # count's () is 1


def test_normalization_counts_as_keras_summary_does():
    """Keras's summary of Normalization(axis=-1) on (None, 5, 5, 3): 7 params, all non-trainable."""
    info = single((5, 5, 3), Normalization())
    assert (info.params, info.trainable_params, info.non_trainable_params) == (7, 0, 7)
    assert single((5, 6, 3), Normalization(axis=[1, 2])).params == 61


def test_normalization_with_given_statistics_has_no_weights():
    layer = Normalization(mean=[123.675, 116.28, 103.53], variance=[3409.98, 3262.69, 3291.79])  # ConvNeXt's PreStem
    info = single((8, 8, 3), layer)
    assert info.weights == () and info.params == 0 and info.output_shape == (8, 8, 3)
    assert single((8, 8, 3), Normalization(mean=0.5, variance=0.25)).weights == ()


@pytest.mark.parametrize(
    ("arguments", "field", "words"),
    [
        (dict(mean=1.0), "variance", "both"),
        (dict(variance=1.0), "mean", "both"),
        (dict(mean=[1, 2], variance=[1, 2, 3]), "variance", "same shape"),
        (dict(mean=[1, 2], variance=1.0), "variance", "same shape"),
        (dict(mean=[1.0], variance=[1.0], axis=None), "mean", "axis"),
        (dict(mean=1.0, variance=-1.0), "variance", "found -1.0"),
        (dict(axis=0), "axis", "batch axis"),
        (dict(axis=[1, 1]), "axis", "distinct"),
        (dict(axis="channels"), "axis", 'found "channels"'),
        (dict(invert="yes"), "invert", "true or false"),
    ],
)
def test_normalization_argument_errors_name_the_field(arguments, field, words):
    with pytest.raises(LayerConfigError) as caught:
        Normalization(**arguments)
    assert caught.value.field_name == field and caught.value.layer_type == "Normalization"
    assert words in caught.value.message


def test_normalization_list_of_means_must_fit_the_last_kept_axis():
    info = single((4, 4, 3), Normalization(mean=[1, 2], variance=[1, 1]))
    assert info.status == "invalid" and info.error_field == "mean"
    assert single((4, 4, 3), Normalization(mean=[1.0], variance=[2.0])).is_valid  # one value broadcasts
    assert single((4, 4, 3), Normalization(axis=5)).error_field == "axis"


# --- LayerNormalization ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "input_shape", "expected"),
    [
        (dict(), (7, 7, 96), {"gamma": ((96,), True), "beta": ((96,), True)}),
        (dict(center=False), (7, 7, 96), {"gamma": ((96,), True)}),
        (dict(scale=False), (7, 7, 96), {"beta": ((96,), True)}),
        (dict(scale=False, center=False), (7, 7, 96), {}),
        (dict(rms_scaling=True), (7, 7, 96), {"gamma": ((96,), True)}),  # gamma even with scale=False; never beta
        (dict(rms_scaling=True, scale=False), (7, 7, 96), {"gamma": ((96,), True)}),
        (dict(axis=[1, 2, 3]), (3, 4, 5), {"gamma": ((3, 4, 5), True), "beta": ((3, 4, 5), True)}),
        (dict(axis=[-2, -1]), (3, 4, 5), {"gamma": ((4, 5), True), "beta": ((4, 5), True)}),
    ],
)
def test_layer_normalization_weights_follow_keras_build(arguments, input_shape, expected):
    info = single(input_shape, LayerNormalization(**arguments))
    assert info.output_shape == input_shape
    assert weights_of(info) == expected
    assert info.macs == 0 and info.receptive_field.size == (1.0, 1.0)


def test_layer_normalization_after_flatten_normalises_the_vector():
    info = Stack((2, 5, 1), (Flatten(), LayerNormalization())).infer().layers[1]
    assert info.output_shape == (10,) and weights_of(info) == {"gamma": ((10,), True), "beta": ((10,), True)}


def test_layer_normalization_defaults_are_keras():
    layer = LayerNormalization()
    assert (layer.axis, layer.epsilon, layer.center, layer.scale, layer.rms_scaling) == ((-1,), 1e-3, True, True, False)
    assert LayerNormalization(axis=[-1]) == layer


def test_layer_normalization_axis_errors():
    assert single((4, 4, 3), LayerNormalization(axis=4)).error_field == "axis"
    with pytest.raises(LayerConfigError) as caught:
        LayerNormalization(axis=[1, -1])
    assert caught.value.field_name == "axis" and "positive" in caught.value.message
    with pytest.raises(LayerConfigError) as caught:
        LayerNormalization(epsilon=-1)
    assert caught.value.field_name == "epsilon"


# --- Reshape, Cropping2D, Identity ----------------------------------------------------------


@pytest.mark.parametrize(
    ("input_shape", "target", "expected"),
    [
        ((7, 7, 64), [-1, 64], (49, 64)),
        ((7, 7, 64), [7, 7, 8, 8], (7, 7, 8, 8)),
        ((7, 7, 64), [-1], (7 * 7 * 64,)),
        ((1, 1, 12), [1, 1, 12], (1, 1, 12)),
        ((2, 3, 4), [4, -1, 2], (4, 3, 2)),
    ],
)
def test_reshape_follows_compute_reshape_output_shape(input_shape, target, expected):
    info = single(input_shape, Reshape(target_shape=target))
    assert info.output_shape == expected and info.params == 0


def test_reshape_of_the_channels_only_keeps_the_receptive_field_and_any_other_keeps_its_size_but_not_its_positions():
    chain = Stack((8, 8, 4), (Conv2D(filters=4, kernel_size=3), Reshape(target_shape=[6, 6, 2, 2]))).infer().layers
    assert chain[1].receptive_field == chain[0].receptive_field
    chain = Stack((8, 8, 4), (Conv2D(filters=4, kernel_size=3), Reshape(target_shape=[36, 4]))).infer().layers
    field = chain[1].receptive_field
    assert not field.is_global and field.size == (3, 3) and field.is_laid_out


@pytest.mark.parametrize(("target", "words"), [([5, 5], "12"), ([-1, 5], "a multiple of 5")])
def test_reshape_to_another_count_is_an_invalid_layer_saying_why(target, words):
    info = single((2, 3, 2), Reshape(target_shape=target))
    assert info.status == "invalid" and info.error_field == "target_shape"
    assert words in info.error


@pytest.mark.parametrize("target", [[], [0, 4], [-1, -1], 12, [2, "3"], [-2, 6]])
def test_reshape_target_errors(target):
    with pytest.raises(LayerConfigError) as caught:
        Reshape(target_shape=target)
    assert caught.value.field_name == "target_shape"


@pytest.mark.parametrize(
    ("cropping", "normal"),
    [
        (2, ((2, 2), (2, 2))),
        ([1, 3], ((1, 1), (3, 3))),
        ([[1, 2], [0, 3]], ((1, 2), (0, 3))),
        ([1, [0, 2]], ((1, 1), (0, 2))),  # Keras's standardize_tuple takes each entry as an int or a pair
    ],
)
def test_cropping2d_takes_keras_forms(cropping, normal):
    layer = Cropping2D(cropping=cropping)
    assert layer.cropping == normal
    (top, bottom), (left, right) = normal
    info = single((10, 9, 3), layer)
    assert info.output_shape == (10 - top - bottom, 9 - left - right, 3)
    assert info.receptive_field.start == (top, left) and info.receptive_field.size == (1.0, 1.0)


def test_cropping2d_after_a_convolution_moves_the_field_by_the_rows_removed():
    conv, crop = Stack((12, 12, 1), (Conv2D(filters=1, kernel_size=3, strides=2), Cropping2D(cropping=[[1, 0], [2, 0]]))).infer().layers
    assert crop.receptive_field.size == conv.receptive_field.size
    assert crop.receptive_field.start == (conv.receptive_field.start[0] + 2, conv.receptive_field.start[1] + 4)


def test_cropping_everything_is_invalid_and_negative_cropping_is_refused():
    info = single((4, 6, 2), Cropping2D(cropping=[[2, 2], [0, 0]]))
    assert info.status == "invalid" and info.error_field == "cropping"
    assert "4x6" in info.error
    assert single((4, 4, 2), Flatten()).is_valid
    assert Stack((8, 8, 2), (Flatten(), Cropping2D(cropping=1))).infer().layers[1].status == "invalid"
    for bad in (-1, [1, 2, 3], [[1, 2, 3], 0]):
        with pytest.raises(LayerConfigError) as caught:
            Cropping2D(cropping=bad)
        assert caught.value.field_name == "cropping"


def test_identity_passes_the_shape_through():
    info = single((5, 5, 2), Identity())
    assert info.output_shape == (5, 5, 2) and info.weights == () and info.layer.label == "Identity"


# --- LayerScale, Dropout, activations -------------------------------------------------------


def test_layer_scale_is_convnexts_one_trainable_gamma():
    info = single((7, 7, 96), LayerScale(init_values=1e-6, projection_dim=96))
    assert weights_of(info) == {"gamma": ((96,), True)}
    assert info.weights[0].initial_value == 1e-6
    assert info.output_shape == (7, 7, 96) and info.trainable_params == 96


def test_layer_scale_needs_projection_dim_equal_to_the_channels():
    info = single((7, 7, 96), LayerScale(init_values=1e-6, projection_dim=48))
    assert info.status == "invalid" and info.error_field == "projection_dim" and "projection_dim = 96" in info.error
    with pytest.raises(LayerConfigError) as caught:
        LayerScale(init_values=float("nan"), projection_dim=4)
    assert caught.value.field_name == "init_values"


def test_dropout_takes_noise_shape_and_seed_and_a_rate_of_one():
    layer = Dropout(rate=1, noise_shape=[None, 1, "None", 3], seed=42)
    assert (layer.rate, layer.noise_shape, layer.seed) == (1.0, (None, 1, None, 3), 42)
    assert single((4, 4, 3), layer).output_shape == (4, 4, 3)
    assert layer.label == "Dropout(1, noise (None, 1, None, 3))"


@pytest.mark.parametrize("noise_shape", [[None, 1, 1], [None, 2, 1, 3], [None, 1, 1, 5]])
def test_a_noise_shape_that_does_not_broadcast_is_an_invalid_layer(noise_shape):
    info = single((4, 4, 3), Dropout(rate=0.5, noise_shape=noise_shape))
    assert info.status == "invalid" and info.error_field == "noise_shape"


@pytest.mark.parametrize(("field", "value"), [("noise_shape", [0, 1]), ("noise_shape", "none"), ("noise_shape", []), ("seed", -1), ("seed", 1.5), ("rate", 1.01)])
def test_dropout_argument_errors_name_the_field(field, value):
    with pytest.raises(LayerConfigError) as caught:
        Dropout(**{"rate": 0.5, field: value})
    assert caught.value.field_name == field


@pytest.mark.parametrize("name", ["hard_silu", "hard_swish", "mish", "log_softmax", "exponential", "softsign", "celu", "squareplus"])
def test_keras_activation_strings_are_accepted_everywhere(name):
    assert Activation(activation=name).activation == name
    assert Dense(units=2, activation=name).activation == name
    assert Conv2D(filters=2, kernel_size=1, activation=name.upper()).activation == name


@pytest.mark.parametrize("name", ["glu", "threshold", "sparsemax", "swiglu"])
def test_activations_keras_cannot_apply_as_a_string_are_refused(name):
    with pytest.raises(LayerConfigError) as caught:
        Activation(activation=name)
    assert caught.value.field_name == "activation"


# --- labels and presets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "label"),
    [
        (Rescaling(scale=0.5, offset=-1), "Rescaling(/2, -1)"),
        (Rescaling(scale=2, offset=0.5), "Rescaling(x2, +0.5)"),
        (Rescaling(scale=1 / 255), "Rescaling(/255)"),
        (Rescaling(scale=1 / 127.5, offset=[1, 2]), "Rescaling(x0.007843, +[1, 2])"),
        (Rescaling(scale=1e-309), "Rescaling(x1e-309)"),
        (Normalization(), "Normalization"),
        (Normalization(axis=None, invert=True), "Normalization(axis none, invert)"),
        (LayerNormalization(epsilon=1e-6), "LayerNormalization(eps 1e-06)"),
        (Reshape(target_shape=[-1, 64]), "Reshape((-1, 64))"),
        (Cropping2D(cropping=[[1, 0], [0, 1]]), "Cropping2D([[1, 0], [0, 1]])"),
        (LayerScale(init_values=1e-6, projection_dim=96), "LayerScale(1e-06, 96)"),
    ],
)
def test_labels_are_short(layer, label):
    assert layer.label == label


NEW_LAYERS = [
    Rescaling(scale=[0.5, 0.5, 2.0], offset=-1.0),
    Rescaling(scale=1 / 255),
    Normalization(),
    Normalization(axis=None, mean=2.0, variance=4.0),
    Normalization(mean=[2.0, 2.0, 2.0], variance=[1.0, 1.0, 1.0], invert=True),
    Normalization(axis=[1, 2]),
    LayerNormalization(axis=[1, 2, 3], epsilon=1e-6, center=False),
    LayerNormalization(rms_scaling=True),
    Reshape(target_shape=[4, 4]),
    Reshape(target_shape=[-1]),
    Cropping2D(cropping=[1, [0, 2]]),
    Identity(),
    LayerScale(init_values=1e-6, projection_dim=3),
    Dropout(rate=0.2, noise_shape=[None, 1, 1, 3], seed=3),
    Dropout(rate=0.2, noise_shape=[None, None, None, None]),
]


@pytest.mark.parametrize("layer", NEW_LAYERS, ids=lambda layer: layer.label)
def test_new_layers_round_trip_through_a_preset(layer):
    stack = Stack((4, 4, 3), (layer,))
    assert parse_preset(preset_text(stack), "x").layers == (layer,)
    assert layer_from_config(layer_to_config(layer)) == layer


def test_a_preset_writes_sequences_in_full_and_none_as_a_string():
    text = preset_text(Stack((4, 4, 3), (Reshape(target_shape=[4, 4]), Dropout(rate=0.2, noise_shape=[None, 1, 4]))))
    assert "target_shape = [4, 4]" in text
    assert 'noise_shape = ["None", 1, 4]' in text
