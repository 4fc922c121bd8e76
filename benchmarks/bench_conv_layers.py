"""VGG16's 13 convolution layers (+ ReLU + max-pools) through convtui's ops and through PyTorch.

    python benchmarks/bench_conv_layers.py [--repeats 9] [--batch 1] [--size 224] [--rss]

Same random weights on every side; convtui's ReLU is fused into ops.conv2d (activation="relu");
torch runs NCHW and channels_last with as many threads as NumPy's BLAS. OpenBLAS and OpenMP
threads spin for a while after a product, so the sides alternate (rotating which goes first),
pause between runs, and every figure is a median. `--rss` also runs each side alone in a fresh
process and reports its peak resident memory. The header names NumPy's OpenBLAS kernel: where
OPENBLAS_CORETYPE is set (some machines here set it) NumPy runs that older kernel; unset it and
OPENBLAS_L2_SIZE for this one command to measure the native one. Other load on the machine
skews everything (OpenBLAS's threads stall badly when a core is taken): the load average is
printed. A script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from convtui.engine import ops

VGG16 = (64, 64, "pool", 128, 128, "pool", 256, 256, 256, "pool", 512, 512, 512, "pool", 512, 512, 512, "pool")
PAUSE_SECONDS = 0.3
SIDES = ("convtui", "torch NCHW", "torch channels_last")


@dataclass(frozen=True)
class ConvLayer:
    """One VGG16 block step: a 3x3 'same' convolution + ReLU, then a 2x2 max-pool when `pooled`."""

    input_shape: tuple[int, int, int]  # (H, W, C_in)
    kernel: np.ndarray  # Keras (3, 3, C_in, F)
    bias: np.ndarray
    pooled: bool

    @property
    def macs(self) -> int:
        height, width, _ = self.input_shape
        return height * width * self.kernel.size

    @property
    def label(self) -> str:
        height, width, channels = self.input_shape
        return f"{height}x{width}x{channels} -> {self.kernel.shape[3]}{' +pool' if self.pooled else ''}"


def vgg16_layers(size: int, seed: int = 0) -> list[ConvLayer]:
    """He-normal kernels and small biases, Keras layout."""
    rng = np.random.default_rng(seed)
    layers: list[ConvLayer] = []
    height, channels = size, 3
    for index, item in enumerate(VGG16):
        if item == "pool":
            continue
        kernel = rng.standard_normal((3, 3, channels, item), dtype=np.float32) * np.float32(np.sqrt(2 / (9 * channels)))
        bias = rng.standard_normal(item, dtype=np.float32) * np.float32(0.01)
        pooled = index + 1 < len(VGG16) and VGG16[index + 1] == "pool"
        layers.append(ConvLayer((height, height, channels), kernel, bias, pooled))
        channels = item
        height = height // 2 if pooled else height
    return layers


LayerRunner = Callable[[int, object], object]


def convtui_side(layers: list[ConvLayer]) -> tuple[Callable[[np.ndarray], np.ndarray], LayerRunner]:
    """Per layer: ops.conv2d with its ReLU fused, then ops.max_pool2d; one Workspace for the run."""
    workspace = ops.Workspace()

    def run_layer(index: int, x: np.ndarray) -> np.ndarray:
        layer = layers[index]
        y = ops.conv2d(x, layer.kernel, layer.bias, (1, 1), ((1, 1), (1, 1)), activation="relu", workspace=workspace)
        return ops.max_pool2d(y, (2, 2), (2, 2), workspace=workspace) if layer.pooled else y

    return (lambda image: image), run_layer


def torch_side(layers: list[ConvLayer], channels_last: bool) -> tuple[Callable[[np.ndarray], object], LayerRunner]:
    import torch
    import torch.nn.functional as functional

    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    weights = [
        (torch.from_numpy(layer.kernel.transpose(3, 2, 0, 1).copy()).contiguous(memory_format=memory_format), torch.from_numpy(layer.bias))
        for layer in layers
    ]

    def prepare(image: np.ndarray) -> object:
        return torch.from_numpy(image.transpose(0, 3, 1, 2).copy()).contiguous(memory_format=memory_format)

    def run_layer(index: int, x: object) -> object:
        kernel, bias = weights[index]
        with torch.inference_mode():
            y = functional.relu(functional.conv2d(x, kernel, bias, padding=1))
            return functional.max_pool2d(y, 2) if layers[index].pooled else y

    return prepare, run_layer


def make_side(name: str, layers: list[ConvLayer]) -> tuple[Callable[[np.ndarray], object], LayerRunner]:
    if name == "convtui":
        return convtui_side(layers)
    return torch_side(layers, channels_last=name == "torch channels_last")


def timed_forward(
    prepare: Callable[[np.ndarray], object], run_layer: LayerRunner, count: int, image: np.ndarray
) -> tuple[list[float], object]:
    """Seconds per layer (the input conversion is not timed) and the final output."""
    value = prepare(image)
    seconds = []
    for index in range(count):
        start = time.perf_counter()
        value = run_layer(index, value)
        seconds.append(time.perf_counter() - start)
    return seconds, value


def as_nhwc(value: object) -> np.ndarray:
    return value if isinstance(value, np.ndarray) else value.permute(0, 2, 3, 1).contiguous().numpy()  # type: ignore[attr-defined]


def openblas_info() -> str:
    """NumPy's OpenBLAS core (the kernel it runs) and threads, read through its C API."""
    for line in open("/proc/self/maps"):
        if "openblas" in line and line.rstrip().endswith(".so"):
            library = ctypes.CDLL(line.split()[-1])
            for prefix in ("scipy_openblas", "openblas"):
                for suffix in ("64_", ""):
                    corename = getattr(library, f"{prefix}_get_corename{suffix}", None)
                    if corename is not None:
                        corename.restype = ctypes.c_char_p
                        threads = getattr(library, f"{prefix}_get_num_threads{suffix}")()
                        return f"OpenBLAS core {corename().decode()}, {threads} threads"
    return "OpenBLAS not found"


def blas_threads() -> int:
    info = openblas_info()
    return int(info.split(", ")[1].split()[0]) if "threads" in info else os.cpu_count() or 1


def compare(layers: list[ConvLayer], image: np.ndarray, repeats: int) -> None:
    import torch

    torch.set_num_threads(blas_threads())
    sides = {name: make_side(name, layers) for name in SIDES}
    per_layer: dict[str, list[list[float]]] = {name: [] for name in SIDES}
    finals: dict[str, np.ndarray] = {}
    for repeat in range(repeats + 1):  # the first round warms up (buffers, filter transforms) and is dropped
        order = SIDES[repeat % 3 :] + SIDES[: repeat % 3]
        for name in order:
            time.sleep(PAUSE_SECONDS)
            seconds, final = timed_forward(*sides[name], len(layers), image)
            if repeat:
                per_layer[name].append(seconds)
            finals[name] = as_nhwc(final)
    settings = ", ".join(f"{name}={os.environ.get(name, '(unset)')}" for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))
    print(f"{openblas_info()}; torch {torch.__version__}, {torch.get_num_threads()} threads; {settings}")
    print(f"batch {image.shape[0]}, {image.shape[1]}x{image.shape[2]}x3, {repeats} alternated runs, medians in ms\n")
    report(layers, per_layer)
    reference = float64_forward(layers, image)
    for name in SIDES:
        error = float(np.abs(finals[name] - reference).max() / np.abs(reference).max())
        print(f"final output, {name} vs float64: max |difference| / max |value| = {error:.2e}")
    print(f"load average {open('/proc/loadavg').read().split()[0]} (other work on the machine makes the figures unreliable)")


def float64_forward(layers: list[ConvLayer], image: np.ndarray) -> np.ndarray:
    """The same stack in float64 with the plainest vectorised formulation (windows . kernel)."""
    value = image.astype(np.float64)
    for layer in layers:
        padded_value = np.pad(value, ((0, 0), (1, 1), (1, 1), (0, 0)))
        patches = np.lib.stride_tricks.sliding_window_view(padded_value, (3, 3), axis=(1, 2))  # (N, H, W, C, 3, 3)
        value = np.maximum(np.tensordot(patches, layer.kernel.astype(np.float64), axes=([3, 4, 5], [2, 0, 1])) + layer.bias, 0)
        if layer.pooled:
            batch, height, width, channels = value.shape
            value = value[:, : height // 2 * 2, : width // 2 * 2].reshape(batch, height // 2, 2, width // 2, 2, channels).max(axis=(2, 4))
    return value


def report(layers: list[ConvLayer], per_layer: dict[str, list[list[float]]]) -> None:
    header = f"{'layer':<24}{'algorithm':>14}{'GMACs':>7}" + "".join(f"{name:>21}" for name in SIDES) + f"{'/NCHW':>7}{'/c_last':>8}"
    print(header)
    for index, layer in enumerate(layers):
        medians = [statistics.median(run[index] for run in per_layer[name]) * 1e3 for name in SIDES]
        algorithm = ops.choose_conv_algorithm((1, *layer.input_shape), layer.kernel.shape, (1, 1), (1, 1), 1)
        print(f"{layer.label:<24}{algorithm:>14}{layer.macs / 1e9:>7.2f}" + "".join(f"{m:>21.1f}" for m in medians)
              + f"{medians[0] / medians[1]:>7.2f}{medians[0] / medians[2]:>8.2f}")
    totals = [statistics.median(sum(run) for run in per_layer[name]) * 1e3 for name in SIDES]
    print(f"{'total (median of sums)':<38}{sum(layer.macs for layer in layers) / 1e9:>7.2f}"
          + "".join(f"{t:>21.1f}" for t in totals) + f"{totals[0] / totals[1]:>7.2f}{totals[0] / totals[2]:>8.2f}\n")


def peak_memory(size: int, batch: int, repeats: int) -> None:
    """Each side alone in a fresh process: its peak resident set size after `repeats` forwards."""
    for name in SIDES:
        result = subprocess.run(
            [sys.executable, __file__, "--size", str(size), "--batch", str(batch), "--repeats", str(repeats), "--alone", name],
            capture_output=True, text=True, check=True,
        )
        print(f"peak RSS, {name} alone: {result.stdout.strip()}")


def peak_resident_mib() -> float:
    """VmHWM: this process's peak RSS (ru_maxrss would include the parent's, kept across exec)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_alone(name: str, layers: list[ConvLayer], image: np.ndarray, repeats: int) -> None:
    if name != "convtui":
        import torch

        torch.set_num_threads(blas_threads())
    prepare, run_layer = make_side(name, layers)
    totals = [sum(timed_forward(prepare, run_layer, len(layers), image)[0]) for _ in range(repeats)]
    print(f"{peak_resident_mib():.0f} MiB (median forward {statistics.median(totals) * 1e3:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rss", action="store_true", help="also measure each side's peak memory alone")
    parser.add_argument("--alone", choices=SIDES, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    layers = vgg16_layers(arguments.size)
    image = np.random.default_rng(1).standard_normal((arguments.batch, arguments.size, arguments.size, 3), dtype=np.float32)
    if arguments.alone:
        run_alone(arguments.alone, layers, image, arguments.repeats)
        return
    compare(layers, image, arguments.repeats)
    if arguments.rss:
        peak_memory(arguments.size, arguments.batch, arguments.repeats)


if __name__ == "__main__":
    main()
