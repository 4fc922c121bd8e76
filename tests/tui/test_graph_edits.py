"""The graph edits the app records (no terminal): insert in line or aside, edit a node, the residual
wrap and its projection, what deleting a merge asks, a new merge's inputs.
"""

from __future__ import annotations

import pytest

from convtui.model.layers import Add, BatchNormalization, Concatenate, Conv2D
from convtui.model.stack import Stack
from convtui.tui.field_values import parse_names
from convtui.tui.graph_edits import (
    NodeChoice,
    merge_inputs,
    node_context,
    projection_strides,
    reconnect_choices,
    residual_plan,
    with_new_node,
    with_node,
    with_residual,
)


def same(filters: int, strides: int = 1) -> Conv2D:
    return Conv2D(filters=filters, kernel_size=3, padding="same", strides=strides)


def wiring(stack: Stack) -> list[tuple[str, tuple[str, ...]]]:
    """Each layer's name and what it takes, spelled out."""
    return [(name, stack.inputs_of(index)) for index, name in enumerate(stack.names)]


CHAIN = Stack((8, 8, 4), (same(4), same(4), Conv2D(filters=2, kernel_size=1)))
RESIDUAL = Stack((8, 8, 4), (same(4), same(4), Add(), Conv2D(filters=2, kernel_size=1)), inputs=(None, None, ("conv2d_1", "conv2d"), None))


def test_a_residual_wrap_adds_an_add_that_the_layer_below_takes() -> None:
    plan = residual_plan(CHAIN, CHAIN.infer(), 0, 1)
    assert plan.shortcut == "input" and plan.projection is None and "equal, so a plain Add" in plan.reason
    wrapped = with_residual(CHAIN, plan, project=True)
    assert wiring(wrapped) == [
        ("conv2d", ("input",)),
        ("conv2d_1", ("conv2d",)),
        ("add", ("conv2d_1", "input")),
        ("conv2d_2", ("add",)),
    ]
    assert wrapped.infer().valid


def test_a_wrap_that_changes_channels_and_size_offers_a_strided_projection() -> None:
    stack = Stack((8, 8, 4), (same(8, strides=2),))
    plan = residual_plan(stack, stack.infer(), 0, 0)
    assert plan.projection == Conv2D(filters=8, kernel_size=1, strides=2)
    assert "Add needs equal shapes: conv2d gives (4, 4, 8), input gives (8, 8, 4)" in plan.reason
    projected = with_residual(stack, plan, project=True)
    assert wiring(projected) == [("conv2d", ("input",)), ("conv2d_1", ("input",)), ("add", ("conv2d", "conv2d_1"))]
    assert projected.infer().valid and projected.infer().layers[2].output_shape == (4, 4, 8)
    plain = with_residual(stack, plan, project=False)
    assert plain.names == ("conv2d", "add") and plain.infer().layers[1].status == "invalid"


def test_a_shortcut_that_would_broadcast_still_gets_the_projection_offered() -> None:
    stack = Stack((8, 8, 1), (same(16),))
    plan = residual_plan(stack, stack.infer(), 0, 0)
    assert plan.projection == Conv2D(filters=16, kernel_size=1)
    assert "every channel would get the same shortcut" in plan.reason


def test_a_projection_cannot_undo_valid_padding_and_says_so() -> None:
    stack = Stack((28, 28, 1), (Conv2D(filters=32, kernel_size=3),))
    plan = residual_plan(stack, stack.infer(), 0, 0)
    assert plan.projection == Conv2D(filters=32, kernel_size=1)
    assert "28x28 -> 26x26 is no stride" in plan.reason and 'padding "same"' in plan.reason
    assert projection_strides((7, 7, 3), (4, 4, 3)) == (2, 2) and projection_strides((28, 28, 1), (26, 26, 1)) is None


def test_inserting_in_line_takes_the_selected_layers_place_everywhere() -> None:
    choice = NodeChoice(BatchNormalization(), "bn", ("conv2d_1",))
    inserted = with_new_node(RESIDUAL, 2, choice)
    assert wiring(inserted)[2:4] == [("bn", ("conv2d_1",)), ("add", ("bn", "conv2d"))]


def test_inserting_aside_leaves_the_layers_below_as_they_were() -> None:
    branch = with_new_node(CHAIN, 2, NodeChoice(Conv2D(filters=4, kernel_size=1), "side", ("conv2d",)), aside=True)
    assert wiring(branch) == [
        ("conv2d", ("input",)),
        ("conv2d_1", ("conv2d",)),
        ("side", ("conv2d",)),
        ("conv2d_2", ("conv2d_1",)),
    ]
    assert branch.infer().unused == (2,)


def test_renaming_a_layer_renames_what_takes_it() -> None:
    renamed = with_node(RESIDUAL, 0, NodeChoice(same(4), "stem", ("input",)))
    assert wiring(renamed)[:3] == [("stem", ("input",)), ("conv2d_1", ("stem",)), ("add", ("conv2d_1", "stem"))]


def test_deleting_a_used_merge_asks_which_input_takes_its_place() -> None:
    assert reconnect_choices(RESIDUAL, 2) == ("conv2d_1", "conv2d")
    assert reconnect_choices(RESIDUAL, 1) == ()
    last_merge = Stack((8, 8, 4), (same(4), Add()), inputs=(None, ("conv2d", "input")))
    assert reconnect_choices(last_merge, 1) == (), "nothing takes it: nothing to reconnect"


def test_a_new_merge_joins_the_branch_ends_nothing_takes_yet() -> None:
    branch = with_new_node(CHAIN, 3, NodeChoice(Conv2D(filters=2, kernel_size=1), "side", ("conv2d",)), aside=True)
    assert merge_inputs(branch, 4) == ("conv2d_2", "side")
    assert merge_inputs(CHAIN, 2) == ("conv2d_1", "conv2d")
    assert merge_inputs(CHAIN, 0) == ("input", "input")


def test_the_forms_context_knows_the_names_above_and_below() -> None:
    context = node_context(RESIDUAL, RESIDUAL.infer(), 2, inserting=False, layer_type=Add)
    assert context.name == "add" and context.inputs == ("conv2d_1", "conv2d")
    assert list(context.shapes_above) == ["input", "conv2d", "conv2d_1"]
    assert context.input_problem("conv2d") is None
    assert "below this one" in (context.input_problem("conv2d_2") or "")
    assert 'did you mean "conv2d_1"' in (context.input_problem("conv2d_l") or "")
    assert "is this layer" in (context.input_problem("add") or "")
    new = node_context(RESIDUAL, RESIDUAL.infer(), 4, inserting=True, layer_type=Concatenate)
    assert new.name == "concatenate" and new.inputs == ("conv2d_2",)


@pytest.mark.parametrize(
    ("text", "names"),
    [("a, b", ("a", "b")), ('["a", "b"]', ("a", "b")), (" a ,, b ,", ("a", "b")), ("", ())],
)
def test_inputs_are_typed_as_names_separated_by_commas(text: str, names: tuple[str, ...]) -> None:
    assert parse_names(text) == names
