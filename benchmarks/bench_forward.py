"""Whole forward passes: VGG16 at 224x224x3 and the seed net, convtui's engine against PyTorch's CPU.

Same weights, same thread count (`--threads N`, else OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, else
the machine's cores: torch.set_num_threads and the engine's `use_threads` both get it); the sides
alternate and repeat, and medians are quoted (OpenBLAS threads spin after a product, and this
machine is shared). Prints figures; asserts nothing.

    python benchmarks/bench_forward.py [--repeats 7] [--threads N] [--only vgg16] [--unsplit]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from convtui import load_preset
from convtui.engine import forward, initial_weights, load_image
from convtui.engine.runners import Context
from convtui.engine.threads import unsplit, use_threads
from convtui.model import layers as catalogue
from convtui.model.stack import StackInfo


def torch_model(stack_info: StackInfo, weights: dict[int, dict[str, np.ndarray]]) -> nn.Sequential:
    """The same network in PyTorch (VGG16's and the seed net's layer types), NCHW, same weights."""
    modules: list[nn.Module] = []
    for info in stack_info.layers:
        layer = info.layer
        if isinstance(layer, catalogue.Conv2D):
            kernel = weights[info.index]["kernel"]
            padding = kernel.shape[0] // 2 if layer.padding == "same" else 0
            conv = nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[:2], padding=padding)
            conv.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
            conv.bias.data = torch.from_numpy(weights[info.index]["bias"])
            modules += [conv, nn.ReLU()] if layer.activation == "relu" else [conv]
        elif isinstance(layer, catalogue.MaxPooling2D):
            modules.append(nn.MaxPool2d(2))
        elif isinstance(layer, catalogue.Flatten):
            modules += [FlattenChannelsLast()]
        elif isinstance(layer, catalogue.Dense):
            dense = nn.Linear(*weights[info.index]["kernel"].shape)
            dense.weight.data = torch.from_numpy(weights[info.index]["kernel"].T.copy())
            dense.bias.data = torch.from_numpy(weights[info.index]["bias"])
            modules.append(dense)
            modules.append({"relu": nn.ReLU(), "softmax": nn.Softmax(dim=-1)}.get(layer.activation or "", nn.Identity()))
        else:
            raise ValueError(f"no PyTorch twin for {layer.type_name} in this benchmark")
    return nn.Sequential(*modules).eval()


class FlattenChannelsLast(nn.Module):
    """Keras flattens (H, W, C); permute first so Dense sees the same feature order."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def alternate(sides: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    timings: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, run in sides.items():
            start = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - start)
    return {name: median_ms(samples) for name, samples in timings.items()}


def in_blocks(sides: dict[str, Callable[[], object]], repeats: int, block: int = 4, pause: float = 0.3) -> dict[str, float]:
    """Each side `block` times in a row after a pause, the sides in turn, `repeats` times; the first run
    of each block is dropped. Medians in ms.

    Each side runs as it would alone, yet both sample the same stretches of this shared machine's
    time: measured one after the other, the two sides' figures varied by up to 30% between runs.
    The pause lets the other side's idle threads stop spinning first (OpenBLAS's spin for up to
    ~0.1 s after its last call, libgomp's for a few ms): without it a block of convtui after torch
    measured 25% slower, and torch after convtui up to 80%.
    """
    if block < 2:
        raise ValueError("a block needs a run to drop and one to time: block >= 2")
    timings: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, run in sides.items():
            time.sleep(pause)
            run()
            for _ in range(block - 1):
                start = time.perf_counter()
                run()
                timings[name].append(time.perf_counter() - start)
    return {name: median_ms(samples) for name, samples in timings.items()}


def _unsplit_forward(stack_info: StackInfo, pixels: np.ndarray, weights: dict, context: Context) -> object:
    """The engine before bands: no layer split, BLAS on all the threads (for --unsplit)."""
    with unsplit():
        return forward(stack_info, pixels, weights, context=context)


def compare(preset: str, image: str, repeats: int, threads: int, unsplit_side: bool = False) -> None:
    stack = load_preset(preset)
    stack_info = stack.infer()
    pixels = load_image(image, stack.input_shape).pixels
    weights = initial_weights(stack_info, seed=0)
    model = torch_model(stack_info, weights)
    nchw = torch.from_numpy(pixels.transpose(2, 0, 1)[None].copy())
    channels_last_model = torch_model(stack_info, weights).to(memory_format=torch.channels_last)
    channels_last_input = nchw.contiguous(memory_format=torch.channels_last)
    context = Context()
    ours = forward(stack_info, pixels, weights, context=context).outputs[-1]
    with torch.inference_mode():
        theirs = model(nchw).numpy()
        reference = theirs if theirs.ndim == 2 else theirs.transpose(0, 2, 3, 1)
        difference = float(np.abs(ours - reference).max() / max(np.abs(reference).max(), 1e-30))
        sides = {
            "convtui": lambda: forward(stack_info, pixels, weights, context=context),
            "torch NCHW": lambda: model(nchw),
            "torch channels_last": lambda: channels_last_model(channels_last_input),
        }
        if unsplit_side and threads > 1:
            sides["convtui unsplit"] = lambda: _unsplit_forward(stack_info, pixels, weights, context)
        medians = alternate(sides, repeats)
    alone = alternate({"convtui alone": lambda: forward(stack_info, pixels, weights, context=context)}, repeats)["convtui alone"]
    print(
        f"\n{preset} ({stack_info.total_macs / 1e9:.2f} G MACs), threads: convtui {threads}, torch {torch.get_num_threads()},"
        f" median of {repeats}"
    )
    for name, value in medians.items():
        print(f"  {name:<20} {value:9.2f} ms")
    print(f"  {'convtui alone':<20} {alone:9.2f} ms  (back to back, no torch between: OpenBLAS and torch threads spin after each other's work)")
    print(f"  ratio convtui / torch NCHW          {medians['convtui'] / medians['torch NCHW']:.2f}  (goal <= 0.85 for VGG16)")
    channels_last_ratio = medians["convtui"] / medians["torch channels_last"]
    print(f"  ratio convtui / torch channels_last {channels_last_ratio:.2f}  (goal < 1 for VGG16; <= 1.2 at 8 and 16 threads)")
    if "convtui unsplit" in medians:
        unsplit_ratio = medians["convtui"] / medians["convtui unsplit"]
        print(f"  ratio convtui / convtui unsplit      {unsplit_ratio:.2f}  (bands against BLAS threads alone)")
    print(f"  max relative difference of the outputs: {difference:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="threads for both sides (default: the environment, else the cores)")
    parser.add_argument("--only", choices=["seed-28x28x1", "vgg16"], default=None, help="one network only")
    parser.add_argument("--unsplit", action="store_true", help="also the engine unsplit (BLAS threads only), as before bands")
    arguments = parser.parse_args()
    threads = use_threads(arguments.threads)
    torch.set_num_threads(threads)
    if arguments.only in (None, "seed-28x28x1"):
        compare("seed-28x28x1", "digit", max(arguments.repeats, 50), threads, arguments.unsplit)
        print("  goal for the seed net: convtui under 1 ms")
    if arguments.only in (None, "vgg16"):
        compare("vgg16", "scene", arguments.repeats, threads, arguments.unsplit)


if __name__ == "__main__":
    main()
