"""How much of a forward pass is BLAS products, and what the same products cost on PyTorch's BLAS.

convtui's forward runs once with `np.matmul` recorded: every product it makes (1x1 convolutions,
im2col, Winograd's batched products and transforms, Dense), with its operands and output shape.
Then four figures, each side in blocks of runs back to back, the sides in turn (bench_forward.in_blocks):

  convtui forward          the whole pass, as `forward` runs it
  products, NumPy BLAS     the recorded products alone, replayed with np.matmul (OpenBLAS)
  products, PyTorch BLAS   the same products with torch.matmul (MKL in PyTorch's CPU wheels)
  torch forward            convtui's PyTorch export of the network, NCHW, eval, same weights

What is not a product (gathers, transforms' writes, depthwise, epilogues, adds, pooling) is the
first figure less the second, all on one core on 2 cores (see bench_parallel_runtime.py). To
reach the torch forward, that rest has to fit in what the torch forward leaves after NumPy's
products: the last line. Prints figures; asserts nothing.

    python benchmarks/bench_blas_floor.py [--repeats 7] [--presets resnet50 mobilenet-v2] [--threads 2]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from unittest import mock

os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")  # as convtui's CLI and app run (see convtui.cli.main); before numpy loads
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_forward import in_blocks  # noqa: E402
from bench_graphs import for_each_preset, graph_arguments, prepared  # noqa: E402

from convtui.engine import forward  # noqa: E402
from convtui.engine.runners import Context  # noqa: E402
from convtui.engine.threads import use_threads  # noqa: E402

WARM_UP_RUNS = 3
Product = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(a, b, out) of one recorded np.matmul, with an output buffer of its own."""


def recorded_products(run: Callable[[], object]) -> list[Product]:
    """Every np.matmul `run` makes, its operands copied (the engine reuses its scratch)."""
    products: list[Product] = []
    matmul = np.matmul

    def record(a: np.ndarray, b: np.ndarray, *args: object, **kwargs: object) -> np.ndarray:
        result = matmul(a, b, *args, **kwargs)
        products.append((np.array(a, np.float32), np.array(b, np.float32), np.empty_like(result, np.float32)))
        return result

    with mock.patch.object(np, "matmul", record):
        run()
    return products


def replay(products: list[Product], matmul: Callable[..., object]) -> Callable[[], None]:
    def run() -> None:
        for a, b, out in products:
            matmul(a, b, out=out)

    return run


def compare(preset: str, repeats: int, folder: Path) -> None:
    stack_info, pixels, weights, model, nchw = prepared(preset, folder)
    context = Context()
    ours = lambda: forward(stack_info, pixels, weights, context=context)  # noqa: E731
    ours()
    products = recorded_products(ours)
    on_torch = [tuple(torch.from_numpy(array) for array in product) for product in products]
    multiply_adds = sum(out.size * a.shape[-1] for a, _, out in products)
    sides = {
        "convtui forward": ours,
        "products, NumPy BLAS": replay(products, np.matmul),
        "products, PyTorch BLAS": replay(on_torch, torch.matmul),
        "torch forward": lambda: model(nchw),
    }
    with torch.inference_mode():
        for run in sides.values():  # PyTorch's first calls build and cache its kernels
            for _ in range(WARM_UP_RUNS):
                run()
        figures = in_blocks(sides, repeats)
    print(f"\n{preset}: {len(products)} products, {multiply_adds / 1e9:.2f} G multiply-adds of {stack_info.total_macs / 1e9:.2f} G MACs; medians of {repeats} blocks, ms")
    for name, value in figures.items():
        print(f"  {name:<24} {value:8.2f}")
    rest = figures["convtui forward"] - figures["products, NumPy BLAS"]
    room = figures["torch forward"] - figures["products, NumPy BLAS"]
    print(f"  {'convtui, not products':<24} {rest:8.2f}")
    print(f"  products: NumPy BLAS / PyTorch BLAS {figures['products, NumPy BLAS'] / figures['products, PyTorch BLAS']:.2f}")
    print(f"  forward: convtui / torch {figures['convtui forward'] / figures['torch forward']:.2f}; to reach 1.0 what is not products must fit in {room:.2f} ms (today {rest:.2f})")


def main() -> None:
    parser = graph_arguments(__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="both sides' threads (default: the machine's cores)")
    arguments = parser.parse_args()
    threads = use_threads(arguments.threads)
    torch.set_num_threads(threads)
    print(f"threads: {threads} (convtui and BLAS), {torch.get_num_threads()} (PyTorch)")
    for_each_preset(arguments.presets, arguments.repeats, compare)


if __name__ == "__main__":
    main()
