"""How long shape propagation takes: `Stack.infer()` on a 1,000-layer stack, in µs per layer.

Run: python benchmarks/bench_propagation.py [--layers N] [--repeat R]
The goal is 10 µs per layer, so that the app can re-propagate on every keystroke.
Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import timeit

from convtui.model import Stack
from convtui.model.explain import explain
from convtui.model.layers import (
    Activation,
    BatchNormalization,
    Conv2D,
    DepthwiseConv2D,
    Dropout,
    MaxPooling2D,
    ReLU,
    SeparableConv2D,
    ZeroPadding2D,
)

GOAL_MICROSECONDS_PER_LAYER = 10.0

BLOCK = (
    Conv2D(filters=32, kernel_size=3, padding="same", use_bias=False),
    BatchNormalization(),
    ReLU(max_value=6),
    DepthwiseConv2D(kernel_size=3, padding="same"),
    BatchNormalization(),
    Activation(activation="relu"),
    SeparableConv2D(filters=32, kernel_size=3, padding="same"),
    ZeroPadding2D(padding=1),
    Conv2D(filters=32, kernel_size=3),  # valid: takes back the two pixels of padding
    MaxPooling2D(pool_size=3, strides=1, padding="same"),
    Dropout(rate=0.1),
)
"""Layer types that keep a 64x64x32 map 64x64x32, so any number of blocks stays valid."""


def build_stack(layer_count: int) -> Stack:
    layers = [BLOCK[index % len(BLOCK)] for index in range(layer_count)]
    return Stack((64, 64, 32), tuple(layers), name=f"bench-{layer_count}")


def median_seconds(action, repeat: int) -> float:
    number = 1
    while timeit.timeit(action, number=number) < 0.05:
        number *= 2
    return statistics.median(timeit.repeat(action, number=number, repeat=repeat)) / number


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    arguments = parser.parse_args()

    stack = build_stack(arguments.layers)
    stack_info = stack.infer()
    if not stack_info.valid:
        print(f"the benchmark stack is invalid: {stack_info.first_invalid}", file=sys.stderr)
        return 1

    count = len(stack.layers)
    print(f"convtui propagation benchmark: Python {platform.python_version()} on {platform.machine()}, {count:,} layers")
    print(f"  stack: {', '.join(layer.type_name for layer in BLOCK)} (repeated), input 64x64x32")
    rows = [
        ("Stack.infer()", median_seconds(stack.infer, arguments.repeat)),
        ("explain() of every layer", median_seconds(lambda: [explain(stack_info, i) for i in range(count)], arguments.repeat)),
    ]
    print(f"  {'':28} {'median total':>14} {'per layer':>12} {'goal':>10}")
    for label, seconds in rows:
        per_layer = seconds / count * 1e6
        goal = f"{GOAL_MICROSECONDS_PER_LAYER:g} µs" if label == "Stack.infer()" else "-"
        verdict = ""
        if label == "Stack.infer()":
            verdict = "  (meets the goal)" if per_layer <= GOAL_MICROSECONDS_PER_LAYER else "  (SLOWER than the goal)"
        print(f"  {label:28} {seconds * 1e3:11.2f} ms {per_layer:9.2f} µs {goal:>10}{verdict}")
    print(f"  median of {arguments.repeat} repeats (timeit)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
