"""The views mount with the first result of the forward pass (or when a key needs them, or at the
latest VIEWS_AT_THE_LATEST after the first paint), and the footer rebuilds its keys only when they
change: both leave the event loop idle while the forward worker imports the engine (issue 10).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey
from tui_helpers import MakeApp, Scenario, run_app, settle

import convtui.tui.app as app_module
from convtui.tui.app import ConvtuiApp
from convtui.tui.screens import main as main_screen
from convtui.tui.widgets.footer import SteadyFooter
from convtui.tui.widgets.views import Views


@pytest.fixture
def held_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The forward pass waits until the event is set (the test sets it), as a long import or run would."""
    release = threading.Event()
    run_stack = app_module.run_stack

    def held(*args: object, **kwargs: object) -> object:
        release.wait(10)
        return run_stack(*args, **kwargs)

    monkeypatch.setattr(app_module, "run_stack", held)
    yield release
    release.set()


def views_of(pilot: Pilot[None]) -> Views:
    return pilot.app.screen.views  # type: ignore[attr-defined, no-any-return]


async def until(condition: object, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not in time")


async def leave(pilot: Pilot[None]) -> None:
    """Let the run end and the hidden views mount before the test closes the app (as quitting waits for them)."""
    await settle(pilot)
    await views_of(pilot).settled()
    await settle(pilot)


def run_while_held(app: ConvtuiApp, held_run: threading.Event, scenario: Scenario) -> None:
    """`scenario` while the forward pass is held, then the run let go and the app left settled."""

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await scenario(pilot)
            held_run.set()
            await leave(pilot)

    asyncio.run(main())


def test_the_views_mount_with_the_first_result_not_before(make_app: MakeApp, held_run: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(main_screen, "VIEWS_AT_THE_LATEST", 60.0)
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.pause(0.3)
        views = views_of(pilot)
        assert views.tabs is None and not views.slot.asked
        held_run.set()
        await until(lambda: app.view_state.run.status == "done")
        await until(views.ready.is_set)
        assert views.tabs is not None and views.tabs.is_mounted

    run_while_held(app, held_run, scenario)


def test_without_a_result_the_views_mount_at_the_latest(make_app: MakeApp, held_run: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(main_screen, "VIEWS_AT_THE_LATEST", 0.2)
    app = make_app()

    async def scenario(pilot: Pilot[None]) -> None:
        await until(views_of(pilot).ready.is_set)
        assert app.view_state.run.status == "running"

    run_while_held(app, held_run, scenario)


def test_a_tab_key_before_any_result_mounts_the_views_on_that_tab(make_app: MakeApp, held_run: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(main_screen, "VIEWS_AT_THE_LATEST", 60.0)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("3")
        await until(views_of(pilot).ready.is_set)
        assert views_of(pilot).active == "kernels"

    run_while_held(make_app(), held_run, scenario)


def test_the_footer_keeps_its_keys_while_they_stay_the_same_and_follows_a_change(make_app: MakeApp) -> None:
    app = make_app()

    def keys(pilot: Pilot[None]) -> list[FooterKey]:
        return list(pilot.app.screen.query_one(SteadyFooter).query(FooterKey))

    async def scenario(pilot: Pilot[None]) -> None:
        before = keys(pilot)
        app.screen.refresh_bindings()
        app.screen.query_one("#stack-table").focus()
        await pilot.pause()
        await pilot.pause()
        assert keys(pilot) == before and all(new is old for new, old in zip(keys(pilot), before))
        app.select_layer(1)  # 32 input channels: more than the Kernels view shows at once
        await pilot.press("3")
        await pilot.pause()
        await pilot.pause()
        shown = [key.action for key in keys(pilot)]
        assert any(action.startswith("step_channel_page") for action in shown), shown

    run_app(app, scenario)
