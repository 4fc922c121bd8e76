"""Messages shared across the app: the forward-pass worker reporting back to the App.

Each names the StackInfo it ran, so a report from a run that a newer edit replaced is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from convtui.model.stack import StackInfo
from convtui.tui.forward_run import RunResult


@dataclass
class ForwardProgress(Message):
    """`layers_done` of `layers_total` layers have run."""

    stack_info: StackInfo
    layers_done: int
    layers_total: int


@dataclass
class ForwardEarly(Message):
    """The layers up to the selected one have run, ahead of the rest of a long run (forward_run.early_layers)."""

    stack_info: StackInfo
    result: RunResult


@dataclass
class ForwardFinished(Message):
    """The run ended: every runnable layer's output, or the sentence saying why it could not."""

    stack_info: StackInfo
    result: RunResult
