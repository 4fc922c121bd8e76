"""A second new user's review of the command line's output: piped summaries follow COLUMNS like presets and diff,
notes wrap between words (one line each in a pipe without COLUMNS), preset names are never cut, an ASCII console
gets an ASCII table, and a --depth that folds nothing is not refused for JSON or CSV."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from convtui.model import builtin_preset_names, load_preset

MISMATCHED_ADD = """\
name = "mismatched"
input_shape = [28, 28, 1]

[[layers]]
type = "Conv2D"
filters = 32
kernel_size = 3

[[layers]]
type = "Conv2D"
filters = 64
kernel_size = 3

[[layers]]
type = "Add"
inputs = ["conv2d", "conv2d_1"]
"""
ADD_ERROR = (
    "layer 2 (Add): Add needs equal shapes (or sides of 1 that broadcast): conv2d gives (26, 26, 32), conv2d_1 gives "
    '(24, 24, 64); make the heights and widths equal (padding="same", or the same strides on both paths)'
)


def run_piped(*arguments: str | Path, cwd: Path, columns: str | None = None, **environment: str) -> subprocess.CompletedProcess[str]:
    """`python -m convtui ARGUMENTS` into a pipe, COLUMNS set only when given (a parent that imported readline, as
    pytest does, hands its children COLUMNS=80 otherwise), nothing forcing colour."""
    forcing = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE", "COLUMNS", "LINES")
    passed = {key: value for key, value in os.environ.items() if key not in forcing} | environment
    if columns is not None:
        passed["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-m", "convtui", *map(str, arguments)],
        capture_output=True, text=True, encoding="utf-8", errors="replace", cwd=cwd, env=passed, timeout=60,
    )  # fmt: skip


@pytest.fixture(scope="module")
def mismatched(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("stacks") / "mismatched.toml"
    path.write_text(MISMATCHED_ADD, encoding="utf-8")
    return path


def note_lines(lines: list[str], first_words: str) -> list[str]:
    """A note's lines: the one it starts on and those indented under it."""
    start = next(number for number, line in enumerate(lines) if line.startswith(first_words))
    end = next((number for number in range(start + 1, len(lines)) if not lines[number].startswith("  ")), len(lines))
    return lines[start:end]


# --- summary in a pipe ------------------------------------------------------------------------


def test_a_piped_summary_follows_columns_and_wraps_its_note_between_words(mismatched, tmp_path):
    result = run_piped("summary", mismatched, cwd=tmp_path, columns="60")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= 60
    assert "RF" not in next(line for line in lines if "Layer" in line).split()
    note = note_lines(lines, "layer 2 (Add):")
    assert len(note) > 1
    assert " ".join(line.strip() for line in note) == ADD_ERROR
    assert any("(24, 24, 64)" in line for line in note)  # a shape is never broken over two lines


def test_a_piped_summary_without_columns_prints_each_note_on_one_line(mismatched, tmp_path):
    result = run_piped("summary", mismatched, cwd=tmp_path)
    assert result.returncode == 1
    assert ADD_ERROR in result.stdout.splitlines()
    assert result.stderr.splitlines() == [f"convtui: error: {mismatched}: {ADD_ERROR}"]


def test_resnet50s_non_trainable_note_is_one_line_in_a_pipe(tmp_path):
    lines = run_piped("summary", "resnet50", cwd=tmp_path).stdout.splitlines()
    note = note_lines(lines, "Non-trainable params are")
    assert len(note) == 1
    assert "(layers 2, 7, 10, 13, 15, 19 and 47 more)" in note[0] and note[0].endswith("not parameters.")


@pytest.mark.parametrize("columns", ["60", "80"])
def test_a_piped_summary_under_columns_keeps_every_figure_whole(tmp_path, columns):
    lines = run_piped("summary", "resnet50", "--depth", "1", cwd=tmp_path, columns=columns).stdout.splitlines()
    assert max(map(len, lines)) <= int(columns)
    header = next(line for line in lines if line.split()[:2] == ["#", "Layer"])
    assert "Params" in header.split()
    conv1 = next(line for line in lines if line.split()[:1] == ["0-3"]).split()
    assert "9,728" in conv1
    assert conv1[-1] == ("M" if "MACs" in header else "9,728")  # 118.01 M, or the params ending the row


def test_an_ascii_encoding_gets_an_ascii_table_with_a_dashed_rule(tmp_path):
    result = run_piped("summary", "residual-demo", cwd=tmp_path, PYTHONIOENCODING="ascii")
    assert result.returncode == 0, result.stderr
    assert all(ord(char) < 128 for char in result.stdout)
    lines = result.stdout.splitlines()
    header = next(number for number, line in enumerate(lines) if line.split()[:2] == ["#", "Layer"])
    assert re.fullmatch(r" -+", lines[header + 1])
    assert "*-' add" in result.stdout


# --- presets --------------------------------------------------------------------------------


@pytest.mark.parametrize("columns", ["50", "60", "70", "100", "130"])
def test_presets_never_cut_a_name_and_show_every_description_whole(tmp_path, columns):
    result = run_piped("presets", cwd=tmp_path, columns=columns)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= int(columns)
    assert "…" not in result.stdout
    words = " ".join(result.stdout.split())
    for name in builtin_preset_names():
        stack = load_preset(name)
        assert any(line.startswith(f" {name} ") for line in lines), name
        assert f"{stack.infer().total_params:,}" in words
        assert " ".join(stack.description.split()) in words, name


def test_narrow_presets_put_each_description_under_its_row(tmp_path):
    lines = run_piped("presets", cwd=tmp_path, columns="60").stdout.splitlines()
    assert lines[0].split() == ["Preset", "Input", "Layers", "Params"]
    row = next(number for number, line in enumerate(lines) if line.startswith(" seed-28x28x3-5x5 "))
    assert lines[row].split() == ["seed-28x28x3-5x5", "28x28x3", "2", "53,600"]
    assert lines[row + 1].startswith("   28x28 colour input")


# --- --depth with JSON and CSV ----------------------------------------------------------------


@pytest.mark.parametrize(("preset", "arguments"), [
    ("residual-demo", ("--depth", "2", "--json")),
    ("resnet50", ("--depth", "5", "--format", "csv")),
    ("seed-28x28x1", ("--depth", "1", "--json")),  # no blocks: depth 1 folds nothing
    ("seed-28x28x1", ("--depth", "1", "--format", "csv")),
])  # fmt: skip
def test_a_depth_that_folds_nothing_is_the_output_without_it(tmp_path, preset, arguments):
    result = run_piped("summary", preset, *arguments, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    without = [argument for argument in arguments if argument not in ("--depth", arguments[1])]
    assert result.stdout == run_piped("summary", preset, *without, cwd=tmp_path).stdout


@pytest.mark.parametrize(("arguments", "where"), [
    (("--json",), 'each block\'s totals under "blocks"'),
    (("--format", "csv"), "its block in the block column"),
])  # fmt: skip
def test_a_depth_that_would_fold_blocks_into_json_or_csv_says_why_it_cannot(tmp_path, arguments, where):
    result = run_piped("summary", "resnet50", "--depth", "1", *arguments, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    (line,) = result.stderr.splitlines()
    assert line.startswith("convtui: error: --depth 1 folds blocks in the table and markdown only:")
    assert "keeps one record per layer" in line and where in line and line.endswith("drop --depth")
