"""The summary table in a narrow console: whole columns left out, never numbers cut; ASCII all through where the
console has no Unicode; notes wrapped between words, never inside a shape."""

from __future__ import annotations

import io
import re

import pytest
from render_helpers import EncodedFile
from rich.console import Console

from convtui.model.blocks import depth_rows
from convtui.model.layers import Add, Conv2D
from convtui.model.preset import load_preset
from convtui.model.stack import Stack
from convtui.render.summary import COLUMNS, WIDE_TABLE, entries, notes, summary_renderable

HEADER_WORDS = {word for name in COLUMNS for word in name.split()}


def rendered(info, width: int, *, rows=None, encoding: str = "utf-8", title: str = "net") -> str:
    file = EncodedFile(encoding)
    Console(file=file, width=width, color_system=None, legacy_windows=False).print(summary_renderable(info, title=title, rows=rows))
    return file.getvalue()


def header_of(lines: list[str]) -> str:
    return next(line for line in lines if line.split()[:2] == ["#", "Layer"])


def row_line(lines: list[str], number: str) -> str:
    return next(line for line in lines if re.match(rf"\s*{re.escape(number)}\s", line))


def assert_every_figure_whole(info, width: int, rows=None) -> None:
    """Every line within the width, every header a whole column name, and each shown figure whole, ending its row."""
    lines = rendered(info, width, rows=rows).splitlines()
    assert max(map(len, lines)) <= width
    header = header_of(lines)
    assert set(header.split()) <= HEADER_WORDS, header
    shown = [name for name in COLUMNS if name in header]
    for entry in entries(info, "keras", rows, compact=width < WIDE_TABLE)[1:]:
        if entry.status != "ok":
            continue
        line = row_line(lines, entry.cells[0])
        for name in ("Params", "MACs", "RF"):
            if name in shown:
                assert entry.cells[COLUMNS.index(name)] in line, (name, line)
        if shown[-1] != "Layer":
            assert line.rstrip().endswith(entry.cells[COLUMNS.index(shown[-1])]), (shown, line)


@pytest.mark.parametrize("width", range(40, 131, 6))
@pytest.mark.parametrize("name", ["residual-demo", "seed-28x28x1", "vgg16", "mobilenet-v2"])
def test_a_narrow_table_leaves_out_whole_columns_not_parts_of_numbers(name, width):
    assert_every_figure_whole(load_preset(name).infer(), width)


@pytest.mark.parametrize("width", [50, 60, 70, 80, 100])
def test_resnet50_folded_at_depth_1_shows_its_params_whole(width):
    info = load_preset("resnet50").infer()
    assert_every_figure_whole(info, width, depth_rows(info, 1))


def test_at_60_columns_the_residual_demo_keeps_params_and_macs_and_its_names():
    info = load_preset("residual-demo").infer()
    lines = rendered(info, 60).splitlines()
    assert header_of(lines).split() == ["#", "Layer", "Output", "shape", "Params", "MACs"]
    assert row_line(lines, "0").split()[-4:] == ["(26,26,32)", "320", "194.69", "K"]
    for layer in info.layers:
        assert re.search(rf"\s{layer.name}\s", "\n".join(lines)), layer.name


def test_a_wide_table_keeps_every_column():
    header = header_of(rendered(load_preset("residual-demo").infer(), 120).splitlines())
    assert [name for name in COLUMNS if name in header] == list(COLUMNS)


# --- ASCII ------------------------------------------------------------------------------------


def is_ascii(text: str) -> bool:
    return all(ord(char) < 128 for char in text)


def rule_under_header(text: str) -> str:
    lines = text.splitlines()
    return lines[lines.index(header_of(lines)) + 1]


def test_an_ascii_console_draws_the_whole_table_in_ascii_with_a_dashed_rule():
    text = rendered(load_preset("residual-demo").infer(), 120, encoding="ascii")
    assert is_ascii(text)
    assert re.fullmatch(r" -+ ?", rule_under_header(text))  # the rule of the Unicode table, not a bordered box
    assert "|--" not in text and "+-" not in text


def test_a_dumb_terminal_draws_the_rule_in_ascii(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    file = io.StringIO()
    console = Console(file=file, width=120, force_terminal=True, color_system=None, legacy_windows=False)
    assert console.is_dumb_terminal
    console.print(summary_renderable(load_preset("residual-demo").infer(), title="residual-demo"))
    text = file.getvalue()
    assert is_ascii(text), sorted({char for char in text if ord(char) >= 128})
    assert re.fullmatch(r" -+ ?", rule_under_header(text))


def test_a_unicode_console_keeps_the_box_rule():
    assert set(rule_under_header(rendered(load_preset("residual-demo").infer(), 120)).strip()) == {"─"}


# --- notes --------------------------------------------------------------------------------------


def mismatched_add() -> Stack:
    """conv2d gives (26, 26, 32), conv2d_1 (24, 24, 64): the Add cannot apply."""
    return Stack(
        (28, 28, 1),
        (Conv2D(filters=32, kernel_size=3), Conv2D(filters=64, kernel_size=3), Add()),
        inputs=(None, None, ("conv2d", "conv2d_1")),
    )


@pytest.mark.parametrize("width", [50, 60, 80])
def test_a_note_wraps_between_words_and_never_inside_a_shape(width):
    info = mismatched_add().infer()
    error = notes(info, "keras")[0]
    assert "(24, 24, 64)" in error
    lines = rendered(info, width).splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith("layer 2 (Add): "))
    note = [lines[start]]
    while start + len(note) < len(lines) and lines[start + len(note)].startswith("  "):
        note.append(lines[start + len(note)])
    assert len(note) > 1 and max(map(len, note)) <= width
    assert " ".join(line.strip() for line in note) == error  # broken only at spaces, nothing lost
    for shape in re.findall(r"\(\d[^()]*\)", error):
        assert any(shape in line for line in note), shape


def test_a_note_that_fits_is_one_line():
    info = mismatched_add().infer()
    error = notes(info, "keras")[0]
    assert error in rendered(info, len(error)).splitlines()


def test_the_non_trainable_note_counts_the_layers_past_the_first_six():
    info = load_preset("resnet50").infer()
    note = next(note for note in notes(info, "keras") if note.startswith("Non-trainable params"))
    assert "(layers 2, 7, 10, 13, 15, 19 and 47 more)" in note
    assert len(note) < 220
