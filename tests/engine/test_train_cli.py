"""`convtui train` as a user runs it: a subprocess, its output piped (one line per epoch) or in a terminal
(progress bars), Ctrl+C as a real SIGINT, and every bad-data case's one line and exit status.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from convtui.engine.weights import load_weights, weights_to_arrays
from convtui.model.preset import load_preset

TINY = """name = "tiny"
input_shape = [12, 12, 1]

[[layers]]
type = "Conv2D"
filters = 4
kernel_size = 3
activation = "relu"

[[layers]]
type = "BatchNormalization"
momentum = 0.9  # Keras's 0.99 needs hundreds of steps before inference's moving statistics catch up

[[layers]]
type = "Flatten"

[[layers]]
type = "Dense"
units = 4
activation = "softmax"
"""
FINAL_ACCURACY = re.compile(r"Confusion matrix on the validation set: accuracy (\d\.\d+)")


def convtui(*arguments: str | Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "convtui", *map(str, arguments)], capture_output=True, text=True, cwd=cwd, timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def test_a_tiny_stack_learns_stripes_and_its_saved_weights_run(tmp_path: Path, tiny: Path) -> None:
    started = time.perf_counter()
    result = convtui("train", tiny, "--data", "stripes:400", "--epochs", "4", "--learning-rate", "0.01", "--save", "out.npz", "--seed", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert time.perf_counter() - started < 60
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("epoch ")] == [f"epoch {epoch}/4" for epoch in range(1, 5)]
    assert re.search(r"loss \d\.\d{4}, accuracy \d\.\d{4}, validation loss \d\.\d{4}, validation accuracy \d\.\d{4}, [\d,]+ examples/s", result.stdout)
    assert float(FINAL_ACCURACY.search(result.stdout).group(1)) >= 0.9
    assert "horizontal" in result.stdout and "diagonal /" in result.stdout  # the confusion matrix names the classes
    assert "saved the weights to out.npz" in result.stderr
    info = load_preset(str(tiny)).infer()
    with np.load(tmp_path / "out.npz") as saved:
        assert set(saved.files) == set(weights_to_arrays(load_weights(tmp_path / "out.npz", info)))
        assert "layers.1.moving_mean" in saved.files and saved["layers.1.moving_mean"].any()  # moving statistics included
    ran = convtui("run", tiny, "--weights", "out.npz", cwd=tmp_path)
    assert ran.returncode == 0 and "lacks" not in ran.stderr, ran.stderr


def test_without_save_it_writes_name_trained_npz_and_never_replaces_it(tmp_path: Path, tiny: Path) -> None:
    first = convtui("train", tiny, "--data", "stripes:40", "--epochs", "1", cwd=tmp_path)
    assert first.returncode == 0 and (tmp_path / "tiny-trained.npz").is_file(), first.stderr
    second = convtui("train", tiny, "--data", "stripes:40", "--epochs", "1", cwd=tmp_path)
    assert second.returncode == 2 and "epoch" not in second.stdout
    assert second.stderr == (
        "convtui: error: tiny-trained.npz: already exists from an earlier run; give --save FILE.npz to write another file,"
        " or --save tiny-trained.npz --force to replace it\n"
    )


def test_ctrl_c_stops_after_the_current_step_and_saves_what_was_trained(tmp_path: Path, tiny: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "convtui", "train", str(tiny), "--data", "stripes:2000", "--epochs", "200", "--save", "stopped.npz"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("epoch 1/200"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "epoch 200/200" not in out
    assert re.search(r"stopped by Ctrl\+C after \d+ steps; saved the weights trained so far to stopped\.npz", err)
    info = load_preset(str(tiny)).infer()
    assert load_weights(tmp_path / "stopped.npz", info)[3]["kernel"].shape == (400, 4)


def test_an_output_that_cannot_encode_unicode_gets_ascii_and_the_end_message(tmp_path: Path, tiny: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "convtui", "train", str(tiny), "--data", "stripes:40", "--epochs", "1", "--save", "a.npz"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, env={**os.environ, "NO_COLOR": "1", "PYTHONIOENCODING": "ascii"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii() and "Confusion matrix on the validation set" in result.stdout
    assert " . " in result.stdout.split("true \\ predicted")[1], result.stdout  # the matrix's empty cells: "·" as "."
    assert result.stderr.startswith("trained 2 steps; saved the weights to a.npz"), result.stderr


def test_when_the_reader_closes_the_pipe_training_stops_saves_and_exits_quietly(tmp_path: Path, tiny: Path) -> None:
    """`convtui train ... | head -1`: stopped as after a Ctrl+C, what was trained saved, and exit 141 (128 + SIGPIPE)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "convtui", "train", str(tiny), "--data", "stripes:2000", "--epochs", "200", "--save", "piped.npz"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith("stripes:2000: ")  # the settings line, printed just before the first step
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=60) == 141, err
    assert re.fullmatch(r"stopped as the output was closed, after \d+ steps; saved the weights trained so far to piped\.npz; use them with `convtui run \S+ --weights piped\.npz`\n", err)
    assert load_weights(tmp_path / "piped.npz", load_preset(str(tiny)).infer())[3]["kernel"].shape == (400, 4)


def test_a_pipe_closed_before_training_began_says_nothing_was_saved(tmp_path: Path, tiny: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "convtui", "train", str(tiny), "--data", "stripes:40", "--save", "never.npz"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    process.stdout.close()  # as `| true` does: before the first line is written
    _, err = process.communicate(timeout=60)
    assert process.returncode == 141
    assert err == "convtui: stopped as the output was closed, before training began; nothing was saved\n"
    assert not (tmp_path / "never.npz").exists()


def test_in_a_terminal_each_epoch_has_a_progress_bar(tmp_path: Path, tiny: Path) -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "convtui", "train", str(tiny), "--data", "stripes:200", "--epochs", "2", "--save", "t.npz"],
        stdin=terminal, stdout=terminal, stderr=terminal, cwd=tmp_path, env={**os.environ, "COLUMNS": "160", "NO_COLOR": "1"},
    )  # fmt: skip
    os.close(terminal)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(controller, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0, shown.decode(errors="replace")
    text = shown.decode(errors="replace")
    assert "epoch 1/2" in text and "epoch 2/2" in text and "━" in text and "6/6" in text and "validation accuracy" in text


def test_a_keras_model_trains_and_its_saved_weights_run(tmp_path: Path) -> None:
    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(2, 3, activation="relu"), keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")])
    model.save(tmp_path / "model.keras")
    trained = convtui("train", "model.keras", "--data", "stripes:40", "--epochs", "1", "--save", "m.npz", cwd=tmp_path)
    assert trained.returncode == 0 and "saved the weights to m.npz" in trained.stderr, trained.stderr
    ran = convtui("run", "model.keras", "--weights", "m.npz", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr


def write_bad_case(tmp_path: Path, case: str) -> list[str]:
    """The arguments after `train` for one bad case, its files written into tmp_path."""
    if case == "labels past the output size":
        np.savez(tmp_path / "d.npz", x=np.zeros((5, 12, 12), np.uint8), y=np.array([0, 1, 2, 3, 4]))
    elif case == "label count":
        np.savez(tmp_path / "d.npz", x=np.zeros((5, 12, 12), np.uint8), y=np.array([0, 1, 2]))
    elif case in ("empty folder", "unreadable image"):
        (tmp_path / "d").mkdir()
        if case == "unreadable image":
            (tmp_path / "d" / "cat").mkdir()
            (tmp_path / "d" / "cat" / "1.png").write_bytes(b"\x89PNG broken")
        return ["tiny.toml", "--data", "d"]
    elif case == "output not one vector":
        return ["seed-28x28x1", "--data", "digits:20"]
    elif case == "no such data":
        return ["tiny.toml", "--data", "nothing.npz"]
    return ["tiny.toml", "--data", "d.npz"]


BAD_LINES = {
    "labels past the output size": "convtui: error: d.npz: has labels up to 4 but the stack's output has 4 values (classes 0 to 3); give the last layer 5 units, or relabel the data",
    "label count": "convtui: error: d.npz: 'x' has 5 images but 'y' has 3 labels; give one label per image",
    "empty folder": "convtui: error: d: has no class folders; put the images of each class in a sub-folder of it, e.g. DATA/cat/1.png, DATA/dog/1.png",
    "unreadable image": "convtui: error: d/cat/1.png: cannot read image: not a PNG, JPEG, BMP or GIF file (cannot identify image file); remove this image from its class folder",
    "output not one vector": "convtui: error: seed-28x28x1: the stack's output is (24, 24, 64), not one vector of class scores per image",
    "no such data": "convtui: error: nothing.npz: no such folder or .npz file, nor a generated set",
}


@pytest.mark.parametrize("case", BAD_LINES)
def test_every_bad_data_case_exits_2_with_its_line_before_training(tmp_path: Path, tiny: Path, case: str) -> None:
    result = convtui("train", *write_bad_case(tmp_path, case), "--save", "never.npz", cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(BAD_LINES[case]), result.stderr
    assert "epoch" not in result.stdout and not (tmp_path / "never.npz").exists()


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [("--epochs", "0", "is not a positive whole number"), ("--validation-split", "1", "is not a fraction"), ("--learning-rate", "-1", "is not a positive number")],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, tiny: Path, option: str, value: str, says: str) -> None:
    result = convtui("train", tiny, "--data", "shapes", option, value, cwd=tmp_path)
    assert result.returncode == 2 and says in result.stderr and len(result.stderr.splitlines()) == 1
