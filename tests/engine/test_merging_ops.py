"""Merge ops against a naive loop over every element and against PyTorch, broadcasting included."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from convtui.engine import merging

SHAPES = [
    [(2, 5, 4, 3), (2, 5, 4, 3)],
    [(2, 5, 4, 3), (2, 5, 4, 3), (2, 5, 4, 3)],
    [(2, 5, 4, 3), (2, 1, 1, 3)],  # a squeeze-excite gate
    [(2, 1, 1, 3), (2, 5, 4, 3), (2, 5, 1, 3)],  # the widest shape is not the first
]

NAIVE = {
    "add": lambda values: sum(values[1:], values[0]),
    "multiply": lambda values: np.prod(values),
    "average": lambda values: sum(values[1:], values[0]) / len(values),
    "maximum": max,
    "minimum": min,
}

TORCH = {
    "add": lambda tensors: torch.stack(torch.broadcast_tensors(*tensors)).sum(0),
    "multiply": lambda tensors: torch.stack(torch.broadcast_tensors(*tensors)).prod(0),
    "average": lambda tensors: torch.stack(torch.broadcast_tensors(*tensors)).mean(0),
    "maximum": lambda tensors: torch.stack(torch.broadcast_tensors(*tensors)).amax(0),
    "minimum": lambda tensors: torch.stack(torch.broadcast_tensors(*tensors)).amin(0),
}


def arrays(shapes: list[tuple[int, ...]], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(np.float32) for shape in shapes]


def naive(name: str, inputs: list[np.ndarray]) -> np.ndarray:
    shape = np.broadcast_shapes(*(value.shape for value in inputs))
    output = np.empty(shape, np.float64)
    for position in itertools.product(*map(range, shape)):
        values = [float(value[tuple(0 if side == 1 else i for side, i in zip(value.shape, position))]) for value in inputs]
        output[position] = NAIVE[name](values)
    return output


@pytest.mark.parametrize("name", sorted(NAIVE))
@pytest.mark.parametrize("shapes", SHAPES, ids=lambda shapes: " ".join(map(str, shapes)))
def test_elementwise_merges_match_a_naive_loop_and_pytorch(name: str, shapes: list[tuple[int, ...]]) -> None:
    inputs = arrays(shapes)
    ours = getattr(merging, name)(inputs)
    assert ours.dtype == np.float32 and ours.shape == np.broadcast_shapes(*shapes)
    np.testing.assert_allclose(ours, naive(name, inputs), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours, TORCH[name]([torch.from_numpy(value) for value in inputs]).numpy(), rtol=1e-6, atol=1e-6)
    assert all(value is not ours for value in inputs)


def test_merges_leave_their_inputs_untouched() -> None:
    inputs = arrays(SHAPES[1])
    copies = [value.copy() for value in inputs]
    for name in NAIVE:
        getattr(merging, name)(inputs)
    for value, copy in zip(inputs, copies):
        np.testing.assert_array_equal(value, copy)


def test_subtract_is_the_first_minus_the_second() -> None:
    first, second = arrays(SHAPES[2])
    np.testing.assert_array_equal(merging.subtract([first, second]), (torch.from_numpy(first) - torch.from_numpy(second)).numpy())


@pytest.mark.parametrize(("axis", "torch_dim"), [(-1, 3), (3, 3), (1, 1), (2, 2), (-3, 1)])
def test_concatenate_joins_on_keras_axis_counting_the_batch(axis: int, torch_dim: int) -> None:
    shapes = [(2, 4, 4, 3), (2, 4, 4, 3)]
    inputs = arrays(shapes)
    expected = torch.cat([torch.from_numpy(value) for value in inputs], dim=torch_dim).numpy()
    np.testing.assert_array_equal(merging.concatenate(inputs, axis), expected)
