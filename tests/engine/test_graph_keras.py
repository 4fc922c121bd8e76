"""Random graphs (residual blocks, projection shortcuts, Inception-like and DenseNet-like
concatenations, squeeze-excite gates, plain chains between them) against real Keras Functional
models: every layer's name, output shape, trainable and non-trainable parameters, and values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convtui.engine import forward, initial_weights
from convtui.model import Stack, layer_to_config
from convtui.model.layers import (
    Activation,
    Add,
    Average,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    GlobalAveragePooling2D,
    Layer,
    Maximum,
    MaxPooling2D,
    Multiply,
    Subtract,
)

GRAPHS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])




@dataclass
class GraphBuilder:
    """Builds the same graph twice: convtui's nodes and, later, Keras's layers by name."""

    channels: int
    layers: list[Layer] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    inputs: list[tuple[str, ...]] = field(default_factory=list)
    current: str = "input"

    def add(self, layer: Layer, *inputs: str) -> str:
        name = f"n{len(self.layers)}_{layer.type_name.lower()}"
        self.layers.append(layer)
        self.names.append(name)
        self.inputs.append(inputs or (self.current,))
        return name

    def then(self, layer: Layer, *inputs: str) -> str:
        self.current = self.add(layer, *inputs)
        return self.current

    def stack(self, input_shape: tuple[int, int, int]) -> Stack:
        return Stack(input_shape, tuple(self.layers), names=tuple(self.names), inputs=tuple(self.inputs))


def conv(filters: int, kernel: int = 3, **options: Any) -> Conv2D:
    return Conv2D(filters=filters, kernel_size=kernel, padding="same", **options)


def residual(builder: GraphBuilder, draw: st.DrawFn) -> None:
    start, channels = builder.current, builder.channels
    filters = draw(st.sampled_from([channels, channels, 4, 6]))
    strides = draw(st.sampled_from([1, 1, 2]))
    builder.then(conv(filters, strides=strides, use_bias=False))
    builder.then(BatchNormalization())
    builder.then(Activation(activation="relu"))
    main = builder.then(conv(filters))
    shortcut = start
    if filters != channels or strides != 1:
        shortcut = builder.add(conv(filters, 1, strides=strides), start)
    merge = draw(st.sampled_from([Add(), Add(), Subtract(), Average(), Maximum()]))
    builder.then(merge, main, shortcut)
    builder.channels = filters


def inception(builder: GraphBuilder, draw: st.DrawFn) -> None:
    start = builder.current
    branches = [builder.add(conv(draw(st.integers(1, 4)), 1, activation="relu"), start)]
    reduced = builder.add(conv(3, 1), start)
    branches.append(builder.add(conv(draw(st.integers(1, 4)), 3, activation="relu"), reduced))
    if draw(st.booleans()):
        pooled = builder.add(MaxPooling2D(pool_size=3, strides=1, padding="same"), start)
        branches.append(builder.add(conv(2, 1), pooled))
    builder.then(Concatenate(), *branches)
    builder.channels = sum(builder.layers[builder.names.index(name)].filters for name in branches)  # type: ignore[attr-defined]


def dense_block(builder: GraphBuilder, draw: st.DrawFn) -> None:
    start = builder.current
    growth = draw(st.integers(1, 4))
    builder.then(BatchNormalization(center=draw(st.booleans()), scale=draw(st.booleans())))
    builder.then(Activation(activation="relu"))
    new = builder.then(conv(growth))
    builder.then(Concatenate(axis=draw(st.sampled_from([-1, 3]))), start, new)
    builder.channels += growth


def squeeze_excite(builder: GraphBuilder, draw: st.DrawFn) -> None:
    start, channels = builder.current, builder.channels
    builder.then(GlobalAveragePooling2D(keepdims=True))
    builder.then(conv(draw(st.integers(1, 3)), 1, activation="swish"))
    gate = builder.then(conv(channels, 1, activation="sigmoid"))
    builder.then(Multiply(), start, gate)


def plain(builder: GraphBuilder, draw: st.DrawFn) -> None:
    if draw(st.booleans()):
        builder.then(DepthwiseConv2D(kernel_size=3, padding="same", activation="relu6"))
    else:
        builder.channels = draw(st.integers(2, 6))
        builder.then(conv(builder.channels, draw(st.sampled_from([1, 3])), activation="relu"))


BLOCKS = (residual, inception, dense_block, squeeze_excite, plain)


@st.composite
def random_graphs(draw: st.DrawFn) -> Stack:
    side = draw(st.integers(6, 10))
    channels = draw(st.integers(1, 3))
    builder = GraphBuilder(channels)
    for block in draw(st.lists(st.sampled_from(BLOCKS), min_size=1, max_size=4)):
        block(builder, draw)
    if draw(st.booleans()):
        builder.then(GlobalAveragePooling2D())
        builder.then(Dense(units=3, activation="softmax"))
    return builder.stack((side, side, channels))


def keras_model(keras: ModuleType, stack: Stack, outputs: list[str] | None = None) -> Any:
    """The Functional model of the stack, its layers named as convtui's, every output an output (or those named)."""
    tensors = {"input": keras.Input(stack.input_shape)}
    for index, layer in enumerate(stack.layers):
        config = layer_to_config(layer)
        layer_class = getattr(keras.layers, config.pop("type"))
        keras_layer = layer_class(name=stack.names[index], **config)
        inputs = [tensors[name] for name in stack.inputs_of(index)]
        tensors[stack.names[index]] = keras_layer(inputs if layer.is_merge else inputs[0])
    return keras.Model(tensors["input"], [tensors[name] for name in (outputs or stack.names)])


def with_statistics(stack: Stack, seed: int) -> dict[int, dict[str, np.ndarray]]:
    """Seeded weights, with batch-norm statistics that are not 0 and 1, so normalising matters."""
    weights = initial_weights(stack, seed)
    rng = np.random.default_rng(seed)
    for named in weights.values():
        for name in ("moving_mean", "beta"):
            if name in named:
                named[name] = rng.normal(0, 0.5, named[name].shape).astype(np.float32)
        for name in ("moving_variance", "gamma"):
            if name in named:
                named[name] = rng.uniform(0.5, 2.0, named[name].shape).astype(np.float32)
    return weights


@GRAPHS
@given(stack=random_graphs(), seed=st.integers(0, 2**16))
def test_random_graphs_match_keras_functional_models(keras: ModuleType, stack: Stack, seed: int) -> None:
    info = stack.infer()
    assert info.valid, info.first_invalid
    model = keras_model(keras, stack)
    weights = with_statistics(stack, seed)
    for layer_info in info.layers:
        keras_layer = model.get_layer(layer_info.name)
        assert tuple(keras_layer.output.shape[1:]) == layer_info.output_shape, layer_info.name
        trainable = sum(int(np.prod(weight.shape)) for weight in keras_layer.trainable_weights)
        assert (trainable, keras_layer.count_params() - trainable) == (layer_info.trainable_params, layer_info.non_trainable_params)
        if layer_info.weights:
            keras_layer.set_weights([weights[layer_info.index][weight.name] for weight in layer_info.weights])
    image = np.random.default_rng(seed).uniform(0, 1, (2, *stack.input_shape)).astype(np.float32)
    expected = model.predict(image, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]  # one output comes back bare
    result = forward(stack, image, weights)
    for layer_info, ours, theirs in zip(info.layers, result.outputs, expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5, err_msg=layer_info.name)
    assert (model.count_params(), sum(int(np.prod(w.shape)) for w in model.trainable_weights)) == (info.total_params, info.trainable_params)


def test_the_totals_count_what_keras_builds_when_layers_are_left_off_the_way_to_the_output(keras: ModuleType) -> None:
    """A branch the output does not use is not in Keras's model: the totals leave it out, and say so."""
    from convtui.model import load_preset
    from convtui.render.summary import notes

    demo = load_preset("residual-demo")
    stack = Stack(
        demo.input_shape,
        (*demo.layers, BatchNormalization(), MaxPooling2D()),
        names=(*demo.names, "bn", "pool"),
        inputs=(*demo.inputs, ("conv2d",), ("bn",)),
    )
    info = stack.infer()
    assert info.unused and info.unused_params > 0
    model = keras_model(keras, stack, outputs=["pool"])
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    non_trainable = sum(int(np.prod(weight.shape)) for weight in model.non_trainable_weights)
    assert (info.total_params, info.trainable_params, info.non_trainable_params) == (model.count_params(), trainable, non_trainable)
    assert info.total_params + info.unused_params == sum(layer.params for layer in info.layers)
    assert any(f"do not count their {info.unused_params:,} params" in note for note in notes(info, "keras"))


def test_a_left_out_layer_without_params_is_not_said_to_hold_zero() -> None:
    from convtui.render.summary import unused_note

    stack = Stack((8, 8, 3), (Conv2D(filters=4, kernel_size=3), MaxPooling2D(), Activation(activation="relu")), inputs=(None, None, ("conv2d",)))
    note = unused_note(stack.infer())
    assert note == (
        "Layer 1 (max_pooling2d) is not on the way to the output: Keras leaves it out of the model, which changes no total (no params); connect or delete it."
    )
