"""Stacks for the export tests: hand-made ones that reach every code path, and seeded random ones.

The hand-made stacks are chosen for their geometry: odd and even sides with stride 2 make
TensorFlow's "same" padding unequal (the odd pixel at the bottom/right) on one axis and equal
on the other; Conv2DTranspose has k - s odd, even and negative; every activation appears.
"""

from __future__ import annotations

import numpy as np

from convtui.engine.weights import StackWeights, initial_weights
from convtui.model.arguments import ACTIVATION_NAMES
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
    Layer,
    MaxPooling2D,
    ReLU,
    SeparableConv2D,
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


def trained_like_weights(stack: Stack, seed: int = 0) -> StackWeights:
    """Initial weights with every bias and batch-norm statistic made non-trivial, so each mapping shows."""
    rng = np.random.default_rng(seed)
    weights = initial_weights(stack, seed)
    for named in weights.values():
        for name, array in named.items():
            if name == "moving_variance":
                named[name] = rng.uniform(0.5, 1.5, array.shape).astype(np.float32)
            elif name in ("bias", "beta", "gamma", "moving_mean"):
                named[name] = (array + rng.normal(0, 0.3, array.shape)).astype(np.float32)
    return weights
