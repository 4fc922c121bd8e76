"""`convtui train`: train a stack on generated, folder or .npz data with convtui's NumPy engine, then save the weights.

Everything that can be wrong with the arguments, the stack or the data is found before the first
step (one line, exit 2). The first Ctrl+C stops after the current step and saves what was trained
(exit 130); a second one before saving quits without saving, and says so; one before the first step
says what it stopped (loading the data, or before training) and that nothing was saved. When stdout's
reader goes away, training stops as after a Ctrl+C, saves, says so on stderr and exits 141 (ClosedOutput).
numpy, the engine and Rich are imported when the command runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from convtui.catalogue import OPTIMIZER_DEFAULT_RATES
from convtui.cli.options import MODEL_FILE_HELP, add_engine_options, add_input_shape_option
from convtui.cli.output import output_console, print_notes, warn_unused
from convtui.cli.sources import chosen_seed, load_source, stack_weights
from convtui.cli.values import GENERATED_SETS, data_source, positive_float, positive_int, seed_number, split_fraction
from convtui.cli.writing import check_save_target
from convtui.errors import ConvtuiError

if TYPE_CHECKING:
    from rich.console import Console

    from convtui.engine.datasets import Dataset
    from convtui.engine.train import TrainResult
    from convtui.model.info import StackInfo

EXIT_STOPPED = 130
"""As a shell reports a command Ctrl+C ended: training did not finish; the weights are saved after one Ctrl+C, not
after two, nor after one before the first step."""
EXIT_OUTPUT_CLOSED = 141
"""As a shell reports a command a closed pipe ended (128 + SIGPIPE): what was trained is saved, the output is lost."""


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train a stack on generated, folder or .npz data and save its weights",
        description="Train a preset or a Keras model with convtui's NumPy engine (Keras 3's training semantics) and save the weights as an .npz.",
    )
    parser.add_argument("preset", help=f"built-in preset name, .toml file, or {MODEL_FILE_HELP}")
    parser.add_argument(
        "--data",
        required=True,
        type=data_source,
        help=f"a generated set ({', '.join(GENERATED_SETS)}; NAME:COUNT for a size, e.g. digits:5000), a folder with one sub-folder"
        " of images per class, or an .npz with x and y (or Keras's mnist.npz)",
    )
    parser.add_argument("--epochs", type=positive_int, default=5, help="passes over the training data (default 5)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="examples per step (default 32, as Keras)")
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZER_DEFAULT_RATES), default="adam", help="Keras's optimiser, with its defaults (default adam)")
    parser.add_argument("--learning-rate", type=positive_float, help="replaces the optimiser's default (sgd 0.01; adam, adamw, rmsprop 0.001)")
    parser.add_argument(
        "--validation-split",
        type=split_fraction,
        default=0.1,
        help="the last fraction of the examples, kept for validation as Keras's fit keeps it (default 0.1; 0 trains on all);"
        " an .npz's x_test and y_test replace it",
    )
    parser.add_argument("--no-shuffle", action="store_true", help="keep the data's order: batch k is examples k*B to k*B+B-1")
    parser.add_argument(
        "--seed", type=seed_number, help="seed of the initial weights, the generated data, the shuffling and dropout (default: the preset's `seed`, else 0)"
    )
    parser.add_argument("--weights", help="start from these weights (.npz, keys layers.{i}.{name}) instead of the preset's, the model's or the seed's")
    parser.add_argument(
        "--save", help="the .npz to write, replaced only with --force if it exists (default: NAME-trained.npz in the current folder, never replaced)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite the --save file if it exists (continue training into the --weights file)")
    add_input_shape_option(parser)
    add_engine_options(parser)
    parser.set_defaults(handler=handle)


# --- before training ----------------------------------------------------------------------------


def save_path(arguments: argparse.Namespace, stack_name: str) -> Path:
    """--save, replaced only with --force, as `run --save`, `export -o` and `import -o` are; or NAME-trained.npz here,
    which is never replaced: a second run without --save must not lose the first."""
    from convtui.files import check_writable_place

    if arguments.save:
        check_save_target(arguments.save, force=arguments.force, kind="an .npz file")
        return Path(arguments.save)
    path = Path(f"{stack_name}-trained.npz")
    if arguments.force:
        raise ConvtuiError(f"--force only lets --save replace its file; the default, {path}, is never replaced: add --save {path}, or drop --force")
    check_writable_place(path, "--save", "an .npz file")
    if path.exists():
        raise ConvtuiError(f"already exists from an earlier run; give --save FILE.npz to write another file, or --save {path} --force to replace it", file=str(path))
    return path


def checked_stack(stack_info: StackInfo, source: str, batch_size: int) -> None:
    """A stack that cannot run, has several outputs, or whose batch is over the memory budget cannot train: said before any data is read."""
    from convtui.engine.forward import DEFAULT_MAX_MEMORY, check_memory
    from convtui.engine.gradients.graph import trainable_output

    invalid = stack_info.first_invalid
    if invalid is not None:
        raise ConvtuiError(invalid.error or "cannot apply", file=source, layer_index=invalid.index, layer_type=invalid.layer.type_name, exit_code=1)
    try:
        trainable_output(stack_info)
        check_memory(stack_info, batch_size, DEFAULT_MAX_MEMORY)
    except ConvtuiError as error:
        raise error.located(file=source) from None


class LoadingStopped(KeyboardInterrupt):
    """A Ctrl+C while the data loads, said as such: a large folder or set is the wait a user most often cuts short."""


def loaded_dataset(arguments: argparse.Namespace, stack_info: StackInfo, seed: int) -> Dataset:
    from convtui.engine.datasets import DataError, load_dataset

    try:
        return load_dataset(arguments.data, stack_info, validation_split=arguments.validation_split, seed=seed)
    except DataError as error:
        raise error.located(file=arguments.preset) from None  # only the stack's own problems come without a file
    except KeyboardInterrupt:
        raise LoadingStopped from None


# --- the command --------------------------------------------------------------------------------


class Interrupts:
    """Ctrl+C while training: the first asks the loop to stop after its current step, and what was trained is saved; a
    second one before saving quits without saving. The second is raised only inside the loop: raised while Rich draws
    (as the progress stops), it would leave Rich's buffer to be written again; elsewhere `quit` is checked before
    saving. Once saving begins, a Ctrl+C is too late and ignored."""

    def __init__(self) -> None:
        self.presses = 0
        self.in_loop = False

    def asked(self) -> bool:
        return self.presses > 0

    @property
    def quit(self) -> bool:
        return self.presses > 1

    def on_interrupt(self, signum: int, frame: object) -> None:
        self.presses += 1
        if self.presses == 2 and self.in_loop:
            raise KeyboardInterrupt

    @contextmanager
    def loop(self) -> Iterator[None]:
        self.in_loop = True
        try:
            yield
        finally:
            self.in_loop = False


@contextmanager
def interrupts_caught() -> Iterator[Interrupts]:
    interrupts = Interrupts()
    previous = signal.signal(signal.SIGINT, interrupts.on_interrupt)
    try:
        yield interrupts
    finally:
        signal.signal(signal.SIGINT, previous)


def end_words(result: TrainResult, path: Path, preset: str, stopped_by: str) -> list[str]:
    """What was saved and how to use it, the path and the command each one word, so that wrapping keeps them whole;
    `stopped_by` says what cut training short."""
    from convtui.model.units import counted

    steps = counted(result.steps, "step")
    how = f"stopped {stopped_by} after {steps}; saved the weights trained so far" if result.stopped else f"trained {steps}; saved the weights"
    return [*how.split(), "to", f"{path};", "use", "them", "with", f"`convtui run {preset} --weights {path}`"]


def report_end(console: Console, result: TrainResult, dataset: Dataset, path: Path, preset: str, stopped_by: str) -> None:
    from convtui.cli.train_progress import print_between_words
    from convtui.render.confusion import ConfusionMatrix

    final = result.final
    if final is not None:
        which = "validation set" if len(dataset.x_validation) else "training set (no validation set)"
        title = f"Confusion matrix on the {which}: accuracy {final.accuracy:.4f}"
        console.print(ConfusionMatrix(final.confusion, dataset.class_names, title=title))
    print_between_words(end_words(result, path, preset, stopped_by))


def stop_cause(interrupts: Interrupts) -> tuple[str, int]:
    """What stopped training early, as the messages say it after "stopped", and the exit status that tells it: a
    Ctrl+C, else the closed output (the only other stop)."""
    return ("by Ctrl+C", EXIT_STOPPED) if interrupts.asked() else ("as the output was closed,", EXIT_OUTPUT_CLOSED)


def nothing_saved(when: str, status: int) -> int:
    """One line for a stop before the first step, which leaves nothing to save: the weights would be the untrained ones."""
    print(f"convtui: stopped {when}; nothing was saved", file=sys.stderr)
    return status


def handle(arguments: argparse.Namespace) -> int:
    """Train and save. A Ctrl+C before the handler that stops after a step is set raises KeyboardInterrupt, which
    main() would turn into a silent exit 130: it is said here instead."""
    try:
        return train_and_save(arguments)
    except LoadingStopped:
        return nothing_saved("by Ctrl+C while loading the data, before training began", EXIT_STOPPED)
    except KeyboardInterrupt:
        return nothing_saved("by Ctrl+C before training began", EXIT_STOPPED)


def train_and_save(arguments: argparse.Namespace) -> int:
    from convtui.cli.train_progress import ClosedOutput, Reporter
    from convtui.engine.losses import loss_for
    from convtui.engine.optimizers import make_optimizer
    from convtui.engine.train import TrainSettings, train, writable_weights
    from convtui.engine.weights import save_arrays, weights_to_arrays
    from convtui.render.confusion import encodable

    opened = load_source(arguments.preset, input_shape=arguments.input_shape)
    seed = chosen_seed(arguments.seed, opened)
    stack_info = opened.stack.infer()
    warn_unused(stack_info, arguments.preset)
    checked_stack(stack_info, arguments.preset, arguments.batch_size)
    path = save_path(arguments, opened.stack.name)
    print_notes(opened.notes)
    dataset = loaded_dataset(arguments, stack_info, seed)
    print_notes(tuple(f"{arguments.data}: {note}" for note in dataset.notes))
    weights = writable_weights(stack_weights(opened, stack_info, arguments.preset, arguments.weights, seed))
    optimizer = make_optimizer(arguments.optimizer, arguments.learning_rate)
    loss = loss_for(stack_info)
    console = output_console()
    output = ClosedOutput(console)
    settings_line = f"{dataset.summary}; {optimizer.name} (learning rate {optimizer.learning_rate:g}), {loss.label}, batch {arguments.batch_size}"
    console.print(encodable(settings_line, console.encoding))  # the data's path may be in any script
    settings = TrainSettings(arguments.epochs, arguments.batch_size, not arguments.no_shuffle, seed)
    reporter = Reporter(console, -(-len(dataset.x_train) // arguments.batch_size))
    with interrupts_caught() as interrupts:
        with suppress(KeyboardInterrupt), reporter.shown(), interrupts.loop():  # raised by the second Ctrl+C only: `quit` says it
            result = train(
                stack_info, dataset, weights, optimizer, settings, loss=loss, on_step=reporter.on_step, on_epoch=reporter.on_epoch,
                should_stop=lambda: interrupts.asked() or output.closed,
            )  # fmt: skip
        if interrupts.quit:
            print("convtui: stopped by a second Ctrl+C before saving; nothing was written", file=sys.stderr)
            return EXIT_STOPPED
        stopped_by, stopped_status = stop_cause(interrupts)
        if result.stopped and not result.steps:
            return nothing_saved(f"{stopped_by} before training began", stopped_status)
        save_arrays(weights_to_arrays(result.weights), path)
        report_end(console, result, dataset, path, arguments.preset, stopped_by)
    return stopped_status if result.stopped else EXIT_OUTPUT_CLOSED if output.closed else 0
