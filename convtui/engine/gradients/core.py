"""Core layers in training: Dense (on the last axis of any rank, with its activation), Dropout
(Keras's inverted dropout with a mask from the step's generator), Identity and LayerScale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convtui.engine import ops, threads
from convtui.engine.gradients.activations import activation_backward
from convtui.engine.gradients.base import Forwarded, LayerGradient, StepArena, TrainContext, Weights, batch_parts, run_parts
from convtui.engine.runners import activate
from convtui.model import layers as catalogue


@dataclass(frozen=True)
class DenseCache:
    """The input, and the pre-activation and output its activation's derivative reads."""

    x: np.ndarray
    pre_activation: np.ndarray
    output: np.ndarray
    arena: StepArena | None = None


def dense_forward(layer: catalogue.Dense, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    """x @ kernel + bias (ops.dense), the rows split over the cores when there are many (see `row_parts`)."""
    kernel, bias = weights["kernel"], weights.get("bias")
    rows = x.reshape(-1, x.shape[-1])
    parts = row_parts(rows)
    if len(parts) == 1:
        pre_activation = ops.dense(x, kernel, bias)
    else:
        pre_activation = context.arena.take((*x.shape[:-1], kernel.shape[-1]), np.result_type(x, kernel))
        out_rows = pre_activation.reshape(-1, kernel.shape[-1])

        def part_product(number: int, part: range) -> None:
            np.matmul(rows[part.start : part.stop], kernel, out=out_rows[part.start : part.stop])
            if bias is not None:
                out_rows[part.start : part.stop] += bias

        run_parts(parts, part_product)
    output = activate(pre_activation, layer.activation)
    return Forwarded(output, DenseCache(x, pre_activation, output, context.arena))


def dense_backward(layer: catalogue.Dense, cache: DenseCache, d_output: np.ndarray, weights: Weights) -> tuple[np.ndarray, Weights]:
    """Every leading axis is a row of one matrix product: kernel gradient x^T dz, bias the sum of dz.

    With BLAS threaded, x^T dz is computed as (dz^T x)^T: the same product, but OpenBLAS threads the
    wide x^T operand badly (2 threads: 20x slower for a 36864 x 32 x^T at batch 32). On one thread (or
    in row parts, each on one BLAS thread) x^T dz is direct: the copy back to C order cost 40% more.
    """
    d_pre = activation_backward(layer.activation, cache.pre_activation, cache.output, d_output)
    rows = d_pre.reshape(-1, d_pre.shape[-1])
    x_rows = cache.x.reshape(-1, cache.x.shape[-1])
    parts = row_parts(x_rows)
    if len(parts) == 1:
        one_thread = threads.thread_count() == 1  # BLAS on one thread reads the wide x^T well: no transposing copy
        gradients = {"kernel": x_rows.T @ rows if one_thread else np.ascontiguousarray((rows.T @ x_rows).T)}
        d_input = d_pre @ weights["kernel"].T
    else:
        kernel = weights["kernel"]
        shape, dtype = (*d_pre.shape[:-1], kernel.shape[0]), np.result_type(d_pre, kernel)
        d_input = np.empty(shape, dtype) if cache.arena is None else cache.arena.take(shape, dtype)
        d_input_rows = d_input.reshape(-1, kernel.shape[0])
        products: list[np.ndarray] = [np.empty(0)] * len(parts)

        def part_gradients(number: int, part: range) -> None:
            piece = slice(part.start, part.stop)
            products[number] = x_rows[piece].T @ rows[piece]  # each part's BLAS runs on one thread
            np.matmul(rows[piece], kernel.T, out=d_input_rows[piece])

        run_parts(parts, part_gradients)
        for product in products[1:]:
            products[0] += product
        gradients = {"kernel": products[0]}
    if "bias" in weights:
        gradients["bias"] = rows.sum(axis=0)
    return d_input, gradients


def row_parts(rows: np.ndarray) -> list[range]:
    """The rows of a Dense's (rows, features) input in one range per core, or one range when the product is small.

    Each range's product runs on single-threaded BLAS: OpenBLAS's own threads on these wide,
    short products measured 10-100x slower than one thread when the other core is busy.
    """
    return batch_parts(len(rows), rows.size)


def noise_shape_of(layer: catalogue.Dropout, x: np.ndarray) -> tuple[int, ...]:
    """Keras's mask shape: the input's, or noise_shape with None taking the input's side."""
    if layer.noise_shape is None:
        return x.shape
    return tuple(size if side is None else side for side, size in zip(layer.noise_shape, x.shape))


@dataclass(frozen=True)
class Dropped:
    """Dropout's cache: the mask as words (all ones where kept, zero where dropped, in the noise shape), the kept values' scale, the step's arena."""

    bits: np.ndarray
    keep: float
    arena: StepArena

    def apply(self, values: np.ndarray) -> np.ndarray:
        """where(mask, values / keep, 0) bit for bit (values itself where keep is 0), into an array of the step's arena."""
        scaled = self.arena.take(values.shape, values.dtype)
        np.divide(values, self.keep or 1.0, out=scaled)
        words = scaled.view(self.bits.dtype)
        np.bitwise_and(words, self.bits, out=words)
        return scaled


def dropout_forward(layer: catalogue.Dropout, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    """where(mask, x / keep, 0), the mask kept with probability 1 - rate and broadcast as Keras does;
    rate 0 passes x, rate 1 gives zeros (Keras's shortcuts). The cache is a `Dropped` (None: all kept).

    The mask is drawn as ever (float64 uniforms below keep: the same seed, the same mask) but applied
    as words ANDed with the scaled values: np.where's branch on a fresh random mask mispredicts, and
    forward + backward took 0.48 ms with it, 0.16 ms so (mnist-convnet's dropout, batch 32, one thread).
    """
    if layer.rate == 0:
        return Forwarded(x, None)
    uniforms = context.rng.random(out=context.arena.take(noise_shape_of(layer, x), np.float64))
    bits = context.arena.take(uniforms.shape, np.dtype(f"u{x.dtype.itemsize}"))
    keep = 1.0 - layer.rate
    np.less(uniforms, keep, out=bits)
    np.negative(bits, out=bits)  # 1 -> all ones
    dropped = Dropped(bits, keep, context.arena)
    return Forwarded(dropped.apply(x), dropped)


def dropout_backward(layer: catalogue.Dropout, dropped: Dropped | None, d_output: np.ndarray, weights: Weights) -> tuple[np.ndarray, Weights]:
    if dropped is None:
        return d_output, {}
    return dropped.apply(d_output), {}


def identity_forward(layer: catalogue.Identity, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    return Forwarded(x)


def identity_backward(layer: catalogue.Identity, cache: None, d_output: np.ndarray, weights: Weights) -> tuple[np.ndarray, Weights]:
    return d_output, {}


def layer_scale_forward(layer: catalogue.LayerScale, x: np.ndarray, weights: Weights, context: TrainContext) -> Forwarded:
    return Forwarded(x * weights["gamma"], x)


def layer_scale_backward(layer: catalogue.LayerScale, x: np.ndarray, d_output: np.ndarray, weights: Weights) -> tuple[np.ndarray, Weights]:
    """gamma scales the last axis: its gradient sums x * d_output over every other axis."""
    leading = tuple(range(x.ndim - 1))
    return d_output * weights["gamma"], {"gamma": (d_output * x).sum(axis=leading)}


CORE_GRADIENTS: dict[type, LayerGradient] = {
    catalogue.Dense: LayerGradient(dense_forward, dense_backward),
    catalogue.Dropout: LayerGradient(dropout_forward, dropout_backward),
    catalogue.Identity: LayerGradient(identity_forward, identity_backward),
    catalogue.LayerScale: LayerGradient(layer_scale_forward, layer_scale_backward),
}
