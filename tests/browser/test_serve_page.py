"""`convtui serve` without a browser: the page, the apps behind its websocket (one per connection, keys
reaching them), a taken port, and Ctrl+C, through plain HTTP and aiohttp's websocket client.
These run wherever convtui installs; tests/browser/test_serve_browser.py adds a real Chromium.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import PATIENCE, PRESET, Server, serving, session_apps, wait_for

from convtui.web import app_command

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts the apps' processes through /proc (Linux)")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from serving(tmp_path)


def test_each_tab_runs_this_python_on_the_app_arguments_quoted_for_the_shell():
    command = app_command(["app", "my net.toml", "--seed=3"])
    assert shlex.split(command.split("exec ", 1)[1]) == [sys.executable, "-m", "convtui", "app", "my net.toml", "--seed=3"]


def test_the_page_points_its_websocket_at_the_address_the_browser_used(server: Server):
    request = urllib.request.Request(server.url, headers={"Host": f"192.0.2.7:{server.port}"})
    with urllib.request.urlopen(request, timeout=PATIENCE) as response:
        page = response.read().decode()
    assert f'data-session-websocket-url="ws://192.0.2.7:{server.port}/ws"' in page
    assert f"http://192.0.2.7:{server.port}/static/js/textual.js" in page
    assert f"convtui {PRESET}" in page  # the title on the start page: the command as a user would type it


def test_a_taken_port_is_one_line_and_exit_2(server: Server, tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "convtui", "serve", PRESET, "--port", str(server.port)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=PATIENCE,
    )
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert result.stderr.strip() == f"convtui: error: cannot serve on 127.0.0.1:{server.port}: address already in use; choose another --port or --host"


def test_one_app_per_connection_keys_reach_it_and_ctrl_c_ends_everything(server: Server):
    """Two websocket connections (two tabs) start two apps; `s` typed into one saves its copy;
    closing a tab ends its app; Ctrl+C (to the whole group, as a terminal sends it) ends the rest."""
    aiohttp = pytest.importorskip("aiohttp")
    saved = server.work / f"{PRESET}.toml"
    apps = lambda: len(session_apps(server.process.pid))  # noqa: E731

    async def until(condition, what: str) -> None:
        deadline = time.monotonic() + PATIENCE
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"gave up waiting for {what}; server output:\n{server.output()}")
            await asyncio.sleep(0.2)

    async def drain(websocket, received: list[int]) -> None:
        """Read what the app draws, as a browser does, so that it never waits on a full pipe."""
        async for message in websocket:
            if message.type == aiohttp.WSMsgType.BINARY:
                received.append(len(message.data))

    async def scenario() -> None:
        url = f"ws://127.0.0.1:{server.port}/ws?width=120&height=40"
        async with aiohttp.ClientSession() as session:
            first = await session.ws_connect(url)
            second = await session.ws_connect(url)
            first_drawn: list[int] = []
            second_drawn: list[int] = []
            readers = [asyncio.ensure_future(drain(first, first_drawn)), asyncio.ensure_future(drain(second, second_drawn))]
            await until(lambda: sum(first_drawn) > 1000 and sum(second_drawn) > 1000, "both apps to draw")
            assert apps() == 2

            deadline = time.monotonic() + PATIENCE
            while not saved.exists():  # keys may come before the app listens: press again until it saves
                assert time.monotonic() < deadline, f"`s` never saved {saved.name}; server output:\n{server.output()}"
                await first.send_json(["stdin", "s"])
                for _ in range(25):
                    if saved.exists():
                        break
                    await asyncio.sleep(0.2)
            await until(lambda: saved.read_text().count("[[layers]]") == 2, f"the two layers in {saved.name}")

            await second.close()
            await until(lambda: apps() == 1, "the closed tab's app to quit")

            os.killpg(server.process.pid, signal.SIGINT)
            await until(lambda: server.process.poll() is not None, "the server to stop on Ctrl+C")
            await asyncio.wait(readers, timeout=PATIENCE)

    asyncio.run(scenario())
    output = server.output()
    assert server.process.returncode == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert "Press Ctrl+C to stop" in output
    wait_for(lambda: apps() == 0, "every app to quit with the server")
