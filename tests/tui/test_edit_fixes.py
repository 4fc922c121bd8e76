"""The graph edits a new user's review found surprising, without a terminal: a folded block deleted
as one, moves that keep a graph's connections, blocks that stay one run, the wrap's shortcut from the
region's common input, one completion rule for the inputs field, names an inputs field can write,
and a rename that keeps the layer's seeded weights.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from convtui.model.layers import Add, Concatenate, Conv2D, MaxPooling2D
from convtui.model.preset import load_preset
from convtui.model.stack import Stack
from convtui.tui.graph_edits import (
    EditRefused,
    NodeChoice,
    block_source,
    common_input,
    completion,
    node_context,
    residual_plan,
    with_moved,
    with_new_node,
    with_node,
    with_residual,
    without_block,
)
from convtui.tui.screens.layer_form import NamesSuggester, name_character_problem


def wiring(stack: Stack) -> list[tuple[str, tuple[str, ...]]]:
    return [(name, stack.inputs_of(index)) for index, name in enumerate(stack.names)]


def same(filters: int) -> Conv2D:
    return Conv2D(filters=filters, kernel_size=3, padding="same")


RESIDUAL_DEMO = load_preset("residual-demo")
"""conv2d; block residual: conv2d_1 (implicit conv2d), projection (conv2d), add (conv2d_1, projection)."""
TWO_BLOCKS = Stack(
    (8, 8, 4),
    (same(4), same(4), same(4), Add(), same(4), same(4)),
    names=("stem", "a1", "a2", "a_add", "b1", "b2"),
    inputs=(None, None, None, ("a2", "stem"), None, None),
    blocks=(None, "a", "a", "a", "b", "b"),
)
GRAPH_G = Stack(
    (28, 28, 1),
    (Conv2D(filters=32, kernel_size=3), same(64), Conv2D(filters=64, kernel_size=1), Add(), MaxPooling2D(), Concatenate()),
    names=("conv2d", "conv2d_1", "conv2d_2", "add", "max_pooling2d", "concatenate"),
    inputs=(None, None, ("conv2d",), ("conv2d_1", "conv2d_2"), ("add",), ("add", "conv2d")),
)
"""The review's Graph G: a wrap with a projection, a pooling nothing uses, a Concatenate with conv2d."""


# --- 1. a folded block deleted as one ----------------------------------------------------------


def test_deleting_a_block_reconnects_what_took_its_output_to_what_it_takes() -> None:
    stack = without_block(TWO_BLOCKS, 1, 3)
    assert wiring(stack) == [("stem", ("input",)), ("b1", ("stem",)), ("b2", ("b1",))]
    assert stack.blocks == (None, "b", "b")


def test_deleting_the_last_block_makes_the_layer_above_the_output() -> None:
    stack = without_block(TWO_BLOCKS, 4, 5)
    assert stack.names == ("stem", "a1", "a2", "a_add") and not stack.outputs


def test_a_block_taking_several_layers_from_outside_cannot_be_deleted_at_once() -> None:
    stack = Stack((8, 8, 4), (same(4), same(4), Add()), inputs=(None, ("input",), ("conv2d", "conv2d_1")), blocks=(None, "pair", "pair"))
    with pytest.raises(EditRefused, match="pair takes input, conv2d from outside it"):
        block_source(stack, 1, 2)


def test_a_block_whose_inner_layer_is_used_after_it_cannot_be_deleted_at_once() -> None:
    stack = Stack((8, 8, 4), (same(4), same(4), Add()), inputs=(None, None, ("conv2d", "conv2d_1")), blocks=("pair", "pair", None))
    with pytest.raises(EditRefused, match="add takes conv2d, inside pair"):
        block_source(stack, 0, 1)


# --- 2, 7. moving keeps a graph's connections ---------------------------------------------------


def test_moving_a_side_branch_up_keeps_every_connection() -> None:
    moved = with_moved(RESIDUAL_DEMO, 2, -1)
    assert moved.names == ("conv2d", "projection", "conv2d_1", "add")
    assert dict(wiring(moved)) == dict(wiring(RESIDUAL_DEMO)), "conv2d_1 still takes conv2d, not projection"
    assert moved.blocks == RESIDUAL_DEMO.blocks


def test_moving_in_a_chain_reorders_it() -> None:
    chain = Stack((8, 8, 4), (same(4), same(8), MaxPooling2D()))
    moved = with_moved(chain, 2, -1)
    assert wiring(moved) == [("conv2d", ("input",)), ("max_pooling2d", ("conv2d",)), ("conv2d_1", ("max_pooling2d",))]
    assert moved.is_chain


def test_moving_the_last_layer_of_a_graph_keeps_it_the_output() -> None:
    moved = with_moved(GRAPH_G, 4, 1)  # max_pooling2d below concatenate
    assert moved.names[-1] == "max_pooling2d" and moved.outputs == ("concatenate",)


def test_a_merge_cannot_move_above_its_input_and_says_why() -> None:
    with pytest.raises(EditRefused, match="add takes conv2d_2: add cannot move above it"):
        with_moved(GRAPH_G, 3, -1)
    with pytest.raises(EditRefused, match="add takes conv2d_2: conv2d_2 cannot move below it"):
        with_moved(GRAPH_G, 2, 1)


SIDE_AND_BLOCK = Stack(
    (8, 8, 4),
    (same(4), same(4), same(4), same(4), Add()),
    names=("stem", "side", "a1", "a2", "a_add"),
    inputs=(None, ("stem",), ("stem",), None, ("a2", "side")),
    blocks=(None, None, "a", "a", "a"),
)


def test_a_layer_moved_into_a_block_joins_it_and_one_moved_out_leaves_it() -> None:
    into = with_moved(SIDE_AND_BLOCK, 1, 1)  # side between a1 and a2
    assert into.names[1:4] == ("a1", "side", "a2") and into.blocks == (None, "a", "a", "a", "a")
    out = with_moved(SIDE_AND_BLOCK, 2, -1)  # a1 above side
    assert out.names[1:3] == ("a1", "side") and out.blocks == (None, None, None, "a", "a")
    assert dict(wiring(into)) == dict(wiring(out)) == dict(wiring(SIDE_AND_BLOCK))


# --- 3, 4. blocks stay one run -----------------------------------------------------------------


def test_a_layer_inserted_between_two_layers_of_a_block_joins_it() -> None:
    choice = NodeChoice(same(64), "extra", ("conv2d",))
    stack = with_new_node(RESIDUAL_DEMO, 2, choice, aside=True)
    assert stack.blocks == (None, "residual", "residual", "residual", "residual")
    after_block = with_new_node(RESIDUAL_DEMO, 4, NodeChoice(same(64), "tail", ("add",)))
    assert after_block.blocks[-1] is None, "after the block's last layer: not between two of its layers"


def test_a_wrap_inside_a_block_adds_its_layers_to_that_block() -> None:
    plan = residual_plan(RESIDUAL_DEMO, RESIDUAL_DEMO.infer(), 1, 1)  # conv2d_1 alone, inside "residual"
    stack = with_residual(RESIDUAL_DEMO, plan, project=True)
    assert set(stack.blocks[1:]) == {"residual"} and len(stack.blocks) == 6


def test_a_wrap_over_a_block_and_a_layer_splits_no_block() -> None:
    plan = residual_plan(TWO_BLOCKS, TWO_BLOCKS.infer(), 1, 4)  # a1 .. b1: all of a, and b's first layer
    stack = with_residual(TWO_BLOCKS, plan, project=False)
    assert stack.blocks == (None, "a", "a", "a", "b", "b", "b"), "the Add between b1 and b2 joins b"


def test_a_wrap_of_layers_in_no_block_makes_a_new_block() -> None:
    chain = Stack((8, 8, 4), (same(4), same(4)), blocks=("residual", None))
    stack = with_residual(chain, residual_plan(chain, chain.infer(), 1, 1), project=False)
    assert stack.blocks == ("residual", "residual_2", "residual_2")


# --- 8. the wrap's shortcut ---------------------------------------------------------------------


def test_the_shortcut_starts_at_the_region_s_common_input() -> None:
    assert common_input(GRAPH_G, 3, 5) == "conv2d", "add .. concatenate takes conv2d_1, conv2d_2 and conv2d: all from conv2d"
    assert common_input(GRAPH_G, 4, 5) == "conv2d"
    assert common_input(GRAPH_G, 5, 5) == "conv2d"
    assert common_input(GRAPH_G, 1, 1) == "conv2d"
    assert common_input(GRAPH_G, 0, 1) == "input"
    assert residual_plan(GRAPH_G, GRAPH_G.infer(), 3, 5).shortcut == "conv2d"


def test_the_dialog_says_where_the_shortcut_starts() -> None:
    from convtui.tui.screens.residual import plan_text

    plan = residual_plan(GRAPH_G, GRAPH_G.infer(), 3, 5)
    assert "The shortcut starts at conv2d" in plan_text(plan, GRAPH_G.names, project=True)


# --- 12. one completion rule --------------------------------------------------------------------


def test_the_completion_and_the_hint_offer_the_same_layer() -> None:
    context = node_context(GRAPH_G, GRAPH_G.infer(), 5, inserting=False, layer_type=Concatenate)
    suggested = asyncio.run(NamesSuggester(context.shapes_above).get_suggestion("add, conv"))
    assert suggested == "add, conv2d_2" == f"add, {completion('conv', list(context.shapes_above))}"
    problem = context.input_problem("conv")
    assert problem is not None and 'did you mean "conv2d_2"?' in problem


# --- 6. names an inputs field can write -------------------------------------------------------------


@pytest.mark.parametrize("name", ["a,b", "my cat", 'x"', "[x]"])
def test_names_the_inputs_field_cannot_write_are_refused(name: str) -> None:
    assert name_character_problem(name) is not None


def test_an_ordinary_name_is_accepted() -> None:
    assert name_character_problem("block_1.conv-2") is None


# --- 5. a rename: loaded weights follow it (seeded ones are drawn by the new name, with a note: test_edit_fixes_app)


def test_loaded_weights_follow_a_renamed_layer() -> None:
    from convtui.tui.opened_weights import carry_weights

    seed = load_preset("seed-28x28x1")
    weights = {0: {"kernel": np.ones((3, 3, 1, 32), np.float32), "bias": np.zeros(32, np.float32)}}
    renamed = with_node(seed, 0, NodeChoice(seed.layers[0], "stem", seed.inputs_of(0)))
    carried = carry_weights(weights, seed.infer(), renamed.infer())
    assert carried.weights[0]["kernel"] is weights[0]["kernel"]
