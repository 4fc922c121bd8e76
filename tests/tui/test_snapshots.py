"""Snapshot tests: what a person sees, as committed SVGs (tests/tui/__snapshots__/).

Each app comes from the factory (seed 0, the preset's sample image); keys are pressed in
`run_before`, which waits for the forward pass, so every screenshot shows a finished run.
Regenerate on purpose with `pytest tests/tui --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot
from tui_helpers import MakeApp, freeze_cursors, press_and_settle, settle, type_into

from convtui.model.layers import Add, Conv2D, MaxPooling2D
from convtui.model.stack import Stack

WIDE = (120, 40)
SMALL = (80, 24)
SIZES = {"120x40": WIDE, "80x24": SMALL}

SAME_PADDING_SEED = Stack(
    (28, 28, 1),
    (Conv2D(filters=32, kernel_size=3, padding="same", activation="relu"), Conv2D(filters=64, kernel_size=3, padding="same", activation="relu")),
    name="seed-same",
)
"""The seed example with "same" padding: wrapping both convolutions needs a 1x1 projection (1 -> 64 channels)."""
RESIDUAL_BLOCK = Stack(
    (28, 28, 1),
    (*SAME_PADDING_SEED.layers, Conv2D(filters=64, kernel_size=1), Add(), MaxPooling2D()),
    name="residual-block",
    inputs=(None, None, ("input",), ("conv2d_1", "conv2d_2"), None),
)
"""What wrapping SAME_PADDING_SEED with its projection gives, and a layer after the Add."""


def after(*keys: str, typing: tuple[str, str] | None = None) -> Callable[[Pilot[None]], Awaitable[None]]:
    """A run_before: settle, press `keys`, optionally type text into a field, settle, freeze cursors."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await press_and_settle(pilot, *keys)
        if typing is not None:
            await type_into(pilot, *typing)
        await settle(pilot)
        freeze_cursors(pilot)
        await pilot.pause()

    return run_before


class TestMainScreen:
    def test_default_screen(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(), run_before=after(), terminal_size=WIDE)

    def test_80x24(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(), run_before=after("down"), terminal_size=SMALL)

    def test_large_terminal(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app("lenet5"), run_before=after("down"), terminal_size=(180, 50))

    def test_pytorch_convention(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(), run_before=after("c", "down"), terminal_size=WIDE)

    def test_stack_with_an_invalid_layer(self, snap_compare, make_app: MakeApp) -> None:
        stack = Stack((12, 12, 1), (Conv2D(filters=4, kernel_size=3), MaxPooling2D(), Conv2D(filters=8, kernel_size=7), MaxPooling2D()))
        assert snap_compare(make_app(stack=stack), run_before=after("down"), terminal_size=WIDE)


class TestTabs:
    def test_feature_maps_enlarged_filter(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(), run_before=after("down", "]", "]", "f"), terminal_size=WIDE)

    def test_feature_maps_ascii_scaled_per_layer(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(), run_before=after("m", "l"), terminal_size=WIDE)

    def test_explain(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(), run_before=after("down", "2"), terminal_size=WIDE)

    def test_kernels(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(), run_before=after("down", "3"), terminal_size=WIDE)

    def test_input(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(), run_before=after("4"), terminal_size=WIDE)


class TestDialogs:
    def test_add_layer_picker(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(), run_before=after("down", "a"), terminal_size=WIDE)

    def test_layer_form_with_a_field_in_error(self, snap_compare, make_app: MakeApp) -> None:
        run_before = after("down", "e", typing=("#field-kernel_size", "[3, 0]"))
        assert snap_compare(make_app(), run_before=run_before, terminal_size=WIDE)

    def test_help_screen(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(), run_before=after("question_mark"), terminal_size=WIDE)

    def test_unsaved_changes_question(self, snap_compare, make_app: MakeApp) -> None:
        assert snap_compare(make_app(), run_before=after("down", "d", "q"), terminal_size=SMALL)


class TestCompare:
    def test_compare_tab_after_an_edit(self, snap_compare, make_app: MakeApp) -> None:
        """Compared with the built-in seed preset, after "what if the second convolution used 5x5 kernels"."""

        async def run_before(pilot: Pilot[None]) -> None:
            await settle(pilot)
            await press_and_settle(pilot, "v")
            await type_into(pilot, "#answer", "seed-28x28x1")
            await press_and_settle(pilot, "enter")
            pilot.app.screen.query_one("#stack-table").focus()
            await press_and_settle(pilot, "down", "down", "e")
            await type_into(pilot, "#field-kernel_size", "5")
            await press_and_settle(pilot, "enter")
            freeze_cursors(pilot)
            await pilot.pause()

        assert snap_compare(make_app(), run_before=run_before, terminal_size=WIDE)


@pytest.mark.parametrize("size", SIZES)
class TestGraph:
    def test_residual_block_table_with_the_adds_input_shapes(self, snap_compare, make_app: MakeApp, size: str) -> None:
        assert snap_compare(make_app(stack=RESIDUAL_BLOCK), run_before=after("down", "down", "down"), terminal_size=SIZES[size])

    def test_residual_wrap_dialog_offering_the_projection(self, snap_compare, make_app: MakeApp, size: str) -> None:
        assert snap_compare(make_app(stack=SAME_PADDING_SEED), run_before=after("down", "w", "up"), terminal_size=SIZES[size])

    def test_inputs_field_naming_a_layer_below(self, snap_compare, make_app: MakeApp, size: str) -> None:
        run_before = after("down", "down", "down", "e", typing=("#layer-inputs", "conv2d_1, max_pooling2d"))
        assert snap_compare(make_app(stack=RESIDUAL_BLOCK), run_before=run_before, terminal_size=SIZES[size])
