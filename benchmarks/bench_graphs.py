"""Branching networks: ResNet50 and MobileNetV2 at 224x224x3, convtui's engine against PyTorch's CPU.

The PyTorch side is the network as convtui exports it (`convtui export --to pytorch`: an
nn.Module whose forward() follows the graph, NCHW, eval mode) with the same weights; torchvision
itself does not install beside this machine's torch, and its ResNet50 differs from Keras's
(stride on the 3x3, no conv biases). Same thread count; medians are quoted, of the sides
alternating run by run and, for the goal's ratio, of blocks of runs back to back with the sides in
turn (`in_blocks`: each side as if alone, both over the same stretches of the machine's time). convtui runs as `forward` does by default (conv -> BN -> activation chains fused, see
convtui/engine/fusion.py) and, for comparison, with fuse=False (every layer's output made).
Prints figures; asserts nothing.

    python benchmarks/bench_graphs.py [--repeats 7] [--presets resnet50 mobilenet-v2]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")  # as convtui's CLI and app run (see convtui.cli.main); before numpy loads
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_forward import alternate, in_blocks  # noqa: E402

from convtui import load_preset  # noqa: E402
from convtui.engine import forward, initial_weights, load_image  # noqa: E402
from convtui.engine.runners import Context  # noqa: E402
from convtui.engine.weights import save_arrays, weights_to_arrays  # noqa: E402
from convtui.interop.export import export_source  # noqa: E402
from convtui.model import Stack  # noqa: E402
from convtui.model.stack import StackInfo  # noqa: E402


def exported_module(stack: Stack, weights_path: Path, folder: Path) -> ModuleType:
    """convtui's PyTorch export of the stack, loaded as a module (its build_model() loads the weights)."""
    source = folder / "exported.py"
    source.write_text(export_source(stack, "pytorch", str(weights_path)), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("exported", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_statistics(weights: dict[int, dict[str, np.ndarray]]) -> dict[int, dict[str, np.ndarray]]:
    """Batch-norm statistics that are not 0 and 1, so the comparison checks the normalisation."""
    rng = np.random.default_rng(0)
    for named in weights.values():
        if "moving_mean" in named:
            named["moving_mean"] = rng.normal(0, 0.1, named["moving_mean"].shape).astype(np.float32)
            named["moving_variance"] = rng.uniform(0.5, 1.5, named["moving_variance"].shape).astype(np.float32)
    return weights


class Sides(NamedTuple):
    """One preset ready to run on both sides: the same image and weights for convtui and for its PyTorch export."""

    stack_info: StackInfo
    pixels: np.ndarray
    weights: dict[int, dict[str, np.ndarray]]
    model: torch.nn.Module
    nchw: torch.Tensor


def prepared(preset: str, folder: Path) -> Sides:
    stack = load_preset(preset)
    stack_info = stack.infer()
    pixels = load_image("scene", stack.input_shape).pixels
    weights = with_statistics(initial_weights(stack_info, seed=0))
    weights_path = save_arrays(weights_to_arrays(weights), folder / f"{preset}.npz")
    model = exported_module(stack, weights_path, folder).build_model().eval()
    return Sides(stack_info, pixels, weights, model, torch.from_numpy(pixels.transpose(2, 0, 1)[None].copy()))


def compare(preset: str, repeats: int, folder: Path) -> None:
    stack_info, pixels, weights, model, nchw = prepared(preset, folder)
    context, unfused_context = Context(), Context()
    ours = forward(stack_info, pixels, weights, context=context).outputs[-1]
    unfused = forward(stack_info, pixels, weights, context=unfused_context, fuse=False).outputs[-1]
    with torch.inference_mode():
        theirs = model(nchw).numpy()
        difference = float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-30))
        fusion_difference = float(np.abs(ours - unfused).max() / max(np.abs(unfused).max(), 1e-30))
        medians = alternate(
            {
                "convtui": lambda: forward(stack_info, pixels, weights, context=context),
                "torch NCHW": lambda: model(nchw),
                "convtui fuse=False": lambda: forward(stack_info, pixels, weights, context=unfused_context, fuse=False),
            },
            repeats,
        )
        blocks = in_blocks({"torch": lambda: model(nchw), "convtui": lambda: forward(stack_info, pixels, weights, context=context)}, repeats)
    torch_alone, alone = blocks["torch"], blocks["convtui"]
    print(f"\n{preset} ({stack_info.total_macs / 1e9:.2f} G MACs, {len(stack_info.layers)} layers), threads: torch {torch.get_num_threads()}, medians of {repeats} alternating runs and of {repeats} blocks of 3 timed runs per side")
    for name, value in medians.items():
        print(f"  {name:<20} {value:9.2f} ms  (alternating)")
    print(f"  {'torch alone':<20} {torch_alone:9.2f} ms  (in blocks of runs back to back, the sides in turn)")
    print(f"  {'convtui alone':<20} {alone:9.2f} ms  (in blocks of runs back to back, the sides in turn)")
    print(f"  ratio convtui / torch NCHW, alternating   {medians['convtui'] / medians['torch NCHW']:.2f}  (each side's idle threads spin into the other's)")
    print(f"  ratio convtui / torch NCHW, back to back  {alone / torch_alone:.2f}  (goal <= 1.0)")
    print(f"  ratio fused / fuse=False, alternating     {medians['convtui'] / medians['convtui fuse=False']:.2f}")
    print(f"  max relative difference of the outputs: {difference:.2e} (torch), {fusion_difference:.2e} (fused / fuse=False)")


def graph_arguments(description: str) -> argparse.ArgumentParser:
    """The options every graph benchmark takes: --repeats and --presets."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--presets", nargs="+", default=["resnet50", "mobilenet-v2"])
    return parser


def for_each_preset(presets: list[str], repeats: int, compare: Callable[[str, int, Path], None]) -> None:
    """compare(preset, repeats, folder) for each preset, with one temporary folder for the exports."""
    with tempfile.TemporaryDirectory() as folder:
        for preset in presets:
            compare(preset, repeats, Path(folder))


def main() -> None:
    arguments = graph_arguments(__doc__.splitlines()[0]).parse_args()
    for_each_preset(arguments.presets, arguments.repeats, compare)


if __name__ == "__main__":
    main()
