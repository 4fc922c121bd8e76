"""Options several commands share, added the same way to each: what a stack is opened with, what the forward pass runs on,
and how the engine runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import MutableMapping

from convtui.catalogue import machine_cores
from convtui.cli.values import input_shape_value, memory_size, non_empty, positive_int, seed_number

MODEL_FILE_HELP = "Keras model (.keras, .h5, model.to_json()'s .json)"
DEFAULT_PRESET = "seed-28x28x1"
"""What `convtui` (and `convtui serve`) opens when no preset is named."""


def add_input_shape_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input-shape",
        type=input_shape_value,
        metavar="H,W,C",
        help="the input's height, width and channels: replaces a preset's input_shape; a Keras model saved with an unknown size needs it (else 224,224)",
    )


def add_forward_options(parser: argparse.ArgumentParser) -> None:
    """What the forward pass runs on, shared by `run`, the app and `serve`."""
    add_input_shape_option(parser)
    parser.add_argument("--image", type=non_empty, help="sample name (digit, shapes, checkerboard, gradient, scene) or PNG/JPEG/BMP/GIF/.npy path")
    parser.add_argument(
        "--seed", type=seed_number, help="seed of the initial weights, for those no weights file or model gives (default: the preset's `seed`, else 0)"
    )
    parser.add_argument("--max-memory", type=memory_size, default="2G", help="refuse runs whose estimated peak exceeds this (default 2G)")
    add_engine_options(parser)


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Options of every command that runs the NumPy engine (`run`, `train`, the app, `serve`): how it runs, not what.

    Added here, an option reaches all four; `apply_engine_options` applies them once, in
    convtui.cli.main, before the command's handler runs.
    """
    parser.add_argument(
        "--threads",
        type=positive_int,
        help="threads the engine and BLAS use (default: OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS, else the machine's cores)",
    )


def apply_engine_options(arguments: argparse.Namespace, environment: MutableMapping[str, str]) -> None:
    """`--threads N` means OPENBLAS_NUM_THREADS=N for this process, set before numpy loads: OpenBLAS sizes its pool
    from it when numpy is imported, and the engine (convtui.engine.threads) takes its count from it too. The app
    thus starts without importing numpy, and `serve` hands the variable on to every tab's app.
    """
    threads = getattr(arguments, "threads", None)
    if threads is not None:
        environment["OPENBLAS_NUM_THREADS"] = str(threads)
        cores = machine_cores()
        if threads > cores:
            print(
                f"convtui: note: --threads {threads} is more than the {cores} cores this process may use;"
                f" the threads will take turns, which is usually slower than --threads {cores}",
                file=sys.stderr,
            )
