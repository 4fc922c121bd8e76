"""Inference fusion: padding -> convolution -> BatchNormalization -> activation chains run as one.

The fused pass is checked against the unfused one (fuse=False runs every layer's own runner) on
random graphs; the outputs a fused pass does not keep are computed on access and must equal the
eager ones; the folded-kernel cache must notice changed weights; shared intermediates stay unfused.
"""

from __future__ import annotations

import numpy as np
import pytest

from convtui.engine import forward, initial_weights
from convtui.engine.forward import LayerOutputs, estimate_memory
from convtui.engine.fusion import plan_fusion
from convtui.engine.runners import RUNNERS, Context
from convtui.errors import EngineError
from convtui.model.layers import (
    Activation,
    Add,
    BatchNormalization,
    Conv2D,
    DepthwiseConv2D,
    GlobalAveragePooling2D,
    ReLU,
    ZeroPadding2D,
)
from convtui.model.stack import Stack

TOLERANCE = 1e-4


def relative_difference(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float(np.abs(ours - theirs).max() / max(float(np.abs(theirs).max()), 1e-30))


def with_statistics(weights: dict[int, dict[str, np.ndarray]], seed: int = 0) -> dict[int, dict[str, np.ndarray]]:
    """BN statistics and affine weights far from 0 and 1, so a wrong fold shows."""
    rng = np.random.default_rng(seed)
    for named in weights.values():
        if "moving_mean" in named:
            channels = named["moving_mean"].shape
            named["moving_mean"] = rng.normal(0, 0.5, channels).astype(np.float32)
            named["moving_variance"] = rng.uniform(0.2, 2.0, channels).astype(np.float32)
            if "gamma" in named:
                named["gamma"] = rng.uniform(0.3, 1.7, channels).astype(np.float32)
            if "beta" in named:
                named["beta"] = rng.normal(0, 0.3, channels).astype(np.float32)
        if "bias" in named:
            named["bias"] = rng.normal(0, 0.2, named["bias"].shape).astype(np.float32)
    return weights


def random_graph(seed: int) -> Stack:
    """Blocks of [pad] conv [BN] [activation], some with a residual Add (+ activation) and some
    whose intermediate output feeds a second consumer."""
    rng = np.random.default_rng(seed)
    layers, names, inputs = [], [], []
    channels, last = 8, "input"

    def add(layer, sources):  # type: ignore[no-untyped-def]
        name = f"n{len(layers)}"
        layers.append(layer)
        names.append(name)
        inputs.append(tuple(sources))
        return name

    for block in range(6):
        start, start_channels = last, channels
        padded_first = rng.random() < 0.3
        if padded_first:
            last = add(ZeroPadding2D(padding=((1, 0), (1, 1))), [last])
            padding = "valid"
        else:
            padding = str(rng.choice(["same", "valid"])) if block % 2 else "same"
        bias = bool(rng.random() < 0.5)
        own = str(rng.choice(["linear", "relu", "swish"])) if rng.random() < 0.25 else "linear"
        if rng.random() < 0.4:
            multiplier = int(rng.choice([1, 2]))
            last = add(DepthwiseConv2D(kernel_size=3, padding=padding, depth_multiplier=multiplier, use_bias=bias, activation=own), [last])
            channels *= multiplier
        else:
            kernel = int(rng.choice([1, 3]))
            filters = int(rng.choice([8, 16, 40]))
            last = add(Conv2D(filters=filters, kernel_size=kernel, padding=padding, use_bias=bias, activation=own), [last])
            channels = filters
        conv = last
        if rng.random() < 0.8:
            last = add(BatchNormalization(epsilon=float(rng.choice([1e-3, 1e-5]))), [last])
        kind = rng.integers(5)
        if kind == 1:
            last = add(ReLU(), [last])
        elif kind == 2:
            last = add(ReLU(max_value=6.0), [last])
        elif kind == 3:
            last = add(Activation(activation=str(rng.choice(["relu", "tanh", "swish"]))), [last])
        elif kind == 4:
            last = add(ReLU(negative_slope=0.1, max_value=4.0), [last])
        shape_kept = padding == "same" and not padded_first
        if shape_kept and channels == start_channels and start != "input" and rng.random() < 0.7:
            # the residual is the block's input, or the convolution's own output (which then feeds two nodes)
            last = add(Add(), [last, start if rng.random() < 0.5 else conv])
            if rng.random() < 0.6:
                last = add(Activation(activation="relu"), [last])
    add(GlobalAveragePooling2D(), [last])
    return Stack((13, 11, 8), tuple(layers), names=tuple(names), inputs=tuple(inputs))


def batch(shape: tuple[int, ...], size: int = 2, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (size, *shape)).astype(np.float32)


def run_both(stack: Stack, seed: int = 0, context: Context | None = None):  # type: ignore[no-untyped-def]
    """The unfused pass, and the fused one: with a context of its own, BN folded into the kernels;
    without (a one-off run), BN as an in-place scale of the convolution's output."""
    info = stack.infer()
    assert info.first_invalid is None, info.first_invalid
    weights = with_statistics(initial_weights(info, seed), seed)
    images = batch(info.input_shape)
    eager = forward(info, images, weights, fuse=False)
    fused = forward(info, images, weights, fuse=True, context=context)
    return info, weights, images, eager, fused


@pytest.mark.parametrize("fold", [True, False], ids=["folded", "scaled"])
@pytest.mark.parametrize("seed", range(12))
def test_fused_pass_matches_the_unfused_one_on_random_graphs(seed: int, fold: bool) -> None:
    context = Context() if fold else None
    info, _, _, eager, fused = run_both(random_graph(seed), seed, context)
    plan = plan_fusion(info)
    assert plan.chains, "the graph has chains to fuse"
    folds = sum(chain.conv is not None and chain.norm is not None for chain in plan.chains.values())
    assert context is None or len(context.folded) == folds
    assert isinstance(fused.outputs, LayerOutputs)
    assert len(fused.outputs) == len(eager.outputs) == len(info.layers)
    for layer, ours, theirs in zip(info.layers, fused.outputs, eager.outputs):
        assert ours.shape == theirs.shape and ours.dtype == np.float32, layer.name
        assert relative_difference(ours, theirs) <= TOLERANCE, (layer.name, layer.layer)


def conv_bn_relu_stack() -> Stack:
    return Stack(
        (10, 10, 4),
        (
            ZeroPadding2D(padding=1),
            Conv2D(filters=6, kernel_size=3, use_bias=False),
            BatchNormalization(),
            ReLU(max_value=6.0),
            DepthwiseConv2D(kernel_size=3, padding="same", depth_multiplier=2),
            BatchNormalization(),
            Activation(activation="relu"),
            GlobalAveragePooling2D(),
        ),
    )


@pytest.mark.parametrize("fold", [True, False], ids=["folded", "scaled"])
def test_a_chain_keeps_only_its_last_output_and_computes_the_others_on_access(fold: bool) -> None:
    info, weights, images, eager, fused = run_both(conv_bn_relu_stack(), context=Context() if fold else None)
    plan = plan_fusion(info)
    assert sorted(plan.chains) == [3, 6] and plan.dropped == {0, 1, 2, 4, 5}
    outputs = fused.outputs
    names = [layer.name for layer in info.layers]
    assert outputs.computed == {names[3], names[6], names[7]}
    # a dropped output: what the graph cut after that layer computes, to the bit
    stack = conv_bn_relu_stack()
    for cut in (2, 3, 5, 6):
        prefix_weights = {index: weights[index] for index in weights if index < cut}
        prefix = forward(Stack(stack.input_shape, stack.layers[:cut]), images, prefix_weights, context=Context() if fold else None)
        np.testing.assert_array_equal(outputs[cut - 1], prefix.outputs[-1], err_msg=f"layer {cut - 1}")
    assert {names[1], names[4]} <= outputs.computed and names[0] not in outputs.computed
    padded_input = RUNNERS[ZeroPadding2D](info.layers[0].layer, images, {}, Context())
    np.testing.assert_array_equal(outputs[0], padded_input)
    conv = RUNNERS[Conv2D](info.layers[1].layer, padded_input, weights[1], Context())
    assert relative_difference(outputs[1], conv) <= TOLERANCE
    assert outputs[1] is outputs[1], "computed once, then cached"
    # the sequence behaves as the tuple it replaces
    assert outputs[-1] is outputs[len(outputs) - 1]
    assert [output.shape for output in outputs[2:4]] == [(2, 10, 10, 6), (2, 10, 10, 6)]
    assert len(list(outputs)) == len(info.layers)
    with pytest.raises(IndexError):
        outputs[len(outputs)]
    for ours, theirs in zip(outputs, eager.outputs):
        assert relative_difference(ours, theirs) <= TOLERANCE


def test_an_intermediate_with_two_consumers_is_not_fused_past() -> None:
    stack = Stack(
        (8, 8, 6),
        (Conv2D(filters=6, kernel_size=3, padding="same"), BatchNormalization(), ReLU(), Add(), Activation(activation="relu")),
        names=("conv", "bn", "relu", "add", "out"),
        inputs=(None, None, None, ("relu", "conv"), None),
    )
    info, _, _, eager, fused = run_both(stack)
    plan = plan_fusion(info)
    assert 0 not in plan.dropped, "conv feeds bn and add: its output must be kept"
    assert plan.chains[2].conv is None and plan.chains[2].norm is not None, "bn -> relu still fuses"
    assert plan.chains[4].merge is not None and plan.dropped == {1, 3}
    for ours, theirs in zip(fused.outputs, eager.outputs):
        assert relative_difference(ours, theirs) <= TOLERANCE


@pytest.mark.parametrize("fold", [True, False], ids=["folded", "scaled"])
def test_a_residual_add_joins_the_convolution_before_it(fold: bool) -> None:
    stack = Stack(
        (8, 8, 6),
        (Conv2D(filters=6, kernel_size=1), ReLU(), Conv2D(filters=6, kernel_size=3, padding="same"), BatchNormalization(), Add(), ReLU()),
        names=("stem", "stem_relu", "conv", "bn", "add", "out"),
        inputs=(None, None, None, None, ("stem_relu", "bn"), None),
    )
    info, _, _, eager, fused = run_both(stack, context=Context() if fold else None)
    chain = plan_fusion(info).chains[5]
    assert (chain.conv, chain.norm, chain.merge) == tuple(info.layers[2:5]), "conv -> BN -> Add -> ReLU is one chain"
    assert chain.inputs == ("stem_relu", "stem_relu"), "the convolution's input, then the Add's other one"
    for ours, theirs in zip(fused.outputs, eager.outputs):
        assert relative_difference(ours, theirs) <= TOLERANCE


def test_a_declared_output_is_kept() -> None:
    stack = Stack((8, 8, 3), (Conv2D(filters=4, kernel_size=3), BatchNormalization(), ReLU()), names=("c", "b", "r"), outputs=("b", "r"))
    plan = plan_fusion(stack.infer())
    assert 1 not in plan.dropped and 0 in plan.dropped


@pytest.mark.parametrize("change", ["replace kernel", "kernel in place", "gamma in place", "variance replaced", "bias in place"])
def test_a_weight_change_after_a_run_refolds(change: str) -> None:
    stack = Stack((9, 9, 32), (Conv2D(filters=32, kernel_size=3, padding="same"), BatchNormalization(), ReLU()))  # Winograd's size
    info = stack.infer()
    weights = with_statistics(initial_weights(info, 0))
    images = batch(info.input_shape)
    context = Context()
    first = forward(info, images, weights, context=context).outputs[-1].copy()
    conv, norm = weights[0], weights[1]
    if change == "replace kernel":
        conv["kernel"] = conv["kernel"] * np.float32(-0.5)
    elif change == "kernel in place":
        conv["kernel"] *= np.float32(-0.5)
    elif change == "gamma in place":
        norm["gamma"][3] += np.float32(1.0)
    elif change == "variance replaced":
        norm["moving_variance"] = norm["moving_variance"] * np.float32(3.0)
    else:
        conv["bias"][0] -= np.float32(5.0)
    again = forward(info, images, weights, context=context).outputs[-1]
    expected = forward(info, images, weights, fuse=False).outputs[-1]
    assert relative_difference(again, expected) <= TOLERANCE
    assert relative_difference(first, expected) > 1e-3, "the change changes the output"


def test_the_folded_kernel_is_reused_while_the_weights_stay() -> None:
    stack = Stack((9, 9, 32), (Conv2D(filters=32, kernel_size=3, padding="same"), BatchNormalization(), ReLU()))
    info = stack.infer()
    weights = with_statistics(initial_weights(info, 0))
    context = Context()
    forward(info, batch(info.input_shape), weights, context=context)
    (entry,) = context.folded.values()
    forward(info, batch(info.input_shape, seed=2), weights, context=context)
    assert next(iter(context.folded.values())).kernel is entry.kernel


def test_memory_estimate_counts_only_the_kept_outputs() -> None:
    info = conv_bn_relu_stack().infer()
    plain = estimate_memory(info, 4, info.params_bytes)
    fused = estimate_memory(info, 4, info.params_bytes, fusion=plan_fusion(info))
    assert fused.peak_bytes < plain.peak_bytes


def test_unfusable_activations_run_after_the_fused_convolution() -> None:
    stack = Stack(
        (7, 7, 5),
        (
            Conv2D(filters=5, kernel_size=3, padding="same", activation="swish"),
            BatchNormalization(),
            ReLU(negative_slope=0.2, threshold=0.1),
            Conv2D(filters=5, kernel_size=1),
            BatchNormalization(),
            Activation(activation="tanh"),
        ),
    )
    info, _, _, eager, fused = run_both(stack)
    assert plan_fusion(info).dropped == {1, 3, 4}
    for ours, theirs in zip(fused.outputs, eager.outputs):
        assert relative_difference(ours, theirs) <= TOLERANCE


def test_a_reused_context_still_guards_memory_when_the_budget_changes() -> None:
    info = conv_bn_relu_stack().infer()
    weights = initial_weights(info, 0)
    context = Context()
    forward(info, batch(info.input_shape), weights, context=context)
    forward(info, batch(info.input_shape), weights, context=context)  # planned and checked once, reused
    with pytest.raises(EngineError):
        forward(info, batch(info.input_shape), weights, context=context, max_memory=2**10)
