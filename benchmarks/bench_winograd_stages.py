"""Where the time of one Winograd layer goes, stage by stage, against this machine's memory bandwidth.

    python benchmarks/bench_winograd_stages.py [--size 224] [--channels 64] [--filters 64] [--repeats 9]

VGG16's 224x224x64 layer is the one convtui loses to PyTorch's channels_last convolution. This
script times each stage of ops.conv2d's F(4x4, 3x3) pipeline (the engine's own functions,
wrapped with timers), counts the bytes each stage reads and writes, and prints the effective
bandwidth next to a plain large copy's, and PyTorch's channels_last time for the same layer.
A stage near the copy bandwidth cannot get faster by better NumPy calls, only by moving fewer
bytes. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np

import convtui.engine.winograd as winograd
from convtui.engine import ops

FLOAT_BYTES = 4


def timed(name: str, function: Callable, seconds: dict[str, list[float]]) -> Callable:
    def wrapper(*arguments: object, **keywords: object) -> object:
        start = time.perf_counter()
        result = function(*arguments, **keywords)
        seconds[name].append(time.perf_counter() - start)
        return result

    return wrapper


class StageTimers:
    """Wraps the pipeline's NumPy calls inside convtui.engine.winograd, then restores them."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self._originals = {"copy_shifted": winograd.copy_shifted, "np": winograd.np}

    def __enter__(self) -> StageTimers:
        seconds = self.seconds
        real = np

        class TimedNumPy:
            """numpy, with matmul and copyto timed per call site (data transform, products, output transform)."""

            def __getattr__(self, name: str) -> object:
                return getattr(real, name)

            @staticmethod
            def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
                stage = "2 data transform" if a.ndim == 2 and a.shape[0] == a.shape[1] else "4 output transform" if a.ndim == 2 else "3 products"
                start = time.perf_counter()
                result = real.matmul(a, b, out=out)
                seconds[stage].append(time.perf_counter() - start)
                return result

            @staticmethod
            def copyto(destination: np.ndarray, source: np.ndarray) -> None:
                start = time.perf_counter()
                real.copyto(destination, source)
                seconds["1 gather tiles"].append(time.perf_counter() - start)

        winograd.copy_shifted = timed("0 pad input band", winograd.copy_shifted, seconds)
        winograd.np = TimedNumPy()  # type: ignore[assignment]
        return self

    def __exit__(self, *_: object) -> None:
        winograd.copy_shifted = self._originals["copy_shifted"]
        winograd.np = self._originals["np"]


def stage_bytes(size: int, channels: int, filters: int) -> dict[str, int]:
    """Bytes each stage reads plus writes for a 'same' 3x3 layer of F(4x4) tiles (6x6 inputs)."""
    tiles = (-(-size // 4)) ** 2
    image, padded, output = size * size * channels, (size + 2) ** 2 * channels, size * size * filters
    gathered, products = 36 * tiles * channels, 36 * tiles * filters
    return {
        "0 pad input band": FLOAT_BYTES * (image + padded),
        "1 gather tiles": FLOAT_BYTES * (padded + gathered),
        "2 data transform": FLOAT_BYTES * 2 * gathered,
        "3 products": FLOAT_BYTES * (gathered + products),
        "4 output transform": FLOAT_BYTES * (products + 16 * tiles * filters),
        "5 write with relu": FLOAT_BYTES * 2 * output,
    }


def copy_bandwidth(nbytes: int, repeats: int) -> float:
    """Read + write bytes per second of np.copyto on arrays of `nbytes` (a band's size, past the L2 cache)."""
    source = np.ones(nbytes // FLOAT_BYTES, np.float32)
    destination = np.empty_like(source)
    np.copyto(destination, source)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(destination, source)
        samples.append(time.perf_counter() - start)
    return 2 * nbytes / statistics.median(samples)


def torch_channels_last(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> Callable[[], object]:
    """PyTorch's conv2d + relu on the same layer, channels_last, two threads."""
    import torch
    import torch.nn.functional as functional

    torch.set_num_threads(2)
    image = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).contiguous(memory_format=torch.channels_last)
    weight = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()).contiguous(memory_format=torch.channels_last)
    torch_bias = torch.from_numpy(bias)

    def run() -> object:
        with torch.inference_mode():
            return functional.relu(functional.conv2d(image, weight, torch_bias, padding=1))

    return run


BLOCKS = 3
PAUSE_SECONDS = 0.3


def time_block(function: Callable[[], object], count: int, seconds: list[float]) -> None:
    time.sleep(PAUSE_SECONDS)
    function()
    for _ in range(count):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)


def per_call_sums(samples: list[float], runs: int) -> list[float]:
    """A stage's seconds per timed run (its calls come in equal groups, one group per run)."""
    calls = len(samples) // (runs + BLOCKS)  # each block's untimed first call was timed by the stage timers too
    return [sum(samples[index : index + calls]) for index in range(0, len(samples), calls)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=9)
    arguments = parser.parse_args()
    size, channels, filters = arguments.size, arguments.channels, arguments.filters
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, size, size, channels), dtype=np.float32)
    kernel = rng.standard_normal((3, 3, channels, filters), dtype=np.float32) * np.float32(np.sqrt(2 / (9 * channels)))
    bias = np.zeros(filters, np.float32)
    workspace = ops.Workspace()
    algorithm = ops.choose_conv_algorithm(x.shape, kernel.shape, (1, 1), (1, 1), 1)
    if algorithm != "winograd_4x4":
        parser.error(f"a {size}x{size}x{channels} -> {filters} layer runs {algorithm}; this script times the F(4x4) stages")

    def run() -> None:
        ops.conv2d(x, kernel, bias, (1, 1), ((1, 1), (1, 1)), activation="relu", workspace=workspace)

    theirs = torch_channels_last(x, kernel, bias)
    run(), theirs()  # buffers, filter transform, PyTorch's primitives
    whole: list[float] = []
    torch_whole: list[float] = []
    with StageTimers() as timers:
        for _ in range(BLOCKS):  # blocks of back-to-back calls, a pause between sides (spinning BLAS/OpenMP threads)
            time_block(run, arguments.repeats, whole)
            time_block(theirs, arguments.repeats, torch_whole)
    runs = len(whole)
    per_run = {stage: statistics.median(per_call_sums(samples, runs)) for stage, samples in timers.seconds.items()}
    whole_ms = statistics.median(whole) * 1e3
    per_run["5 write with relu"] = whole_ms / 1e3 - sum(per_run.values())  # the rest: the activated, tile-transposing write
    bandwidth = copy_bandwidth(winograd.BAND_BYTES, arguments.repeats)
    print(f"{size}x{size}x{channels} -> {filters}, 3x3 'same' + relu, {algorithm}; large-copy bandwidth {bandwidth / 2**30:.1f} GiB/s (read + write)\n")
    print(f"{'stage':<22}{'ms':>8}{'MiB moved':>11}{'GiB/s':>8}{'copy-bound ms':>15}")
    volumes = stage_bytes(size, channels, filters)
    for stage in sorted(volumes):
        seconds, nbytes = per_run.get(stage, 0.0), volumes[stage]
        print(f"{stage:<22}{seconds * 1e3:>8.2f}{nbytes / 2**20:>11.1f}{nbytes / max(seconds, 1e-9) / 2**30:>8.1f}{nbytes / bandwidth * 1e3:>15.2f}")
    floor_ms = sum(volumes.values()) / bandwidth * 1e3
    print(f"{'whole layer':<22}{whole_ms:>8.2f}{sum(volumes.values()) / 2**20:>11.1f}{'':>8}{floor_ms:>15.2f}")
    print(f"\ntorch channels_last, same layer + relu: {statistics.median(torch_whole) * 1e3:.2f} ms (blocks alternating with convtui's)")
    print("the copy-bound column is the time the stage's bytes take at the large-copy bandwidth (bands")
    print("of ~8 MiB live in the last-level cache, which on this machine copies no faster than that).")


if __name__ == "__main__":
    main()
