"""The add-layer picker (type to find, its hint, the Dense note), the layer form's "more fields" line,
the help screen's fit, and which pane has the focus: in the terminals people use, 80x24 and 120x40.
"""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import OptionList, Static
from tui_helpers import MakeApp, freeze_cursors, press_and_settle, run_app, settle

from convtui.model.layers import MaxPooling2D
from convtui.tui.bindings import EDIT_BINDINGS, VIEW_BINDINGS
from convtui.tui.screens.help import HelpScreen, sheet_rows, split_in_two
from convtui.tui.screens.layer_form import LayerForm, hidden_fields, hidden_fields_text
from convtui.tui.screens.layer_picker import LayerPicker, matching_types, placement_note

SMALL = (80, 24)
WIDE = (120, 40)


def shown_inside(widget: Widget, container: Widget) -> bool:
    """Whether all of `widget` lies in what `container` shows of its content (not clipped, not scrolled away)."""
    return widget.display and container.scrollable_content_region.contains_region(widget.region)


def option_ids(picker: LayerPicker) -> list[str | None]:
    option_list = picker.query_one(OptionList)
    return [option_list.get_option_at_index(index).id for index in range(option_list.option_count)]


def highlighted_id(picker: LayerPicker) -> str | None:
    option = picker.query_one(OptionList).highlighted_option
    return None if option is None else option.id


async def open_picker(pilot: Pilot[None], input_shape: tuple[int, ...] | None = None) -> LayerPicker:
    picker = LayerPicker(2, input_shape)
    await pilot.app.push_screen(picker)
    await settle(pilot)
    return picker


class TestPicker:
    def test_its_hint_shows_at_80x24(self, make_app: MakeApp) -> None:
        app = make_app()

        async def scenario(pilot: Pilot[None]) -> None:
            await press_and_settle(pilot, "down", "a")
            assert isinstance(app.screen, LayerPicker)
            hint = app.screen.query(".dialog-hint").last()
            assert "Esc" in str(hint.render())
            assert shown_inside(hint, app.screen.query_one("#dialog"))

        run_app(app, scenario, size=SMALL)

    def test_typing_finds_types_backspace_and_escape_clear(self, make_app: MakeApp) -> None:
        app = make_app()

        async def scenario(pilot: Pilot[None]) -> None:
            picker = await open_picker(pilot)
            await press_and_settle(pilot, "c", "o", "n")
            assert option_ids(picker)[:2] == ["Conv2D", "DepthwiseConv2D"] and "Conv2DTranspose" in option_ids(picker)
            assert "MaxPooling2D" not in option_ids(picker) and highlighted_id(picker) == "Conv2D"
            assert "Find: con" in str(picker.query_one("#picker-find", Static).render())
            await press_and_settle(pilot, "v", "2", "d", "t")
            assert option_ids(picker) == ["Conv2DTranspose"]
            await press_and_settle(pilot, "backspace", "backspace", "backspace", "backspace")
            assert picker.typed == "con" and "Concatenate" in option_ids(picker)
            await press_and_settle(pilot, "escape")
            assert app.screen is picker and picker.typed == "" and len(option_ids(picker)) == len(matching_types(""))
            assert not picker.query_one("#picker-find").display
            await press_and_settle(pilot, "escape")
            assert app.screen is not picker

        run_app(app, scenario, size=SMALL)

    def test_enter_chooses_the_best_match(self, make_app: MakeApp) -> None:
        app = make_app()

        async def scenario(pilot: Pilot[None]) -> None:
            await press_and_settle(pilot, "down", "a", "m", "a", "x")
            assert isinstance(app.screen, LayerPicker) and highlighted_id(app.screen) == "MaxPooling2D"
            assert option_ids(app.screen) == ["MaxPooling2D", "GlobalMaxPooling2D", "Maximum"]
            await press_and_settle(pilot, "enter")
            assert isinstance(app.screen, LayerForm) and app.screen.layer_type is MaxPooling2D

        run_app(app, scenario, size=SMALL)

    def test_no_match_says_so(self, make_app: MakeApp) -> None:
        app = make_app()

        async def scenario(pilot: Pilot[None]) -> None:
            picker = await open_picker(pilot)
            await press_and_settle(pilot, "q", "q")
            assert option_ids(picker) == [] and 'no layer type contains "qq"' in str(picker.query_one("#picker-find", Static).render())
            await press_and_settle(pilot, "enter")
            assert app.screen is picker

        run_app(app, scenario, size=SMALL)

    def test_dense_after_a_spatial_layer_says_what_usually_comes_first(self, make_app: MakeApp) -> None:
        app = make_app()

        async def scenario(pilot: Pilot[None]) -> None:
            picker = await open_picker(pilot, (24, 24, 64))
            note = picker.query_one("#picker-note", Static)
            assert not note.display
            await press_and_settle(pilot, "d", "e", "n", "s", "e")
            assert highlighted_id(picker) == "Dense" and note.display
            assert "Flatten or GlobalAveragePooling2D usually comes first" in str(note.render())
            assert shown_inside(note, picker.query_one("#dialog"))

        run_app(app, scenario, size=SMALL)

    def test_a_and_b_tell_the_picker_what_the_new_layer_receives(self, make_app: MakeApp) -> None:
        """`a` after the seed's second Conv2D: the picker knows Dense would act on a (24, 24, 64) map, and says so."""
        app = make_app()

        async def scenario(pilot: Pilot[None]) -> None:
            await press_and_settle(pilot, "down", "a")
            assert isinstance(app.screen, LayerPicker) and app.screen.input_shape == (24, 24, 64)
            await press_and_settle(pilot, "d", "e", "n", "s", "e")
            assert app.screen.query_one("#picker-note", Static).display

        run_app(app, scenario, size=WIDE)

    def test_the_note_only_for_dense_on_a_spatial_shape(self) -> None:
        dense, flatten = (next(t for t in matching_types(name) if t.type_name == name) for name in ("Dense", "Flatten"))
        assert placement_note(dense, (24, 24, 64)) is not None
        assert placement_note(dense, (128,)) is None
        assert placement_note(dense, None) is None
        assert placement_note(flatten, (24, 24, 64)) is None


class TestFormFields:
    def test_says_how_many_fields_are_below_and_follows_tab(self, make_app: MakeApp) -> None:
        app = make_app()

        async def scenario(pilot: Pilot[None]) -> None:
            await press_and_settle(pilot, "down", "e")
            form = app.screen
            assert isinstance(form, LayerForm)
            line = form.query_one("#more-fields", Static)
            assert line.display and "more fields below" in str(line.render())
            fields = list(form.query("#fields Input"))
            for _ in fields[1:]:
                await press_and_settle(pilot, "tab")
            focused = form.focused
            assert focused is fields[-1]
            scroll = form.query_one("#fields-scroll")
            assert shown_inside(focused, scroll)
            assert shown_inside(form.query_one(f"#note-{focused.id.removeprefix('field-')}"), scroll)
            assert "above" in str(line.render()) and "below" not in str(line.render())

        run_app(app, scenario, size=SMALL)

    def test_no_line_when_every_field_shows(self, make_app: MakeApp) -> None:
        app = make_app()

        async def scenario(pilot: Pilot[None]) -> None:
            await press_and_settle(pilot, "down", "a", "f", "l", "a", "t", "enter")
            assert isinstance(app.screen, LayerForm) and not app.screen.query_one("#more-fields").display

        run_app(app, scenario, size=WIDE)

    def test_counts_fields_out_of_view(self) -> None:
        assert hidden_fields([-4, -1, 0, 3, 9, 10, 14], 10) == (2, 2)
        assert hidden_fields_text(0, 1) == "↓ 1 more field below (Tab or scroll)"
        assert hidden_fields_text(2, 0) == "↑ 2 more fields above (Tab or scroll)"
        assert hidden_fields_text(0, 0) == ""


class TestHelp:
    def test_fits_at_120x40_without_scrolling(self, make_app: MakeApp) -> None:
        app = make_app()

        async def scenario(pilot: Pilot[None]) -> None:
            await press_and_settle(pilot, "question_mark")
            assert isinstance(app.screen, HelpScreen)
            assert app.screen.query_one("#keys-scroll").max_scroll_y == 0
            assert "scroll" not in str(app.screen.query_one("#help-hint", Static).render())

        run_app(app, scenario, size=WIDE)

    def test_says_it_scrolls_at_80x24(self, make_app: MakeApp) -> None:
        app = make_app()

        async def scenario(pilot: Pilot[None]) -> None:
            await press_and_settle(pilot, "question_mark")
            assert app.screen.query_one("#keys-scroll").max_scroll_y > 0
            assert "More keys below" in str(app.screen.query_one("#help-hint", Static).render())

        run_app(app, scenario, size=SMALL)

    def test_a_section_cut_in_two_repeats_its_title(self) -> None:
        left, right = split_in_two(sheet_rows([("Stack", EDIT_BINDINGS), ("Views", VIEW_BINDINGS)]))
        assert abs(len(left) - len(right)) <= 2
        assert right[0] == ("Views", None, "Views (continued)")
        assert left[-1][1] not in (None, "")


class TestFocus:
    def test_the_focused_pane_is_highlighted_and_says_how_to_move_focus(self, make_app: MakeApp) -> None:
        app = make_app()

        async def scenario(pilot: Pilot[None]) -> None:
            stack_pane, view_pane = app.screen.query_one("#stack-pane"), app.screen.query_one("#view-pane")
            assert stack_pane.styles.border_top[0] == "heavy" and view_pane.styles.border_top[0] != "heavy"
            await press_and_settle(pilot, "down", "2")
            assert "Tab: focus here, then arrows move" in str(view_pane.border_title)
            await press_and_settle(pilot, "tab")
            assert view_pane.styles.border_top[0] == "heavy" and stack_pane.styles.border_top[0] != "heavy"
            assert "arrows move (i, j)" in str(view_pane.border_title) and "Tab or click: focus here" in str(stack_pane.border_title)

        run_app(app, scenario, size=SMALL)


class TestSnapshots:
    def test_picker_finding_dense_after_a_spatial_layer(self, snap_compare, make_app: MakeApp) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            await settle(pilot)
            await open_picker(pilot, (24, 24, 64))
            await press_and_settle(pilot, "d", "e", "n")

        assert snap_compare(make_app(), run_before=run_before, terminal_size=SMALL)

    def test_conv2d_form_at_80x24(self, snap_compare, make_app: MakeApp) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            await settle(pilot)
            await press_and_settle(pilot, "down", "e")
            freeze_cursors(pilot)
            await pilot.pause()

        assert snap_compare(make_app(), run_before=run_before, terminal_size=SMALL)
