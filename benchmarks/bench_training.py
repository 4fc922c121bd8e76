"""Training: convtui's NumPy engine against PyTorch's CPU, same model, weights, batches, optimiser (Adam) and threads.

1. Throughput (examples per second) of one training step (forward, loss, backward, Adam) at batch 32
   and 128, for the seed net with Flatten and Dense(10, softmax) and for mnist-convnet; the sides
   alternate and repeat, medians are quoted.
2. mnist-convnet on generated digits until 97% validation accuracy: the time, and the peak memory
   of the whole process (each side in its own subprocess, so the peaks are its own).

Prints figures; asserts nothing.

    python benchmarks/bench_training.py [--repeats 7] [--skip-accuracy] [--threads N]

`--threads` sets both sides' thread count (PyTorch's intra-op threads; convtui's engine threads
and BLAS's), the machine's cores by default. On a busy machine `--threads 1` is the steadier
comparison: two-thread BLAS products stall whenever the other core is taken.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from convtui import load_preset
from convtui.engine.datasets import Dataset, load_dataset
from convtui.engine.gradients.base import TrainContext
from convtui.engine.losses import loss_for
from convtui.engine.optimizers import Adam
from convtui.engine.train import EpochReport, TrainSettings, train, train_step, writable_weights
from convtui.engine.weights import StackWeights, initial_weights
from convtui.model import layers as catalogue
from convtui.model.stack import Stack, StackInfo

if TYPE_CHECKING:
    from torch import nn

TARGET_ACCURACY = 0.97
PAUSE_SECONDS = 0.3
"""Before each side's run, so that the other side's idle threads have stopped spinning (OpenBLAS's
for up to ~0.1 s after its last call): without it either side's figure varied by up to 30%."""
DIGITS = "digits:3000"
ACCURACY_BATCH = 32
MAX_EPOCHS = 20


def seed_net_with_head() -> Stack:
    seed = load_preset("seed-28x28x1")
    return Stack(seed.input_shape, (*seed.layers, catalogue.Flatten(), catalogue.Dense(units=10, activation="softmax")), name="seed + head")


# --- the PyTorch side ------------------------------------------------------------------------------


def torch_twin(stack_info: StackInfo, weights: StackWeights) -> nn.Sequential:
    """The same chain in PyTorch (Conv2D, MaxPooling2D, Flatten, Dropout, Dense), NCHW, the same initial weights.

    torch is imported here, not at the top: the convtui side of the memory measurement must not load it.
    """
    import torch
    from torch import nn

    class FlattenChannelsLast(nn.Module):
        """Keras flattens (H, W, C): permute first so Dense sees the same feature order."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.permute(0, 2, 3, 1).flatten(1)

    activations = {"relu": nn.ReLU, "softmax": lambda: nn.Softmax(dim=-1)}
    modules: list[nn.Module] = []
    for info in stack_info.layers:
        layer, named = info.layer, weights.get(info.index, {})
        if isinstance(layer, catalogue.Conv2D):
            kernel = named["kernel"]
            conv = nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[:2])
            conv.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
            conv.bias.data = torch.from_numpy(named["bias"].copy())
            modules.append(conv)
        elif isinstance(layer, catalogue.Dense):
            dense = nn.Linear(*named["kernel"].shape)
            dense.weight.data = torch.from_numpy(named["kernel"].T.copy())
            dense.bias.data = torch.from_numpy(named["bias"].copy())
            modules.append(dense)
        elif isinstance(layer, catalogue.MaxPooling2D):
            modules.append(nn.MaxPool2d(layer.pool_size))
        elif isinstance(layer, catalogue.Flatten):
            modules.append(FlattenChannelsLast())
        elif isinstance(layer, catalogue.Dropout):
            modules.append(nn.Dropout(layer.rate))
        else:
            raise ValueError(f"no PyTorch twin for {layer.type_name} in this benchmark")
        if getattr(layer, "activation", None) in activations:
            modules.append(activations[layer.activation]())
    return nn.Sequential(*modules)


def torch_trainer(stack_info: StackInfo, weights: StackWeights) -> tuple[Callable[[np.ndarray, np.ndarray], float], nn.Sequential]:
    """One PyTorch training step with Keras's loss on probabilities (clipped log) and Keras's Adam epsilon."""
    import torch

    model = torch_twin(stack_info, weights).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)

    def step(images: np.ndarray, labels: np.ndarray) -> float:
        batch = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
        optimizer.zero_grad(set_to_none=True)
        probabilities = model(batch)
        loss = torch.nn.functional.nll_loss(torch.log(probabilities.clamp(1e-7, 1 - 1e-7)), torch.from_numpy(labels))
        loss.backward()
        optimizer.step()
        return loss.item()

    return step, model


# --- 1. throughput -----------------------------------------------------------------------------------


def convtui_trainer(info: StackInfo, weights: StackWeights) -> Callable[[np.ndarray, np.ndarray], float]:
    """One convtui training step, as `convtui train` runs it."""
    optimizer, loss, context = Adam(), loss_for(info), TrainContext(np.random.default_rng(0))

    def step(images: np.ndarray, labels: np.ndarray) -> float:
        return train_step(info, weights, images, labels, optimizer, loss, context)[0]

    return step


def step_runner(side: str, stack: Stack, batch_size: int) -> Callable[[], None]:
    """A few training steps of one side on fixed random batches, ready to be timed (after a warm-up)."""
    info = stack.infer()
    weights = writable_weights(initial_weights(info, seed=0))
    rng = np.random.default_rng(0)
    steps = max(2, 256 // batch_size)
    images = rng.random((steps, batch_size, *info.input_shape), dtype=np.float32)
    labels = rng.integers(0, 10, (steps, batch_size))
    step = torch_trainer(info, weights)[0] if side == "torch" else convtui_trainer(info, weights)

    def run() -> None:
        for index in range(steps):
            step(images[index], labels[index])

    run()
    return run


def set_threads(side: str, count: int) -> None:
    """The side's thread count: PyTorch's intra-op threads, or convtui's engine threads and BLAS's."""
    if side == "torch":
        import torch

        torch.set_num_threads(count)
    else:
        from convtui.engine.threads import use_threads

        use_threads(count)


def throughput_worker(side: str, preset: str, batch_size: int, threads: int) -> None:
    """Run in a subprocess, so that neither side's idle threads (OpenBLAS's spin) slow the other: time one run per input line."""
    set_threads(side, threads)
    run = step_runner(side, seed_net_with_head() if preset == "seed" else load_preset(preset), batch_size)
    print("ready", flush=True)
    for _ in sys.stdin:
        started = time.perf_counter()
        run()
        print(time.perf_counter() - started, flush=True)


def throughput(preset: str, batch_size: int, repeats: int, threads: int) -> None:
    """Both sides in their own worker, asked in turn (alternating), medians of examples per second."""
    workers = {
        side: subprocess.Popen(
            [sys.executable, __file__, "--throughput-worker", side, preset, str(batch_size), "--threads", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for side in ("convtui", "torch")
    }
    for worker in workers.values():
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    timings: dict[str, list[float]] = {side: [] for side in workers}
    for _ in range(repeats):
        for side, worker in workers.items():
            assert worker.stdin is not None and worker.stdout is not None
            time.sleep(PAUSE_SECONDS)
            worker.stdin.write("go\n")
            worker.stdin.flush()
            timings[side].append(float(worker.stdout.readline()))
    for worker in workers.values():
        worker.communicate()
    examples = max(2, 256 // batch_size) * batch_size
    rates = {side: examples / statistics.median(samples) for side, samples in timings.items()}
    name = "seed + head" if preset == "seed" else preset
    print(
        f"  {name:<14} batch {batch_size:>3}: convtui {rates['convtui']:8,.0f} ex/s   torch {rates['torch']:8,.0f} ex/s"
        f"   ratio {rates['convtui'] / rates['torch']:.2f}  (goal >= 1.0)"
    )


# --- 2. time to 97% ----------------------------------------------------------------------------------


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike getrusage's maxrss, not inherited across exec from the parent)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def convtui_to_accuracy(info: StackInfo, dataset: Dataset) -> tuple[float, int, float]:
    """Seconds of training (validation included) until an epoch ends at the target; epochs; the accuracy reached."""
    reached: list[EpochReport] = []

    def on_epoch(report: EpochReport) -> None:
        if report.validation is not None and report.validation.accuracy >= TARGET_ACCURACY:
            reached.append(report)

    started = time.perf_counter()
    result = train(
        info, dataset, writable_weights(initial_weights(info, seed=0)), Adam(), TrainSettings(MAX_EPOCHS, ACCURACY_BATCH, seed=0),
        on_epoch=on_epoch, should_stop=lambda: bool(reached),
    )  # fmt: skip
    last = result.history[-1]
    return time.perf_counter() - started, last.epoch, last.validation.accuracy if last.validation else 0.0


def torch_to_accuracy(info: StackInfo, dataset: Dataset) -> tuple[float, int, float]:
    """The same loop in PyTorch: shuffled batches from the same seed, validation after each epoch."""
    import torch

    step, model = torch_trainer(info, writable_weights(initial_weights(info, seed=0)))
    rng = np.random.default_rng(0)
    validation = torch.from_numpy(dataset.x_validation.transpose(0, 3, 1, 2).copy())
    started = time.perf_counter()
    for epoch in range(1, MAX_EPOCHS + 1):
        model.train()
        order = rng.permutation(len(dataset.x_train))
        for start in range(0, len(order), ACCURACY_BATCH):
            indices = order[start : start + ACCURACY_BATCH]
            step(dataset.x_train[indices], dataset.y_train[indices])
        model.eval()
        with torch.inference_mode():
            accuracy = float((model(validation).argmax(1).numpy() == dataset.y_validation).mean())
        if accuracy >= TARGET_ACCURACY:
            break
    return time.perf_counter() - started, epoch, accuracy


def accuracy_side(side: str, threads: int) -> None:
    """Run in a subprocess: generate the digits, train one side to the target, print a JSON line."""
    set_threads(side, threads)
    info = load_preset("mnist-convnet").infer()
    started = time.perf_counter()
    dataset = load_dataset(DIGITS, info, seed=0)
    generated = time.perf_counter() - started
    seconds, epochs, accuracy = (convtui_to_accuracy if side == "convtui" else torch_to_accuracy)(info, dataset)
    print(json.dumps({"generate": generated, "train": seconds, "epochs": epochs, "accuracy": accuracy, "peak_mib": peak_mib()}))


def time_to_accuracy(threads: int) -> None:
    print(f"\nmnist-convnet on {DIGITS} (90% training, 10% validation), Adam, batch {ACCURACY_BATCH}, until {TARGET_ACCURACY:.0%} validation accuracy")
    figures = {}
    for side in ("convtui", "torch"):
        command = [sys.executable, __file__, "--accuracy-side", side, "--threads", str(threads)]
        completed = subprocess.run(command, capture_output=True, text=True, check=True)
        figures[side] = json.loads(completed.stdout.splitlines()[-1])
        found = figures[side]
        print(
            f"  {side:<8} data {found['generate']:5.1f} s + training {found['train']:6.1f} s ({found['epochs']} epochs, "
            f"{found['accuracy']:.2%})   peak memory {found['peak_mib']:6.0f} MiB"
        )
    ours, theirs = figures["convtui"], figures["torch"]
    print(f"  convtui total {ours['generate'] + ours['train']:.1f} s (goal <= 60 s); peak memory ratio {ours['peak_mib'] / theirs['peak_mib']:.2f} (goal <= 1.2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--skip-accuracy", action="store_true", help="only the throughput")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for each side (default: the cores)")
    parser.add_argument("--accuracy-side", choices=("convtui", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--throughput-worker", nargs=3, metavar=("SIDE", "PRESET", "BATCH"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.accuracy_side:
        accuracy_side(arguments.accuracy_side, arguments.threads)
        return
    if arguments.throughput_worker:
        side, preset, batch_size = arguments.throughput_worker
        throughput_worker(side, preset, int(batch_size), arguments.threads)
        return
    print(f"training throughput, one step = forward + loss + backward + Adam, {arguments.threads} threads each side, medians of {arguments.repeats}")
    print(f"  load average before: {os.getloadavg()[0]:.2f}")
    for preset in ("seed", "mnist-convnet"):
        for batch_size in (32, 128):
            throughput(preset, batch_size, arguments.repeats, arguments.threads)
    if not arguments.skip_accuracy:
        time_to_accuracy(arguments.threads)


if __name__ == "__main__":
    main()
