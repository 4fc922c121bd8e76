"""Pilot tests: each graph edit driven by its keys (branch, residual wrap, Concatenate, inputs and
name in the form, delete with reconnection, folding), its undo and redo, and what the table shows.
"""

from __future__ import annotations

from dataclasses import fields

from textual.pilot import Pilot
from tui_helpers import MakeApp, gutter_lines, press_and_settle, render_text, run_app, table_rows, type_into

from convtui.model.layers import LAYER_TYPES, Add, Conv2D, GlobalAveragePooling2D, Multiply
from convtui.model.stack import Stack
from convtui.tui.graph_edits import NodeContext
from convtui.tui.screens.choose_node import ChooseNode
from convtui.tui.screens.layer_form import LayerForm
from convtui.tui.screens.residual import ResidualDialog
from convtui.tui.widgets.explain import ExplainView
from convtui.tui.widgets.feature_maps import FeatureMapsView
from convtui.tui.widgets.kernels import KernelsView


def same(filters: int, strides: int = 1) -> Conv2D:
    return Conv2D(filters=filters, kernel_size=3, padding="same", strides=strides)


def wiring(stack: Stack) -> list[tuple[str, tuple[str, ...]]]:
    return [(name, stack.inputs_of(index)) for index, name in enumerate(stack.names)]


CHAIN = Stack((8, 8, 4), (same(4), same(4)), name="block")
RESIDUAL = Stack(
    (8, 8, 4), (same(4), same(4), Add(), Conv2D(filters=2, kernel_size=1)), name="residual", inputs=(None, None, ("conv2d_1", "conv2d"), None)
)


async def undo_redo(pilot: Pilot[None], before: Stack, after: Stack) -> None:
    """u brings `before` back, U `after` again."""
    await press_and_settle(pilot, "u")
    assert pilot.app.stack == before
    await press_and_settle(pilot, "U")
    assert pilot.app.stack == after


def test_branch_from_an_earlier_layer_and_undo_it(make_app: MakeApp) -> None:
    app = make_app(stack=CHAIN)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "b")
        assert isinstance(app.screen, ChooseNode)
        await press_and_settle(pilot, "up", "enter")  # conv2d, above the selected conv2d_1
        await press_and_settle(pilot, "enter")  # the picker's first type, Conv2D
        assert isinstance(app.screen, LayerForm)
        assert app.screen.query_one("#layer-inputs").value == "conv2d"
        await press_and_settle(pilot, "enter")
        assert wiring(app.stack) == [("conv2d", ("input",)), ("conv2d_1", ("conv2d",)), ("conv2d_2", ("conv2d",))]
        assert app.view_state.selected_layer == 2
        assert [row[1] for row in table_rows(app)] == ["input", "conv2d", "conv2d_1", "conv2d_2"]
        assert gutter_lines(app) == ["●  ", "●─╮", "○ │", "  ●"], "conv2d forks; conv2d_1 is no output now: hollow"
        await undo_redo(pilot, CHAIN, app.stack)

    run_app(app, scenario)


def test_residual_wrap_of_two_layers_adds_a_plain_add(make_app: MakeApp) -> None:
    app = make_app(stack=CHAIN)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "w")
        dialog = app.screen
        assert isinstance(dialog, ResidualDialog)
        await press_and_settle(pilot, "up")  # wrap from conv2d
        assert "Add(conv2d_1, input) after conv2d .. conv2d_1" in str(dialog.query_one("#residual-plan").render())
        assert dialog.query_one("#projection").disabled and not dialog.query_one("#projection").display, "no box beside 'a plain Add'"
        await press_and_settle(pilot, "enter")
        assert wiring(app.stack)[2] == ("add", ("conv2d_1", "input"))
        assert app.view_state.selected_layer == 2
        assert table_rows(app)[3][1:4] == ["└ add", "Add", "(8, 8, 4)"], "the wrap's block, expanded: its last layer marked"
        assert table_rows(app, line=1)[3][2] == "(8, 8, 4) + (8, 8, 4)", "a merge shows the shapes it joins"
        assert gutter_lines(app) == ["●─╮", "● │", "● │", "●─╯"]
        await undo_redo(pilot, CHAIN, app.stack)

    run_app(app, scenario)


def test_residual_wrap_offers_the_projection_and_p_declines_it(make_app: MakeApp) -> None:
    strided = Stack((8, 8, 4), (same(8, strides=2),), name="strided")
    app = make_app(stack=strided)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "w")
        text = str(app.screen.query_one("#residual-plan").render())
        assert "Add(conv2d, Conv2D(8, 1x1, stride 2)(input))" in text
        assert "Add needs equal shapes: conv2d gives (4, 4, 8), input gives (8, 8, 4)" in text
        assert app.screen.query_one("#projection").display, "the projection's box is offered"
        await press_and_settle(pilot, "enter")
        assert wiring(app.stack) == [("conv2d", ("input",)), ("conv2d_1", ("input",)), ("add", ("conv2d", "conv2d_1"))]
        assert app.view_state.stack_info.valid and app.view_state.selected_layer == 2
        await press_and_settle(pilot, "u", "w", "p", "enter")
        assert wiring(app.stack) == [("conv2d", ("input",)), ("add", ("conv2d", "input"))]
        assert table_rows(app)[2][3] == "invalid" and table_rows(app, line=1)[2][2] == "(4, 4, 8) + (8, 8, 4)"

    run_app(app, scenario)


def test_concatenate_with_inputs_chosen_in_its_form(make_app: MakeApp) -> None:
    app = make_app(stack=CHAIN)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "+")
        assert isinstance(app.screen, LayerForm) and app.screen.layer_type.type_name == "Concatenate"
        assert app.screen.query_one("#layer-inputs").value == "conv2d_1, conv2d"
        await type_into(pilot, "#layer-inputs", "conv2d_1, input")
        assert "(8, 8, 4), (8, 8, 4) -> (8, 8, 8)" in str(app.screen.query_one("#preview").render())
        await press_and_settle(pilot, "enter")
        assert wiring(app.stack)[2] == ("concatenate", ("conv2d_1", "input"))
        assert table_rows(app, line=1)[3][2] == "(8, 8, 4) | (8, 8, 4)"
        await undo_redo(pilot, CHAIN, app.stack)

    run_app(app, scenario)


def test_the_forms_inputs_and_name_are_checked_and_a_rename_is_followed(make_app: MakeApp) -> None:
    app = make_app(stack=RESIDUAL)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "down", "e")
        form = app.screen
        assert isinstance(form, LayerForm)

        def note(field: str) -> str:
            return str(form.query_one(f"#note-layer-{field}").render())

        await type_into(pilot, "#layer-inputs", "conv2d_1")
        assert "Add joins at least 2 inputs" in note("inputs")
        await type_into(pilot, "#layer-inputs", "conv2d_1, conv2d_2")
        assert '"conv2d_2" is layer 3, below this one' in note("inputs")
        assert form.query_one("#accept").disabled
        await type_into(pilot, "#layer-inputs", "conv2d_1, input")
        await type_into(pilot, "#layer-name", "conv2d")
        assert "is layer 0's name" in note("name")
        await type_into(pilot, "#layer-name", "sum")
        assert not form.query_one("#accept").disabled
        await press_and_settle(pilot, "enter")
        assert wiring(app.stack)[2:] == [("sum", ("conv2d_1", "input")), ("conv2d_2", ("sum",))]
        assert table_rows(app)[3][1] == "sum"
        await undo_redo(pilot, RESIDUAL, app.stack)

    run_app(app, scenario)


def test_deleting_a_merge_something_uses_asks_what_takes_its_place(make_app: MakeApp) -> None:
    app = make_app(stack=RESIDUAL)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "down", "d")
        assert isinstance(app.screen, ChooseNode)
        await press_and_settle(pilot, "down", "enter")  # the shortcut, conv2d
        assert wiring(app.stack) == [("conv2d", ("input",)), ("conv2d_1", ("conv2d",)), ("conv2d_2", ("conv2d",))]
        await undo_redo(pilot, RESIDUAL, app.stack)
        await press_and_settle(pilot, "u", "down", "d")  # conv2d_2 takes one input: no question
        assert wiring(app.stack)[2:] == [("add", ("conv2d_1", "conv2d"))]

    run_app(app, scenario)


def test_z_folds_the_selected_block_into_one_row(make_app: MakeApp) -> None:
    stack = Stack((8, 8, 4), (same(4), same(8), Conv2D(filters=2, kernel_size=1)), name="blocks", blocks=("stem", "stem", None))
    app = make_app(stack=stack)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "z")
        assert table_rows(app)[1] == ["0-1", "▸ stem", "2 layers, folded", "(8, 8, 8)", "", f"{148 + 296:,}"]
        assert table_rows(app, line=1)[1][2] == "from (8, 8, 4)"
        assert len(table_rows(app)) == 3 and app.stack == stack, "folding is a view, not an edit"
        await press_and_settle(pilot, "z")
        assert len(table_rows(app)) == 4
        await press_and_settle(pilot, "Z")
        assert table_rows(app)[1][0] == "0-1"

    run_app(app, scenario)


def test_every_catalogue_type_has_a_form_that_opens_on_a_working_layer(make_app: MakeApp) -> None:
    app = make_app(stack=Stack((8, 8, 4), (Conv2D(filters=4, kernel_size=1),)))
    shapes = {"input": (8, 8, 4), "conv2d": (8, 8, 4)}

    async def scenario(pilot: Pilot[None]) -> None:
        for layer_type in LAYER_TYPES:
            inputs = ("input", "conv2d") if layer_type.min_inputs > 1 else ("conv2d",)
            form = LayerForm(layer_type, NodeContext(1, "new", inputs, shapes, ()))
            await app.push_screen(form)
            await pilot.pause()
            assert form.check() is not None, layer_type.type_name
            assert form.query_one("#preview").has_class("-ok"), (layer_type.type_name, str(form.query_one("#preview").render()))
            assert {spec.name for spec in fields(layer_type) if "convert" in spec.metadata} == {spec.name for spec in form.specs}
            await press_and_settle(pilot, "escape")

    run_app(app, scenario)


def test_feature_maps_and_kernels_of_a_merge_and_a_1x1xc_gate(make_app: MakeApp) -> None:
    gate = Stack(
        (8, 8, 4), (same(4), GlobalAveragePooling2D(keepdims=True), Multiply()), name="gate", inputs=(None, None, ("conv2d", "global_average_pooling2d"))
    )
    app = make_app(stack=gate)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "down", "3")
        assert "Multiply has no weights. What it does: multiplies its inputs elementwise" in render_text(app.screen.query_one(KernelsView).render())
        await press_and_settle(pilot, "1")
        assert "Layer 2 Multiply -> (8, 8, 4)" in render_text(app.screen.query_one(FeatureMapsView).render())
        await press_and_settle(pilot, "up")
        maps = render_text(app.screen.query_one(FeatureMapsView).render())
        assert "GlobalAveragePooling2D" in maps and "(1, 1, 4)" in maps and "#3" in maps

    run_app(app, scenario)


def test_the_drilldown_of_a_shortcut_convolution_reads_the_layer_it_takes(make_app: MakeApp) -> None:
    """conv2d_2 takes the input, not conv2d_1 above it: its drill-down must sum the input's patch."""
    shortcut = Stack((8, 8, 2), (same(4), Conv2D(filters=3, kernel_size=1)), name="shortcut", inputs=(None, ("input",)))
    app = make_app(stack=shortcut)

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "2")
        text = render_text(app.screen.query_one(ExplainView).render())
        assert "made of its 2 input channels" in text and "equal" in text and "differs" not in text

    run_app(app, scenario)


def test_a_residual_wrap_makes_a_block_that_folds_and_a_second_one_its_own(make_app: MakeApp) -> None:
    """What `w` builds folds to one row as an imported ResNet block does: "residual", then "residual_2"."""
    app = make_app(stack=Stack((8, 8, 4), (same(4), same(4), same(4)), name="three"))

    async def scenario(pilot: Pilot[None]) -> None:
        await press_and_settle(pilot, "down", "w", "up", "enter")
        assert app.stack.blocks == ("residual", "residual", "residual", None)
        await press_and_settle(pilot, "z")
        assert len(table_rows(app)) == 3, "the input row, the folded block, the last Conv2D"
        first_wrap = app.stack
        await press_and_settle(pilot, "z", "end", "w", "enter")
        assert app.stack.blocks[-2:] == ("residual_2", "residual_2")
        await undo_redo(pilot, first_wrap, app.stack)

    run_app(app, scenario)


def test_a_narrow_graph_table_keeps_its_names_before_its_weight_shapes(make_app: MakeApp) -> None:
    """At 80 columns a chain's table drops the Name column first; a graph's drops the weight shapes first,
    since its inputs and merges are read by name."""
    from convtui.tui.widgets.stack_table import StackTable

    app = make_app("residual-demo")

    async def scenario(pilot: Pilot[None]) -> None:
        columns = app.screen.query_one(StackTable).fit.columns
        assert "Name" in columns and "Weights" not in columns, columns

    run_app(app, scenario, size=(80, 24))


def test_a_later_layer_named_as_input_is_given_the_number_the_table_shows() -> None:
    """Inserting before "add" (row 3 of the table) and naming it: the message says layer 3, as the table does, not 4."""
    from convtui.tui.graph_edits import node_context

    stack = Stack((8, 8, 1), (Conv2D(4, 3, padding="same"), Conv2D(4, 3, padding="same"), Conv2D(4, 1), Add()), inputs=(None, None, ("conv2d",), ("conv2d_1", "conv2d_2")))
    inserting = node_context(stack, stack.infer(), 1, inserting=True, layer_type=Conv2D)
    assert inserting.input_problem("add").startswith('"add" is layer 3, below this one')
    editing = node_context(stack, stack.infer(), 1, inserting=False, layer_type=Conv2D)
    assert editing.input_problem("add").startswith('"add" is layer 3, below this one')
