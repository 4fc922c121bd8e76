"""The training actions of the App: start, pause, resume and stop a training run in a thread
worker. The worker never waits for the screen: it publishes snapshots on the session, which the
Train view samples on a timer, and reports by message only when it stops running.

The trained weights become the stack's weights the way a Keras model's do (an OpenedWeights):
each time training pauses or ends, the views rerun on them, saving writes them as NAME.npz, and
an edit carries them over layer by layer. A mixin, so the bindings and the palette find it on the App.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from textual import work
from textual.message import Message

from convtui.errors import ConvtuiError
from convtui.model.stack import StackInfo
from convtui.tui.forward_run import WeightsCache, stack_weights
from convtui.tui.history import EditHistory, Version
from convtui.tui.opened_weights import OpenedWeights
from convtui.tui.state import ViewState

if TYPE_CHECKING:
    from convtui.tui.train_session import Outcome, TrainControl, TrainSession
    from convtui.tui.widgets.train_view import TrainForm
    from convtui.tui.widgets.views import Views

TRAIN_TAB = "train"
TRAINED_LABEL = "training"
"""How the title and the weights note name the trained weights' origin."""
TrainStatus = Literal["idle", "loading", "training", "pausing", "paused", "stopping", "stopped", "finished", "failed"]
RUNNING: tuple[TrainStatus, ...] = ("loading", "training", "pausing", "stopping")


@dataclass
class TrainingStarted(Message):
    """The data is loaded (or the stack rebased): the session trains from now on."""

    session: TrainSession


@dataclass
class TrainingEnded(Message):
    """The worker returned: paused, stopped, finished, or failed with the sentence why."""

    session: TrainSession | None
    outcome: Outcome | Literal["failed"]
    message: str = ""
    title: str = "Training stopped"
    """The failure's notification title: a run that never began was "Not started", one that could not go on "Not resumed"."""


def training_problem(stack_info: StackInfo) -> str | None:
    """Why this stack cannot train (invalid, several outputs, not one vector per image), or None."""
    from convtui.engine.datasets import output_classes
    from convtui.engine.gradients.graph import trainable_output

    try:
        trainable_output(stack_info)
        output_classes(stack_info)
    except ConvtuiError as error:
        return str(error)
    return None


def failure_text(error: Exception) -> str:
    """The sentence a failed start or run shows: the engine's own for a ConvtuiError; an engine bug must show too, not end the app."""
    return str(error) if isinstance(error, ConvtuiError) else f"training failed: {type(error).__name__}: {error}"


class TrainingActions:
    """Start, pause, resume, stop; the App provides `view_state`, `history`, `seed`, `opened_weights`, `start_run`, `views` and Textual's API."""

    view_state: ViewState
    history: EditHistory[Version]
    seed: int
    opened_weights: OpenedWeights | None
    start_run: Callable[..., None]
    edit_version: Callable[[Version], None]
    views: Views

    training: TrainSession | None = None
    train_status: TrainStatus = "idle"
    train_history: EditHistory | None = None
    """The history of the stack that is training: opening another stack replaces it, and ends the run's claim on the weights."""
    train_control: TrainControl | None = None
    """The current run's: made when it starts, before its data loads."""

    def train_form(self) -> TrainForm:
        from convtui.tui.widgets.train_view import TrainForm

        return self.screen_stack[0].query_one(TrainForm)

    def set_train_status(self, status: TrainStatus) -> None:
        self.train_status = status
        self.train_form().follow_status(status)

    def can_train(self, stack_info: StackInfo) -> bool:
        problem = training_problem(stack_info)
        if problem is not None:
            self.notify(problem, title="Cannot train this stack", severity="error", timeout=10)
        return problem is None

    async def action_start_training(self) -> None:
        """Start a new run from the stack's current weights (t resumes a paused run instead)."""
        from convtui.tui.train_session import TrainControl, start_session
        from convtui.tui.widgets.train_view import TrainForm

        if self.train_status == "paused":
            self.action_resume_training()
            return
        if self.train_status in RUNNING:
            self.notify("Training is running: p pauses it, T stops it.")
            return
        form = await self.views.view(TRAIN_TAB, TrainForm)  # a key typed as the app opens comes before the view
        try:
            setup = form.setup(self.seed)
        except ValueError as error:
            self.notify(str(error), title="Not started", severity="error")
            return
        stack_info, opened = self.view_state.stack_info, self.opened_weights
        if not self.can_train(stack_info):
            return
        if self.train_status in ("stopped", "finished"):
            self.notify(f"A new run of {setup.epochs} epoch(s), from the weights trained so far (the optimiser starts afresh).", title="Training again")
        self.training, self.train_history, self.train_control = None, self.history, TrainControl()
        control = self.train_control
        self.set_train_status("loading")

        def prepare() -> TrainSession:
            weights, _ = stack_weights(stack_info, setup.seed, opened, len(stack_info.layers), WeightsCache())
            return start_session(setup, stack_info, weights, control)

        self.run_training(prepare, refused=("failed", "Not started"))

    def action_pause_training(self) -> None:
        """Pause after the current step: the views then run on the weights so far, and the stack and learning rate may change."""
        if self.train_status not in ("loading", "training") or self.train_control is None:
            self.notify("Training is paused already: t resumes it." if self.train_status == "paused" else "No training is running to pause.")
            return
        self.train_control.request = "pause"
        self.set_train_status("pausing")

    def action_resume_training(self) -> None:
        """Go on where the pause left off, on the stack as edited since, with the learning rate and epochs in the form."""
        session = self.training
        if self.train_status != "paused" or session is None:
            self.notify("No paused training to resume: t starts one.")
            return
        if self.history is not self.train_history:
            self.set_train_status("idle")
            self.notify("Another stack was opened since the pause; t starts a new training run.")
            return
        try:
            learning_rate, epochs = self.train_form().resume_values()
        except ValueError as error:
            self.notify(str(error), title="Not resumed", severity="error")
            return
        stack_info, seed = self.view_state.stack_info, self.seed
        if not self.can_train(stack_info):
            return
        session.resume_with(learning_rate, epochs)
        self.set_train_status("training")

        def prepare() -> TrainSession:
            if stack_info is not session.stack_info:
                session.rebase(stack_info, seed)
            return session

        self.run_training(prepare, refused=("paused", "Not resumed"))

    def action_stop_training(self) -> None:
        """Stop after the current step (its partial epoch is validated); a paused run just ends."""
        if self.train_status in ("loading", "training", "pausing") and self.train_control is not None:
            self.train_control.request = "stop"
            self.set_train_status("stopping")
        elif self.train_status == "paused":
            self.set_train_status("stopped")
        else:
            self.notify("No training is running to stop.")

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def run_training(self, prepare: Callable[[], TrainSession], refused: tuple[Outcome | Literal["failed"], str]) -> None:
        """Load or rebase, then train until done or asked to pause or stop; one message when it returns.

        `refused`: the outcome and title when `prepare` fails (data that does not fit, say): nothing trained, so a
        paused run stays paused, its session as it was, for the user to fix the stack and resume."""
        try:
            session = prepare()
        except Exception as error:
            self.post_message(TrainingEnded(self.training, refused[0], failure_text(error), refused[1]))
            return
        try:
            self.training = session
            self.post_message(TrainingStarted(session))
            outcome = session.run()
        except Exception as error:
            self.post_message(TrainingEnded(session, "failed", failure_text(error)))
            return
        self.post_message(TrainingEnded(session, outcome))

    def on_training_started(self, message: TrainingStarted) -> None:
        if self.train_status == "loading":
            self.set_train_status("training")

    def on_training_ended(self, message: TrainingEnded) -> None:
        """A message means nothing new was trained (a failure, or a resume refused): no weights to adopt."""
        self.set_train_status(message.outcome)
        if message.message:
            self.notify(message.message, title=message.title, severity="error", timeout=12)
            return
        if message.session is not None:
            self.adopt_trained_weights(message.session)

    def adopt_trained_weights(self, session: TrainSession) -> None:
        """Make a copy of the trained weights the stack's weights (an edit: undo gives back the ones before), and rerun the views on them."""
        if self.history is not self.train_history:
            self.notify("Training ended, but another stack is open now: its weights were not kept.", timeout=8)
            return
        trained = OpenedWeights(session.stack_info, TRAINED_LABEL, weights=session.weights_copy())
        self.edit_version(replace(self.history.current, weights=trained))  # one undo step back to the weights before; unsaved until saved
