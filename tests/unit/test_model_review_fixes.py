"""A new user's review of the model: the receptive field after Flatten and Reshape, and the one-line
messages for an output that is the input, a layer taking itself, a plain layer given two inputs, a
real Keras argument convtui does not support, and a mistyped enumerated value.
"""

from __future__ import annotations

import json
import math

import pytest

from convtui.errors import LayerConfigError, PresetError
from convtui.model import Stack, layer_from_config, load_preset, parse_preset
from convtui.model.explain import explain
from convtui.model.layers import (
    Activation,
    Add,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    LayerNormalization,
    MaxPooling2D,
    ReLU,
    Reshape,
    UpSampling2D,
)
from convtui.render.summary import summary_json

DOWNSAMPLING = (Conv2D(filters=4, kernel_size=5, strides=2), MaxPooling2D(pool_size=3, strides=2))
"""On a 20x20 input: 5x5 then 5 + (3-1)*2 = 9x9, each output a 9x9 patch of the input."""


def fields(*layers, input_shape=(20, 20, 1)):
    stack_info = Stack(input_shape, (*DOWNSAMPLING, *layers)).infer()
    assert stack_info.valid, stack_info.first_invalid
    return [info.receptive_field for info in stack_info.layers[len(DOWNSAMPLING):]]


def field_formula(*layers, index=-1):
    stack_info = Stack((20, 20, 1), (*DOWNSAMPLING, *layers)).infer()
    return next(f for f in explain(stack_info, index % len(stack_info.layers)) if f.quantity == "receptive field")


# --- 1. Flatten and Reshape copy values: each keeps its pixel's field ------------------------


@pytest.mark.parametrize("relayout", [Flatten(), Reshape(target_shape=[-1]), Reshape(target_shape=[9, 4]), Reshape(target_shape=[4, 9])])
def test_a_relayout_keeps_each_values_field_and_drops_its_position(relayout):
    (field,) = fields(relayout)
    assert not field.is_global and field.size == (9, 9)
    assert field.is_laid_out and all(math.isnan(value) for value in (*field.jump, *field.start))


@pytest.mark.parametrize("pixelwise", [Dropout(rate=0.5), Activation(activation="relu"), ReLU(), Activation(activation="sigmoid")])
def test_pixelwise_layers_after_flatten_keep_the_field(pixelwise):
    assert fields(Flatten(), pixelwise)[-1].size == (9, 9) and not fields(Flatten(), pixelwise)[-1].is_global


@pytest.mark.parametrize(
    "mixing", [Dense(units=3), Activation(activation="softmax"), LayerNormalization()], ids=["dense", "softmax", "layer-norm"]
)
def test_layers_that_mix_a_flattened_vector_make_the_field_global(mixing):
    assert fields(Flatten(), mixing)[-1].is_global


def test_dense_and_softmax_on_a_map_stay_per_pixel_and_layer_norm_over_the_whole_map_is_global():
    assert fields(Dense(units=3))[-1].size == (9, 9)
    assert fields(Activation(activation="softmax"))[-1].size == (9, 9)
    assert fields(LayerNormalization(axis=[1, 2, 3]))[-1].is_global
    assert fields(Reshape(target_shape=[9, 4]), Dense(units=3))[-1].size == (9, 9)  # Dense per position of (9, 4)


def test_global_pooling_then_flatten_stays_global():
    assert fields(GlobalAveragePooling2D(keepdims=True), Flatten())[-1].is_global


def test_a_one_value_window_over_laid_out_values_keeps_the_field_and_a_wider_one_is_not_tracked():
    kept, wide = fields(Flatten(), Reshape(target_shape=[3, 3, 4]), Conv2D(filters=2, kernel_size=1), Conv2D(filters=2, kernel_size=3))[2:]
    assert kept.size == (9, 9) and kept.is_laid_out
    assert wide is None
    assert fields(Flatten(), Reshape(target_shape=[3, 3, 4]), UpSampling2D(), Flatten(), Dense(units=2))[-1].is_global


def test_a_merge_of_laid_out_values_with_a_maps_pixels_is_not_tracked():
    stack = Stack(
        (4, 4, 1),
        (Conv2D(filters=1, kernel_size=3, padding="same"), Flatten(), Reshape(target_shape=[4, 4, 1]), Add()),
        inputs=(None, None, None, ("reshape", "conv2d")),
    )
    assert stack.infer().layers[3].receptive_field is None


def test_mnist_convnet_flatten_keeps_10x10_and_only_its_dense_is_global():
    layers = load_preset("mnist-convnet").infer().layers
    rows = {info.layer.type_name: info.receptive_field for info in layers}
    assert rows["Flatten"].size == (10, 10) and not rows["Flatten"].is_global
    assert rows["Dropout"].size == (10, 10) and not rows["Dropout"].is_global
    assert rows["Dense"].is_global


def test_explain_says_flatten_copies_one_pixel_and_has_no_jump():
    formula = field_formula(Flatten())
    assert formula.formula == "9x9 (unchanged), no jump"
    assert "copy of one pixel's value" in formula.reason and "no jump or start" in formula.reason
    after = field_formula(Flatten(), Dropout(rate=0.5))
    assert after.formula == "9x9 (unchanged)" and "no jump" in after.reason and "nan" not in after.reason


def test_explain_of_dense_after_flatten_is_global_and_of_an_untracked_field_says_why():
    assert field_formula(Flatten(), Dense(units=3)).formula == "global"
    untracked = field_formula(Flatten(), Reshape(target_shape=[3, 3, 4]), Conv2D(filters=2, kernel_size=3))
    assert untracked.formula == "not tracked" and "Flatten or Reshape" in untracked.reason


def test_json_gives_the_size_after_flatten_and_no_jump_or_start():
    stack_info = Stack((20, 20, 1), (*DOWNSAMPLING, Flatten(), Dense(units=3))).infer()
    layers = json.loads(summary_json(stack_info, "keras"))["layers"]
    assert layers[2]["receptive_field"] == {"size": [9, 9], "jump": [None, None], "start": [None, None]}
    assert layers[3]["receptive_field"] == "global"


# --- 2-4. graph messages --------------------------------------------------------------------

HEADER = 'name = "g"\ninput_shape = [8, 8, 1]\n'
CONV = 'type = "Conv2D"\nfilters = 2\nkernel_size = 3'


def preset_error(*tables: str, header: str = HEADER) -> str:
    with pytest.raises(PresetError) as caught:
        parse_preset(header + "".join(f"\n[[layers]]\n{table}\n" for table in tables), "g.toml")
    return str(caught.value)


def test_outputs_naming_the_input_says_the_input_cannot_be_the_output():
    message = preset_error(CONV, header=HEADER + 'outputs = ["input"]\n')
    assert message == (
        "g.toml: field 'outputs': \"input\" is the network's input, which cannot also be its output:"
        " name a layer in outputs = [...], or leave outputs out for the last layer"
    )


def test_an_unknown_output_is_not_said_to_be_above_anything_and_is_not_offered_the_input():
    assert preset_error(CONV, header=HEADER + 'outputs = ["conv2dd"]\n') == "g.toml: field 'outputs': no layer named \"conv2dd\"; did you mean \"conv2d\"?"
    assert "did you mean" not in preset_error(CONV, header=HEADER + 'outputs = ["inptu"]\n')


def test_a_layer_taking_itself_says_it_cannot_take_its_own_output():
    message = preset_error(CONV, f'{CONV}\nname = "a"\ninputs = ["a"]')
    assert message == (
        "g.toml: layer 1 (Conv2D): field 'inputs': \"a\" is this layer, and a layer cannot take its own output;"
        ' name a layer above it, or leave inputs out to take the one just above ("conv2d")'
    )
    first = preset_error(f'{CONV}\nname = "a"\ninputs = ["a"]')
    assert first.endswith('cannot take its own output; the first layer takes "input", the network\'s input: write that, or leave inputs out')


def test_a_plain_layer_given_two_inputs_is_told_to_keep_one_or_merge_them():
    message = preset_error(f'{CONV}\nname = "a"', f'{CONV}\ninputs = ["a", "input"]')
    assert message == (
        "g.toml: layer 1 (Conv2D): field 'inputs': Conv2D takes one input, given 2 (\"a\", \"input\"); keep one of them,"
        " or join them first with a merge layer (Add, Concatenate, Multiply, ...) and take that"
    )
    assert preset_error(CONV, 'type = "Subtract"\ninputs = ["input", "input", "conv2d"]').endswith("keep 2 of them in inputs = [...]")
    assert preset_error(CONV, 'type = "Add"').endswith("list them in inputs = [...]")


# --- 5. real Keras arguments convtui does not take ------------------------------------------


def config_error(layer_type: str, **arguments) -> LayerConfigError:
    required = {"Conv2D": {"filters": 2, "kernel_size": 3}, "Conv2DTranspose": {"filters": 2, "kernel_size": 3}, "Dense": {"units": 2}}
    with pytest.raises(LayerConfigError) as caught:
        layer_from_config({"type": layer_type, **required.get(layer_type, {}), **arguments})
    return caught.value


def test_output_padding_says_convtui_does_not_support_it_and_what_it_computes():
    error = config_error("Conv2DTranspose", output_padding=1)
    assert error.field_name == "output_padding"
    assert error.message.startswith("a Keras argument that convtui does not support: ")
    assert "did you mean" not in error.message and "n*s" in error.message and "remove it" in error.message


@pytest.mark.parametrize(
    ("layer_type", "key", "words"),
    [
        ("Conv2D", "bias_initializer", '"zeros"'),
        ("BatchNormalization", "gamma_initializer", '"ones"'),
        ("Conv2D", "kernel_regularizer", "training penalty"),
        ("Dense", "activity_regularizer", "training penalty"),
        ("Dense", "kernel_constraint", "limit on weights"),
        ("Flatten", "data_format", "channels-last"),
        ("MaxPooling2D", "data_format", "channels-last"),
        ("Conv2DTranspose", "dilation_rate", "no dilation"),
        ("BatchNormalization", "axis", "channels"),
        ("BatchNormalization", "synchronized", "devices"),
        ("Dense", "lora_rank", "LoRA"),
        ("Conv2D", "input_shape", "top of the file"),
        ("ReLU", "dtype", "float32"),
        ("Dropout", "trainable", "every weight"),
    ],
)
def test_keras_arguments_convtui_does_not_take_say_so(layer_type, key, words):
    error = config_error(layer_type, **{key: 1})
    assert error.field_name == key and error.message.startswith("a Keras argument that convtui does not support: ")
    assert words in error.message and "remove it" in error.message


@pytest.mark.parametrize(("layer_type", "key", "meant"), [("Conv2DTranspose", "paddng", "padding"), ("MaxPooling2D", "dilation_rate", None)])
def test_typos_and_arguments_keras_does_not_take_on_that_type_stay_unknown(layer_type, key, meant):
    message = config_error(layer_type, **{key: 1}).message
    assert message.startswith(f'unknown argument "{key}"')
    assert (f'did you mean "{meant}"' in message) if meant else "does not support" not in message


# --- 6. enumerated values get a "did you mean" ----------------------------------------------


@pytest.mark.parametrize(
    ("layer_type", "key", "typed", "meant"),
    [
        ("Conv2D", "kernel_initializer", "hee_normal", "he_normal"),
        ("Dense", "kernel_initializer", "Glorot_Unifrom", "glorot_uniform"),
        ("MaxPooling2D", "padding", "smae", "same"),
        ("Conv2D", "padding", "vaild", "valid"),
        ("UpSampling2D", "interpolation", "bilinar", "bilinear"),
    ],
)
def test_a_mistyped_enumerated_value_gets_the_one_it_meant(layer_type, key, typed, meant):
    error = config_error(layer_type, **{key: typed})
    assert error.field_name == key
    assert error.message.endswith(f'found "{typed}" (a string); did you mean "{meant}"?')


def test_a_value_far_from_every_option_only_lists_them():
    message = config_error("Conv2D", kernel_initializer="orthogonal").message
    assert "did you mean" not in message and '"he_normal"' in message
