"""Inference fusion: zero padding -> convolution -> BatchNormalization -> activation as one pass.

A chain of nodes whose intermediate outputs each feed only the next node runs as one convolution:
the padding becomes the convolution's own pads, BatchNormalization's scale and shift are folded
into the kernel and bias (cached in the Context while the weights stay the same), and a relu or
relu6 is written by the convolution's epilogue. A residual Add after a convolution (and its BN)
adds the other branch into the convolution's output; an Add followed by an activation, or a
BatchNormalization followed by one, is done in place on one buffer. Only the chain's last output
is kept; the others are recomputed on demand from their kept inputs (see forward.LayerOutputs).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from convtui.engine import activations, ops
from convtui.engine.runners import RUNNERS, Context, Weights
from convtui.model import layers as catalogue
from convtui.model.geometry import axis_pads
from convtui.model.graph import INPUT_NAME
from convtui.model.layers import Shape
from convtui.model.stack import LayerInfo, StackInfo

CONVOLUTIONS = (catalogue.Conv2D, catalogue.DepthwiseConv2D)
ACTIVATION_LAYERS = (catalogue.ReLU, catalogue.Activation)
FINGERPRINT_SAMPLES = 61
"""Kernel values compared on each run to notice an in-place update (with every BN and bias value)."""

NextNode = Callable[[LayerInfo, tuple[type, ...]], "LayerInfo | None"]
"""(node, layer types) -> the node after it in a chain, or None."""


@dataclass(frozen=True, slots=True)
class Chain:
    """Nodes run as one: optional padding, a convolution, BN, an Add, then an optional activation.

    A convolution's chain may end in a residual Add (its other input added in place), as may
    BN's or an Add's in an activation; an Add leads a chain only when no convolution leads into it.
    """

    pad: LayerInfo | None = None
    conv: LayerInfo | None = None
    norm: LayerInfo | None = None
    merge: LayerInfo | None = None
    activation: LayerInfo | None = None

    @property
    def nodes(self) -> tuple[LayerInfo, ...]:
        return tuple(info for info in (self.pad, self.conv, self.norm, self.merge, self.activation) if info is not None)

    @property
    def first(self) -> LayerInfo:
        return self.nodes[0]

    @property
    def inputs(self) -> tuple[str, ...]:
        """The names of the values the chain reads: its first node's inputs, then a residual Add's other input."""
        first = self.first
        if self.merge is None or first is self.merge:
            return first.inputs
        before = self.nodes[self.nodes.index(self.merge) - 1].name
        return (*first.inputs, *(name for name in self.merge.inputs if name != before))

    @property
    def last(self) -> LayerInfo:
        return self.nodes[-1]

    def up_to(self, index: int) -> Chain:
        """The chain cut after the node at `index`: what a prefix of the graph ending there fuses."""
        kept = {field: info if info is not None and info.index <= index else None for field, info in self.fields().items()}
        return Chain(**kept)

    def fields(self) -> dict[str, LayerInfo | None]:
        return {"pad": self.pad, "conv": self.conv, "norm": self.norm, "merge": self.merge, "activation": self.activation}


@dataclass(frozen=True, slots=True)
class FusionPlan:
    """Chains by the index of their last node, and the indices whose outputs are not kept."""

    chains: dict[int, Chain]
    dropped: frozenset[int]


def is_linear(activation: str | None) -> bool:
    return activation in (None, "linear")


def plan_fusion(stack_info: StackInfo) -> FusionPlan:
    """The chains worth fusing: each intermediate output must feed the next node of the chain and nothing else."""
    consumers: dict[str, list[int]] = {}
    for info in stack_info.layers:
        for name in info.inputs:
            consumers.setdefault(name, []).append(info.index)
    declared_outputs = set(stack_info.outputs or ())
    layers = stack_info.layers
    shapes = {INPUT_NAME: stack_info.input_shape, **{info.name: info.output_shape for info in layers}}
    chains: dict[int, Chain] = {}
    taken: set[int] = set()

    def sole_next(info: LayerInfo, kinds: tuple[type, ...]) -> LayerInfo | None:
        """The node after `info` when it is of `kinds`, in no chain yet, and `info`'s only consumer, taking only
        `info`, or `info` and one other node of the same shape when it is an Add (a residual)."""
        users = consumers.get(info.name, [])
        if len(users) != 1 or info.name in declared_outputs or users[0] in taken:
            return None
        following = layers[users[0]]
        if not isinstance(following.layer, kinds):
            return None
        return following if following.inputs == (info.name,) or is_residual(following, info, shapes) else None

    for info in layers:
        if info.index in taken or info.status != "ok":
            continue
        chain = chain_from(info, sole_next)
        if chain is not None and len(chain.nodes) > 1:
            chains[chain.last.index] = chain
            taken.update(node.index for node in chain.nodes)
    dropped = frozenset(node.index for chain in chains.values() for node in chain.nodes[:-1])
    return FusionPlan(chains, dropped)


def is_residual(merge: LayerInfo, info: LayerInfo, shapes: dict[str, Shape | None]) -> bool:
    """Whether `merge` is an Add of `info` and one other node, all three of one shape: addable in place into `info`'s output."""
    others = [name for name in merge.inputs if name != info.name]
    return (
        isinstance(merge.layer, catalogue.Add)
        and len(merge.inputs) == 2
        and len(others) == 1
        and shapes.get(others[0]) == info.output_shape == merge.output_shape
    )


def chain_from(info: LayerInfo, sole_next: NextNode) -> Chain | None:
    """The chain that starts at `info` (possibly of one node), or None where none can."""
    layer = info.layer
    if isinstance(layer, catalogue.ZeroPadding2D):
        conv = sole_next(info, CONVOLUTIONS)
        return None if conv is None else _after_conv(conv, sole_next, pad=info)
    if isinstance(layer, CONVOLUTIONS):
        return _after_conv(info, sole_next, pad=None)
    if isinstance(layer, catalogue.BatchNormalization):
        return Chain(norm=info, activation=sole_next(info, ACTIVATION_LAYERS))
    if isinstance(layer, catalogue.Add):
        return Chain(merge=info, activation=sole_next(info, ACTIVATION_LAYERS))
    return None


def _after_conv(conv: LayerInfo, sole_next: NextNode, pad: LayerInfo | None) -> Chain:
    if not is_linear(conv.layer.activation):  # its own activation sits between it and anything after
        return Chain(pad=pad, conv=conv)
    norm = sole_next(conv, (catalogue.BatchNormalization,))
    # A residual Add into the convolution's output: no output of its own to allocate and write
    # (ResNet50's forward 0.6-0.7 ms faster, of ~54; MobileNetV2's the same within noise).
    merge = sole_next(norm or conv, (catalogue.Add,))
    activation = sole_next(merge or norm or conv, ACTIVATION_LAYERS)
    return Chain(pad=pad, conv=conv, norm=norm, merge=merge, activation=activation)


# ---------------------------------------------------------------- activations


def clip_bound(activation: LayerInfo | None) -> np.float32 | None:
    """The upper bound when the activation node is a clip to [0, bound] (relu: inf, relu6: 6), else None."""
    if activation is None:
        return None
    layer = activation.layer
    if isinstance(layer, catalogue.Activation):
        return {"relu": activations.INFINITY, "relu6": np.float32(6)}.get(layer.activation)
    if layer.negative_slope == 0 and layer.threshold == 0:
        return activations.INFINITY if layer.max_value is None else np.float32(layer.max_value)
    return None


def activate_in_place(output: np.ndarray, activation: LayerInfo | None, context: Context) -> np.ndarray:
    """The activation node on a buffer nothing else holds: one clip in place (see activations.relu), else its own runner."""
    if activation is None:
        return output
    bound = clip_bound(activation)
    if bound is None:
        return RUNNERS[type(activation.layer)](activation.layer, output, {}, context)
    np.clip(output, np.float32(0), bound, out=output)
    return output


# ---------------------------------------------------------------- folding


def bn_scale_shift(layer: catalogue.BatchNormalization, weights: Weights, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Inference BN as x*scale + shift, computed as ops.batch_normalization computes it."""
    gamma = weights.get("gamma", np.ones(channels, np.float32))
    beta = weights.get("beta", np.zeros(channels, np.float32))
    scale = (1.0 / np.sqrt(weights["moving_variance"] + np.float32(layer.epsilon)) * gamma).astype(np.float32)
    shift = (beta - weights["moving_mean"] * scale).astype(np.float32)
    return scale, shift


def fold_batch_normalization(
    conv: catalogue.Conv2D | catalogue.DepthwiseConv2D,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    norm: catalogue.BatchNormalization,
    norm_weights: Weights,
) -> tuple[np.ndarray, np.ndarray]:
    """(kernel, bias) of one convolution computing conv then BN: each output channel's taps times its scale."""
    filters = kernel.shape[2] * kernel.shape[3] if isinstance(conv, catalogue.DepthwiseConv2D) else kernel.shape[3]
    scale, shift = bn_scale_shift(norm, norm_weights, filters)
    folded_kernel = np.ascontiguousarray(kernel * scale.reshape(kernel.shape[2:]) if isinstance(conv, catalogue.DepthwiseConv2D) else kernel * scale)
    folded_bias = shift if bias is None else (bias * scale + shift).astype(np.float32)
    return folded_kernel.astype(np.float32, copy=False), folded_bias


@dataclass
class FoldedEntry:
    """A folded kernel and bias, with what they were made from (weak references and a fingerprint)."""

    sources: tuple[weakref.ref | None, ...]
    fingerprint: bytes
    epsilon: float
    kernel: np.ndarray
    bias: np.ndarray

    def made_from(self, sources: tuple[np.ndarray | None, ...], fingerprint: bytes, epsilon: float) -> bool:
        """Whether these very arrays, holding these values, made it."""
        if self.epsilon != epsilon or self.fingerprint != fingerprint:
            return False
        for reference, array in zip(self.sources, sources):
            if (reference() if reference is not None else None) is not array:
                return False
        return True


def _fingerprint(kernel: np.ndarray, small: Sequence[np.ndarray | None]) -> bytes:
    """A sample of the kernel and every value of the small arrays (bias, BN's four vectors), as bytes.

    Bytes compare in one step (np.array_equal took a quarter of the check, ~2 us of ~8.5 per
    convolution), and a NaN equals itself, so NaN weights do not refold on every run.
    """
    flat = kernel.reshape(-1)
    sample = flat[:: max(1, flat.size // FINGERPRINT_SAMPLES)]
    return np.concatenate([sample, *(array.reshape(-1) for array in small if array is not None)]).tobytes()


def folded_weights(chain: Chain, weights: dict[int, Weights], context: Context) -> tuple[np.ndarray, np.ndarray | None]:
    """The chain's convolution kernel and bias with its BN folded in, from the context's cache when still valid.

    Valid while the same arrays (by weak reference) hold the same values (a sample of the kernel,
    all of the bias and BN's vectors): replacing the weights, or updating them in place as an
    optimiser does, refolds.
    """
    assert chain.conv is not None
    conv_weights = weights.get(chain.conv.index, {})
    kernel, bias = conv_weights["kernel"], conv_weights.get("bias")
    if chain.norm is None:
        return kernel, bias
    norm_weights = weights.get(chain.norm.index, {})
    sources = (kernel, bias, *(norm_weights.get(name) for name in ("gamma", "beta", "moving_mean", "moving_variance")))
    fingerprint = _fingerprint(kernel, sources[1:])
    epsilon = chain.norm.layer.epsilon
    key = (chain.conv.index, chain.conv.layer, chain.norm.layer)
    entry = context.folded.get(key)
    if entry is not None and entry.made_from(sources, fingerprint, epsilon):
        return entry.kernel, entry.bias
    folded_kernel, folded_bias = fold_batch_normalization(chain.conv.layer, kernel, bias, chain.norm.layer, norm_weights)
    references = tuple(None if array is None else weakref.ref(array) for array in sources)
    context.folded[key] = FoldedEntry(references, fingerprint, epsilon, folded_kernel, folded_bias)
    return folded_kernel, folded_bias


# ---------------------------------------------------------------- running


def conv_pads(chain: Chain, x: np.ndarray) -> ops.Pads:
    """The convolution's pads on the unpadded input: the ZeroPadding2D's plus its own on the padded size."""
    assert chain.conv is not None
    layer = chain.conv.layer
    (top, bottom), (left, right) = chain.pad.layer.padding if chain.pad is not None else ((0, 0), (0, 0))
    height, width = x.shape[1] + top + bottom, x.shape[2] + left + right
    own_h = axis_pads(layer.padding, 0, height, layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0])
    own_w = axis_pads(layer.padding, 1, width, layer.kernel_size[1], layer.strides[1], layer.dilation_rate[1])
    return ((top + own_h[0], bottom + own_h[1]), (left + own_w[0], right + own_w[1]))


def run_chain(chain: Chain, inputs: Sequence[np.ndarray], weights: dict[int, Weights], context: Context) -> np.ndarray:
    """The last node's output of the chain, from the values `chain.inputs` names."""
    if chain.conv is None and chain.merge is not None:
        output = RUNNERS[type(chain.merge.layer)](chain.merge.layer, list(inputs), weights.get(chain.merge.index, {}), context)
        if not output.flags.writeable or any(output is value for value in inputs):
            output = output.copy()
        return activate_in_place(output, chain.activation, context)
    x = inputs[0]
    if chain.conv is None:  # BN then an activation
        assert chain.norm is not None
        output = RUNNERS[catalogue.BatchNormalization](chain.norm.layer, x, weights.get(chain.norm.index, {}), context)
        return activate_in_place(output, chain.activation, context)
    layer = chain.conv.layer
    if context.fold or chain.norm is None:
        kernel, bias = folded_weights(chain, weights, context)
        norm = None
    else:  # BN as an in-place scale and shift of the output, exactly as its own runner computes it
        kernel, bias = weights[chain.conv.index]["kernel"], weights[chain.conv.index].get("bias")
        norm = bn_scale_shift(chain.norm.layer, weights.get(chain.norm.index, {}), kernel.shape[2] * kernel.shape[3] if isinstance(layer, catalogue.DepthwiseConv2D) else kernel.shape[3])
    own = None if is_linear(layer.activation) else layer.activation
    # relu6 is a clip the epilogue writes per block; other clips (relu...) are one in-place clip
    # afterwards, as the epilogue's relu (np.maximum) is 3x slower than a clip (see activations.relu)
    activation = own if own is not None else ("relu6" if norm is None and chain.merge is None and clip_bound(chain.activation) == 6 else None)
    pads = conv_pads(chain, x)
    if isinstance(layer, catalogue.DepthwiseConv2D):
        output = ops.depthwise_conv2d(x, kernel, bias, layer.strides, pads, layer.dilation_rate, activation=activation, workspace=context.workspace)
    else:
        output = ops.conv2d(
            x, kernel, bias, layer.strides, pads, layer.dilation_rate, layer.groups, activation=activation, workspace=context.workspace
        )
    if norm is not None:
        np.multiply(output, norm[0], out=output)
        np.add(output, norm[1], out=output)
    if chain.merge is not None:
        np.add(output, inputs[1], out=output)  # float addition commutes: the same bits as the Add's own runner
    return activate_in_place(output, chain.activation, context) if activation is None else output
