"""Stacks for the export tests: hand-made ones that reach every code path, and seeded random ones.

The hand-made stacks are chosen for their geometry: odd and even sides with stride 2 make
TensorFlow's "same" padding unequal (the odd pixel at the bottom/right) on one axis and equal
on the other; Conv2DTranspose has k - s odd, even and negative; every activation appears.
The random graphs chain the blocks CNNs are made of: residual (with a projection when the
shapes change), Inception-like and DenseNet-like concatenation, squeeze-excite gates.
"""

from __future__ import annotations

import numpy as np

from convtui.engine.weights import StackWeights, initial_weights
from convtui.model.arguments import ACTIVATION_NAMES
from convtui.model.graph import INPUT_NAME, Node
from convtui.model.layers import (
    Activation,
    Add,
    Average,
    AveragePooling2D,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Conv2DTranspose,
    Cropping2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Identity,
    Layer,
    LayerNormalization,
    LayerScale,
    Maximum,
    MaxPooling2D,
    Minimum,
    Multiply,
    Normalization,
    ReLU,
    Rescaling,
    Reshape,
    SeparableConv2D,
    Subtract,
    UpSampling2D,
    ZeroPadding2D,
)
from convtui.model.stack import Stack

CONVOLUTIONS = Stack(
    (11, 10, 3),
    (
        Conv2D(6, 3, strides=2, padding="same", activation="leaky_relu"),  # pads (1, 1) and (0, 1)
        Conv2D(4, (2, 3), padding=(1, 2), activation="relu6", kernel_initializer="he_normal"),  # explicit padding
        DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="same", activation="hard_sigmoid"),
        SeparableConv2D(5, 2, padding="same", depth_multiplier=3, activation="selu"),  # pads (0, 1) both axes
        Conv2D(4, 3, padding="same", dilation_rate=2, activation="elu"),
        Conv2D(4, 1, groups=2, use_bias=False, activation="softplus"),
        Conv2DTranspose(3, 3, strides=2, padding="same", activation="sigmoid"),  # k - s = 1: odd crop
        Conv2DTranspose(3, 2, strides=3, activation="tanh"),  # valid, k < s: output_padding
        Conv2DTranspose(2, 4, strides=2, padding="same", activation="gelu"),  # k - s = 2: even crop
        Conv2DTranspose(2, 2, strides=3, padding="same", use_bias=False),  # same, k < s
        Flatten(),
        Dense(5, activation="softmax"),
    ),
    name="convolutions",
)

POOLING_AND_THE_REST = Stack(
    (9, 8, 4),
    (
        MaxPooling2D(3, strides=2, padding="same"),  # pads (1, 1) and (0, 1): unequal
        ZeroPadding2D(((0, 1), (2, 0))),
        MaxPooling2D(3, strides=1, padding="same"),  # equal pads: padding=1
        AveragePooling2D(2, strides=1, padding="same"),  # pads (0, 1): AveragePoolSame
        AveragePooling2D(3, strides=1, padding="same"),  # equal pads: count_include_pad=False
        AveragePooling2D(2, strides=(1, 2)),
        BatchNormalization(center=False),
        BatchNormalization(scale=False, momentum=0.9, epsilon=0.01),
        BatchNormalization(center=False, scale=False),
        ReLU(max_value=6),
        Activation("swish"),
        ReLU(negative_slope=0.1),
        Activation("silu"),
        ReLU(max_value=3, threshold=0.2, negative_slope=0.05),
        UpSampling2D((2, 3)),
        UpSampling2D(2, interpolation="bilinear"),
        Activation("linear"),
        Dropout(0.3),
        Dense(6, activation="gelu"),  # on a map: the last axis
        Activation("relu"),
        GlobalMaxPooling2D(keepdims=True),
        Flatten(),  # of a 1x1 map: no reordering needed
        BatchNormalization(),
        Dense(3),
    ),
    name="pooling and the rest",
)

GLOBAL_AVERAGE = Stack(
    (7, 7, 2),
    (Conv2D(4, 3, kernel_initializer="edges"), GlobalAveragePooling2D(), Dense(2, activation="sigmoid")),
    name="global average",
)

ONE_CHANNEL_FLATTEN = Stack((5, 6, 1), (Conv2D(1, 3, padding="same"), Flatten(), Dense(2)), name="one channel")

INITIALIZERS = Stack(
    (6, 6, 2),
    (
        DepthwiseConv2D(3, kernel_initializer="he_uniform"),  # Keras calls it depthwise_initializer
        SeparableConv2D(3, 1, kernel_initializer="lecun_normal"),  # depthwise_ and pointwise_initializer
        Conv2D(2, 1, kernel_initializer="glorot_normal"),
        Flatten(),
        Dense(2, kernel_initializer="he_normal"),
    ),
    name="initializers",
)

HAND_MADE = (CONVOLUTIONS, POOLING_AND_THE_REST, GLOBAL_AVERAGE, ONE_CHANNEL_FLATTEN, INITIALIZERS)


def random_map_layer(rng: np.random.Generator) -> Layer:
    """One layer that takes and gives an (H, W, C) map, with arguments drawn at random."""
    kernel = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    strides = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    padding = str(rng.choice(["valid", "same"]))
    activation = str(rng.choice([None, *ACTIVATION_NAMES]))
    activation_or_none = None if activation == "None" else activation
    choices = [
        lambda: Conv2D(int(rng.integers(1, 6)), kernel, strides=strides, padding=padding, activation=activation_or_none),
        lambda: DepthwiseConv2D(kernel, strides=strides, padding=padding, depth_multiplier=int(rng.integers(1, 3))),
        lambda: SeparableConv2D(int(rng.integers(1, 6)), kernel, strides=strides, padding=padding),
        lambda: Conv2DTranspose(int(rng.integers(1, 4)), kernel, strides=strides, padding=padding),
        lambda: MaxPooling2D(kernel, strides=strides, padding=padding),
        # A pool of 2 at most with "same": beyond, Keras 3.15's torch backend (the Keras reference here)
        # replicates edge pixels where unequal pads fall (keras-team/keras#18452), unlike TensorFlow and JAX.
        lambda: AveragePooling2D(tuple(min(side, 2) for side in kernel) if padding == "same" else kernel, strides=strides, padding=padding),
        lambda: BatchNormalization(center=bool(rng.integers(2)), scale=bool(rng.integers(2))),
        lambda: Activation(str(rng.choice(ACTIVATION_NAMES))),
        lambda: ZeroPadding2D(((int(rng.integers(3)), int(rng.integers(3))), (int(rng.integers(3)), int(rng.integers(3))))),
        lambda: UpSampling2D(strides, interpolation=str(rng.choice(["nearest", "bilinear"]))),
        lambda: Dense(int(rng.integers(1, 5))),
    ]
    return choices[int(rng.integers(len(choices)))]()


def random_stack(seed: int, depth: int = 6) -> Stack:
    """A valid stack of `depth` map layers drawn from `seed`, ending in Flatten + Dense."""
    rng = np.random.default_rng(seed)
    stack = Stack((int(rng.integers(5, 13)), int(rng.integers(5, 13)), int(rng.integers(1, 4))), name=f"random {seed}")
    while len(stack.layers) < depth:
        candidate = stack.with_inserted(len(stack.layers), random_map_layer(rng))
        info = candidate.infer()
        if info.valid and max(info.layers[-1].output_shape or (0,)) <= 40:
            stack = candidate
    return stack.with_inserted(depth, Flatten()).with_inserted(depth + 1, Dense(3))


# --- graphs ---------------------------------------------------------------------------------


def appended(stack: Stack, layer: Layer, inputs: tuple[str, ...] | None = None, name: str | None = None) -> Stack:
    """The stack with one more node, taking `inputs` (default: the last node)."""
    return stack.with_nodes([*stack.nodes, Node(layer, name or stack.fresh_name(layer), inputs)])


def tip(stack: Stack) -> str:
    return stack.names[-1] if stack.names else INPUT_NAME


def shape_of(stack: Stack, name: str) -> tuple[int, ...]:
    if name == INPUT_NAME:
        return stack.input_shape
    shape = stack.infer().layers[stack.names.index(name)].output_shape
    assert shape is not None
    return shape


def residual_block(stack: Stack, rng: np.random.Generator) -> Stack:
    """conv (strided or not) + batch norm + conv, a 1x1 projection on the shortcut when the shapes differ, an elementwise merge."""
    start = tip(stack)
    channels = shape_of(stack, start)[-1]
    filters = int(rng.choice([channels, int(rng.integers(2, 7))]))
    strides = int(rng.integers(1, 3))
    stack = appended(stack, Conv2D(filters, 3, strides=strides, padding="same", activation="relu"))
    stack = appended(stack, BatchNormalization())
    main = appended(stack, Conv2D(filters, int(rng.integers(1, 4)), padding="same"))
    shortcut = start
    if shape_of(main, tip(main)) != shape_of(main, start):
        main = appended(main, Conv2D(filters, 1, strides=strides, use_bias=bool(rng.integers(2))), (start,))
        shortcut = tip(main)
    merge = [Add, Add, Subtract, Average, Maximum, Minimum][int(rng.integers(6))]
    end = tip(main) if shortcut == start else main.names[-2]
    stack = appended(main, merge(), (end, shortcut))
    return appended(stack, Activation(str(rng.choice(["relu", "swish", "gelu"])))) if rng.integers(2) else stack


def inception_block(stack: Stack, rng: np.random.Generator) -> Stack:
    """Two to four branches from one map, joined along the channels (or, with equal channels, the heights or widths)."""
    start = tip(stack)
    same_channels = bool(rng.integers(3) == 0)
    width = int(rng.integers(1, 5))
    branches = []
    for _ in range(int(rng.integers(2, 5))):
        filters = width if same_channels else int(rng.integers(1, 5))
        kind = int(rng.integers(4))
        if kind == 0:
            stack = appended(stack, Conv2D(filters, 1, activation="relu"), (start,))
        elif kind == 1:
            stack = appended(stack, Conv2D(filters, 1), (start,))
            stack = appended(stack, Conv2D(filters, int(rng.choice([3, 5])), padding="same", activation="relu"))
        elif kind == 2:
            stack = appended(stack, MaxPooling2D(3, strides=1, padding="same"), (start,))
            stack = appended(stack, Conv2D(filters, 1))
        else:
            stack = appended(stack, SeparableConv2D(filters, 3, padding="same"), (start,))
        branches.append(tip(stack))
    axis = int(rng.choice([-1, 3, 1, 2, -2, -3])) if same_channels else int(rng.choice([-1, 3]))
    return appended(stack, Concatenate(axis=axis), tuple(branches))


def dense_block(stack: Stack, rng: np.random.Generator) -> Stack:
    """DenseNet's: a layer's new channels concatenated to its input."""
    start = tip(stack)
    stack = appended(stack, BatchNormalization())
    stack = appended(stack, Conv2D(int(rng.integers(1, 4)), 3, padding="same", activation="relu"))
    inputs = (start, tip(stack)) if rng.integers(2) else (tip(stack), start)
    return appended(stack, Concatenate(), inputs)


def squeeze_excite_block(stack: Stack, rng: np.random.Generator) -> Stack:
    """Global pooling kept as (1, 1, C), squeezed and expanded by Dense or 1x1 convolutions, gating the map by Multiply."""
    start = tip(stack)
    channels = shape_of(stack, start)[-1]
    squeezed = int(rng.integers(1, 4))
    pooling = GlobalAveragePooling2D if rng.integers(3) else GlobalMaxPooling2D
    stack = appended(stack, pooling(keepdims=True))
    if rng.integers(2):
        stack = appended(stack, Dense(squeezed, activation="relu"))
        stack = appended(stack, Dense(channels, activation="sigmoid"))
    else:
        stack = appended(stack, Conv2D(squeezed, 1, activation="swish"))
        stack = appended(stack, Conv2D(channels, 1, activation=str(rng.choice(["sigmoid", "hard_sigmoid"]))))
    inputs = (start, tip(stack)) if rng.integers(2) else (tip(stack), start)
    return appended(stack, Multiply(), inputs)


def chain_block(stack: Stack, rng: np.random.Generator) -> Stack:
    return appended(stack, random_map_layer(rng))


BLOCKS = (residual_block, inception_block, dense_block, squeeze_excite_block, chain_block)


def heads(stack: Stack, rng: np.random.Generator) -> Stack:
    """A flat ending: one Dense, two Dense heads merged (elementwise or concatenated), or two outputs."""
    stack = appended(stack, GlobalAveragePooling2D() if rng.integers(2) else Flatten())
    flat = tip(stack)
    kind = int(rng.integers(3))
    stack = appended(stack, Dense(3, activation="relu"))
    if kind == 0:
        return stack
    first = tip(stack)
    stack = appended(stack, Dense(3), (flat,))
    if kind == 1:
        merge = [Add(), Multiply(), Maximum(), Concatenate(), Concatenate(axis=1)][int(rng.integers(5))]
        return appended(stack, merge, (first, tip(stack)))
    return stack.with_nodes(stack.nodes, (tip(stack), first))


def random_graph(seed: int, blocks: int = 4) -> Stack:
    """A valid graph of `blocks` blocks drawn from `seed` on a small map, with flat heads."""
    rng = np.random.default_rng(seed)
    stack = Stack((int(rng.integers(6, 13)), int(rng.integers(6, 13)), int(rng.integers(1, 4))), name=f"graph {seed}")
    stack = appended(stack, Conv2D(int(rng.integers(2, 6)), 3, padding="same", activation="relu"))
    added = 0
    while added < blocks:
        candidate = BLOCKS[int(rng.integers(len(BLOCKS)))](stack, rng)
        info = candidate.infer()
        if info.valid and max(info.layers[-1].output_shape or (0,)) <= 24:
            stack, added = candidate, added + 1
    return heads(stack, rng)


def chained(stack: Stack, *layers: Layer) -> Stack:
    for layer in layers:
        stack = appended(stack, layer)
    return stack


PREPROCESSING_AND_NORMALIZATION = chained(
    Stack((5, 6, 3), name="preprocessing and normalization"),
    Rescaling(2.0, -1.0),
    Rescaling((0.5, 1.0, 2.0), (0.1, 0.2, 0.3)),  # one per channel: channels-last in PyTorch
    Normalization(),  # adapt()'s weights
    Normalization(axis=(1, 3)),  # a mean per row and channel: weights (5, 3)
    Normalization(mean=(0.1, 0.2, 0.3), variance=(1.0, 2.0, 3.0)),
    Normalization(axis=None, mean=0.5, variance=4.0, invert=True),
    LayerNormalization(),  # nn.LayerNorm(3)
    LayerNormalization(axis=(2, 3), scale=False, center=False),  # nn.LayerNorm((6, 3)) without weights
    LayerNormalization(axis=(1, 3), scale=False),  # rows and channels, a shift alone: Keras's formula
    LayerNormalization(axis=(-3, -2), rms_scaling=True),
    LayerNormalization(axis=-1, epsilon=0.01, center=False),  # nn.LayerNorm without its bias
    Cropping2D(((1, 0), (0, 2))),
    Identity(),
    LayerScale(0.5, 3),
    Dropout(0.2, noise_shape=(None, 1, 1, 3)),
    Conv2D(2, 1),
)
"""Every preprocessing and normalisation layer, on maps where the axes and the channels-last layout matter."""

RESHAPES = chained(
    Stack((4, 6, 2), name="reshapes"),
    Conv2D(3, 1),
    Reshape((-1, 3)),  # (24, 3): a sequence, laid out as Keras's in PyTorch
    Dense(4),  # on the last axis
    BatchNormalization(),  # on the channels: (N, C, L) for nn.BatchNorm1d
    LayerNormalization(),
    Activation("softmax"),  # the last axis of a sequence: dim 2
    Reshape((6, 4, 4)),  # back to a map, in Keras's order of values
    Conv2D(2, 3, padding="same"),
    Reshape((2, 6, 4)),
    Reshape((-1,)),
    Dense(3, activation="log_softmax"),
)
"""Reshape between maps, sequences and vectors: PyTorch must permute to channels-last around each."""


def every_activation() -> Stack:
    """Every Keras activation on its own branch of one map, concatenated (softmax and its kin on the channels)."""
    stack = chained(Stack((3, 4, 2), name="every activation"), Conv2D(2, 1))
    start = tip(stack)
    branches = []
    for activation in ACTIVATION_NAMES:
        stack = appended(stack, Activation(activation), (start,))
        branches.append(tip(stack))
    return appended(stack, Concatenate(), tuple(branches))


CATALOGUE_EXTRAS = (PREPROCESSING_AND_NORMALIZATION, RESHAPES, every_activation())


def trained_like_weights(stack: Stack, seed: int = 0) -> StackWeights:
    """Initial weights with every bias and batch-norm statistic made non-trivial, so each mapping shows."""
    rng = np.random.default_rng(seed)
    weights = initial_weights(stack, seed)
    for named in weights.values():
        for name, array in named.items():
            if name in ("moving_variance", "variance"):
                named[name] = rng.uniform(0.5, 1.5, array.shape).astype(np.float32)
            elif name in ("bias", "beta", "gamma", "moving_mean", "mean"):
                named[name] = (array + rng.normal(0, 0.3, array.shape)).astype(np.float32)
    return weights
