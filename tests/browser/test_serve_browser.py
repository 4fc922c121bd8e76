"""`convtui serve` in a real browser: Debian's Chromium, driven by Playwright, types keys into the
served app and the test checks what the app did with them (the files it saved), one app per tab,
then Ctrl+C ends the server cleanly.

Skipped, with the reason, when Playwright or a Chromium binary is missing (`.ci/run` installs
Debian's chromium-headless-shell where it can). No browser is downloaded: Playwright launches
the system's Chromium through `executable_path`.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from serve_helpers import PATIENCE, PRESET, Server, serving, session_apps, wait_for

CHROMIUM_NAMES = ("chromium-headless-shell", "chromium", "chromium-browser")

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')")


def chromium_executable() -> str:
    for name in CHROMIUM_NAMES:
        if (path := shutil.which(name)) is not None:
            return path
    pytest.skip(f"no Chromium found ({', '.join(CHROMIUM_NAMES)}): `apt-get install chromium-headless-shell` on Debian")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from serving(tmp_path)


@pytest.fixture
def browser() -> Iterator[object]:
    executable = chromium_executable()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        try:
            yield launched
        finally:
            launched.close()


def open_tab(browser: object, url: str) -> object:
    """A page showing the served app, its terminal focused so that key presses reach the app."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.route("**/fonts.googleapis.com/**", lambda route: route.abort())  # the page's web font: nothing to fetch offline
    page.goto(url)
    # textual-serve's page marks <body> once the app's first output reached the terminal.
    page.wait_for_selector("body.-first-byte", state="attached", timeout=PATIENCE * 1000)
    page.focus(".xterm-helper-textarea")  # xterm.js reads the keyboard through this textarea
    return page


def layer_count(path: Path) -> int | None:
    return path.read_text().count("[[layers]]") if path.exists() else None


def press_until(page: object, key: str, done: Callable[[], bool], what: str) -> None:
    """Press `key` until `done()`: keys sent while a tab's app is still starting may come too early,
    so the first effect that shows is also the sign that the app is ready. For idempotent keys only."""

    def pressed() -> bool:
        page.keyboard.press(key)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not done():
            time.sleep(0.2)
        return done()

    wait_for(pressed, what, every=0)


def test_the_served_app_takes_keys_one_app_per_tab_and_ctrl_c_ends_it(browser: object, server: Server, tmp_path: Path) -> None:
    first_copy = server.work / f"{PRESET}.toml"
    second_copy = server.work / f"{PRESET}-2.toml"
    typed = server.work / "kh-9.toml"
    first = open_tab(browser, server.url)
    try:
        # `s` saves the built-in preset as the user's own copy in the server's folder.
        press_until(first, "s", lambda: layer_count(first_copy) == 2, f"`s` to save {first_copy.name}")
        assert f'name = "{PRESET}"' in first_copy.read_text()

        # `d` deletes the selected (first) layer, `s` saves it over that copy.
        first.keyboard.press("d")
        first.keyboard.press("s")
        wait_for(lambda: layer_count(first_copy) == 1, f"`d` then `s` to leave one layer in {first_copy.name}")
        assert "filters = 64" in first_copy.read_text() and "filters = 32" not in first_copy.read_text()

        # A second tab is a second app, with the preset as served, not the first tab's edits; its
        # `s` makes a copy of its own beside the first one's, never over it.
        second = open_tab(browser, server.url)
        press_until(second, "s", lambda: layer_count(second_copy) == 2, f"`s` in a second tab to save {second_copy.name}")
        assert layer_count(first_copy) == 1
        assert len(session_apps(server.process.pid)) == 2, "one app process per tab"

        # Save as: `S` opens a prompt with the default path, ctrl+u clears it, a typed name, Enter.
        # The name's letters are bound to nothing, so typed too early they do no harm to the app.
        def saved_as() -> bool:
            second.keyboard.press("S")
            time.sleep(1)
            second.keyboard.press("Control+u")
            second.keyboard.type(typed.stem)
            second.keyboard.press("Enter")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not typed.exists():
                time.sleep(0.2)
            if not typed.exists():
                second.keyboard.press("Escape")  # whatever opened (the prompt, or Enter's layer form), closed before the next try
            return typed.exists()

        wait_for(saved_as, f"`S` and a typed name to save {typed.name}", every=0)
        wait_for(lambda: layer_count(typed) == 2, f"the second tab's two layers in {typed.name}")
    except BaseException:
        for name, page in (("first", first), ("second", locals().get("second"))):
            if page is not None:
                page.screenshot(path=str(tmp_path / f"{name}-tab.png"))
        print(f"server output:\n{server.output()}\nscreenshots in {tmp_path}")
        raise

    # Ctrl+C in the server's terminal signals its whole process group: the server and the apps.
    os.killpg(server.process.pid, signal.SIGINT)
    server.process.wait(timeout=PATIENCE)
    output = server.output()
    assert server.process.returncode == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    wait_for(lambda: not session_apps(server.process.pid), "every tab's app to quit with the server")
