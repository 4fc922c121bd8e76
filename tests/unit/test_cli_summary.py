"""`convtui summary` and `convtui presets` as a user runs them: exit codes, the table, JSON, Markdown, CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from convtui.model import builtin_preset_names

SEED_TEXT = """\
name = "seed-28x28x1"
input_shape = [28, 28, 1]

[[layers]]
type = "Conv2D"
filters = 32
kernel_size = 3
activation = "relu"

[[layers]]
type = "Conv2D"
filters = 64
kernel_size = [3, 3]
activation = "relu"
"""

# 28x28 -> pool 4 -> 7x7 -> pool 4 -> 1x1: the 3x3 convolution cannot apply; the Dense after it follows an invalid layer.
INVALID_TEXT = """\
name = "broken"
input_shape = [28, 28, 3]

[[layers]]
type = "MaxPooling2D"
pool_size = 4

[[layers]]
type = "MaxPooling2D"
pool_size = 4

[[layers]]
type = "Conv2D"
filters = 8
kernel_size = 3

[[layers]]
type = "Dense"
units = 10
"""

MIXED_TEXT = """\
name = "mixed"
input_shape = [16, 12, 8]

[[layers]]
type = "DepthwiseConv2D"
kernel_size = 3
depth_multiplier = 2
padding = "same"

[[layers]]
type = "BatchNormalization"

[[layers]]
type = "Conv2DTranspose"
filters = 4
kernel_size = 2
strides = 2

[[layers]]
type = "GlobalAveragePooling2D"

[[layers]]
type = "Dense"
units = 3
"""

LAYER_KEYS = {
    "index", "type", "output_shape", "params", "trainable_params", "non_trainable_params", "weights", "macs",
    "receptive_field", "error", "name", "inputs", "input_shapes", "block",
}  # fmt: skip
TOP_KEYS = {"input_shape", "layers", "total_params", "trainable_params", "non_trainable_params", "total_macs", "valid"}


@pytest.fixture(scope="module")
def presets_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("presets")
    for name, text in (("seed.toml", SEED_TEXT), ("broken.toml", INVALID_TEXT), ("mixed.toml", MIXED_TEXT)):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def strict_json(text: str):
    """JSON as RFC 8259 defines it: NaN and Infinity are not JSON."""

    def refuse(name: str):
        raise AssertionError(f"{name} is not a JSON value")

    return json.loads(text, parse_constant=refuse)


def one_line(result) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- valid stacks ---------------------------------------------------------------------------


def test_summary_table_of_the_seed(run_cli, presets_folder):
    result = run_cli("summary", presets_folder / "seed.toml")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    for text in ("(26, 26, 32)", "(24, 24, 64)", "kernel (3, 3, 32, 64)", "18,496", "18,816", "10,616,832", "5x5"):
        assert text in out, text


def test_summary_json_schema_and_figures(run_cli, presets_folder):
    result = run_cli("summary", presets_folder / "seed.toml", "--json")
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert TOP_KEYS <= set(data)
    assert data["input_shape"] == [28, 28, 1]
    assert data["valid"] is True
    assert len(data["layers"]) == 2
    for index, layer in enumerate(data["layers"]):
        assert LAYER_KEYS <= set(layer)
        assert layer["index"] == index and layer["type"] == "Conv2D" and layer["error"] is None
    second = data["layers"][1]
    assert second["output_shape"] == [24, 24, 64]
    assert second["weights"] == {"kernel": [3, 3, 32, 64], "bias": [64]}
    assert second["params"] == 3 * 3 * 32 * 64 + 64
    assert second["trainable_params"] == second["params"] and second["non_trainable_params"] == 0
    assert second["macs"] == 24 * 24 * 3 * 3 * 32 * 64
    assert second["receptive_field"]["size"] == [5, 5]
    assert data["total_params"] == 320 + 18_496
    assert data["trainable_params"] == data["total_params"] and data["non_trainable_params"] == 0
    assert data["total_macs"] == 26 * 26 * 3 * 3 * 1 * 32 + 24 * 24 * 3 * 3 * 32 * 64


def test_format_json_is_the_same_as_the_json_flag(run_cli, presets_folder):
    assert run_cli("summary", presets_folder / "seed.toml", "--format", "json").stdout == run_cli(
        "summary", presets_folder / "seed.toml", "--json"
    ).stdout


def test_torch_convention_json(run_cli, presets_folder):
    result = run_cli("summary", presets_folder / "mixed.toml", "--json", "--convention", "torch")
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert data["input_shape"] == [8, 16, 12]
    depthwise, batch_norm, transpose, pooled, dense = data["layers"]
    assert depthwise["output_shape"] == [16, 16, 12]
    assert depthwise["weights"] == {"weight": [16, 1, 3, 3], "bias": [16]}
    assert batch_norm["weights"] == {"weight": [16], "bias": [16], "running_mean": [16], "running_var": [16]}
    assert batch_norm["non_trainable_params"] == 32
    # Keras Conv2DTranspose kernel (kh, kw, filters, C_in) is PyTorch's (C_in, filters, kh, kw)
    assert transpose["output_shape"] == [4, 32, 24]
    assert transpose["weights"] == {"weight": [16, 4, 2, 2], "bias": [4]}
    assert pooled["output_shape"] == [4]
    assert dense["weights"] == {"weight": [3, 4], "bias": [3]}
    assert data["non_trainable_params"] == 32


def test_torch_convention_seed(run_cli, presets_folder):
    data = strict_json(run_cli("summary", presets_folder / "seed.toml", "--json", "--convention", "torch").stdout)
    assert data["input_shape"] == [1, 28, 28]
    assert data["layers"][1]["output_shape"] == [64, 24, 24]
    assert data["layers"][1]["weights"] == {"weight": [64, 32, 3, 3], "bias": [64]}


def test_markdown_has_one_row_per_layer_plus_input(run_cli, presets_folder):
    result = run_cli("summary", presets_folder / "mixed.toml", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("|")]
    header, separator, *body = rows
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    assert "Output shape" in columns and "Params" in columns
    assert set(separator.replace("|", "").replace(":", "").replace("-", "")) <= {" ", ""}
    assert len(body) == 1 + 5
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in body]
    assert all(len(row) == len(columns) for row in cells)
    shape_column = columns.index("Output shape")
    assert cells[0][shape_column] == "(16, 12, 8)"
    assert cells[3][shape_column] == "(32, 24, 4)"


def test_csv_parses_with_one_row_per_layer_under_the_json_keys(run_cli, presets_folder):
    """As JSON: one record per layer (the input is the first layer's input, not a row), under the same snake_case keys."""
    result = run_cli("summary", presets_folder / "mixed.toml", "--format", "csv")
    assert result.returncode == 0, result.stderr
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) == 5
    assert all(len(row) == len(header) for row in rows)
    record = [dict(zip(header, row)) for row in rows]
    assert record[0]["input_shapes"] == "(16, 12, 8)" and record[0]["inputs"] == "input" and record[0]["index"] == "0"
    assert record[0]["params"] == str(3 * 3 * 8 * 2 + 16)
    assert record[2]["params"] == str(2 * 2 * 4 * 16 + 4)
    assert record[2]["macs"] == str(16 * 12 * 2 * 2 * 4 * 16)
    assert int(record[1]["params"]) == 4 * 16
    layers = strict_json(run_cli("summary", presets_folder / "mixed.toml", "--json").stdout)["layers"]
    assert header == list(layers[0])
    assert [row["name"] for row in record] == [layer["name"] for layer in layers]


# --- an invalid layer -----------------------------------------------------------------------


def test_invalid_stack_exits_1_and_still_prints_the_table(run_cli, presets_folder):
    result = run_cli("summary", presets_folder / "broken.toml")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    conv_row = next(number for number, line in enumerate(lines) if "Conv2D(8, 3x3)" in line) - 1  # its name's line, above the label
    assert "conv2d" in lines[conv_row] and "invalid" in lines[conv_row]
    assert any("(1, 1, 3)" in line for line in lines)  # the layers before it are shown
    assert any("layer 2 (Conv2D)" in line for line in lines)  # the note says which and why
    assert any("Dense(10)" in line for line in lines)


def test_invalid_stack_json_marks_the_layer_and_the_ones_after(run_cli, presets_folder):
    result = run_cli("summary", presets_folder / "broken.toml", "--json")
    assert result.returncode == 1
    data = strict_json(result.stdout)
    assert data["valid"] is False
    pool, _, conv, dense = data["layers"]
    assert pool["output_shape"] == [7, 7, 3] and pool["error"] is None
    assert conv["output_shape"] is None and "3x3" in conv["error"]
    assert dense["output_shape"] is None and "layer 2" in dense["error"]


def test_invalid_stack_csv_and_markdown_exit_1(run_cli, presets_folder):
    markdown = run_cli("summary", presets_folder / "broken.toml", "--format", "markdown")
    assert markdown.returncode == 1 and "invalid" in markdown.stdout
    result = run_cli("summary", presets_folder / "broken.toml", "--format", "csv")
    assert result.returncode == 1
    conv = list(csv.DictReader(io.StringIO(result.stdout)))[2]
    assert conv["output_shape"] == "" and "3x3" in conv["error"]  # as JSON: null and the error


# --- built-in presets -----------------------------------------------------------------------


def test_presets_lists_every_builtin(run_cli):
    names = builtin_preset_names()
    assert {"seed-28x28x1", "seed-28x28x3-5x5"} <= set(names)
    result = run_cli("presets")
    assert result.returncode == 0, result.stderr
    for name in names:
        assert re.search(rf"^\s*{re.escape(name)}\s", result.stdout, re.MULTILINE), name


def test_explain_with_the_table_format_is_the_explained_table(run_cli):
    explained = run_cli("summary", "seed-28x28x1", "--explain")
    assert explained.returncode == 0, explained.stderr
    assert run_cli("summary", "seed-28x28x1", "--explain", "--format", "table").stdout == explained.stdout


def test_summary_of_a_builtin_by_name(run_cli):
    data = strict_json(run_cli("summary", "seed-28x28x1", "--json").stdout)
    assert data["total_params"] == 18_816


# --- bad arguments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "phrases"),
    [
        (("summary", "seed-28x28x1", "--format", "xml"), ("--format", "xml")),
        (("summary", "seed-28x28x1", "--convention", "pytorch"), ("--convention", "pytorch")),
        (("summary",), ("preset",)),
        (("summary", "no-such-preset"), ("no-such-preset", "convtui presets")),
        (("summary", "seed-28x28x1", "--no-such-flag"), ("--no-such-flag",)),
        (("summary", "seed-28x28x1", "--json", "--format", "csv"), ("--format", "not allowed with", "--json")),
        (("summary", "seed-28x28x1", "--explain", "--json"), ("--explain", "table only", "json")),
        (("summary", "seed-28x28x1", "--explain", "--format", "markdown"), ("--explain", "table only", "markdown")),
        (("summary", "seed-28x28x1", "--format", "csv", "--explain"), ("--explain", "table only", "csv")),
    ],
)
def test_bad_arguments_exit_2_with_one_line(run_cli, arguments, phrases):
    result = run_cli(*arguments)
    assert result.returncode == 2
    assert result.stdout == ""
    line = one_line(result)
    assert "error" in line
    for phrase in phrases:
        assert phrase in line


def test_absurd_but_valid_sizes_do_not_crash_the_summary(run_cli, tmp_path):
    # Every argument is within its bounds; 30 upsamplings by 1,000,000 make sides of 10**180.
    text = "input_shape = [1, 1, 1]\n" + '\n[[layers]]\ntype = "UpSampling2D"\nsize = 1000000\n' * 30
    path = tmp_path / "huge.toml"
    path.write_text(text, encoding="utf-8")
    for arguments in ((), ("--json",), ("--format", "csv")):
        result = run_cli("summary", path, *arguments)
        assert "Traceback" not in result.stderr, result.stderr[-400:]
        assert result.returncode in (0, 1, 2)


def test_a_very_deep_stack_gives_standard_json(run_cli, tmp_path):
    # 1,100 "same" stride-2 poolings are valid (1x1 stays 1x1); the receptive field outgrows any float.
    text = "input_shape = [8, 8, 1]\n" + '\n[[layers]]\ntype = "MaxPooling2D"\npadding = "same"\n' * 1100
    text += '\n[[layers]]\ntype = "MaxPooling2D"\npool_size = 1\nstrides = 2\npadding = "same"\n'
    path = tmp_path / "deep.toml"
    path.write_text(text, encoding="utf-8")
    result = run_cli("summary", path, "--json")
    assert result.returncode == 0, result.stderr[-400:]
    data = strict_json(result.stdout)
    assert len(data["layers"]) == 1101 and data["valid"] is True


@pytest.mark.parametrize("name", ["net [/bold] v2", "[bold red]loud[/bold red] net", "weights[0]"])
def test_a_stack_name_is_printed_as_written(run_cli, tmp_path, name):
    path = tmp_path / "named.toml"
    path.write_text(f'name = "{name}"\ninput_shape = [28, 28, 1]\n\n[[layers]]\ntype = "Flatten"\n', encoding="utf-8")
    result = run_cli("summary", path)
    assert "Traceback" not in result.stderr, result.stderr[-300:]
    assert result.returncode == 0
    assert name in result.stdout


# --- graphs: names, inputs, blocks, the gutter, folding -------------------------------------

RESIDUAL_TEXT = """\
name = "residual"
input_shape = [28, 28, 1]

[[layers]]
type = "Conv2D"
filters = 32
kernel_size = 3
padding = "same"
block = "stem"

[[layers]]
type = "Conv2D"
filters = 64
kernel_size = 3
padding = "same"
block = "body"

[[layers]]
type = "Conv2D"
name = "shortcut"
filters = 64
kernel_size = 1
inputs = ["conv2d"]
block = "body"

[[layers]]
type = "Add"
inputs = ["conv2d_1", "shortcut"]
block = "body"
"""

UNUSED_TEXT = """\
input_shape = [8, 8, 1]

[[layers]]
type = "Conv2D"
filters = 2
kernel_size = 3

[[layers]]
type = "Conv2D"
name = "dead_end"
filters = 2
kernel_size = 1

[[layers]]
type = "Flatten"
inputs = ["conv2d"]
"""


@pytest.fixture(scope="module")
def graphs_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("graphs")
    (folder / "residual.toml").write_text(RESIDUAL_TEXT, encoding="utf-8")
    (folder / "unused.toml").write_text(UNUSED_TEXT, encoding="utf-8")
    return folder


def test_json_carries_every_layers_name_inputs_and_block(run_cli, graphs_folder):
    result = run_cli("summary", graphs_folder / "residual.toml", "--json")
    assert (result.returncode, result.stderr) == (0, "")
    data = strict_json(result.stdout)
    layers = data["layers"]
    assert [layer["name"] for layer in layers] == ["conv2d", "conv2d_1", "shortcut", "add"]
    assert [layer["inputs"] for layer in layers] == [["input"], ["conv2d"], ["conv2d"], ["conv2d_1", "shortcut"]]
    assert [layer["block"] for layer in layers] == ["stem", "body", "body", "body"]
    assert layers[3]["input_shapes"] == [[28, 28, 64], [28, 28, 64]]
    assert data["outputs"] == ["add"] and data["unused"] == []
    stem, body = data["blocks"]
    assert body["layers"] == [1, 2, 3] and body["inputs"] == ["conv2d"] and body["input_shapes"] == [[28, 28, 32]]
    assert body["outputs"] == ["add"] and body["output_shapes"] == [[28, 28, 64]]
    assert body["params"] == sum(layers[index]["params"] for index in (1, 2, 3)) == 18_496 + 2_112
    assert body["macs"] == sum(layers[index]["macs"] for index in (1, 2, 3))


def test_csv_and_markdown_carry_name_inputs_and_block(run_cli, graphs_folder):
    result = run_cli("summary", graphs_folder / "residual.toml", "--format", "csv")
    assert result.returncode == 0, result.stderr
    records = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [record["name"] for record in records] == ["conv2d", "conv2d_1", "shortcut", "add"]
    assert records[3]["inputs"] == "conv2d_1; shortcut" and records[3]["block"] == "body"
    assert records[0]["inputs"] == "input"
    markdown = run_cli("summary", graphs_folder / "residual.toml", "--format", "markdown").stdout
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    columns = [cell.strip() for cell in table[0].strip("|").split("|")]
    add = dict(zip(columns, (cell.strip() for cell in table[-1].strip("|").split("|"))))
    assert (add["Name"], add["Inputs"], add["Block"]) == ("add", "conv2d_1<br>shortcut", "body")


def test_the_table_draws_the_gutter_and_the_merges_input_shapes(run_cli, graphs_folder):
    out = run_cli("summary", graphs_folder / "residual.toml").stdout
    assert re.search(r"●─╯ add\s", out)
    assert "← conv2d_1 (28, 28, 64)" in out and "← shortcut (28, 28, 64)" in out


def test_depth_1_folds_blocks_in_the_table_and_markdown(run_cli, graphs_folder):
    table = run_cli("summary", graphs_folder / "residual.toml", "--depth", "1")
    assert table.returncode == 0, table.stderr
    body = next(line for line in table.stdout.splitlines() if " body " in line)
    assert body.split()[0] == "1-3" and "20,608" in body
    assert "shortcut" not in table.stdout
    markdown = run_cli("summary", graphs_folder / "residual.toml", "--depth", "1", "--format", "markdown").stdout
    rows = [line for line in markdown.splitlines() if line.startswith("|")][2:]
    assert len(rows) == 3  # input, stem, body
    assert run_cli("summary", graphs_folder / "residual.toml", "--depth", "2").stdout == run_cli("summary", graphs_folder / "residual.toml").stdout


@pytest.mark.parametrize(("arguments", "phrases"), [
    (("--depth", "0"), ("--depth", "'0'")),
    (("--depth", "1", "--json"), ("--depth", "json")),
    (("--depth", "1", "--format", "csv"), ("--depth", "csv")),
    (("--input-shape", "28,28"), ("--input-shape", "H,W,C")),
    (("--input-shape", "0,28,1"), ("--input-shape",)),
])  # fmt: skip
def test_bad_depth_and_input_shape_exit_2_with_one_line(run_cli, graphs_folder, arguments, phrases):
    result = run_cli("summary", graphs_folder / "residual.toml", *arguments)
    assert (result.returncode, result.stdout) == (2, "")
    line = one_line(result)
    for phrase in phrases:
        assert phrase in line


def test_an_unused_layer_is_a_warning_on_stderr_not_an_error(run_cli, graphs_folder):
    result = run_cli("summary", graphs_folder / "unused.toml")
    assert result.returncode == 0
    line = one_line(result)
    assert line.startswith("convtui: warning:") and "layer 1 (dead_end)" in line
    assert strict_json(run_cli("summary", graphs_folder / "unused.toml", "--json").stdout)["unused"] == [1]


def test_input_shape_replaces_a_presets_input_shape(run_cli):
    data = strict_json(run_cli("summary", "seed-28x28x1", "--json", "--input-shape", "32,30,1").stdout)
    assert data["input_shape"] == [32, 30, 1]
    assert data["layers"][1]["output_shape"] == [28, 26, 64]
