"""The Train view's status line: no NaN before the first step, the validation accuracy once an epoch has one."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from convtui.engine.train import Evaluation
from convtui.tui.widgets.train_view import status_line


def snapshot(loss: float, accuracy: float, evaluation: Evaluation | None = None) -> SimpleNamespace:
    return SimpleNamespace(epoch=1, setup=SimpleNamespace(epochs=2), step=0, steps=57, loss=loss, accuracy=accuracy, evaluation=evaluation, examples_per_second=0.0)


def test_before_the_first_step_the_running_figures_read_as_a_dash():
    line = status_line("paused", snapshot(math.nan, math.nan))  # type: ignore[arg-type]
    assert line == "paused · epoch 1/2 · step 0/57 · loss - · accuracy - · 0 examples/s"


def test_after_an_epoch_the_line_has_its_validation_accuracy():
    evaluation = Evaluation(0.3, 0.9125, np.eye(2, dtype=np.int64))
    line = status_line("training", snapshot(0.41234, 0.875, evaluation))  # type: ignore[arg-type]
    assert "loss 0.4123 · accuracy 0.8750 · validation accuracy 0.9125 · " in line
