"""The network as a graph: names, inputs and outputs in presets, structure errors, propagation
over branches and merges, and the edits that keep a chain a chain.
"""

from __future__ import annotations

import pytest

from convtui.errors import PresetError
from convtui.model import Stack, parse_preset, preset_text
from convtui.model.graph import snake_case
from convtui.model.layers import (
    LAYER_TYPES,
    Add,
    Concatenate,
    Conv2D,
    Dense,
    GlobalAveragePooling2D,
    MaxPooling2D,
    Multiply,
    Subtract,
    broadcast_shapes,
)

HEADER = 'name = "g"\ninput_shape = [28, 28, 1]\n'


def preset(*tables: str, header: str = HEADER) -> Stack:
    return parse_preset(header + "".join(f"\n[[layers]]\n{table}\n" for table in tables), "g.toml")


def preset_error(*tables: str, header: str = HEADER) -> str:
    with pytest.raises(PresetError) as caught:
        preset(*tables, header=header)
    return str(caught.value)


CONV32 = 'type = "Conv2D"\nfilters = 32\nkernel_size = 3\npadding = "same"'
CONV64 = 'type = "Conv2D"\nfilters = 64\nkernel_size = 3\npadding = "same"'


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "keras_name"),
    [
        ("Conv2D", "conv2d"),
        ("ReLU", "re_lu"),
        ("MaxPooling2D", "max_pooling2d"),
        ("Conv2DTranspose", "conv2d_transpose"),
        ("GlobalAveragePooling2D", "global_average_pooling2d"),
        ("BatchNormalization", "batch_normalization"),
        ("DepthwiseConv2D", "depthwise_conv2d"),
        ("ZeroPadding2D", "zero_padding2d"),
        ("UpSampling2D", "up_sampling2d"),
    ],
)
def test_automatic_names_are_keras_snake_case(type_name: str, keras_name: str) -> None:
    assert snake_case(type_name) == keras_name


def test_automatic_names_count_per_type_in_file_order_and_skip_names_taken() -> None:
    stack = preset(CONV32, 'type = "MaxPooling2D"', CONV64, f'{CONV64}\nname = "conv2d_1x"', CONV32)
    assert stack.names == ("conv2d", "max_pooling2d", "conv2d_1", "conv2d_1x", "conv2d_2")
    taken = preset(f'{CONV32}\nname = "conv2d_1"', CONV32, CONV32)
    assert taken.names == ("conv2d_1", "conv2d", "conv2d_2")


def test_a_chain_file_means_what_it_always_meant() -> None:
    stack = preset(CONV32, CONV64)
    assert stack.is_chain and stack.inputs == (None, None) and stack.outputs == ()
    infos = stack.infer().layers
    assert [(info.name, info.inputs) for info in infos] == [("conv2d", ("input",)), ("conv2d_1", ("conv2d",))]
    assert preset_text(stack) == preset_text(Stack((28, 28, 1), stack.layers, name="g"))
    assert "inputs" not in preset_text(stack) and "\nname = " not in preset_text(stack)


def test_inputs_naming_the_layer_above_are_the_default() -> None:
    stack = preset(CONV32, f'{CONV64}\ninputs = ["conv2d"]')
    assert stack.inputs == (None, None) and stack.is_chain


# --- structure errors: one line naming the layer and the name -------------------------------


def test_an_unknown_input_is_named_with_a_suggestion() -> None:
    message = preset_error(CONV32, 'type = "Add"\ninputs = ["conv2dd", "input"]')
    assert message == 'g.toml: layer 1 (Add): field \'inputs\': no layer named "conv2dd" above it; did you mean "conv2d"?'


def test_a_later_input_says_layers_take_only_layers_above() -> None:
    message = preset_error(f'{CONV32}\ninputs = ["conv2d_1"]', CONV64)
    assert message.startswith("g.toml: layer 0 (Conv2D): field 'inputs': \"conv2d_1\" is layer 1, below this one;")


def test_a_duplicate_name_names_both_layers() -> None:
    message = preset_error(f'{CONV32}\nname = "a"', f'{CONV64}\nname = "a"')
    assert message == "g.toml: layer 1 (Conv2D): field 'name': the name \"a\" is taken by layer 0; names must be unique, rename one"


@pytest.mark.parametrize("value", ['"conv2d"', "3", "[]", "[1, 2]"])
def test_inputs_of_the_wrong_type(value: str) -> None:
    message = preset_error(CONV32, f'type = "Add"\ninputs = {value}')
    assert message.startswith("g.toml: layer 1 (Add): field 'inputs': expected a list of layer names")


def test_a_merge_with_too_few_inputs_and_a_plain_layer_with_two() -> None:
    assert preset_error(CONV32, 'type = "Add"') == (
        "g.toml: layer 1 (Add): field 'inputs': Add takes at least 2 inputs, given 1 (\"conv2d\"); list them in inputs = [...]"
    )
    assert "Subtract takes exactly 2 inputs, given 3" in preset_error(CONV32, 'type = "Subtract"\ninputs = ["input", "input", "conv2d"]')
    assert "Conv2D takes one input, given 2" in preset_error(CONV32, f'{CONV64}\ninputs = ["input", "conv2d"]')


def test_input_is_reserved_and_outputs_must_name_layers() -> None:
    assert "\"input\" is the network's input" in preset_error(f'{CONV32}\nname = "input"')
    assert preset_error(CONV32, header=HEADER + 'outputs = ["nope"]\n').startswith("g.toml: field 'outputs': no layer named \"nope\"")


# --- propagation over a graph ---------------------------------------------------------------


RESIDUAL = (
    'type = "Conv2D"\nfilters = 32\nkernel_size = 3\nactivation = "relu"',
    'type = "Conv2D"\nfilters = 64\nkernel_size = 3\npadding = "same"',
    'type = "Add"\ninputs = ["conv2d_1", "conv2d"]',
)


def test_a_narrower_main_path_is_not_called_the_shortcut() -> None:
    """The shapes cannot tell which input is the shortcut: the advice names both fixes, neither as the shortcut."""
    stack = Stack(
        (28, 28, 1),
        (Conv2D(filters=32, kernel_size=3), Conv2D(filters=16, kernel_size=3, padding="same"), Conv2D(filters=64, kernel_size=1), Add()),
        names=("conv2d", "conv2d_1", "projection", "add"),
        inputs=(None, None, ("conv2d",), ("conv2d_1", "projection")),
    )
    assert stack.infer().layers[3].error.endswith(
        "put a Conv2D(64, 1x1) after conv2d_1 (on a residual's shortcut: ResNet's projection), or make projection give 16 channels"
    )


def test_an_add_of_unequal_channels_is_invalid_with_the_projection_advice() -> None:
    info = preset(*RESIDUAL).infer()
    add = info.layers[2]
    assert add.status == "invalid" and add.error_field == "inputs"
    assert add.error == (
        "Add needs equal shapes (or sides of 1 that broadcast): conv2d_1 gives (26, 26, 64), conv2d gives (26, 26, 32);"
        " put a Conv2D(64, 1x1) after conv2d (on a residual's shortcut: ResNet's projection), or make conv2d_1 give 32 channels"
    )


def test_a_projection_makes_the_residual_valid() -> None:
    projection = 'type = "Conv2D"\nfilters = 64\nkernel_size = 1\ninputs = ["conv2d"]\nname = "shortcut"'
    stack = preset(*RESIDUAL[:2], projection, 'type = "Add"\ninputs = ["conv2d_1", "shortcut"]')
    info = stack.infer()
    assert info.valid and info.output_shape == (26, 26, 64)
    assert info.layers[3].input_shapes == ((26, 26, 64), (26, 26, 64))
    assert info.total_params == 320 + (9 * 32 * 64 + 64) + (32 * 64 + 64)
    # The receptive field follows the widest path: 3x3 then 3x3 (not the 1x1 shortcut).
    assert info.layers[3].receptive_field.size == (5.0, 5.0)


def test_only_the_layers_that_depend_on_an_invalid_one_are_marked() -> None:
    stack = preset(
        'type = "Conv2D"\nfilters = 8\nkernel_size = 40',
        'type = "Conv2D"\nfilters = 8\nkernel_size = 3\ninputs = ["input"]',
        'type = "MaxPooling2D"\ninputs = ["conv2d"]',
    )
    statuses = [info.status for info in stack.infer().layers]
    assert statuses == ["invalid", "ok", "after_invalid"]
    assert stack.infer().layers[2].error == "follows an invalid layer (layer 0); fix that one first"


def test_a_squeeze_excite_gate_broadcasts_over_the_map() -> None:
    stack = preset(
        CONV32,
        'type = "GlobalAveragePooling2D"\nkeepdims = true',
        'type = "Conv2D"\nfilters = 32\nkernel_size = 1\nactivation = "sigmoid"',
        'type = "Multiply"\ninputs = ["conv2d", "conv2d_1"]',
    )
    info = stack.infer()
    assert [layer.output_shape for layer in info.layers] == [(28, 28, 32), (1, 1, 32), (1, 1, 32), (28, 28, 32)]
    assert info.layers[3].receptive_field.is_global


def test_concatenate_sums_its_axis_and_counts_the_batch_axis_as_keras() -> None:
    shapes = ((28, 28, 64), (28, 28, 128), (28, 28, 32))
    assert Concatenate().infer_inputs(shapes).output_shape == (28, 28, 224)
    assert Concatenate(axis=3).infer_inputs(shapes).output_shape == (28, 28, 224)
    assert Concatenate(axis=1).infer_inputs(((4, 5, 3), (6, 5, 3))).output_shape == (10, 5, 3)
    assert Concatenate(axis=-3).infer_inputs(((4, 5, 3), (6, 5, 3))).output_shape == (10, 5, 3)
    with pytest.raises(Exception, match="equal sides except on axis -1"):
        Concatenate().infer_inputs(((28, 28, 64), (14, 14, 64)))


@pytest.mark.parametrize(
    ("shapes", "expected"),
    [
        (((4, 4, 8), (4, 4, 8)), (4, 4, 8)),
        (((4, 4, 8), (1, 1, 8)), (4, 4, 8)),
        (((1, 4, 1), (3, 1, 5)), (3, 4, 5)),
        (((4, 4, 8), (4, 4, 4)), None),
        (((4, 4, 8), (8,)), (4, 4, 8)),  # Keras lines up the last axes: a vector gates the channels
        (((4, 4, 8), (4,)), None),
        (((4, 4, 8), (4, 8)), (4, 4, 8)),
    ],
)
def test_broadcasting_follows_keras_merge_rule(shapes, expected) -> None:
    assert broadcast_shapes(shapes) == expected


def test_unused_layers_and_explicit_outputs() -> None:
    stack = preset(CONV32, 'type = "Conv2D"\nfilters = 4\nkernel_size = 1\ninputs = ["input"]', header=HEADER + 'outputs = ["conv2d"]\n')
    info = stack.infer()
    assert info.unused == (1,) and info.output_shape == (28, 28, 32)
    assert parse_preset(preset_text(stack), "x") == stack
    assert preset(CONV32, CONV64).infer().unused == ()


# --- edits ----------------------------------------------------------------------------------


def residual_stack() -> Stack:
    projection = 'type = "Conv2D"\nfilters = 64\nkernel_size = 1\ninputs = ["conv2d"]\nname = "shortcut"'
    return preset(*RESIDUAL[:2], projection, 'type = "Add"\ninputs = ["conv2d_1", "shortcut"]')


def test_inserting_into_a_chain_keeps_it_a_chain_and_names_stay() -> None:
    stack = preset(CONV32, CONV64).with_inserted(1, MaxPooling2D())
    assert stack.names == ("conv2d", "max_pooling2d", "conv2d_1") and stack.is_chain
    assert stack.infer().layers[2].inputs == ("max_pooling2d",)


def test_deleting_a_layer_reconnects_what_took_it() -> None:
    stack = residual_stack().without(2)
    assert stack.names == ("conv2d", "conv2d_1", "add")
    assert stack.inputs_of(2) == ("conv2d_1", "conv2d")
    deleted_first = residual_stack().without(0)
    assert deleted_first.inputs_of(0) == ("input",) and deleted_first.inputs_of(1) == ("input",)


def test_moving_a_layer_below_its_user_leaves_the_stack_unchanged() -> None:
    stack = residual_stack()
    assert stack.with_moved(2, 1) is stack
    chain = preset(CONV32, CONV64)
    assert chain.with_moved(0, 1).names == ("conv2d_1", "conv2d")


def test_names_and_inputs_round_trip_through_the_preset_text() -> None:
    stack = residual_stack().with_inserted(0, Conv2D(filters=4, kernel_size=1))
    assert stack.names[0] == "conv2d_2"
    assert parse_preset(preset_text(stack), "x") == stack


def test_every_merge_needs_two_inputs_and_every_other_type_one() -> None:
    merges = {layer_type for layer_type in LAYER_TYPES if layer_type.max_inputs != 1}
    assert {Add, Subtract, Multiply, Concatenate} <= merges
    assert Dense not in merges and GlobalAveragePooling2D not in merges
    assert all(layer_type.min_inputs == 2 for layer_type in merges)
