"""Starting `convtui serve` for the tests in this folder, and waiting on what it does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PRESET = "seed-28x28x1"
PATIENCE = 120.0
"""Seconds to wait for anything (the server, a tab's app, a saved file): generous, as two busy cores can be slow."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], object], what: str, *, timeout: float = PATIENCE, every: float = 0.2) -> None:
    """Poll until `condition()` is true; a failure says what never happened."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(every)


def session_apps(session: int) -> list[int]:
    """The `convtui app` processes the server started (its session: it was started with a session of its own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        session_id = int(stat.rsplit(")", 1)[1].split()[3])
        if session_id == session and b"convtui" in command and b"app" in command:
            found.append(int(entry.name))
    return found


class Server:
    """`python -m convtui serve PRESET --port PORT`, in its own session, its output in a file."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = folder / "server.log"
        work = folder / "work"
        work.mkdir()
        self.work = work
        environment = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache"), "COLUMNS": "120"}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "convtui", "serve", PRESET, "--port", str(self.port)],
                cwd=work,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def listening(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"`convtui serve` exited with {self.process.returncode}:\n{self.output()}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        """Whatever is left of the server and its apps, killed as a group."""
        for _ in range(2):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                break
        self.process.wait(timeout=30)


def serving(folder: Path) -> Iterator[Server]:
    """A listening server for a fixture, killed with its apps afterwards whatever happened."""
    served = Server(folder)
    try:
        wait_for(served.listening, "`convtui serve` to listen")
        yield served
    finally:
        served.stop()
