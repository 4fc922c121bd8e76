"""The stack table's layout in the terminals people use (80x24, 120x40): a merge's joined shapes wrap within
the Layer column, columns are dropped (weight shapes first) before counts are rounded or names hidden; and
the Explain view's formulas wrap under their own text.
"""

from __future__ import annotations

from textual.pilot import Pilot
from tui_helpers import MakeApp, render_text, run_app, table_rows

from convtui.model.layers import Dense, GlobalAveragePooling2D
from convtui.model.preset import load_preset
from convtui.model.stack import Stack
from convtui.render.summary import formulas_renderable
from convtui.tui.app import ConvtuiApp
from convtui.tui.widgets.stack_table import StackTable


def column(app: ConvtuiApp, name: str) -> list[str]:
    """A column's first lines, top to bottom."""
    table = app.screen.query_one(StackTable)
    return [row[list(table.fit.columns).index(name)] for row in table_rows(app)]


def assert_no_horizontal_scroll(app: ConvtuiApp) -> None:
    table = app.screen.query_one(StackTable)
    assert table.virtual_size.width <= table.scrollable_content_region.width, (table.virtual_size, table.scrollable_content_region)


def test_inception_joins_wrap_and_every_column_shows_at_120(make_app: MakeApp) -> None:
    """The Concatenate's four joined shapes wrap under its label instead of widening the Layer column: the
    table keeps the weight shapes and the exact counts."""
    app = make_app("inception-module")

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.screen.query_one(StackTable)
        assert table.fit.columns == ("#", "Name", "Layer", "Output shape", "Weights", "Params")
        assert column(app, "Params")[3] == "110,720"
        concatenate = table.get_row_at(table.row_count - 1)[list(table.columns).index("Layer")].plain.split("\n")
        assert concatenate[0] == "Concatenate" and len(concatenate) > 2, concatenate
        label_width = max(len(text) for text in column(app, "Layer"))
        assert max(len(line) for line in concatenate) <= label_width
        assert_no_horizontal_scroll(app)

    run_app(app, scenario, size=(120, 40))


def test_inception_keeps_names_and_params_at_80(make_app: MakeApp) -> None:
    """At 80 columns a graph's labels and long names wrap rather than lose the names its inputs field needs, or the counts."""
    app = make_app("inception-module")

    async def scenario(pilot: Pilot[None]) -> None:
        table = app.screen.query_one(StackTable)
        columns = table.fit.columns
        assert "Name" in columns and "Params" in columns, columns
        names = [table.get_row_at(row)[list(table.columns).index("Name")].plain.replace("\n", "") for row in (1, 2)]
        assert names == ["▾ inception_3a_1x1", "┆ inception_3a_3x3_reduce"], "whole names, each line of them in the cell"
        assert column(app, "Params")[1] == "12,352"
        assert_no_horizontal_scroll(app)

    run_app(app, scenario, size=(80, 24))


def test_mobilenet_counts_are_exact_at_120(make_app: MakeApp) -> None:
    """Too narrow for the weight shapes, wide enough for the names and the exact counts."""
    app = make_app("mobilenet-v2")

    async def scenario(pilot: Pilot[None]) -> None:
        columns = app.screen.query_one(StackTable).fit.columns
        assert columns == ("#", "Name", "Layer", "Output shape", "Params"), columns
        assert all(count.replace(",", "").isdigit() for count in column(app, "Params")), column(app, "Params")

    run_app(app, scenario, size=(120, 40))


def test_seed_net_with_a_head_keeps_names_and_exact_params_at_80(make_app: MakeApp) -> None:
    """The course's question is the second Conv2D's 18,496 parameters: the weight shapes go before it is rounded."""
    seed = load_preset("seed-28x28x1")
    app = make_app(stack=Stack(seed.input_shape, (*seed.layers, GlobalAveragePooling2D(), Dense(units=10))))

    async def scenario(pilot: Pilot[None]) -> None:
        columns = app.screen.query_one(StackTable).fit.columns
        assert "Name" in columns and "Weights" not in columns, columns
        assert column(app, "Params")[2] == "18,496"
        assert column(app, "Name")[2] == "conv2d_1"

    run_app(app, scenario, size=(80, 24))


def test_explain_formulas_wrap_under_their_text() -> None:
    """A long reason goes on under its formula (a hanging indent), never at the left edge: in the Explain view and in
    `convtui summary --formulas`, which draw the same renderable."""
    stack_info = load_preset("seed-28x28x1").infer()
    lines = render_text(formulas_renderable(stack_info, 1, "keras"), width=76).splitlines()
    body = [line for line in lines[2:] if line.strip()]
    assert all(line.startswith("  ") for line in body), body
    continuation = next(line for line in body if "neighbouring outputs" in line)
    assert continuation.startswith(" " * len("  receptive field: ")), continuation
    wide = render_text(formulas_renderable(stack_info, 1, "keras"), width=200)
    assert "  receptive field: 3 + (3-1)*1 = 5 input pixels (5x5), jump 1  (the window seen in the input by one output pixel;" in wide
