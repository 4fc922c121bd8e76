"""`convtui run vgg16` as a whole process (start, weights, forward, heatmaps printed) against a
PyTorch script that builds VGG16 and runs one image: wall time and peak memory (RSS), side by side.

The two processes alternate; medians are quoted. Prints figures; asserts nothing.

    python benchmarks/bench_run.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

TORCH_SCRIPT = """
import torch
from torch import nn

def block(inputs, outputs, count):
    layers = []
    for index in range(count):
        layers += [nn.Conv2d(inputs if index == 0 else outputs, outputs, 3, padding=1), nn.ReLU()]
    return layers + [nn.MaxPool2d(2)]

model = nn.Sequential(
    *block(3, 64, 2), *block(64, 128, 2), *block(128, 256, 3), *block(256, 512, 3), *block(512, 512, 3),
    nn.Flatten(), nn.Linear(25088, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000), nn.Softmax(-1),
).eval()
with torch.inference_mode():
    print(model(torch.rand(1, 3, 224, 224)).shape)
"""


def measure(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS in bytes of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return elapsed, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    sides = {
        "convtui run vgg16": [sys.executable, "-m", "convtui", "run", "vgg16", "--width", "120"],
        "torch VGG16 script": [sys.executable, "-c", TORCH_SCRIPT],
    }
    times: dict[str, list[float]] = {name: [] for name in sides}
    peaks: dict[str, list[int]] = {name: [] for name in sides}
    for _ in range(arguments.repeats):
        for name, command in sides.items():
            elapsed, peak = measure(command)
            times[name].append(elapsed)
            peaks[name].append(peak)
    print(f"whole process, median of {arguments.repeats}")
    for name in sides:
        print(f"  {name:<20} {statistics.median(times[name]):7.2f} s   peak RSS {statistics.median(peaks[name]) / 2**20:8.1f} MiB")
    ours, theirs = (statistics.median(times[name]) for name in sides)
    ours_rss, theirs_rss = (statistics.median(peaks[name]) for name in sides)
    print(f"  time ratio convtui / torch {ours / theirs:.2f}  (goal < 1)")
    print(f"  RSS ratio  convtui / torch {ours_rss / theirs_rss:.2f}  (goal <= 1.2)")


if __name__ == "__main__":
    main()
