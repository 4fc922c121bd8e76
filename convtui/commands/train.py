"""`convtui train` (its parser is in convtui.cli, which must stay free of numpy): train a stack on generated, folder or .npz data with convtui's NumPy engine, then save the weights.

Everything that can be wrong with the arguments, the stack or the data is found before the first
step (one line, exit 2). The first Ctrl+C stops after the current step and saves what was trained
(exit 130); a second one quits at once without saving.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from convtui.cli import output_console
from convtui.commands import warn_unused
from convtui.commands.interop import load_source, print_notes
from convtui.commands.run import stack_weights
from convtui.engine.datasets import DataError, Dataset, load_dataset
from convtui.engine.forward import DEFAULT_MAX_MEMORY, check_memory
from convtui.engine.gradients.graph import trainable_output
from convtui.engine.losses import loss_for
from convtui.engine.optimizers import make_optimizer
from convtui.engine.train import EpochReport, Evaluation, StepReport, TrainResult, TrainSettings, train, writable_weights
from convtui.engine.weights import save_arrays, weights_to_arrays
from convtui.errors import ConvtuiError
from convtui.model.info import StackInfo
from convtui.render.confusion import ConfusionMatrix

EXIT_STOPPED = 130
"""As a shell reports a command Ctrl+C ended: the weights are saved, but training did not finish."""


# --- before training ----------------------------------------------------------------------------


def save_path(arguments: argparse.Namespace, stack_name: str) -> Path:
    """--save, or NAME-trained.npz here, which is never replaced: a second run without --save must not lose the first."""
    path = Path(arguments.save) if arguments.save else Path(f"{stack_name}-trained.npz")
    if path.is_dir():
        raise ConvtuiError("is a folder; give the path of an .npz file to write with --save", file=str(path))
    if not path.parent.is_dir():
        raise ConvtuiError("the folder to save in does not exist; create it or choose another --save path", file=str(path))
    if not arguments.save and path.exists():
        raise ConvtuiError("already exists from an earlier run; give --save FILE.npz to replace it or to write another file", file=str(path))
    return path


def checked_stack(stack_info: StackInfo, source: str, batch_size: int) -> None:
    """A stack that cannot run, has several outputs, or whose batch is over the memory budget cannot train: said before any data is read."""
    invalid = stack_info.first_invalid
    if invalid is not None:
        raise ConvtuiError(invalid.error or "cannot apply", file=source, layer_index=invalid.index, layer_type=invalid.layer.type_name, exit_code=1)
    try:
        trainable_output(stack_info)
        check_memory(stack_info, batch_size, DEFAULT_MAX_MEMORY)
    except ConvtuiError as error:
        raise error.located(file=source) from None


def loaded_dataset(arguments: argparse.Namespace, stack_info: StackInfo) -> Dataset:
    try:
        return load_dataset(arguments.data, stack_info, validation_split=arguments.validation_split, seed=arguments.seed)
    except DataError as error:
        raise error.located(file=arguments.preset) from None  # only the stack's own problems come without a file


# --- reporting ----------------------------------------------------------------------------------


def figures(loss: float, accuracy: float, validation: Evaluation | None, rate: float) -> str:
    checked = f"validation loss {validation.loss:.4f}, validation accuracy {validation.accuracy:.4f}" if validation else "validation -"
    return f"loss {loss:.4f}, accuracy {accuracy:.4f}, {checked}, {rate:,.0f} examples/s"


def epoch_line(report: EpochReport, steps: int) -> str:
    cut = f" (stopped after {report.steps} of {steps} steps)" if report.steps < steps else ""
    return f"epoch {report.epoch}/{report.epochs}{cut}: {figures(report.loss, report.accuracy, report.validation, report.examples_per_second)}, {report.seconds:.1f} s"


class Reporter:
    """A Rich progress bar per epoch in a terminal, kept when the epoch ends; one line per epoch on a pipe or in a file."""

    def __init__(self, console: Console, steps: int) -> None:
        self.console = console
        self.steps = steps
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"), TimeRemainingColumn(),
            console=console,
        )  # fmt: skip
        self.task: TaskID | None = None

    def on_step(self, report: StepReport) -> None:
        if not self.console.is_terminal:
            return
        if self.task is None:
            self.task = self.progress.add_task("", total=report.steps, epoch=f"{report.epoch}/{report.epochs}")
        self.progress.update(self.task, completed=report.step, description=figures(report.loss, report.accuracy, None, report.examples_per_second))

    def on_epoch(self, report: EpochReport) -> None:
        if self.console.is_terminal and self.task is not None:
            self.progress.update(self.task, description=figures(report.loss, report.accuracy, report.validation, report.examples_per_second))
            self.task = None
        else:
            self.console.print(epoch_line(report, self.steps), highlight=False)

    @contextmanager
    def shown(self) -> Iterator[None]:
        if not self.console.is_terminal:
            yield
            return
        with self.progress:
            yield


# --- the command --------------------------------------------------------------------------------


@contextmanager
def stop_on_interrupt() -> Iterator[Callable[[], bool]]:
    """The first Ctrl+C asks the loop to stop after its current step; a second one interrupts at once."""
    asked: list[bool] = []

    def handle(signum: int, frame: object) -> None:
        if asked:
            raise KeyboardInterrupt
        asked.append(True)

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield lambda: bool(asked)
    finally:
        signal.signal(signal.SIGINT, previous)


def report_end(console: Console, result: TrainResult, dataset: Dataset, path: Path, preset: str) -> None:
    final = result.final
    if final is not None:
        which = "validation set" if len(dataset.x_validation) else "training set (no validation set)"
        title = f"Confusion matrix on the {which}: accuracy {final.accuracy:.4f}"
        console.print(ConfusionMatrix(final.confusion, dataset.class_names, title=title))
    how = f"stopped by Ctrl+C after {result.steps} steps; saved the weights trained so far" if result.stopped else f"trained {result.steps} steps; saved the weights"
    print(f"{how} to {path}; use them with `convtui run {preset} --weights {path}`", file=sys.stderr)


def run_train(arguments: argparse.Namespace) -> int:
    opened = load_source(arguments.preset, input_shape=arguments.input_shape)
    stack_info = opened.stack.infer()
    warn_unused(stack_info, arguments.preset)
    checked_stack(stack_info, arguments.preset, arguments.batch_size)
    path = save_path(arguments, opened.stack.name)
    print_notes(opened.notes)
    dataset = loaded_dataset(arguments, stack_info)
    print_notes(tuple(f"{arguments.data}: {note}" for note in dataset.notes))
    weights = writable_weights(stack_weights(opened, stack_info, arguments.preset, arguments.weights, arguments.seed))
    optimizer = make_optimizer(arguments.optimizer, arguments.learning_rate)
    loss = loss_for(stack_info)
    console = output_console()
    console.print(f"{dataset.summary}; {optimizer.name} (learning rate {optimizer.learning_rate:g}), {loss.label}, batch {arguments.batch_size}")
    settings = TrainSettings(arguments.epochs, arguments.batch_size, not arguments.no_shuffle, arguments.seed)
    reporter = Reporter(console, -(-len(dataset.x_train) // arguments.batch_size))
    with stop_on_interrupt() as should_stop, reporter.shown():
        result = train(stack_info, dataset, weights, optimizer, settings, loss=loss, on_step=reporter.on_step, on_epoch=reporter.on_epoch, should_stop=should_stop)
    save_arrays(weights_to_arrays(result.weights), path)
    report_end(console, result, dataset, path, arguments.preset)
    return EXIT_STOPPED if result.stopped else 0
