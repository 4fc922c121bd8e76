"""A new user's review of the command line: piped diff, presets and summary follow COLUMNS, piped tables end their lines at
the text, an input shape of zeros says what a side may be, and a mistyped activation gets a "did you mean"."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from convtui.cli.output import PIPE_WIDTH
from convtui.cli.values import input_shape_value
from convtui.model import builtin_preset_names


def run_piped(*arguments: str | Path, cwd: Path, columns: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m convtui ARGUMENTS` into a pipe, COLUMNS set only when given, nothing forcing colour.

    The environment is passed whole: a parent that imported readline hands its children COLUMNS=80 otherwise.
    """
    forcing = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE", "COLUMNS", "LINES")
    environment = {key: value for key, value in os.environ.items() if key not in forcing}
    if columns is not None:
        environment["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-m", "convtui", *map(str, arguments)],
        capture_output=True, text=True, encoding="utf-8", cwd=cwd, env=environment, timeout=60,
    )  # fmt: skip


def output_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def padded(lines: list[str]) -> list[str]:
    return [line for line in lines if line != line.rstrip()]


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- piped width and padding ----------------------------------------------------------------


def test_piped_diff_under_columns_is_unified_and_that_narrow(tmp_path):
    lines = output_lines(run_piped("diff", "seed-28x28x1", "residual-demo", cwd=tmp_path, columns="70"))
    assert lines[0] == "- seed-28x28x1   + residual-demo"  # the unified view's header
    assert max(map(len, lines)) <= 70
    assert padded(lines) == []


@pytest.mark.parametrize("columns", [None, "0", "wide"])
def test_piped_diff_without_a_usable_columns_stays_side_by_side_without_padding(tmp_path, columns):
    lines = output_lines(run_piped("diff", "seed-28x28x1", "residual-demo", cwd=tmp_path, columns=columns))
    header = next(line for line in lines if "seed-28x28x1" in line)
    assert "residual-demo" in header  # both stacks on one line: side by side
    assert 80 < max(map(len, lines)) <= PIPE_WIDTH
    assert padded(lines) == []


def test_piped_presets_under_columns_are_that_narrow(tmp_path):
    lines = output_lines(run_piped("presets", cwd=tmp_path, columns="70"))
    assert max(map(len, lines)) <= 70
    assert padded(lines) == []
    for name in builtin_preset_names():
        assert any(line.startswith(f" {name} ") for line in lines), name


def test_piped_presets_without_columns_are_not_padded_to_the_pipe_width(tmp_path):
    lines = output_lines(run_piped("presets", cwd=tmp_path))
    assert padded(lines) == []
    assert max(map(len, lines)) <= PIPE_WIDTH


def test_piped_summary_under_columns_is_that_narrow_and_not_padded(tmp_path):
    lines = output_lines(run_piped("summary", "seed-28x28x1", cwd=tmp_path, columns="80"))
    assert padded(lines) == []
    assert max(map(len, lines)) <= 80
    assert lines[2].split()[-1] == "MACs"  # below 90 columns the table leaves receptive fields out


def test_piped_summary_without_columns_keeps_every_column_and_is_not_padded(tmp_path):
    lines = output_lines(run_piped("summary", "seed-28x28x1", cwd=tmp_path))
    assert padded(lines) == []
    assert lines[2].split()[-1] == "RF"
    assert "kernel (3, 3, 32, 64)" in "\n".join(lines)  # weights named, shapes spaced: from 110 columns


# --- --input-shape ---------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["0,0,3", "28,0,1", "28,28", "a,b,c", "1000001,1,1"])
def test_a_bad_input_shape_says_sides_are_whole_numbers_from_1(typed):
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        input_shape_value(typed)
    assert str(raised.value) == (
        f"{typed!r} is not an input shape; write H,W,C: height, width and channels, whole numbers from 1 to 1,000,000, e.g. 224,224,3"
    )


def test_an_input_shape_of_zeros_is_one_line_naming_the_bound(tmp_path):
    line = one_error_line(run_piped("summary", "seed-28x28x1", "--input-shape", "0,0,3", cwd=tmp_path))
    assert line.startswith("convtui: error: argument --input-shape: '0,0,3' is not an input shape;")
    assert "whole numbers from 1 to 1,000,000" in line


# --- a mistyped activation ------------------------------------------------------------------

PRESET_TEXT = """\
name = "typo"
input_shape = [28, 28, 1]

[[layers]]
type = "{type}"
{arguments}activation = "{activation}"
"""


@pytest.mark.parametrize(("layer_type", "arguments", "typed", "meant"), [
    ("Conv2D", "filters = 8\nkernel_size = 3\n", "rleu", "relu"),
    ("Activation", "", "sofmax", "softmax"),
    ("Dense", "units = 4\n", "Leaky-ReLU", "leaky_relu"),
])  # fmt: skip
def test_a_mistyped_activation_is_one_line_with_did_you_mean(tmp_path, layer_type, arguments, typed, meant):
    preset = tmp_path / "typo.toml"
    preset.write_text(PRESET_TEXT.format(type=layer_type, arguments=arguments, activation=typed), encoding="utf-8")
    line = one_error_line(run_piped("summary", preset, cwd=tmp_path))
    assert line == (
        f"convtui: error: {preset}: layer 0 ({layer_type}): field 'activation': expected an activation name, "
        f'found "{typed}" (a string); did you mean "{meant}"?'
    )


def test_an_activation_like_none_of_the_names_still_lists_them(tmp_path):
    preset = tmp_path / "far.toml"
    preset.write_text(PRESET_TEXT.format(type="Dense", arguments="units = 4\n", activation="rectifier"), encoding="utf-8")
    line = one_error_line(run_piped("summary", preset, cwd=tmp_path))
    assert "did you mean" not in line
    assert "expected an activation name (linear, relu, relu6," in line and 'found "rectifier" (a string)' in line
