"""Blocks of an imported Keras model: the first block of a repeat that Keras leaves unnumbered folds
like the numbered ones, and Keras's automatic names fold into nothing."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from convtui.interop import load_model_file
from convtui.interop.keras_graph import keras_blocks


def imported_blocks(model: object, path: Path) -> dict[str, str | None]:
    """The model saved as .keras and imported as the CLI does: layer name -> block."""
    model.save(path)  # type: ignore[attr-defined]
    stack = load_model_file(path).stack
    return dict(zip(stack.names, stack.blocks))


def test_mobilenet_v2s_unnumbered_first_block_is_expanded_conv(keras: ModuleType, h5py: ModuleType, tmp_path: Path) -> None:
    model = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), classes=10)
    blocks = imported_blocks(model, tmp_path / "mnv2.keras")

    first = [name for name in blocks if name.startswith("expanded_conv_")]
    assert len(first) == 5
    assert {blocks[name] for name in first} == {"expanded_conv"}
    assert {block for name, block in blocks.items() if name.startswith("block_1_")} == {"block_1"}
    assert blocks["Conv1_relu"] == "Conv1" and blocks["predictions"] is None


def test_keras_automatic_names_are_in_no_block(keras: ModuleType, h5py: ModuleType, tmp_path: Path) -> None:
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3)(inputs)
    x = keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3)(x))
    x = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.ReLU()(x)))
    functional = keras.Model(inputs, x)
    sequential = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3), keras.layers.Conv2D(4, 3), keras.layers.Flatten()])

    for model in (functional, sequential):
        blocks = imported_blocks(model, tmp_path / f"{model.name}.keras")
        assert set(blocks.values()) == {None}, blocks


def test_an_unnumbered_prefix_is_a_block_only_when_all_its_names_are_a_numbered_blocks() -> None:
    names = "stem_conv stem_bn stem_activation block2a_expand_conv block2a_bn block2a_activation top_conv top_bn top_activation".split()

    blocks = keras_blocks(names, [False] * len(names))

    assert blocks == [None, None, None, "block2a", "block2a", "block2a", None, None, None]  # EfficientNet: top_conv has no twin
