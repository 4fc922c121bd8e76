"""Comparing two stacks: alignment that shows an inserted layer as inserted, per-layer and total changes, the table."""

from __future__ import annotations

import io

from rich.console import Console

from convtui.model.diff import diff_stacks
from convtui.model.layers import AveragePooling2D, BatchNormalization, Conv2D
from convtui.model.preset import load_preset
from convtui.model.stack import Stack
from convtui.render.diff import diff_renderable

BASE = load_preset("mnist-convnet")  # Conv2D, MaxPooling2D, Conv2D, MaxPooling2D, Flatten, Dropout, Dense


def kinds(before: Stack, after: Stack) -> list[str]:
    return [row.kind for row in diff_stacks(before.infer(), after.infer()).rows]


def rendered(before: Stack, after: Stack, width: int = 160) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(diff_renderable(diff_stacks(before.infer(), after.infer()), titles=("before", "after")))
    return console.file.getvalue()


def test_an_inserted_layer_is_one_added_row_and_every_other_layer_stays_paired_with_itself():
    after = BASE.with_inserted(1, BatchNormalization())
    diff = diff_stacks(BASE.infer(), after.infer())
    assert [row.kind for row in diff.rows] == ["unchanged", "added", *["unchanged"] * 6]
    assert [(row.before.index if row.before else None, row.after.index if row.after else None) for row in diff.rows][:3] == [(0, 0), (None, 1), (1, 2)]
    assert diff.params_change == diff.rows[1].params_change == 4 * 32
    assert diff.trainable_params_change == 2 * 32
    assert not any(row.output_changed for row in diff.rows)


def test_a_removed_layer_is_one_removed_row():
    assert kinds(BASE, BASE.without(5)) == [*["unchanged"] * 5, "removed", "unchanged"]


def test_a_new_kernel_size_is_an_edited_row_and_every_later_shape_change_is_flagged():
    after = BASE.with_layer(0, Conv2D(32, 5, activation="relu"))
    diff = diff_stacks(BASE.infer(), after.infer())
    assert [row.kind for row in diff.rows] == ["edited", *["unchanged"] * 6]
    assert [row.output_changed for row in diff.rows] == [True, True, True, False, False, False, False]  # 24 -> 12 -> 10 -> 5 and 26 -> 13 -> 11 -> 5
    assert diff.rows[0].params_change == (5 * 5 - 3 * 3) * 32
    assert diff.rows[0].macs_change == 24 * 24 * 25 * 32 - 26 * 26 * 9 * 32
    assert diff.params_change == after.infer().total_params - BASE.infer().total_params
    assert diff.macs_change == after.infer().total_macs - BASE.infer().total_macs
    assert [row.changed for row in diff.rows] == [True, True, True, False, False, False, False]  # layer 2: same layer, fewer MACs


def test_another_layer_type_in_the_same_place_is_a_replaced_row():
    assert kinds(BASE, BASE.with_layer(1, AveragePooling2D(2))) == ["unchanged", "replaced", *["unchanged"] * 5]


def test_identical_stacks_have_no_change():
    diff = diff_stacks(BASE.infer(), BASE.infer())
    assert diff.identical and diff.params_change == diff.macs_change == 0
    assert "The two stacks are identical." in rendered(BASE, BASE)


def test_long_stacks_align_without_difflib_junk_heuristics():
    """vgg16 repeats the same layers: with autojunk, frequent layers would not anchor the alignment."""
    vgg = load_preset("vgg16")
    assert kinds(vgg, vgg.without(3)).count("removed") == 1
    assert kinds(vgg, vgg.without(3)).count("unchanged") == len(vgg.layers) - 1


def test_the_table_shows_both_sides_the_changes_and_the_totals():
    after = BASE.with_inserted(1, BatchNormalization()).with_layer(0, Conv2D(32, 5, activation="relu"))
    text = rendered(BASE, after)
    before_total, after_total = BASE.infer().total_params, after.infer().total_params
    assert "before" in text and "after" in text
    assert "Conv2D(32, 3x3, relu)" in text and "Conv2D(32, 5x5, relu)" in text
    assert any(line.lstrip().startswith("+") and "BatchNormalization" in line for line in text.splitlines())
    assert "832 (+512)" in text and "460.80 K (+266.11 K)" in text
    assert f"Total params:      {before_total:,} -> {after_total:,} ({after_total - before_total:+,}" in text
    assert "1 added, 1 edited" in text


def test_an_invalid_layer_shows_as_invalid_and_the_output_as_invalid():
    broken = BASE.with_layer(2, Conv2D(64, 20))
    text = rendered(BASE, broken)
    assert "invalid" in text
    assert "Output:            (10,) -> invalid" in text


def test_the_torch_convention_shows_channels_first():
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(diff_renderable(diff_stacks(BASE.infer(), BASE.infer()), "torch"))
    assert "(32, 26, 26)" in console.file.getvalue()


def test_a_narrow_terminal_gets_the_unified_diff_with_every_layer_readable():
    after = BASE.with_layer(0, Conv2D(16, 5, activation="relu")).with_inserted(1, BatchNormalization())
    narrow, wide = rendered(BASE, after, width=80), rendered(BASE, after, width=200)
    assert max(len(line.rstrip()) for line in narrow.splitlines()) <= 80
    assert narrow.splitlines()[0].split() == ["-", "before", "+", "after"]
    marked = [line.split(maxsplit=2) for line in narrow.splitlines() if line.split()[:1] in (["-"], ["+"]) and line.split()[1].isdigit()]
    # layer 0 edited: its old and new line; the inserted BatchNormalization: one + line; the next two layers' shapes change: - and +
    assert [(mark, index) for mark, index, _ in marked] == [("-", "0"), ("+", "0"), ("+", "1"), ("-", "1"), ("+", "2"), ("-", "2"), ("+", "3")]
    assert marked[0][2].split("   ")[0] == "Conv2D(32, 3x3, relu)" and marked[1][2].split("   ")[0] == "Conv2D(16, 5x5, relu)"
    assert "(26, 26, 32)" in marked[0][2] and "(24, 24, 16)" in marked[1][2] and "BatchNormalization" in marked[2][2]
    unchanged = [line.split()[1] for line in narrow.splitlines() if line.split()[:1] == ["4"] or line.split()[:1] == ["7"]]
    assert unchanged == ["MaxPooling2D(2x2)", "Dense(10,"]  # the untouched tail: one line each, no mark
    # a wide terminal keeps both stacks side by side, one line per layer, the change in brackets
    assert any("before" in line and "after" in line for line in wide.splitlines())
    assert "416 (+96)" in wide and "416 (+96)" not in narrow


def test_the_side_by_side_table_explains_its_marks_and_the_totals_name_a_new_input():
    after = Stack((32, 32, 3), BASE.layers).with_layer(1, AveragePooling2D(2)).with_layer(0, Conv2D(16, 3, activation="relu"))
    text = rendered(BASE, after, width=200)
    assert "~ edited   * replaced by another type   bold: a figure that differs" in text
    assert [line.split()[0] for line in text.splitlines() if "Conv2D(16" in line or "AveragePooling2D" in line] == ["~", "*"]
    assert "Input:             (28, 28, 1) -> (32, 32, 3)" in text
    assert "Input:" not in rendered(BASE, BASE.without(5), width=200)
