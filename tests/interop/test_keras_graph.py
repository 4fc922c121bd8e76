"""Blocks from Keras's layer names, without Keras: the names keras.applications gives its layers."""

from __future__ import annotations

import pytest

from convtui.interop.keras_graph import keras_blocks, name_segments


def blocks_of(names: str, automatic: str = "") -> dict[str, str | None]:
    listed = names.split()
    return dict(zip(listed, keras_blocks(listed, [name in automatic.split() for name in listed])))


def test_a_bare_number_stays_with_a_word_without_digits():
    assert name_segments("expanded_conv_1_expand") == ["expanded", "conv_1", "expand"]
    assert name_segments("conv2_block1_1_conv") == ["conv2", "block1", "1", "conv"]
    assert name_segments("convnext_tiny_stage_0_block_2_gelu") == ["convnext", "tiny", "stage_0", "block_2", "gelu"]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (  # ResNet50: stages of blocks; the block is conv2_block1, not the stage conv2 nor the step conv2_block1_1
            "conv1_conv conv1_bn pool1_pool conv2_block1_1_conv conv2_block1_1_bn conv2_block1_0_conv conv2_block1_add conv2_block2_1_conv conv2_block2_out",
            ["conv1", "conv1", None, "conv2_block1", "conv2_block1", "conv2_block1", "conv2_block1", "conv2_block2", "conv2_block2"],
        ),
        (  # VGG16 and Xception: the block holds numbered layers (block1_conv1 is a layer)
            "block1_conv1 block1_conv1_bn block1_conv2 block1_pool block2_sepconv1 block2_sepconv1_bn fc1 predictions",
            ["block1", "block1", "block1", "block1", "block2", "block2", None, None],
        ),
        (  # MobileNet: conv_dw_1 and conv_pw_1 are blocks; a lone conv_pad_2 is in none
            "conv_dw_1 conv_dw_1_bn conv_pw_1 conv_pw_1_relu conv_pad_2 conv_dw_2 conv_dw_2_bn",
            ["conv_dw_1", "conv_dw_1", "conv_pw_1", "conv_pw_1", None, "conv_dw_2", "conv_dw_2"],
        ),
        (  # EfficientNetB0 and ConvNeXt
            "stem_conv stem_bn block1a_dwconv block1a_se_excite block2b_add convnext_tiny_stage_0_block_0_gelu convnext_tiny_stage_0_block_0_identity",
            [None, None, "block1a", "block1a", None, "convnext_tiny_stage_0_block_0", "convnext_tiny_stage_0_block_0"],
        ),
    ],
)
def test_blocks_are_the_numbered_prefixes_that_hold_layers(names, expected):
    assert list(blocks_of(names).values()) == expected


def test_automatic_names_take_no_block_of_their_own_but_one_between_two_nodes_of_a_block_is_in_it():
    blocks = blocks_of(
        "expanded_conv_depthwise re_lu expanded_conv_squeeze_excite_conv_1 add multiply expanded_conv_project expanded_conv_1_expand expanded_conv_1_project conv2d_7",
        automatic="re_lu add multiply conv2d_7",
    )
    assert blocks["add"] == blocks["multiply"] == blocks["re_lu"] == "expanded_conv"  # expanded_conv_1 makes expanded_conv a numbered base
    assert blocks["expanded_conv_1_expand"] == "expanded_conv_1"
    assert blocks["conv2d_7"] is None


def test_a_node_named_as_a_block_joins_it_and_a_block_of_one_node_is_none():
    assert blocks_of("Conv1 bn_Conv1 Conv1_relu Conv_1 Conv_1_bn out_relu") == {
        "Conv1": "Conv1", "bn_Conv1": "Conv1", "Conv1_relu": "Conv1", "Conv_1": "Conv_1", "Conv_1_bn": "Conv_1", "out_relu": None,
    }
