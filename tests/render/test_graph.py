"""The graph gutter (lanes as `git log --graph` draws them), folding blocks, and the summary table that shows both."""

from __future__ import annotations

import pytest
from rich.console import Console

from convtui.model.blocks import EVERY_BLOCK, block_names, depth_rows, folded_block, table_rows
from convtui.model.preset import load_preset
from convtui.render.graph import graph_gutter
from convtui.render.summary import summary_renderable
from graph_stacks import identity_shortcut, inception, nested, residual, resnet_like, unused_branch
from render_helpers import EncodedFile


def node_lines(stack, rows=None, *, ascii=False) -> list[str]:
    info = stack.infer()
    return [cell.node.plain for cell in graph_gutter(info, rows, ascii=ascii)]


def through_lines(stack) -> list[str]:
    return [cell.through.plain for cell in graph_gutter(stack.infer())]


def test_a_chain_is_one_lane_of_nodes():
    stack = load_preset("seed-28x28x1")
    assert node_lines(stack) == ["●", "●", "●"]
    assert through_lines(stack) == ["│", "│", " "]  # nothing below the output


def test_a_projection_shortcut_forks_at_its_source_and_merges_at_the_add():
    assert node_lines(residual()) == ["●  ", "●─╮", "● │", "│ ●", "●─╯"]
    assert through_lines(residual()) == ["│  ", "│ │", "│ │", "│ │", "   "]


def test_an_identity_shortcut_forks_from_the_input_row():
    assert node_lines(identity_shortcut()) == ["●─╮", "● │", "● │", "●─╯"]


def test_an_inception_module_forks_four_ways_and_concatenates_four():
    assert node_lines(inception()) == [
        "●      ",
        "●─┬─┬─╮",  # stem
        "● │ │ │",  # b1
        "│ ● │ │",
        "│ ● │ │",
        "│ │ ● │",
        "│ │ ● │",
        "│ │ │ ●",
        "│ │ │ ●",
        "●─┴─┴─╯",  # mixed
    ]


def test_nested_branches_cross_the_lanes_they_pass():
    # a feeds b and d; b feeds c and inner; inner and d meet in outer.
    assert node_lines(nested()) == ["●    ", "●─╮  ", "●─┼─╮", "● │ │", "●─┼─╯", "│ ●  ", "●─╯  "]


def test_an_unused_branch_is_hollow_and_ends_there():
    lines = node_lines(unused_branch())
    assert lines == ["●  ", "●─╮", "○ │", "  ●", "  ●"]
    assert through_lines(unused_branch())[2] == "  │"  # its lane stops; flatten's goes on


def test_the_ascii_gutter_has_only_ascii():
    assert node_lines(residual(), ascii=True) == ["*  ", "*-.", "* |", "| *", "*-'"]
    for stack in (inception(), nested(), unused_branch()):
        cells = graph_gutter(stack.infer(), ascii=True)
        assert all((cell.node.plain + cell.through.plain).isascii() for cell in cells)


@pytest.mark.parametrize("make", [residual, identity_shortcut, inception, nested, unused_branch, resnet_like])
def test_every_cell_is_as_wide_as_the_others_and_one_per_row(make):
    info = make().infer()
    cells = graph_gutter(info)
    assert len(cells) == len(info.layers) + 1
    assert len({cell.node.cell_len for cell in cells} | {cell.through.cell_len for cell in cells}) == 1
    assert [line.plain for line in cells[1].lines(3)] == [cells[1].node.plain, cells[1].through.plain, cells[1].through.plain]


# --- folding --------------------------------------------------------------------------------


def test_table_rows_fold_each_run_of_a_block():
    info = resnet_like(stages=2, blocks=2).infer()
    assert block_names(info) == ("conv2_block1", "conv2_block2", "conv3_block1", "conv3_block2")
    assert [row.layers for row in table_rows(info)] == [(index,) for index in range(len(info.layers))]
    folded = table_rows(info, {"conv2_block2"})
    assert [row.block for row in folded if row.is_folded] == ["conv2_block2"]
    assert sorted(index for row in folded for index in row.layers) == list(range(len(info.layers)))
    assert depth_rows(info, 1) == table_rows(info, EVERY_BLOCK)
    assert depth_rows(info, 2) == depth_rows(info, None) == table_rows(info)


def test_a_folded_block_sums_its_layers_and_keeps_what_enters_and_leaves_it():
    info = resnet_like(stages=2, blocks=2).infer()
    rows = [row for row in table_rows(info, EVERY_BLOCK) if row.is_folded]
    assert len(rows) == 4
    for row in rows:
        block = folded_block(info, row)
        members = [info.layers[index] for index in row.layers]
        assert all(member.block == block.name for member in members)
        assert block.params == sum(member.params for member in members) > 0
        assert block.trainable_params == sum(member.trainable_params for member in members)
        assert block.non_trainable_params == sum(member.non_trainable_params for member in members) > 0
        assert block.macs == sum(member.macs for member in members) > 0
    first = folded_block(info, rows[0])
    assert (first.inputs, first.input_shapes) == (("pool1_pool",), ((56, 56, 64),))
    assert (first.outputs, first.output_shapes) == (("conv2_block1_out",), ((56, 56, 256),))
    projection = folded_block(info, rows[2])
    assert projection.output_shapes == ((28, 28, 512),) and projection.input_shapes == ((56, 56, 256),)


def test_a_folded_block_is_one_node_in_the_gutter():
    info = resnet_like(stages=2, blocks=2).infer()
    rows = table_rows(info, EVERY_BLOCK)
    cells = graph_gutter(info, rows)
    assert len(cells) == len(rows) + 1
    assert [cell.node.plain for cell in cells] == ["●"] * len(cells)  # every branch is inside a block


# --- the summary table ----------------------------------------------------------------------


def rendered(stack, width: int, *, rows=None, encoding: str = "utf-8") -> str:
    file = EncodedFile(encoding)
    info = stack.infer()
    Console(file=file, width=width, color_system=None, legacy_windows=False).print(summary_renderable(info, title=stack.name, rows=rows))
    return file.getvalue()


def test_a_merge_row_shows_the_shapes_of_all_its_inputs():
    text = rendered(residual(), 120)
    assert "●─╯ add" in text
    assert "← conv2d_1 (28, 28, 64)" in text and "← conv2d_2 (28, 28, 64)" in text
    assert "← conv2d (28, 28, 32)" in text  # the shortcut does not take the row above it
    assert "← conv2d_1 (28, 28, 32)" not in text  # conv2d_1 takes the row above: no arrow


def test_the_lanes_run_down_the_whole_of_a_tall_row():
    lines = rendered(residual(), 120).splitlines()
    top = next(number for number, line in enumerate(lines) if "● │ conv2d_1" in line)
    assert "│ │ Conv2D(64, 3x3, same)" in lines[top + 1]


def test_a_console_without_unicode_gets_the_ascii_gutter():
    text = rendered(residual(), 120, encoding="ascii")
    assert "*-' add" in text and "<- conv2d_1" in text
    assert "●" not in text and "←" not in text


def test_a_chain_has_no_gutter_but_its_names():
    text = rendered(load_preset("seed-28x28x1"), 120)
    assert "●" not in text
    assert "conv2d_1" in text and "Conv2D(64, 3x3, relu)" in text


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("make", [lambda: load_preset("vgg16"), resnet_like])
def test_vgg16_and_a_resnet_read_at_80_and_120_columns(make, width):
    stack = make()
    text = rendered(stack, width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    words = set(text.split())
    for info in stack.infer().layers:
        assert info.name in words, info.name  # never folded mid-name
    header = next(line for line in lines if "Output shape" in line)
    assert ("RF" in header.split()) == (width >= 90)


def test_depth_one_folds_the_table():
    stack = resnet_like(stages=2, blocks=2)
    info = stack.infer()
    text = rendered(stack, 80, rows=depth_rows(info, 1))
    block = folded_block(info, table_rows(info, EVERY_BLOCK)[4])
    assert block.name == "conv2_block1"
    row = next(line for line in text.splitlines() if "conv2_block1 " in line)
    assert row.split()[0] == f"{block.layers[0].index}-{block.layers[-1].index}"
    assert f"{block.params:,}" in row
    assert "conv2_block1_1_conv" not in text
