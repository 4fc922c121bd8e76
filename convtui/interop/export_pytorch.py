"""A stack as PyTorch code: an nn.Sequential on NCHW batches that computes what Keras computes.

Keras and PyTorch differ in small ways that change results; each is handled where it occurs
and commented in the generated code: TensorFlow's asymmetric "same" padding (explicit pads),
Flatten's order (channels last), Dense on maps (the last axis), activation defaults,
BatchNormalization's epsilon and momentum, average pooling over real pixels only, and
Conv2DTranspose's output size. With weights, the arrays are transposed from Keras's layouts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from convtui.interop.python_source import INDENT, Code, call, commented, docstring, literal, weights_location
from convtui.model import layers as catalogue
from convtui.model.geometry import axis_pads
from convtui.model.layers import Layer
from convtui.model.preset import compact
from convtui.model.stack import LayerInfo, Stack, StackInfo

Pads = tuple[tuple[int, int], tuple[int, int]]
"""((top, bottom), (left, right)), as convtui resolves them."""

ASYMMETRIC_SAME = 'TensorFlow\'s "same" puts the odd padding pixel at the bottom/right; PyTorch pads both sides equally'
TO_CHANNELS_LAST = "Permute(0, 2, 3, 1)"
TO_CHANNELS_FIRST = "Permute(0, 3, 1, 2)"


@dataclass(frozen=True)
class TorchModule:
    """One entry of the nn.Sequential, and which of the convtui layer's weights its tensors hold."""

    code: str
    comment: str = ""
    weights: tuple[tuple[str, str], ...] = ()  # (PyTorch tensor name, Keras weight name)


# --- activations ----------------------------------------------------------------------------

ACTIVATION_MODULES: dict[str, tuple[str, str]] = {
    "relu": ("nn.ReLU()", ""),
    "relu6": ("nn.ReLU6()", ""),
    "leaky_relu": ("nn.LeakyReLU(0.2)", "Keras's leaky_relu slope is 0.2 (PyTorch's default is 0.01)"),
    "elu": ("nn.ELU()", ""),
    "selu": ("nn.SELU()", ""),
    "sigmoid": ("nn.Sigmoid()", ""),
    "hard_sigmoid": ("nn.Hardsigmoid()", "Keras 3's hard_sigmoid is relu6(x + 3) / 6, as nn.Hardsigmoid"),
    "tanh": ("nn.Tanh()", ""),
    "softmax": ("nn.Softmax(dim=1)", "dim 1 is Keras's last axis: channels of an NCHW map, features of a vector"),
    "softplus": ("nn.Softplus()", "PyTorch returns x itself above x = 20 (a difference under 1e-8)"),
    "swish": ("nn.SiLU()", ""),
    "silu": ("nn.SiLU()", ""),
    "gelu": ("nn.GELU()", 'the exact erf form, as Keras\'s gelu (approximate=False)'),
}


def activation_modules(activation: str | None) -> list[TorchModule]:
    if activation in (None, "linear"):
        return []
    code, comment = ACTIVATION_MODULES[activation]
    return [TorchModule(code, comment)]


# --- padding --------------------------------------------------------------------------------


def resolved_pads(info: LayerInfo, padding: str | tuple[int, int], kernel: tuple[int, int], strides: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> Pads:
    assert info.input_shape is not None
    top_bottom, left_right = (
        axis_pads(padding, axis, info.input_shape[axis], kernel[axis], strides[axis], dilation[axis]) for axis in (0, 1)
    )
    return top_bottom, left_right


def torch_pad_order(pads: Pads) -> tuple[int, int, int, int]:
    """nn.ZeroPad2d's (left, right, top, bottom)."""
    (top, bottom), (left, right) = pads
    return (left, right, top, bottom)


def symmetric(pads: Pads) -> tuple[int, int] | None:
    """(ph, pw) when each axis is padded equally on both sides (PyTorch's `padding=`), else None."""
    (top, bottom), (left, right) = pads
    return (top, left) if top == bottom and left == right else None


def split_padding(pads: Pads, pad_code: Callable[[tuple[int, int, int, int]], str]) -> tuple[list[TorchModule], tuple[int, int]]:
    """Equal pads go into the layer's `padding=`; TensorFlow's unequal ones become an explicit pad module first."""
    inside = symmetric(pads)
    if inside is not None:
        return [], inside
    return [TorchModule(pad_code(torch_pad_order(pads)), ASYMMETRIC_SAME)], (0, 0)


def zero_pad(order: tuple[int, int, int, int]) -> str:
    return call("nn.ZeroPad2d", [order])


def keywords(*triples: tuple[str, object, object]) -> dict[str, object]:
    """(name, value, PyTorch's default) -> the keywords whose value is not the default; pairs compacted."""
    return {name: compact(value) for name, value, default in triples if value != default}


# --- convolutions ---------------------------------------------------------------------------


def conv2d(info: LayerInfo, layer: catalogue.Conv2D) -> list[TorchModule]:
    pads = resolved_pads(info, layer.padding, layer.kernel_size, layer.strides, layer.dilation_rate)
    padding_modules, padding = split_padding(pads, zero_pad)
    options = keywords(
        ("stride", layer.strides, (1, 1)), ("padding", padding, (0, 0)), ("dilation", layer.dilation_rate, (1, 1)),
        ("groups", layer.groups, 1), ("bias", layer.use_bias, True),
    )
    conv = call("nn.Conv2d", [channels(info), layer.filters, compact(layer.kernel_size)], options)
    return [*padding_modules, TorchModule(conv, "", weighted(layer.use_bias, "kernel")), *activation_modules(layer.activation)]


def depthwise_conv(info: LayerInfo, layer: catalogue.DepthwiseConv2D | catalogue.SeparableConv2D, use_bias: bool) -> tuple[list[TorchModule], TorchModule]:
    """The padding and the grouped convolution that is Keras's depthwise step."""
    pads = resolved_pads(info, layer.padding, layer.kernel_size, layer.strides, layer.dilation_rate)
    padding_modules, padding = split_padding(pads, zero_pad)
    options = keywords(
        ("stride", layer.strides, (1, 1)), ("padding", padding, (0, 0)), ("dilation", layer.dilation_rate, (1, 1)),
    )
    options["groups"] = channels(info)
    options.update(keywords(("bias", use_bias, True)))
    code = call("nn.Conv2d", [channels(info), channels(info) * layer.depth_multiplier, compact(layer.kernel_size)], options)
    comment = "depthwise: one group per input channel; output channel c * depth_multiplier + m, as Keras orders them"
    return padding_modules, TorchModule(code, comment, (("weight", "depthwise_kernel"), *((("bias", "bias"),) if use_bias else ())))


def depthwise_conv2d(info: LayerInfo, layer: catalogue.DepthwiseConv2D) -> list[TorchModule]:
    padding_modules, depthwise = depthwise_conv(info, layer, layer.use_bias)
    return [*padding_modules, depthwise, *activation_modules(layer.activation)]


def separable_conv2d(info: LayerInfo, layer: catalogue.SeparableConv2D) -> list[TorchModule]:
    padding_modules, depthwise = depthwise_conv(info, layer, use_bias=False)
    pointwise_code = call("nn.Conv2d", [channels(info) * layer.depth_multiplier, layer.filters, 1], keywords(("bias", layer.use_bias, True)))
    pointwise = TorchModule(pointwise_code, "pointwise: the 1x1 convolution that mixes channels", weighted(layer.use_bias, "pointwise_kernel"))
    return [*padding_modules, depthwise, pointwise, *activation_modules(layer.activation)]


def conv2d_transpose(info: LayerInfo, layer: catalogue.Conv2DTranspose) -> list[TorchModule]:
    """Keras keeps n*s ("same") or n*s + max(k - s, 0) ("valid") of the full output, starting at max(k - s, 0) // 2 ("same").

    nn.ConvTranspose2d crops `padding` from both ends and adds `output_padding` at the end; an
    odd crop leaves one pixel too many at the end, removed by a negative nn.ZeroPad2d.
    """
    assert info.input_shape is not None and info.output_shape is not None
    crops, extras = [], []
    for axis in (0, 1):
        kernel, stride = layer.kernel_size[axis], layer.strides[axis]
        crop = max(kernel - stride, 0) // 2 if layer.padding == "same" else 0
        natural = (info.input_shape[axis] - 1) * stride + kernel - 2 * crop
        crops.append(crop)
        extras.append(info.output_shape[axis] - natural)
    options = keywords(
        ("stride", layer.strides, (1, 1)), ("padding", tuple(crops), (0, 0)),
        ("output_padding", tuple(max(extra, 0) for extra in extras), (0, 0)), ("bias", layer.use_bias, True),
    )
    comment = "Keras's output size: padding crops what Keras crops at the start" if crops != [0, 0] else ""
    if any(extra > 0 for extra in extras):
        comment = "output_padding: the rows/columns Keras keeps past the kernels' reach when stride > kernel"
    modules = [TorchModule(call("nn.ConvTranspose2d", [channels(info), layer.filters, compact(layer.kernel_size)], options), comment, weighted(layer.use_bias, "kernel"))]
    if any(extra < 0 for extra in extras):
        trim = (0, -max(-extras[1], 0), 0, -max(-extras[0], 0))
        modules.append(TorchModule(zero_pad(trim), "negative padding crops: Keras crops the odd pixel at the end only"))
    return [*modules, *activation_modules(layer.activation)]


def weighted(use_bias: bool, kernel_name: str) -> tuple[tuple[str, str], ...]:
    return (("weight", kernel_name), *((("bias", "bias"),) if use_bias else ()))


def channels(info: LayerInfo) -> int:
    assert info.input_shape is not None
    return info.input_shape[-1]


# --- pooling --------------------------------------------------------------------------------


def pool_options(layer: catalogue.Pooling2D, padding: tuple[int, int]) -> dict[str, object]:
    return keywords(("stride", layer.step, layer.pool_size), ("padding", padding, (0, 0)))


def max_pooling2d(info: LayerInfo, layer: catalogue.MaxPooling2D) -> list[TorchModule]:
    """Padding never wins a maximum: -inf (PyTorch's own padding= does the same)."""
    pads = resolved_pads(info, layer.padding, layer.pool_size, layer.step)
    padding_modules, padding = split_padding(pads, lambda order: call("nn.ConstantPad2d", [order, Code('float("-inf")')]))
    return [*padding_modules, TorchModule(call("nn.MaxPool2d", [compact(layer.pool_size)], pool_options(layer, padding)))]


def average_pooling2d(info: LayerInfo, layer: catalogue.AveragePooling2D) -> list[TorchModule]:
    """Keras divides each window by the real pixels it covers: count_include_pad=False, or AveragePoolSame when pads differ."""
    pads = resolved_pads(info, layer.padding, layer.pool_size, layer.step)
    if pads == ((0, 0), (0, 0)):
        return [TorchModule(call("nn.AvgPool2d", [compact(layer.pool_size)], pool_options(layer, (0, 0))))]
    inside = symmetric(pads)
    if inside is not None:
        options = {**pool_options(layer, inside), "count_include_pad": False}
        return [TorchModule(call("nn.AvgPool2d", [compact(layer.pool_size)], options), "Keras averages over the real pixels only")]
    code = call("AveragePoolSame", [compact(layer.pool_size), compact(layer.step), torch_pad_order(pads)])
    return [TorchModule(code, ASYMMETRIC_SAME)]


def global_pooling(module: str) -> Callable[[LayerInfo, catalogue.GlobalPooling2D], list[TorchModule]]:
    def build(info: LayerInfo, layer: catalogue.GlobalPooling2D) -> list[TorchModule]:
        pooled = TorchModule(f"{module}(1)")
        return [pooled] if layer.keepdims else [pooled, TorchModule("nn.Flatten()", "(N, C, 1, 1) -> (N, C)")]

    return build


# --- everything else ------------------------------------------------------------------------


def batch_normalization(info: LayerInfo, layer: catalogue.BatchNormalization) -> list[TorchModule]:
    assert info.input_shape is not None
    kind = "nn.BatchNorm2d" if len(info.input_shape) == 3 else "nn.BatchNorm1d"
    options: dict[str, object] = {"eps": layer.epsilon, "momentum": round(1 - layer.momentum, 12)}
    if not (layer.center or layer.scale):
        options["affine"] = False
    code = call(kind, [channels(info)], options)
    if layer.center != layer.scale:
        code = call("batch_norm", [Code(code)], {"scale": layer.scale, "center": layer.center})
    comment = "Keras's epsilon (PyTorch's default is 1e-5); momentum = 1 - Keras's (PyTorch weighs the new batch)"
    weights = tuple(
        (torch_name, keras_name)
        for torch_name, keras_name, present in (
            ("weight", "gamma", layer.scale), ("bias", "beta", layer.center),
            ("running_mean", "moving_mean", True), ("running_var", "moving_variance", True),
        )
        if present
    )
    return [TorchModule(code, comment, weights)]


def dense(info: LayerInfo, layer: catalogue.Dense) -> list[TorchModule]:
    linear = TorchModule(call("nn.Linear", [channels(info), layer.units], keywords(("bias", layer.use_bias, True))), "", weighted(layer.use_bias, "kernel"))
    assert info.input_shape is not None
    if len(info.input_shape) == 1:
        return [linear, *activation_modules(layer.activation)]
    return [
        TorchModule(TO_CHANNELS_LAST, "Keras's Dense acts on the last axis (channels): NCHW -> NHWC"),
        linear,
        TorchModule(TO_CHANNELS_FIRST, "and back to NCHW"),
        *activation_modules(layer.activation),
    ]


def flatten(info: LayerInfo, layer: catalogue.Flatten) -> list[TorchModule]:
    assert info.input_shape is not None
    if len(info.input_shape) == 3 and info.input_shape[2] > 1 and info.input_shape[0] * info.input_shape[1] > 1:
        comment = "Keras flattens (H, W, C) with channels varying fastest: NCHW -> NHWC first, so the next Dense sees the same order"
        return [TorchModule(TO_CHANNELS_LAST, comment), TorchModule("nn.Flatten()")]
    return [TorchModule("nn.Flatten()")]


def dropout(info: LayerInfo, layer: catalogue.Dropout) -> list[TorchModule]:
    return [TorchModule(call("nn.Dropout", [layer.rate]))]


def activation(info: LayerInfo, layer: catalogue.Activation) -> list[TorchModule]:
    return activation_modules(layer.activation) or [TorchModule("nn.Identity()", 'Keras\'s "linear"')]


def relu(info: LayerInfo, layer: catalogue.ReLU) -> list[TorchModule]:
    """PyTorch's own modules where they compute the same; KerasReLU (Keras's formula) otherwise."""
    cap, slope, threshold = layer.max_value, layer.negative_slope, layer.threshold
    if threshold == 0 and slope == 0 and cap in (None, 6.0):
        return [TorchModule("nn.ReLU()" if cap is None else "nn.ReLU6()")]
    if threshold == 0 and cap is None and slope <= 1:
        return [TorchModule(call("nn.LeakyReLU", [slope]))]
    return [TorchModule(call("KerasReLU", [], {"max_value": cap, "negative_slope": slope, "threshold": threshold}))]


def zero_padding2d(info: LayerInfo, layer: catalogue.ZeroPadding2D) -> list[TorchModule]:
    return [TorchModule(zero_pad(torch_pad_order(layer.padding)))]


def upsampling2d(info: LayerInfo, layer: catalogue.UpSampling2D) -> list[TorchModule]:
    options: dict[str, object] = {"scale_factor": compact(layer.size), "mode": layer.interpolation}
    comment = ""
    if layer.interpolation == "bilinear":
        options["align_corners"] = False
        comment = "half-pixel centres, as Keras's bilinear resize"
    return [TorchModule(call("nn.Upsample", [], options), comment)]


MODULE_BUILDERS: dict[type[Layer], Callable[[LayerInfo, Layer], list[TorchModule]]] = {
    catalogue.Conv2D: conv2d,
    catalogue.DepthwiseConv2D: depthwise_conv2d,
    catalogue.SeparableConv2D: separable_conv2d,
    catalogue.Conv2DTranspose: conv2d_transpose,
    catalogue.MaxPooling2D: max_pooling2d,
    catalogue.AveragePooling2D: average_pooling2d,
    catalogue.GlobalAveragePooling2D: global_pooling("nn.AdaptiveAvgPool2d"),
    catalogue.GlobalMaxPooling2D: global_pooling("nn.AdaptiveMaxPool2d"),
    catalogue.BatchNormalization: batch_normalization,
    catalogue.Dense: dense,
    catalogue.Flatten: flatten,
    catalogue.Dropout: dropout,
    catalogue.Activation: activation,
    catalogue.ReLU: relu,
    catalogue.ZeroPadding2D: zero_padding2d,
    catalogue.UpSampling2D: upsampling2d,
}  # type: ignore[dict-item]


# --- helpers the generated file defines when it uses them -----------------------------------

HELPERS: dict[str, str] = {
    "Permute": '''
class Permute(nn.Module):
    """Reorders the axes: PyTorch's maps are NCHW, Keras's computations channels-last."""

    def __init__(self, *dims: int) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)

    def extra_repr(self) -> str:
        return ", ".join(map(str, self.dims))
''',
    "AveragePoolSame": '''
class AveragePoolSame(nn.Module):
    """Keras's average pooling with unequal "same" pads: each window's mean over the real pixels it covers.

    nn.AvgPool2d(count_include_pad=False) takes only equal pads; dividing the mean of the
    zero-padded input by the mean of a padded map of ones gives sum / real pixels.
    """

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int], pads: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.pad = nn.ZeroPad2d(pads)
        self.pool = nn.AvgPool2d(kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ones = torch.ones_like(x[:1, :1])
        return self.pool(self.pad(x)) / self.pool(self.pad(ones))
''',
    "KerasReLU": '''
class KerasReLU(nn.Module):
    """Keras's ReLU layer: x above threshold (capped at max_value), negative_slope * (x - threshold) below."""

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0) -> None:
        super().__init__()
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def extra_repr(self) -> str:
        return f"max_value={self.max_value}, negative_slope={self.negative_slope}, threshold={self.threshold}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.negative_slope != 0 and self.max_value is None and self.threshold == 0:
            return torch.maximum(x, self.negative_slope * x)  # Keras's own shortcut, even for a slope above 1
        kept = x * (x > self.threshold) if self.threshold != 0 else torch.relu(x)
        if self.max_value is not None:
            kept = kept.clamp(0, self.max_value)
        if self.negative_slope != 0:
            kept = kept - self.negative_slope * torch.relu(self.threshold - x)
        return kept
''',
    "batch_norm": '''
def batch_norm(module: nn.Module, *, scale: bool, center: bool) -> nn.Module:
    """Keras's scale=False or center=False: PyTorch has one `affine` switch, so the unused half stays frozen at 1 or 0."""
    if not scale:
        module.weight.requires_grad_(False)
    if not center:
        module.bias.requires_grad_(False)
    return module
''',
}


def helper_source(modules: list[TorchModule]) -> list[str]:
    used = [name for name in HELPERS if any(f"{name}(" in module.code for module in modules)]
    return [HELPERS[name].strip("\n") + "\n\n" for name in used]


# --- the file -------------------------------------------------------------------------------


def pytorch_source(stack: Stack, stack_info: StackInfo, weights_path: str | None) -> str:
    body: list[str] = []
    modules: list[TorchModule] = []
    weight_map: dict[str, str] = {}
    for info in stack_info.layers:
        body.append(f"# layer {info.index}: {info.layer.label}")
        for module in MODULE_BUILDERS[type(info.layer)](info, info.layer):
            weight_map.update({f"{len(modules)}.{torch_name}": f"layers.{info.index}.{keras_name}" for torch_name, keras_name in module.weights})
            modules.append(module)
            body.append(commented(module.code + ",", module.comment))
    height, width, channel_count = stack.input_shape
    parts = [
        docstring(stack, "PyTorch", [
            "`build_model()` returns an nn.Sequential\ntaking NCHW batches (N, C, H, W), as PyTorch expects: convtui's (and Keras's)"
            " (H, W, C) maps are\n(C, H, W) here. Run this file to print each module's output shape.",
        ]),
        "",
        *(["from pathlib import Path", "", "import numpy as np"] if weights_path else []),
        "import torch",
        "from torch import nn",
        "",
        f"INPUT_SHAPE = {literal((channel_count, height, width))}  # (channels, height, width): PyTorch's NCHW without the batch",
        *([f"WEIGHTS_FILE = {weights_location(weights_path)}  # convtui's .npz, in Keras layouts"] if weights_path else []),
        "",
        "",
        *helper_source(modules),
        "def build_model() -> nn.Sequential:",
        f"{INDENT}model = nn.Sequential(",
        *(f"{INDENT * 2}{line}" for line in body),
        f"{INDENT})",
        *([f"{INDENT}load_weights(model)"] if weights_path else []),
        f"{INDENT}return model",
        "",
        *(weights_loader(weight_map) if weights_path else []),
        SUMMARY_SOURCE,
    ]
    return "\n".join(parts) + "\n"


def weights_loader(weight_map: dict[str, str]) -> list[str]:
    return [
        "",
        "# PyTorch tensor -> convtui's .npz key",
        "WEIGHT_MAP = {",
        *(f"{INDENT}{literal(torch_name)}: {literal(key)}," for torch_name, key in weight_map.items()),
        "}",
        "",
        "",
        '''def torch_layout(key: str, array: np.ndarray) -> np.ndarray:
    """Keras's layouts to PyTorch's."""
    if key.endswith(".depthwise_kernel"):
        # (kh, kw, C, multiplier) -> (kh, kw, 1, C * multiplier): output channel c * multiplier + m
        array = array.reshape(*array.shape[:2], 1, -1)
    if array.ndim == 4:
        # Conv: (kh, kw, in, out) -> (out, in, kh, kw); Conv2DTranspose: (kh, kw, out, in) -> (in, out, kh, kw)
        return array.transpose(3, 2, 0, 1)
    if array.ndim == 2:
        return array.T  # Dense (in, units) -> Linear (units, in)
    return array


def load_weights(model: nn.Module, path: Path = WEIGHTS_FILE) -> None:
    """Copy every array of convtui's .npz (keys layers.{index}.{name}) into the model's tensors."""
    state = model.state_dict()
    with np.load(path) as arrays, torch.no_grad():
        for name, key in WEIGHT_MAP.items():
            state[name].copy_(torch.from_numpy(np.ascontiguousarray(torch_layout(key, arrays[key]))))
''',
    ]


SUMMARY_SOURCE = '''
def print_summary(model: nn.Module) -> None:
    """Each module's output shape for one image, then the counts Keras's summary shows."""
    x = torch.zeros(1, *INPUT_SHAPE)
    print(f"{'input':<60} {tuple(x.shape)}")
    with torch.no_grad():
        for index, module in enumerate(model.eval()):
            x = module(x)
            print(f"{index:>3}  {repr(module)[:55]:<55} {tuple(x.shape)}")
    trainable = sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
    statistics = sum(buffer.numel() for name, buffer in model.named_buffers() if name.endswith(("running_mean", "running_var")))
    print(f"trainable params: {trainable:,}; batch-norm statistics (Keras's non-trainable params): {statistics:,}")


if __name__ == "__main__":
    print_summary(build_model())'''
