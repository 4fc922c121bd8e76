"""The command line as a script uses it: files never replaced unasked, CSV and JSON alike, options it guesses, names
and slices where indices go, exit codes, one error prefix, and lines that do not wrap in a pipe."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TRAINABLE = """name = "tiny"
input_shape = [12, 12, 1]
[[layers]]
type = "Flatten"
[[layers]]
type = "Dense"
units = 4
activation = "softmax"
"""
UNUSED_BRANCH = """input_shape = [16, 16, 3]
[[layers]]
type = "Conv2D"
name = "a"
filters = 4
kernel_size = 3
[[layers]]
type = "Conv2D"
name = "dead"
filters = 8
kernel_size = 3
[[layers]]
type = "Conv2D"
name = "out"
inputs = ["a"]
filters = 2
kernel_size = 1
"""
SPLIT_BLOCK = """input_shape = [28, 28, 1]
[[layers]]
type = "Conv2D"
block = "A"
filters = 3
kernel_size = 3
[[layers]]
type = "ReLU"
[[layers]]
type = "Conv2D"
block = "A"
filters = 3
kernel_size = 3
"""
KERNEL_TOO_BIG = """input_shape = [5, 5, 1]
[[layers]]
type = "Conv2D"
filters = 2
kernel_size = 7
"""
LONG_LABEL = """input_shape = [16, 16, 3]
[[layers]]
type = "Conv2D"
name = "wide"
filters = 10
kernel_size = 3
padding = "same"
activation = "relu"
dilation_rate = 2
"""


@pytest.fixture
def write(tmp_path: Path):
    """Write a preset into the test's folder; its path."""

    def written(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return written


def only_error(result) -> str:
    """The one line a refused command prints, after checking it printed nothing else and exited 2."""
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    (line,) = result.stderr.splitlines()
    return line


# --- run --save and train --save never replace a file unasked ------------------------------


def test_run_save_refuses_an_existing_file_before_the_run_and_leaves_it_alone(run_cli, tmp_path):
    target = tmp_path / "trained.npz"
    np.savez(target, precious=np.arange(3))
    line = only_error(run_cli("run", "seed-28x28x1", "--save", target))
    assert line == f"convtui: error: {target}: already exists; pass --force to overwrite it, or choose another name with --save"
    with np.load(target) as kept:
        assert kept.files == ["precious"]


def test_run_save_with_force_replaces_the_file(run_cli, tmp_path):
    target = tmp_path / "run.npz"
    np.savez(target, precious=np.arange(3))
    result = run_cli("run", "seed-28x28x1", "--save", target, "--force", "--save-layers", "-1")
    assert result.returncode == 0, result.stderr
    with np.load(target) as saved:
        assert "precious" not in saved.files and "layers.1.output" in saved.files


def test_force_without_save_is_refused_as_the_other_save_options_are(run_cli):
    line = only_error(run_cli("run", "seed-28x28x1", "--force"))
    assert line.startswith("convtui: error: --force only chooses what --save writes; add --save FILE.npz")


def test_train_save_refuses_an_existing_file_before_training(run_cli, write, tmp_path):
    tiny, target = write("tiny.toml", TRAINABLE), tmp_path / "weights.npz"
    np.savez(target, precious=np.arange(3))
    line = only_error(run_cli("train", tiny, "--data", "stripes:40", "--epochs", "1", "--save", target, cwd=tmp_path))
    assert line == f"convtui: error: {target}: already exists; pass --force to overwrite it, or choose another name with --save"
    with np.load(target) as kept:
        assert kept.files == ["precious"]


def test_train_save_with_force_goes_on_training_into_the_weights_file(run_cli, write, tmp_path):
    tiny, target = write("tiny.toml", TRAINABLE), tmp_path / "weights.npz"
    assert run_cli("train", tiny, "--data", "stripes:40", "--epochs", "1", "--save", target, cwd=tmp_path).returncode == 0
    before = target.stat().st_mtime_ns
    result = run_cli("train", tiny, "--data", "stripes:40", "--epochs", "1", "--weights", target, "--save", target, "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert target.stat().st_mtime_ns != before


def test_train_force_without_save_is_refused_the_default_file_is_never_replaced(run_cli, write, tmp_path):
    tiny = write("tiny.toml", TRAINABLE)
    line = only_error(run_cli("train", tiny, "--data", "stripes:40", "--epochs", "1", "--force", cwd=tmp_path))
    assert line.startswith("convtui: error: --force only lets --save replace its file; the default, tiny-trained.npz, is never replaced")


# --- CSV and JSON: one record per layer, the same keys, unused layers marked ------------------


def test_csv_columns_are_the_json_keys_and_both_mark_unused_layers(run_cli, write):
    dangle = write("dangle.toml", UNUSED_BRANCH)
    data = json.loads(run_cli("summary", dangle, "--json").stdout)
    rows = list(csv.DictReader(io.StringIO(run_cli("summary", dangle, "--format", "csv").stdout)))
    assert [list(row) for row in rows] == [list(layer) for layer in data["layers"]]
    assert [layer["unused"] for layer in data["layers"]] == [False, True, False] and data["unused"] == [1]
    assert [row["unused"] for row in rows] == ["false", "true", "false"]
    used = sum(int(row["params"]) for row in rows if row["unused"] == "false")
    assert used == data["total_params"] == 122
    assert rows[0]["index"] == "0" and rows[0]["inputs"] == "input" and rows[0]["input_shapes"] == "(16, 16, 3)"


# --- options a script guesses ---------------------------------------------------------------


@pytest.mark.parametrize(("guessed", "meant"), [("--csv", "--format csv"), ("--markdown", "--format markdown"), ("--formulas", "--explain")])
def test_a_guessed_summary_option_suggests_the_real_one(run_cli, guessed, meant):
    line = only_error(run_cli("summary", "seed-28x28x1", guessed))
    assert line == f"convtui: error: unrecognized arguments: {guessed} (did you mean {meant}?); see `convtui summary --help`"


def test_argparse_errors_have_the_prefix_of_every_other_error(run_cli):
    assert only_error(run_cli("run", "seed-28x28x1", "--seed", "x")).startswith("convtui: error: argument --seed:")
    assert only_error(run_cli("summary", "no-such-preset")).startswith("convtui: error: no-such-preset:")


# --- --layer by name, slices with a step --------------------------------------------------


def test_layer_takes_a_name_as_save_layers_does(run_cli, write):
    result = run_cli("run", write("long.toml", LONG_LABEL), "--layer", "wide", "--filters", "0:1", "--width", "60")
    assert result.returncode == 0, result.stderr
    assert "layer 0 Conv2D" in result.stdout


def test_a_mistyped_layer_name_is_one_line_with_the_name_meant(run_cli, write):
    line = only_error(run_cli("run", write("long.toml", LONG_LABEL), "--layer", "wdie"))
    assert line == 'convtui: error: --layer "wdie" is not a layer name or index; did you mean "wide"?'


def test_filters_and_save_layers_take_a_slice_step(run_cli, tmp_path):
    target = tmp_path / "run.npz"
    result = run_cli("run", "seed-28x28x1", "--layer", "0", "--filters", "::8", "--width", "200", "--save", target, "--save-layers", "::2")
    assert result.returncode == 0, result.stderr
    assert "filters 0..24 (4 of 32)" in result.stdout
    assert all(f"#{index}" in result.stdout for index in (0, 8, 16, 24)) and "#1 " not in result.stdout
    with np.load(target) as saved:
        assert sorted(key for key in saved.files if key.endswith(".output")) == ["layers.0.output"]


def test_a_step_below_one_is_refused_in_one_line(run_cli):
    line = only_error(run_cli("run", "seed-28x28x1", "--filters", "::-1"))
    assert line.startswith("convtui: error: argument --filters: '::-1' is not a filter range; write A:B or A:B:STEP (STEP 1 or more)")


# --- diff's exit code ---------------------------------------------------------------------


def test_diff_exits_1_and_says_why_when_a_side_has_an_invalid_layer(run_cli, write):
    broken = write("broken.toml", KERNEL_TOO_BIG)
    result = run_cli("diff", "seed-28x28x1", broken)
    assert result.returncode == 1 and result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"convtui: error: {broken}: layer 0") and "7x7" in line


def test_diff_of_valid_stacks_exits_0(run_cli):
    result = run_cli("diff", "seed-28x28x1", "seed-28x28x3-5x5")
    assert (result.returncode, result.stderr) == (0, "")


# --- a block split in two -------------------------------------------------------------------


def test_a_split_block_is_warned_once_and_its_one_layer_rows_read_as_such(run_cli, write):
    result = run_cli("summary", write("split.toml", SPLIT_BLOCK), "--depth", "1")
    assert result.returncode == 0
    (warning,) = result.stderr.splitlines()
    assert 'block "A" is split: its layers (0, 2) are not consecutive, so folded it is 2 rows' in warning
    assert warning.startswith("convtui: warning: ")
    assert "block of 1 layer" in result.stdout and "block of 1 layers" not in result.stdout
    assert "0-0" not in result.stdout and "2-2" not in result.stdout


# --- a file here named like a built-in ------------------------------------------------------


def test_a_file_here_that_shadows_a_built_in_gets_a_note(run_cli, tmp_path):
    (tmp_path / "lenet5").write_text('input_shape = [8, 8, 1]\n[[layers]]\ntype = "Flatten"\n', encoding="utf-8")
    result = run_cli("summary", "lenet5", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == (
        f"convtui: note: lenet5 is the file {tmp_path / 'lenet5'}, not the built-in preset lenet5; rename the file (or run from"
        " another folder) to open the built-in\n"
    )
    assert run_cli("summary", "lenet5").stderr == ""  # no such file here: the built-in, in silence


# --- run's lines in a pipe ------------------------------------------------------------------


def test_run_piped_keeps_each_heading_on_one_line_unless_columns_says_otherwise(run_cli, write, tmp_path):
    long = write("long.toml", LONG_LABEL)
    lines = run_cli("run", long, "--filters", "0:2").stdout.splitlines()
    assert "layer 0 Conv2D(10, 3x3, same, dilation 2, relu) -> (16, 16, 10): filters 0..1 (2 of 10), scale per map" in lines
    environment = {key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "TTY_COMPATIBLE")} | {"COLUMNS": "50"}
    narrow = subprocess.run(
        [sys.executable, "-m", "convtui", "run", long, "--filters", "0:2"], capture_output=True, text=True, env=environment, cwd=tmp_path
    )
    assert narrow.returncode == 0 and max(map(len, narrow.stdout.splitlines())) == 50
