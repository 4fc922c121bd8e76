"""Helpers for driving the app in tests: wait until the forward pass has finished and the screen
has settled, type into fields, read the table back, render a view to plain text.

Tests are plain functions that call `run_app(app, scenario)`: no async test plugin is needed.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable

from rich.console import Console, RenderableType
from textual.pilot import Pilot
from textual.widgets import Input

from convtui.model.blocks import TableRow, folded_block
from convtui.model.blocks import table_rows as table_rows_of
from convtui.model.convention import Convention, display_shape, shape_text
from convtui.model.stack import LayerInfo, StackInfo
from convtui.render.summary import COLUMNS, input_row, layer_row
from convtui.tui.app import ConvtuiApp
from convtui.tui.widgets.stack_table import GUTTER_COLUMN, SHOWN_COLUMNS, StackTable, expanded_marks, weight_shapes_text

Scenario = Callable[[Pilot[None]], Awaitable[None]]
MakeApp = Callable[..., ConvtuiApp]
"""The `make_app` fixture's type (see conftest.py)."""


def run_app(app: ConvtuiApp, scenario: Scenario, size: tuple[int, int] = (120, 40)) -> None:
    """Run `scenario` against the app in a headless terminal of `size`, after the first run settled."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await scenario(pilot)

    asyncio.run(main())


async def settle(pilot: Pilot[None]) -> None:
    """Wait for the forward pass and for every message it sent to be handled."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def press_and_settle(pilot: Pilot[None], *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def type_into(pilot: Pilot[None], selector: str, text: str) -> None:
    """Replace the text of an Input on the active screen, as if typed."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = ""
    await pilot.pause()
    await pilot.press(*text)
    await pilot.pause()


def freeze_cursors(pilot: Pilot[None]) -> None:
    """No blinking cursor in a snapshot: each Input's cursor shows steadily."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


def expected_rows(app: ConvtuiApp) -> list[list[str]]:
    """What the table's first lines must show: the summary's rows for `stack.infer()` of the app's current
    stack, each with the layer's name after its index, in the form the table fits its width; a folded block
    (a residual wrap makes one) as one row with its layers' range, its name, its output shape and its params.
    """
    stack_info = app.stack.infer()
    convention = app.view_state.convention
    full = [{column: cell for column, cell in zip(COLUMNS, input_row(stack_info, convention)) if column in SHOWN_COLUMNS} | {"Name": "input"}]
    marks = expanded_marks(stack_info, app.view_state.folded)
    for row in table_rows_of(stack_info, app.view_state.folded):
        if row.is_folded:
            full.append(folded_row(stack_info, row, convention))
        else:
            cells = layer_cells_of(stack_info.layers[row.layers[0]], convention)
            full.append(cells | {"Name": marks.get(row.layers[0], "") + cells["Name"]})
    fit = app.screen.query_one(StackTable).fit
    return [fit.row(cells) for cells in full]


def layer_cells_of(info: LayerInfo, convention: Convention) -> dict[str, str]:
    row = layer_row(info, convention)
    row[COLUMNS.index("Weights")] = weight_shapes_text(info, convention)
    return {column: row[COLUMNS.index(column)] for column in SHOWN_COLUMNS if column != "Name"} | {"Name": info.name}


def folded_row(stack_info: StackInfo, row: TableRow, convention: Convention) -> dict[str, str]:
    block = folded_block(stack_info, row)
    return {
        "#": str(row.layers[0]) if len(row.layers) == 1 else f"{row.layers[0]}-{row.layers[-1]}",
        "Name": f"▸ {row.block}",
        "Layer": f"{len(row.layers)} layer{'' if len(row.layers) == 1 else 's'}, folded",
        "Output shape": " | ".join(shape_text(display_shape(shape, convention)) for shape in block.output_shapes),
        "Weights": "",
        "Params": f"{sum(info.params for info in block.layers):,}",
    }


def table_rows(app: ConvtuiApp, line: int = 0) -> list[list[str]]:
    """The table's cells as plain text, one line of each (a merge's second line has the shapes it joins), without the graph's gutter."""
    table = app.screen.query_one(StackTable)
    skipped = table.get_column_index(GUTTER_COLUMN) if GUTTER_COLUMN in table.columns else None
    return [
        [(cell.plain.split("\n")[line:] or [""])[0] for position, cell in enumerate(table.get_row_at(index)) if position != skipped]
        for index in range(table.row_count)
    ]


def gutter_lines(app: ConvtuiApp) -> list[str]:
    """The graph's gutter, one string per table row (its first line)."""
    table = app.screen.query_one(StackTable)
    return [table.get_cell_at((index, table.get_column_index(GUTTER_COLUMN))).plain.split("\n")[0] for index in range(table.row_count)]


def render_text(renderable: RenderableType, width: int = 120) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]
