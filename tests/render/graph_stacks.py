"""Small graphs the gutter, folding and summary tests share: a residual block, a projection shortcut,
an Inception-like module, nested branches, an unused branch and a ResNet-like net with Keras's names."""

from __future__ import annotations

from convtui.model.layers import Activation, Add, BatchNormalization, Concatenate, Conv2D, Dense, Flatten, GlobalAveragePooling2D, MaxPooling2D
from convtui.model.stack import Stack


def conv(filters: int, kernel: int = 3, strides: int = 1) -> Conv2D:
    return Conv2D(filters=filters, kernel_size=kernel, strides=strides, padding="same")


def residual() -> Stack:
    """The learner's next question: conv 32 then 64, and a 1x1 projection on the shortcut so Add fits."""
    return Stack(
        (28, 28, 1),
        (conv(32), conv(64), conv(64, 1), Add()),
        inputs=(None, None, ("conv2d",), ("conv2d_1", "conv2d_2")),
    )


def identity_shortcut() -> Stack:
    return Stack((8, 8, 4), (conv(4), conv(4), Add()), inputs=(None, None, ("input", "conv2d_1")))


def inception() -> Stack:
    """One stem, four branches, one Concatenate: 4 + 8 + 8 + 4 = 24 channels."""
    layers = (conv(8), conv(4, 1), conv(4, 1), conv(8), conv(2, 1), conv(8, 5),
              MaxPooling2D(pool_size=3, strides=1, padding="same"), conv(4, 1), Concatenate())  # fmt: skip
    names = ("stem", "b1", "b2_reduce", "b2", "b3_reduce", "b3", "pool", "pool_proj", "mixed")
    inputs = (None, None, ("stem",), None, ("stem",), None, ("stem",), None, ("b1", "b2", "b3", "pool_proj"))
    return Stack((16, 16, 3), layers, names=names, inputs=inputs)


def nested() -> Stack:
    """A residual inside a residual."""
    names = ("a", "b", "c", "inner", "d", "outer")
    inputs = (None, None, None, ("b", "c"), ("a",), ("inner", "d"))
    return Stack((8, 8, 4), (conv(8), conv(8), conv(8), Add(), conv(8), Add()), names=names, inputs=inputs)


def unused_branch() -> Stack:
    """conv2d_1 feeds nothing on the way to the output."""
    return Stack((8, 8, 4), (conv(8), conv(8), Flatten(), Dense(units=3)), inputs=(None, None, ("conv2d",), None))


def resnet_like(stages: int = 3, blocks: int = 2) -> Stack:
    """ResNet50's bottleneck blocks with Keras's names and blocks: a projection block, then identity blocks."""
    layers: list = [Conv2D(filters=64, kernel_size=7, strides=2, padding="same"), BatchNormalization(), Activation(activation="relu"),
                    MaxPooling2D(pool_size=3, strides=2, padding="same")]  # fmt: skip
    names: list[str] = ["conv1_conv", "conv1_bn", "conv1_relu", "pool1_pool"]
    inputs: list = [None] * 4
    block_of: list = [None] * 4
    previous = "pool1_pool"
    for stage in range(2, 2 + stages):
        filters = 64 * 2 ** (stage - 2)
        for number in range(1, blocks + 1):
            prefix = f"conv{stage}_block{number}"
            strides = 2 if number == 1 and stage > 2 else 1
            shortcut = previous
            if number == 1:
                layers += [conv(4 * filters, 1, strides), BatchNormalization()]
                names += [f"{prefix}_0_conv", f"{prefix}_0_bn"]
                inputs += [(previous,), None]
                shortcut = f"{prefix}_0_bn"
            for part, (kernel, size, stride) in enumerate(((1, filters, strides), (3, filters, 1), (1, 4 * filters, 1)), start=1):
                layers += [conv(size, kernel, stride), BatchNormalization()]
                names += [f"{prefix}_{part}_conv", f"{prefix}_{part}_bn"]
                inputs += [(previous,) if part == 1 else None, None]
                if part < 3:
                    layers.append(Activation(activation="relu"))
                    names.append(f"{prefix}_{part}_relu")
                    inputs.append(None)
            layers += [Add(), Activation(activation="relu")]
            names += [f"{prefix}_add", f"{prefix}_out"]
            inputs += [(shortcut, f"{prefix}_3_bn"), None]
            block_of += [prefix] * (len(layers) - len(block_of))
            previous = f"{prefix}_out"
    layers += [GlobalAveragePooling2D(), Dense(units=1000, activation="softmax")]
    names += ["avg_pool", "predictions"]
    inputs += [None, None]
    block_of += [None, None]
    return Stack((224, 224, 3), tuple(layers), name="resnet-like", names=tuple(names), inputs=tuple(inputs), blocks=tuple(block_of))
