"""`--threads N` on the commands that run the engine: OPENBLAS_NUM_THREADS=N for the process, before numpy loads."""

from __future__ import annotations

import subprocess
import sys

import pytest

from convtui.cli.options import apply_engine_options
from convtui.cli.parser import build_parser


@pytest.mark.parametrize("command", [["run", "seed-28x28x1"], ["train", "seed-28x28x1", "--data", "digits"], ["app"], ["serve"]])
def test_every_engine_command_takes_threads(command: list[str]) -> None:
    arguments = build_parser().parse_args([*command, "--threads", "3"])
    environment: dict[str, str] = {"OMP_NUM_THREADS": "7"}
    apply_engine_options(arguments, environment)
    assert environment == {"OMP_NUM_THREADS": "7", "OPENBLAS_NUM_THREADS": "3"}


def test_more_threads_than_cores_is_run_as_asked_with_a_one_line_note(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("convtui.cli.options.machine_cores", lambda: 2)
    environment: dict[str, str] = {}
    apply_engine_options(build_parser().parse_args(["run", "seed-28x28x1", "--threads", "8"]), environment)
    assert environment == {"OPENBLAS_NUM_THREADS": "8"}
    note = capsys.readouterr().err
    assert note.count("\n") == 1 and "--threads 8 is more than the 2 cores" in note and "--threads 2" in note
    apply_engine_options(build_parser().parse_args(["run", "seed-28x28x1", "--threads", "2"]), environment)
    assert capsys.readouterr().err == ""


def test_without_threads_the_environment_is_left_alone() -> None:
    environment = {"OMP_NUM_THREADS": "7"}
    apply_engine_options(build_parser().parse_args(["run", "seed-28x28x1"]), environment)
    assert environment == {"OMP_NUM_THREADS": "7"}


@pytest.mark.parametrize("text", ["0", "-2", "two"])
def test_a_thread_count_that_is_not_one_is_refused_in_one_line(text: str) -> None:
    done = subprocess.run([sys.executable, "-m", "convtui", "run", "seed-28x28x1", f"--threads={text}"], capture_output=True, text=True)
    assert done.returncode == 2 and "--threads" in done.stderr and "Traceback" not in done.stderr


def test_the_engine_and_blas_run_with_the_count_given() -> None:
    code = (
        "import os; os.environ['OMP_NUM_THREADS'] = '2'\n"  # --threads wins; OpenBLAS caps a count at the cores, so 1
        "from convtui.cli import main\n"
        "assert main(['run', 'seed-28x28x1', '--threads', '1']) == 0\n"
        "from convtui.engine.threads import blas_threads, thread_count\n"
        "print(thread_count(), sorted(set(blas_threads())))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "1 [1]"
