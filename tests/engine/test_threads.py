"""Layers split across threads: the count's resolution, the pool, BLAS limited and restored, and
outputs equal to the single pass for any thread count (a split must not drop or double a row).

The thresholds that keep small layers whole are lowered here, so small odd-sized layers split.
"""

from __future__ import annotations

import threading

import naive
import numpy as np
import pytest
from test_ops import WINOGRAD_TOLERANCE, assert_matches, poisoned_scratch, random, relative_error

from convtui.engine import im2col, ops, threads, winograd
from convtui.engine.im2col import Epilogue, im2col_conv2d, image_segments
from convtui.engine.winograd import TRANSFORMS, transform_filters, winograd_conv3x3

THREAD_COUNTS = [1, 2, 3, 5]
RELU = ops.FUSED_ACTIVATIONS["relu"]


@pytest.fixture(autouse=True)
def restore_thread_count():
    before = threads.thread_count()
    yield
    threads.use_threads(before)


def workers(count: int) -> list:
    return [poisoned_scratch().scratch for _ in range(count)] if count > 1 else []


# ---------------------------------------------------------------- the count


def test_an_explicit_count_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.resolve_thread_count(5) == 5


def test_the_environment_wins_over_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3,2")  # OpenMP's nested form: the first level
    assert threads.resolve_thread_count() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")  # the BLAS-specific one first, as OpenBLAS reads them
    assert threads.resolve_thread_count() == 4


def test_without_a_count_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in threads.THREAD_VARIABLES:
        monkeypatch.setenv(name, "not a number")
    assert threads.resolve_thread_count() == threads.machine_cores() >= 1


def test_a_count_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        threads.resolve_thread_count(0)


def test_use_threads_sets_the_engine_and_blas() -> None:
    assert threads.use_threads(3) == 3
    assert threads.thread_count() == 3
    assert set(threads.blas_threads()) <= {3}  # an OpenBLAS built for fewer threads may cap it; none here


# ---------------------------------------------------------------- the pool


def test_tasks_run_on_several_threads_with_single_threaded_blas_which_is_restored() -> None:
    threads.use_threads(3)
    seen: list[tuple[int, list[int]]] = []
    barrier = threading.Barrier(3, timeout=10)  # all three must be running at once

    def task() -> None:
        barrier.wait()
        seen.append((threading.get_ident(), threads.blas_threads()))

    threads.run_parallel([task] * 3)
    assert len({ident for ident, _ in seen}) == 3
    assert all(set(counts) <= {1} for _, counts in seen)
    assert set(threads.blas_threads()) <= {3}


def test_an_error_in_a_task_is_raised_and_blas_restored() -> None:
    threads.use_threads(2)

    def failing() -> None:
        raise RuntimeError("band failed")

    with pytest.raises(RuntimeError, match="band failed"):
        threads.run_parallel([lambda: None, failing])
    assert set(threads.blas_threads()) <= {2}


def test_a_task_that_splits_again_runs_its_parts_in_turn() -> None:
    threads.use_threads(2)
    order: list[int] = []
    threads.run_parallel([lambda: threads.run_parallel([lambda: order.append(1), lambda: order.append(2)]), lambda: None])
    assert order == [1, 2]


@pytest.mark.parametrize("total", [0, 1, 5, 7, 56])
@pytest.mark.parametrize("parts", [1, 2, 3, 5, 16])
def test_split_evenly_covers_every_index_once(total: int, parts: int) -> None:
    ranges = threads.split_evenly(total, parts)
    assert [index for part in ranges for index in part] == list(range(total))
    assert all(len(part) for part in ranges) or total == 0
    assert max(map(len, ranges)) - min(map(len, ranges)) <= 1


@pytest.mark.parametrize("rows", [1, 3, 7])
@pytest.mark.parametrize("batch", [1, 2, 5])
@pytest.mark.parametrize("parts", [1, 2, 3, 5])
def test_image_segments_cover_every_row_of_the_batch_once(rows: int, batch: int, parts: int) -> None:
    covered = [
        (image, row)
        for part in threads.split_evenly(batch * rows, parts)
        for images, row_range in image_segments(part, rows)
        for image in range(images.start, images.stop)
        for row in row_range
    ]
    assert covered == [(image, row) for image in range(batch) for row in range(rows)]


# ---------------------------------------------------------------- split layers


@pytest.fixture
def split_winograd_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(winograd, "MIN_TILES_PER_TASK", 1)
    monkeypatch.setattr(winograd, "MIN_TILES_PER_TASK_SMALL_FILTERS", 1)
    monkeypatch.setattr(threads, "MIN_MACS_PER_TASK", 1)


@pytest.fixture
def split_winograd_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(winograd, "MIN_TILES_PER_TASK", 10**9)
    monkeypatch.setattr(winograd, "MIN_TILES_PER_TASK_SMALL_FILTERS", 10**9)
    monkeypatch.setattr(threads, "MIN_MACS_PER_TASK", 1)
    monkeypatch.setattr(winograd, "MIN_FILTERS_PER_TASK", 1)


@pytest.mark.parametrize("tile", sorted(TRANSFORMS))
@pytest.mark.parametrize("count", THREAD_COUNTS)
@pytest.mark.parametrize("split", ["split_winograd_rows", "split_winograd_filters"])
@pytest.mark.parametrize("band_bytes", [1, 10**9], ids=["one tile row per band", "one band"])
@pytest.mark.parametrize("batch", [1, 3])
def test_winograd_split_matches_the_definition(
    request: pytest.FixtureRequest, tile: int, count: int, split: str, band_bytes: int, batch: int
) -> None:
    """Odd sizes (partial tiles), asymmetric pads, bias and relu, any thread count."""
    request.getfixturevalue(split)
    rng = np.random.default_rng(count * 10 + tile)
    x, kernel, bias = random(rng, batch, 13, 11, 5), random(rng, 3, 3, 5, 7), random(rng, 7)
    pads = ((2, 0), (1, 1))
    filters = transform_filters(kernel, tile)
    expected = np.maximum(naive.conv2d(x, kernel, bias, (1, 1), pads, (1, 1), 1), 0)
    single = winograd_conv3x3(x, filters, pads, tile, Epilogue(bias, RELU), poisoned_scratch().scratch, band_bytes)
    actual = winograd_conv3x3(
        x, filters, pads, tile, Epilogue(bias, RELU), poisoned_scratch().scratch, band_bytes, workers=workers(count)
    )
    assert_matches(actual, expected, WINOGRAD_TOLERANCE[tile])
    assert relative_error(actual, single.astype(np.float64)) <= 1e-6


@pytest.fixture
def split_im2col_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(im2col, "MIN_PIXELS_PER_TASK", 1)
    monkeypatch.setattr(im2col, "MIN_PIXELS_PER_TASK_SMALL_KERNEL", 1)
    monkeypatch.setattr(threads, "MIN_MACS_PER_TASK", 1)


@pytest.fixture
def split_im2col_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(im2col, "MIN_PIXELS_PER_TASK", 10**9)
    monkeypatch.setattr(im2col, "MIN_PIXELS_PER_TASK_SMALL_KERNEL", 10**9)
    monkeypatch.setattr(threads, "MIN_MACS_PER_TASK", 1)
    monkeypatch.setattr(im2col, "MIN_FILTERS_PER_TASK", 1)


IM2COL_CASES = {
    "3x3 same": ((3, 7, 6, 4), (3, 3, 4, 5), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
    "strided, asymmetric pads": ((2, 9, 7, 3), (3, 2, 3, 6), (2, 3), ((0, 1), (1, 0)), (1, 1), 1),
    "groups": ((2, 6, 5, 6), (3, 3, 2, 6), (1, 1), ((1, 1), (0, 2)), (1, 1), 3),
    "pointwise": ((2, 5, 3, 6), (1, 1, 6, 7), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
}


@pytest.mark.parametrize("case", IM2COL_CASES.values(), ids=IM2COL_CASES.keys())
@pytest.mark.parametrize("count", THREAD_COUNTS)
@pytest.mark.parametrize("split", ["split_im2col_rows", "split_im2col_filters"])
@pytest.mark.parametrize("byte_limit", [1, 2**30], ids=["row blocks", "one block"])
def test_im2col_split_matches_the_definition(request: pytest.FixtureRequest, case: tuple, count: int, split: str, byte_limit: int) -> None:
    request.getfixturevalue(split)
    x_shape, kernel_shape, strides, pads, dilation, groups = case
    rng = np.random.default_rng(count)
    x, kernel, bias = random(rng, *x_shape), random(rng, *kernel_shape), random(rng, kernel_shape[-1])
    expected = np.maximum(naive.conv2d(x, kernel, bias, strides, pads, dilation, groups), 0)
    actual = im2col_conv2d(
        x, kernel, strides, pads, dilation, groups, Epilogue(bias, RELU), poisoned_scratch().scratch, byte_limit, workers=workers(count)
    )
    assert_matches(actual, expected)


@pytest.mark.parametrize("count", THREAD_COUNTS)
def test_conv2d_uses_the_engine_count(split_winograd_rows: None, split_im2col_rows: None, count: int) -> None:
    """Through ops.conv2d (Winograd and im2col layers), the workspace's worker scratch reused across calls."""
    threads.use_threads(count)
    rng = np.random.default_rng(count)
    workspace = ops.Workspace()
    for x_shape, kernel_shape in [((1, 17, 15, 32), (3, 3, 32, 40)), ((2, 9, 11, 3), (5, 5, 3, 8))]:
        x, kernel, bias = random(rng, *x_shape), random(rng, *kernel_shape), random(rng, kernel_shape[-1])
        pads = ((kernel_shape[0] // 2,) * 2, (kernel_shape[1] // 2,) * 2)
        actual = ops.conv2d(x, kernel, bias, (1, 1), pads, activation="relu", workspace=workspace)
        expected = np.maximum(naive.conv2d(x, kernel, bias, (1, 1), pads, (1, 1), 1), 0)
        assert_matches(actual, expected, WINOGRAD_TOLERANCE[4])
    assert len(workspace._workers) == (count if count >= threads.MIN_CONV_SPLIT_THREADS else 0)


POOL_CASES = {
    "2x2 / 2, odd sides": ((2, 9, 7, 3), (2, 2), (2, 2), ((0, 0), (0, 0))),
    "3x3 / 2, padded": ((3, 8, 11, 2), (3, 3), (2, 2), ((1, 1), (0, 1))),
    "3x2 / 1": ((1, 6, 5, 4), (3, 2), (1, 1), ((0, 0), (0, 0))),
}


@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
@pytest.mark.parametrize("count", THREAD_COUNTS)
@pytest.mark.parametrize("pool", [ops.max_pool2d, ops.average_pool2d], ids=["max", "average"])
def test_split_pooling_equals_the_single_pass(monkeypatch: pytest.MonkeyPatch, case: tuple, count: int, pool) -> None:
    x_shape, pool_size, strides, pads = case
    x = random(np.random.default_rng(count), *x_shape)
    threads.use_threads(1)
    single = pool(x, pool_size, strides, pads, workspace=poisoned_scratch())
    monkeypatch.setattr(ops, "POOL_MIN_VALUES_PER_TASK", 1)
    threads.use_threads(count)
    actual = pool(x, pool_size, strides, pads, workspace=poisoned_scratch())
    np.testing.assert_array_equal(actual, single)


def test_blas_counts_as_single_threaded_only_when_it_is() -> None:
    """Inside `unsplit` the engine splits nothing while BLAS keeps its threads: not single-threaded there."""
    threads.use_threads(2)
    assert not threads.blas_single_threaded()
    with threads.unsplit():
        assert threads.thread_count() == 1 and not threads.blas_single_threaded()
    seen: list[bool] = []
    threads.run_parallel([lambda: seen.append(threads.blas_single_threaded()) for _ in range(2)])
    assert seen == [True, True]
    threads.use_threads(1)
    assert threads.blas_single_threaded()


def test_with_one_thread_nothing_is_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """One thread: today's single pass (BLAS keeps its own threads), even for a layer that would split."""

    def refuse(tasks: object) -> None:
        raise AssertionError("split with one thread")

    for module in (winograd, im2col, ops):
        monkeypatch.setattr(module, "run_parallel", refuse)
    threads.use_threads(1)
    rng = np.random.default_rng(0)
    workspace = ops.Workspace()
    ops.conv2d(random(rng, 1, 64, 64, 32), random(rng, 3, 3, 32, 32), None, pads=((1, 1), (1, 1)), workspace=workspace)
    ops.conv2d(random(rng, 1, 64, 64, 3), random(rng, 3, 3, 3, 32), None, pads=((1, 1), (1, 1)), workspace=workspace)
    ops.max_pool2d(random(rng, 1, 256, 256, 8), (2, 2), (2, 2), workspace=workspace)
    assert workspace._workers == []


def test_the_split_plans_for_vgg16_and_resnet50_layers() -> None:
    """Large maps in bands of rows; deep layers on small maps by filters; small layers whole."""
    four = TRANSFORMS[4]

    def winograd_plan(side: int, channels: int, filters: int, workers: int) -> tuple[str, int]:
        tile_rows = side // four.output_tile
        return winograd._parallel_plan(tile_rows, tile_rows**2, 36 * channels * filters * 4, filters, workers)

    assert winograd_plan(224, 64, 64, 1) == ("whole", 1)
    assert winograd_plan(224, 64, 64, 16) == ("rows", 16)
    assert winograd_plan(112, 128, 128, 16) == ("rows", 16)
    assert winograd_plan(28, 512, 512, 2) == ("filters", 2)
    assert winograd_plan(28, 512, 512, 16) == ("filters", 16)
    assert im2col._parallel_plan(56 * 56, 64 * 256 * 4, 256, 1, 16) == ("rows", 16)  # ResNet50's 1x1 at 56x56
    assert im2col._parallel_plan(7 * 7, 512 * 2048 * 4, 2048, 1, 16) == ("filters", 16)  # and at 7x7
    assert im2col._parallel_plan(7 * 7, 3 * 3 * 8 * 8 * 4, 8, 1, 16) == ("whole", 1)


@pytest.mark.parametrize("count", THREAD_COUNTS)
def test_parallel_ufunc_equals_one_call(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """Broadcast operands (a per-channel bias, a scalar) and odd sizes; every band written once."""
    monkeypatch.setattr(threads, "ELEMENTWISE_MIN_VALUES_PER_TASK", 1)
    threads.use_threads(count)
    rng = np.random.default_rng(count)
    a, b, bias = random(rng, 3, 7, 5, 4), random(rng, 3, 7, 5, 4), random(rng, 4)
    out = np.full_like(a, np.nan)
    threads.parallel_ufunc(np.add, a, b, out=out)
    np.testing.assert_array_equal(out, a + b)
    threads.parallel_ufunc(np.add, out, bias, out=out)
    threads.parallel_ufunc(np.maximum, out, np.float32(0), out=out)
    np.testing.assert_array_equal(out, np.maximum(a + b + bias, 0))


def test_unsplit_keeps_blas_threads_and_restores_the_count() -> None:
    threads.use_threads(3)
    with threads.unsplit():
        assert threads.thread_count() == 1
        assert set(threads.blas_threads()) <= {3}
    assert threads.thread_count() == 3


@pytest.mark.parametrize("count", [0, 1, 7, 40])
def test_run_shared_does_every_item_once_with_each_thread_on_its_own_scratch(count: int) -> None:
    threads.use_threads(3)
    done: list[tuple[int, object, int]] = []
    scratches = ["a", "b", "c"]
    threads.run_shared(lambda item, scratch: done.append((item, scratch, threading.get_ident())), count, scratches)
    assert sorted(item for item, _, _ in done) == list(range(count))
    by_scratch: dict[object, set[int]] = {}
    for _, scratch, ident in done:
        by_scratch.setdefault(scratch, set()).add(ident)
    assert all(len(idents) == 1 for idents in by_scratch.values())  # a scratch is never used by two threads
