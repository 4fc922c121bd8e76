"""Why the engine's non-BLAS passes stay on one core on this machine, and what would split them well.

MobileNetV2's forward loses to PyTorch mostly in passes that NumPy runs on one core (depthwise
convolutions, epilogues), while PyTorch's OpenMP threads split every operator. This script measures,
on the machine it runs on:

1. How long a sleeping Python thread takes to start a task, after idle gaps of various lengths
   (a virtual machine without guest halt polling wakes an idle vCPU slowly).
2. For MobileNetV2's depthwise (+ bias + relu6) and 1x1 (+ bias + relu6) layers, each layer's time
   (a) as the engine runs it today (BLAS on its own threads, NumPy on one core), (b) split in two
   halves over the engine's thread pool (`threads.run_parallel`, BLAS on one thread per half), and
   (c) split in two halves with a helper *process* that spins on a flag in shared memory: no GIL
   hand-off and no sleeping thread, the way OpenMP's threads wait.
   The totals are weighted by how many layers of each shape MobileNetV2 has.

What a trial of (c) inside the engine found (depthwise layers only, December 2026): MobileNetV2's
forward went from 20 to 65 ms, its helper's halves waiting for a core, because OpenBLAS's worker
thread keeps spinning after each product of the 1x1 layers; with BLAS on one thread it was 21 ms,
the depthwise gains eaten by products on one core. So the split is all or nothing: BLAS on one
thread in both processes, the helper taking half of every heavy pass (products included), and the
activations themselves in shared memory, so that no pass copies its input across.

Prints figures; asserts nothing. Linux only (the helper process is forked).

    python benchmarks/bench_parallel_runtime.py [--repeats 60]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np
from numpy.lib.stride_tricks import as_strided
from threadpoolctl import threadpool_limits

from convtui.engine import threads

DEPTHWISE_LAYERS = [(112, 32, 1), (56, 144, 2), (28, 192, 3), (14, 384, 4), (14, 576, 3), (7, 960, 3)]
"""(side, channels, count) of MobileNetV2's stride-1 depthwise layers at 224x224."""
POINTWISE_LAYERS = [
    (112, 32, 16, 1), (112, 16, 96, 1), (56, 24, 144, 2), (56, 144, 24, 1), (28, 32, 192, 3), (28, 192, 32, 2), (14, 64, 384, 4),
    (14, 384, 64, 3), (14, 96, 576, 3), (14, 576, 96, 2), (7, 160, 960, 3), (7, 960, 160, 2), (7, 320, 1280, 1),
]  # fmt: skip
"""(side, input channels, filters, count) of its 1x1 layers."""
ARENA_BYTES = 128 * 2**20


@dataclass(frozen=True)
class Layer:
    name: str
    count: int
    rows: int
    part: Callable[[int, int], None]
    """Computes output rows [start, stop) of the layer."""


class Arena:
    """Arrays in one shared-memory segment, made before the helper forks, so both processes see them."""

    def __init__(self) -> None:
        self.memory = shared_memory.SharedMemory(create=True, size=ARENA_BYTES)
        self.used = 64  # the first 64 bytes hold the flags
        self.flags = np.ndarray(4, np.int64, buffer=self.memory.buf[:32])
        self.flags[:] = 0

    def array(self, shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
        size = int(np.prod(shape)) * 4
        array = np.ndarray(shape, np.float32, buffer=self.memory.buf[self.used : self.used + size])
        self.used += -(-size // 64) * 64
        array[...] = rng.random(shape, dtype=np.float32) if rng is not None else 0
        return array

    def close(self) -> None:
        del self.flags
        self.memory.close()
        self.memory.unlink()


def depthwise_layer(arena: Arena, rng: np.random.Generator, side: int, channels: int, count: int) -> Layer:
    """The engine's depthwise pass (one einsum over row runs, see ops.depthwise_conv2d), then bias and relu6."""
    padded = arena.array((1, side + 2, side + 2, channels), rng)
    taps = arena.array((3, 3, side * channels), rng)
    bias = arena.array((side * channels,), rng)
    output = arena.array((1, side, side * channels))
    runs = padded.reshape(1, side + 2, (side + 2) * channels)

    def part(start: int, stop: int) -> None:
        strides = (runs.strides[0], runs.strides[1], runs.strides[1], channels * 4, 4)
        rows = as_strided(runs[:, start:], (1, stop - start, 3, 3, side * channels), strides, writeable=False)
        block = output[:, start:stop]
        np.einsum("nrijx,ijx->nrx", rows, taps, out=block)
        np.add(block, bias, out=block)
        np.clip(block, 0, 6, out=block)

    return Layer(f"depthwise {side}x{side}x{channels}", count, side, part)


def pointwise_layer(arena: Arena, rng: np.random.Generator, side: int, channels: int, filters: int, count: int) -> Layer:
    """A 1x1 convolution's product, then bias and relu6."""
    x = arena.array((side * side, channels), rng)
    kernel = arena.array((channels, filters), rng)
    bias = arena.array((filters,), rng)
    output = arena.array((side * side, filters))

    def part(start: int, stop: int) -> None:
        block = output[start * side : stop * side]
        np.matmul(x[start * side : stop * side], kernel, out=block)
        np.add(block, bias, out=block)
        np.clip(block, 0, 6, out=block)

    return Layer(f"1x1 {side}x{side} {channels}->{filters}", count, side, part)


def helper_loop(flags: np.ndarray, layers: list[Layer]) -> None:
    """The helper process: spin until the task counter moves, run the second half of the layer named, report done."""
    seen = 0
    with threadpool_limits(1):
        while True:
            while flags[0] == seen:
                pass
            seen = int(flags[0])
            if seen < 0:
                return
            layer = layers[int(flags[2])]
            layer.part(layer.rows // 2, layer.rows)
            flags[1] = seen


class SpinningHelper:
    """Runs each layer's second half in the forked helper while this process runs the first; both spin, neither sleeps."""

    def __init__(self, arena: Arena, layers: list[Layer]) -> None:
        self.flags = arena.flags
        self.layers = layers
        self.counter = 0
        self.process = multiprocessing.get_context("fork").Process(target=helper_loop, args=(arena.flags, layers), daemon=True)
        self.process.start()

    def run(self, index: int) -> None:
        layer = self.layers[index]
        self.counter += 1
        self.flags[2] = index
        self.flags[0] = self.counter
        layer.part(0, layer.rows // 2)
        while self.flags[1] != self.counter:
            pass

    def stop(self) -> None:
        self.flags[0] = -1
        self.process.join()


def pool_split(layer: Layer) -> None:
    half = layer.rows // 2
    threads.run_parallel([lambda: layer.part(0, half), lambda: layer.part(half, layer.rows)])


def median_ms(function: Callable[[], object], repeats: int) -> float:
    for _ in range(5):
        function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return 1e3 * statistics.median(samples)


def wake_latency(gaps_ms: tuple[float, ...], repeats: int) -> None:
    pool = ThreadPoolExecutor(1)
    print("a sleeping pool thread's round trip (submit a no-op, wait for it), after the caller was busy for a gap")
    for gap in gaps_ms:
        samples = []
        for _ in range(repeats):
            end = time.perf_counter() + gap / 1e3
            while time.perf_counter() < end:
                pass
            start = time.perf_counter()
            pool.submit(lambda: None).result()
            samples.append(time.perf_counter() - start)
        print(f"  gap {gap:4.1f} ms: {1e6 * statistics.median(samples):6.0f} us")
    pool.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60)
    arguments = parser.parse_args()
    threads.use_threads(2)
    wake_latency((0.0, 0.1, 0.5, 2.0, 10.0), 200)
    rng = np.random.default_rng(0)
    arena = Arena()
    layers = [depthwise_layer(arena, rng, *shape) for shape in DEPTHWISE_LAYERS]
    layers += [pointwise_layer(arena, rng, *shape) for shape in POINTWISE_LAYERS]
    print("\nMobileNetV2's layers, ms (medians): today | thread pool, 2 halves | spinning helper process, 2 halves")
    print("  (the first two columns are measured before the helper starts: its spinning would slow them)")
    today = [median_ms(lambda: layer.part(0, layer.rows), arguments.repeats) for layer in layers]
    pooled = [median_ms(lambda: pool_split(layer), arguments.repeats) for layer in layers]
    helper = SpinningHelper(arena, layers)
    try:
        with threadpool_limits(1):
            spinning = [median_ms(lambda: helper.run(index), arguments.repeats) for index in range(len(layers))]
    finally:
        helper.stop()
        arena.close()
    for layer, *figures in zip(layers, today, pooled, spinning):
        print(f"  {layer.name:<24} x{layer.count}  {figures[0]:6.3f} | {figures[1]:6.3f} | {figures[2]:6.3f}")
    totals = [sum(layer.count * figure for layer, figure in zip(layers, column)) for column in (today, pooled, spinning)]
    print(f"  {'weighted by count':<27} {totals[0]:6.2f} | {totals[1]:6.2f} | {totals[2]:6.2f}")

if __name__ == "__main__":
    main()
