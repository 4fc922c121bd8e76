"""`convtui train` in a terminal: every figure of the progress visible at 80 and 120 columns, a second Ctrl+C that
says it saved nothing, and an end message wrapped between words, never inside the path or the command."""

from __future__ import annotations

import io
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from rich.console import Console

import convtui.engine.train as engine_train
from convtui.cli import main
from convtui.cli.train import end_words
from convtui.cli.train_progress import ECHO_ROOM, Reporter, print_between_words
from convtui.engine.train import EpochReport, Evaluation, StepReport

TINY = """name = "tiny"
input_shape = [12, 12, 1]

[[layers]]
type = "Conv2D"
filters = 2
kernel_size = 3
activation = "relu"

[[layers]]
type = "Flatten"

[[layers]]
type = "Dense"
units = 4
activation = "softmax"
"""
QUIT_LINE = "convtui: stopped by a second Ctrl+C before saving; nothing was written\n"


def terminal(width: int) -> Console:
    return Console(width=width, file=io.StringIO(), force_terminal=True, record=True)


def shown_lines(width: int) -> tuple[list[str], list[str]]:
    """What a terminal of `width` columns shows of an ended epoch (printed for good) and of the next one under way."""
    console = terminal(width)
    reporter = Reporter(console, steps=563)
    validation = Evaluation(0.0505, 0.9840, np.eye(2, dtype=np.int64))
    reporter.on_epoch(EpochReport(1, 5, 563, 0.8719, 0.7310, 2851.2, 7.24, validation))
    ended = console.export_text().splitlines()
    for step in (1, 2, 312):
        reporter.on_step(StepReport(2, 5, step, 563, 0.8859, 0.7245, 3012.0))
    console.print(reporter.row)
    return ended, console.export_text().splitlines()


@pytest.mark.parametrize("width", [80, 120])
def test_every_figure_of_an_epoch_is_shown(width: int) -> None:
    ended, running = shown_lines(width)
    ended_text, running_text = " ".join(ended), " ".join(running)
    for figure in ("epoch 1/5", "563/563", "loss 0.8719", "acc 0.7310", "val loss 0.0505", "val acc 0.9840", "2,851 examples/s", "7.2 s"):
        assert figure in ended_text, (figure, ended)
    for figure in ("epoch 2/5", "312/563", "loss 0.8859", "acc 0.7245", "3,012 examples/s", "left"):
        assert figure in running_text, (figure, running)
    assert "…" not in ended_text + running_text
    assert len(ended) == len(running) == (2 if width < 120 else 1)  # two lines (the bar, then the figures) only where one is too narrow


@pytest.mark.parametrize("width", [80, 120])
def test_rows_leave_room_for_the_terminals_ctrl_c_echo(width: int) -> None:
    """A row the echoed ^C pushes past the edge wraps, and each redraw then leaves a copy of it on the screen."""
    ended, running = shown_lines(width)
    assert max(len(line) for line in ended + running) <= width - ECHO_ROOM


def test_the_time_left_follows_the_pace_of_the_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([100.0, 101.0, 110.0])  # step 1 at 100 s, step 2 one second later, step 11 at 110 s
    monkeypatch.setattr("convtui.cli.train_progress.time.perf_counter", lambda: next(clock))
    reporter = Reporter(terminal(80), steps=71)
    reporter.on_step(StepReport(1, 1, 1, 71, 1.0, 0.5, 10.0))
    assert reporter.row is not None and reporter.row.time == "-:--:-- left"
    reporter.on_step(StepReport(1, 1, 2, 71, 1.0, 0.5, 10.0))
    reporter.on_step(StepReport(1, 1, 11, 71, 1.0, 0.5, 10.0))
    assert reporter.row.time == "0:01:00 left"  # 60 steps to go at 1 s a step


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder with the tiny stack, and Ctrl+C as a fresh `convtui` process has it (KeyboardInterrupt): an earlier
    test in the same process may have left another SIGINT handler."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(TINY)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield tmp_path
    finally:
        signal.signal(signal.SIGINT, previous)


def press_ctrl_c() -> None:
    signal.raise_signal(signal.SIGINT)


def first_ctrl_c_at_step(monkeypatch: pytest.MonkeyPatch, count: int) -> list[bool]:
    """Ctrl+C pressed during the `count`th step; the list says whether it has been."""
    pressed: list[bool] = []
    steps = iter(range(1, 1_000_000))
    step = engine_train.train_step

    def pressing_step(*arguments: object) -> tuple[float, int]:
        if next(steps) == count:
            press_ctrl_c()
            pressed.append(True)
        return step(*arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_train, "train_step", pressing_step)
    return pressed


def train_in_process(in_terminal: bool, monkeypatch: pytest.MonkeyPatch) -> int:
    """`convtui train` on the tiny stack, its progress in an 80-column terminal or piped (as under capsys)."""
    if in_terminal:
        console = terminal(80)
        monkeypatch.setattr("convtui.cli.train.output_console", lambda: console)
    return main(["train", "tiny.toml", "--data", "stripes:400", "--epochs", "3", "--save", "out.npz"])


@pytest.mark.parametrize("in_terminal", [False, True], ids=["piped", "terminal"])
def test_a_second_ctrl_c_while_the_first_stop_validates_quits_saying_nothing_was_written(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], in_terminal: bool
) -> None:
    pressed = first_ctrl_c_at_step(monkeypatch, 14)  # 12 steps an epoch: the second step of epoch 2
    evaluate = engine_train.evaluate

    def pressing_evaluate(*arguments: object) -> Evaluation:
        if pressed:
            press_ctrl_c()
        return evaluate(*arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_train, "evaluate", pressing_evaluate)
    assert train_in_process(in_terminal, monkeypatch) == 130
    out, err = capsys.readouterr()
    assert err == QUIT_LINE
    assert not (tiny / "out.npz").exists() and not list(tiny.glob(".out.npz.*"))
    if not in_terminal:
        assert out.count("epoch 1/3") == 1 and "epoch 2/3" not in out


def test_a_second_ctrl_c_as_the_progress_stops_quits_before_saving(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Outside the loop the second Ctrl+C is not raised (inside Rich's drawing it would garble the screen) but still keeps the file unwritten."""
    shown = Reporter.shown

    @contextmanager
    def pressed_twice_as_it_stops(self: Reporter) -> Iterator[None]:
        with shown(self):
            yield
            press_ctrl_c()
            press_ctrl_c()

    monkeypatch.setattr(Reporter, "shown", pressed_twice_as_it_stops)
    assert train_in_process(True, monkeypatch) == 130
    assert capsys.readouterr().err == QUIT_LINE
    assert not (tiny / "out.npz").exists()


def test_one_ctrl_c_still_saves_what_was_trained(tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    first_ctrl_c_at_step(monkeypatch, 14)
    assert train_in_process(False, monkeypatch) == 130
    out, err = capsys.readouterr()
    assert "epoch 2/3 (stopped after 2 of 12 steps)" in out
    assert err.startswith("stopped by Ctrl+C after 14 steps; saved the weights trained so far to out.npz") and (tiny / "out.npz").is_file()


def press_ctrl_c_instead(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    """Ctrl+C pressed as `target` (module.function) is called."""
    monkeypatch.setattr(target, lambda *arguments, **keywords: press_ctrl_c())


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("convtui.engine.datasets.load_dataset", "by Ctrl+C while loading the data, before training began"),
        ("convtui.cli.train.stack_weights", "by Ctrl+C before training began"),
    ],
    ids=["loading the data", "after loading"],
)
def test_a_ctrl_c_before_training_says_what_it_stopped_and_that_nothing_was_saved(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], target: str, said: str
) -> None:
    press_ctrl_c_instead(monkeypatch, target)
    assert train_in_process(False, monkeypatch) == 130
    out, err = capsys.readouterr()
    assert err == f"convtui: stopped {said}; nothing was saved\n" and "epoch" not in out
    assert not (tiny / "out.npz").exists()


def test_a_ctrl_c_just_before_the_first_step_saves_no_untrained_weights(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pressed once the Ctrl+C that stops after a step is caught, but before any step: there is nothing trained to save."""
    shown = Reporter.shown

    @contextmanager
    def pressed_as_it_starts(self: Reporter) -> Iterator[None]:
        press_ctrl_c()
        with shown(self):
            yield

    monkeypatch.setattr(Reporter, "shown", pressed_as_it_starts)
    assert train_in_process(False, monkeypatch) == 130
    assert capsys.readouterr().err == "convtui: stopped by Ctrl+C before training began; nothing was saved\n"
    assert not (tiny / "out.npz").exists()


def test_one_class_one_step_the_title_on_one_line_and_step_singular(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In an 80-column terminal the title of a one-class matrix (a table 31 columns wide) was cut over three lines."""
    console = terminal(80)
    monkeypatch.setattr("convtui.cli.train.output_console", lambda: console)
    np.savez(tiny / "one.npz", x=np.random.default_rng(0).random((20, 12, 12), np.float32), y=np.zeros(20, np.int64))
    assert main(["train", "tiny.toml", "--data", "one.npz", "--epochs", "1", "--batch-size", "100", "--save", "one-out.npz"]) == 0
    shown = [line.rstrip() for line in console.export_text().splitlines()]
    assert "Confusion matrix on the validation set: accuracy 1.0000" in shown, shown
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("trained 1 step; saved the weights to one-out.npz"), err


END_WORDS: dict[str, Callable[[], list[str]]] = {
    "stopped": lambda: end_words(SimpleNamespace(stopped=True, steps=312), Path("mnist-convnet-trained.npz"), "mnist-convnet", "by Ctrl+C"),  # type: ignore[arg-type]
    "finished": lambda: end_words(SimpleNamespace(stopped=False, steps=3125), Path("mnist-convnet-trained.npz"), "mnist-convnet", ""),  # type: ignore[arg-type]
}


@pytest.mark.parametrize(
    ("stopped", "stopped_by", "says"),
    [
        (False, "", "trained 1 step; saved the weights to"),
        (True, "by Ctrl+C", "stopped by Ctrl+C after 1 step; saved the weights trained so far to"),
        (True, "as the output was closed,", "stopped as the output was closed, after 1 step; saved the weights trained so far to"),
    ],
)
def test_the_end_message_counts_one_step_in_the_singular(stopped: bool, stopped_by: str, says: str) -> None:
    words = end_words(SimpleNamespace(stopped=stopped, steps=1), Path("w.npz"), "tiny", stopped_by)  # type: ignore[arg-type]
    assert " ".join(words).startswith(f"{says} w.npz;")


@pytest.mark.parametrize("case", END_WORDS)
def test_the_end_message_wraps_between_words_keeping_the_path_and_the_command_whole(case: str) -> None:
    console = terminal(80)
    print_between_words(END_WORDS[case](), console)
    lines = console.export_text().splitlines()
    assert len(lines) > 1 and all(len(line) <= 80 for line in lines), lines
    assert any("mnist-convnet-trained.npz;" in line for line in lines), lines
    assert any("`convtui run mnist-convnet --weights mnist-convnet-trained.npz`" in line for line in lines), lines


def test_on_a_pipe_the_end_message_is_one_line() -> None:
    file = io.StringIO()
    print_between_words(END_WORDS["stopped"](), Console(file=file, width=80))
    assert file.getvalue() == (
        "stopped by Ctrl+C after 312 steps; saved the weights trained so far to mnist-convnet-trained.npz;"
        " use them with `convtui run mnist-convnet --weights mnist-convnet-trained.npz`\n"
    )
