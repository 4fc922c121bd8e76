"""Comparing two stacks: layers paired by name (an inserted layer or branch is one added row, a rewired or renamed
layer one edited row), alignment by position where automatic names moved, per-layer and total changes, the table."""

from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console

from convtui.model.diff import diff_stacks
from convtui.model.layers import Add, AveragePooling2D, BatchNormalization, Concatenate, Conv2D, Dropout, GlobalAveragePooling2D
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


# --- graphs: layers matched by name ---------------------------------------------------------


def inception(*, branch_c: bool = False, shortcut_name: str = "shortcut") -> Stack:
    """Two branches from the input joined by Concatenate; optionally a third branch, or the second renamed."""
    layers = [Conv2D(16, 1), Conv2D(16, 3, padding="same")]
    names = ["branch_a", shortcut_name]
    if branch_c:
        layers.append(Conv2D(8, 5, padding="same"))
        names.append("branch_c")
    inputs = [None, *[("input",)] * (len(layers) - 1), tuple(names), None]
    layers += [Concatenate(), GlobalAveragePooling2D()]
    return Stack((28, 28, 3), tuple(layers), names=(*names, "cat", "gap"), inputs=tuple(inputs))


def named_rows(before: Stack, after: Stack) -> list[tuple[str, str | None, str | None, tuple[str, ...]]]:
    return [
        (row.kind, row.before.name if row.before else None, row.after.name if row.after else None, row.changes)
        for row in diff_stacks(before.infer(), after.infer()).rows
    ]


def test_a_branch_added_is_one_added_row_and_the_merge_shows_its_new_inputs():
    assert named_rows(inception(), inception(branch_c=True)) == [
        ("unchanged", "branch_a", "branch_a", ()),
        ("unchanged", "shortcut", "shortcut", ()),
        ("added", None, "branch_c", ()),
        ("edited", "cat", "cat", ("inputs: [branch_a, shortcut] -> [branch_a, shortcut, branch_c]",)),
        ("unchanged", "gap", "gap", ()),
    ]


def test_a_renamed_input_is_one_edited_row_and_the_layer_taking_it_is_unchanged():
    assert named_rows(inception(), inception(shortcut_name="projection")) == [
        ("unchanged", "branch_a", "branch_a", ()),
        ("edited", "shortcut", "projection", ("name: shortcut -> projection",)),
        ("unchanged", "cat", "cat", ()),  # its inputs name the same layer, by its new name
        ("unchanged", "gap", "gap", ()),
    ]


RESIDUAL = Stack(
    (16, 16, 8),
    (Conv2D(8, 3, padding="same"), Conv2D(8, 3, padding="same"), Conv2D(8, 3, padding="same"), Add(), Conv2D(4, 1)),
    names=("stem", "body", "skip", "add", "head"),
    inputs=(None, None, ("stem",), ("body", "skip"), None),
)


def test_a_layer_inserted_on_a_graph_wire_is_one_added_row():
    """A BatchNormalization between body and add: the Add now names it, but still takes body's path."""
    after = Stack(
        RESIDUAL.input_shape,
        (*RESIDUAL.layers[:2], BatchNormalization(), *RESIDUAL.layers[2:]),
        names=("stem", "body", "body_bn", "skip", "add", "head"),
        inputs=(None, None, None, ("stem",), ("body_bn", "skip"), None),
    )
    assert [(kind, name) for kind, _, name, _ in named_rows(RESIDUAL, after)] == [
        ("unchanged", "stem"), ("unchanged", "body"), ("added", "body_bn"), ("unchanged", "skip"), ("unchanged", "add"), ("unchanged", "head"),
    ]


def test_layers_are_paired_by_name_not_position_so_reordering_a_graph_changes_nothing():
    """skip and body are the same layer type and arguments; by position, each would face the other."""
    layers = RESIDUAL.layers
    reordered = Stack(
        RESIDUAL.input_shape,
        (layers[0], layers[2], layers[1], *layers[3:]),
        names=("stem", "skip", "body", "add", "head"),
        inputs=(None, ("stem",), ("stem",), ("body", "skip"), None),
    )
    diff = diff_stacks(RESIDUAL.infer(), reordered.infer())
    assert [(row.before.name, row.after.name) for row in diff.rows] == [(name, name) for name in reordered.names]  # type: ignore[union-attr]
    assert diff.identical


def test_moving_a_chained_layer_in_a_graph_rewires_it_and_says_so():
    """with_moved keeps body taking "the layer above", which is now skip: a different graph."""
    rows = named_rows(RESIDUAL, RESIDUAL.with_moved(1, 1))
    assert ("edited", "body", "body", ("inputs: [stem] -> [skip]",)) in rows
    assert [kind for kind, *_ in rows].count("unchanged") == 4


def test_a_rewired_merge_is_edited_and_new_outputs_are_named():
    rewired = RESIDUAL.with_nodes([*RESIDUAL.nodes[:3], replace(RESIDUAL.nodes[3], inputs=("body", "stem")), RESIDUAL.nodes[4]])
    assert named_rows(RESIDUAL, rewired)[3] == ("edited", "add", "add", ("inputs: [body, skip] -> [body, stem]",))
    assert "inputs: [body, skip] -> [body, stem]" in rendered(RESIDUAL, rewired, width=200)
    shorter = RESIDUAL.with_nodes(RESIDUAL.nodes, outputs=("body",))
    diff = diff_stacks(RESIDUAL.infer(), shorter.infer())
    assert diff.outputs_changed and not diff.identical and not any(row.changed for row in diff.rows)
    assert "Outputs:           [head] -> [body]" in rendered(RESIDUAL, shorter)
    assert not diff_stacks(RESIDUAL.infer(), RESIDUAL.with_inserted(5, Dropout(0.5)).infer()).outputs_changed  # appended after the output


def test_automatic_names_renumbered_by_an_inserted_layer_still_align_by_position():
    """Two files without names: the inserted first Conv2D takes "conv2d", so every later Conv2D's name moves up one."""
    before = Stack((28, 28, 1), (Conv2D(32, 3), Conv2D(64, 3)))
    after = Stack((28, 28, 1), (Conv2D(16, 5), Conv2D(32, 3), Conv2D(64, 3)))
    assert after.names == ("conv2d", "conv2d_1", "conv2d_2")
    assert named_rows(before, after) == [
        ("added", None, "conv2d", ()),
        ("unchanged", "conv2d", "conv2d_1", ()),
        ("unchanged", "conv2d_1", "conv2d_2", ()),
    ]


def test_a_graph_diff_names_its_layers_and_shows_input_changes_in_both_layouts():
    wide, narrow = (rendered(inception(), inception(branch_c=True), width=width) for width in (200, 80))
    change = "inputs: [branch_a, shortcut] -> [branch_a, shortcut, branch_c]"
    assert any(line.startswith(" ~") and "cat: Concatenate" in line for line in wide.splitlines())  # side by side
    assert " ".join(wide.split()).count(change) == 1  # in the changes column, wrapped
    assert " ".join(narrow.split()).count(change) == 1  # under the "+" line
    assert "branch_c: Conv2D(8, 5x5, same)" in narrow and max(len(line.rstrip()) for line in narrow.splitlines()) <= 80
    assert "branch_a:" not in rendered(BASE, BASE.without(5), width=200)  # a chain's rows keep their plain labels


def test_layers_the_output_does_not_use_are_said_to_be_left_out_of_the_totals():
    """Its rows list every layer, its totals only the model's (as Keras builds it): a line says what the rows hold beyond them."""
    chain = Stack((8, 8, 3), (Conv2D(filters=4, kernel_size=3), Conv2D(filters=8, kernel_size=3)))
    branched = Stack((8, 8, 3), (Conv2D(filters=4, kernel_size=3), Conv2D(filters=8, kernel_size=3), GlobalAveragePooling2D()), inputs=(None, None, ("conv2d",)))
    text = rendered(chain, branched)
    lines = {line.split(":")[0]: " ".join(line.split(":", 1)[1].split()) for line in text.splitlines() if ":" in line}
    assert lines["Left out"] == "none -> 1 layer unused by the output (296 params)"
    assert lines["Total params"].startswith("408 -> 112")
    assert "Left out" not in rendered(chain, chain)


def test_every_output_of_a_several_output_stack_has_its_shape_in_the_totals():
    two = RESIDUAL.with_nodes(RESIDUAL.nodes, outputs=("body", "head"))
    shapes = {name: info.output_shape for name, info in ((info.name, info) for info in two.infer().layers)}
    text = rendered(RESIDUAL, two)
    expected = f"{shapes['head']} -> {shapes['body']} | {shapes['head']}".replace(" ", "")
    assert any(line.startswith("Output:") and line.split(":", 1)[1].replace(" ", "") == expected for line in text.splitlines())


def test_an_invalid_stack_is_said_why_under_the_totals():
    """The table marks the layer "invalid"; the totals say which side, which layer and why, as summary does."""
    broken = Stack((28, 28, 1), (Conv2D(32, 3), Conv2D(64, 3), Add()), inputs=(None, None, ("conv2d", "conv2d_1")))
    error = broken.infer().first_invalid.error
    text = " ".join(rendered(BASE, broken, width=200).split())
    assert f"Invalid: after: layer 2 (add): {' '.join(error.split())}" in text
    assert "Invalid:" not in rendered(BASE, BASE)
