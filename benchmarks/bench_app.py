"""The app's responsiveness. In a real terminal (tmux, 120x40): `convtui` to the seed's numbers on
screen against a bare Textual app showing a DataTable, and `convtui vgg16` to its feature maps on
screen beside its floor (the weights' initialisation and the forward pass, timed in-process); the
maps on screen are layer 0's early look, so VGG16's whole run is also timed, headless, in-process.
In a headless terminal: start-up to the first complete screen, an edit on VGG16 to the updated
table on screen, and the seed net's rerun after an edit to the heatmaps on screen. Medians of
several tries, the processes compared alternating; prints figures, asserts nothing.

    python benchmarks/bench_app.py [--repeats 7] [--terminal-only]

Goals: issue 10, `convtui` within 1.3x the bare app, `convtui vgg16` to feature maps under 0.8 s;
issue 4, start-up under 1 s, VGG16 edit under 50 ms, seed net heatmaps within 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Callable
from dataclasses import replace

SIZE = (120, 40)

STARTUP_SCRIPT = """
import time
started = time.perf_counter()
import asyncio
from convtui.model.preset import load_preset
from convtui.tui.app import ConvtuiApp

async def main():
    app = ConvtuiApp(load_preset("seed-28x28x1"), source="seed-28x28x1")
    async with app.run_test(size=(120, 40)) as pilot:
        while app.view_state.run.status != "done":
            await asyncio.sleep(0.001)
        painted = asyncio.Event()
        app.call_after_refresh(painted.set)
        await painted.wait()
        print(time.perf_counter() - started)

asyncio.run(main())
"""

VGG16_TIMELINE_SCRIPT = """
import os
import time
started = time.perf_counter()
import asyncio
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
from convtui.model.preset import load_preset
from convtui.tui.app import ConvtuiApp

async def main():
    app = ConvtuiApp(load_preset("vgg16"), source="vgg16")
    early = None
    async with app.run_test(size=(120, 40)) as pilot:
        while app.view_state.run.status != "done":
            if early is None and app.view_state.run.result is not None:
                early = time.perf_counter() - started
            await asyncio.sleep(0.001)
        print(early, time.perf_counter() - started)

asyncio.run(main())
"""


def vgg16_timeline_seconds() -> tuple[float, float]:
    """In a headless app, from the script's first line: (layer 0's early look in the view state, the whole run done)."""
    process = subprocess.run([sys.executable, "-c", VGG16_TIMELINE_SCRIPT], capture_output=True, text=True, check=True)
    early, done = process.stdout.strip().splitlines()[-1].split()
    return float(early), float(done)


def startup_seconds() -> tuple[float, float]:
    """(whole process until the first complete screen, of which inside Python after start)."""
    begun = time.perf_counter()
    process = subprocess.run([sys.executable, "-c", STARTUP_SCRIPT], capture_output=True, text=True, check=True)
    inside = float(process.stdout.strip().splitlines()[-1])
    return time.perf_counter() - begun, inside


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.0005)


async def painted(app) -> None:
    """Wait for the next screen refresh after what was just changed."""
    event = asyncio.Event()
    app.call_after_refresh(event.set)
    await event.wait()


async def edit_timings(preset: str, repeats: int, wait_for_run: bool) -> tuple[list[float], list[float]]:
    """Per edit: (to the table's rows replaced, to the next painted screen [after the run when asked])."""
    from convtui.model.preset import load_preset
    from convtui.tui.app import ConvtuiApp
    from convtui.tui.widgets.stack_table import StackTable

    app = ConvtuiApp(load_preset(preset), source=preset)
    handled, shown = [], []
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.view_state.run.status == "done")
        await pilot.pause()
        table = app.screen.query_one(StackTable)
        original = app.stack.layers[1]
        for attempt in range(repeats):
            changed = replace(original, filters=original.filters // 2) if attempt % 2 == 0 else original
            start = time.perf_counter()
            app.edit(app.stack.with_layer(1, changed), select=1)  # what the layer form's OK does
            handled.append(time.perf_counter() - start)
            assert table.get_row_at(2)[table.get_column_index("Layer")].plain == changed.label
            if wait_for_run:
                await until(lambda: app.view_state.run.status == "done")
            await painted(app)
            shown.append(time.perf_counter() - start)
            await until(lambda: app.view_state.run.status == "done")
            await pilot.pause()
    return handled, shown


BARE_APP = """
from textual.app import App
from textual.widgets import DataTable, Footer, Header


class Bare(App):
    def compose(self):
        yield Header()
        yield DataTable()
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("#", "Name", "Layer", "Output shape", "Params")
        table.add_row("0", "conv2d", "Conv2D(32, 3x3, relu)", "(26, 26, 32)", "320")
        table.add_row("1", "conv2d_1", "Conv2D(64, 3x3, relu)", "(24, 24, 64)", "18,496")
        table.add_row("", "", "", "Total params", "18,816")


Bare().run()
"""
APP_ONLY = """
import os
import sys

os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")  # as the command line does
from convtui.model.preset import load_preset
from convtui.tui.app import ConvtuiApp

name = sys.argv[1] if len(sys.argv) > 1 else "seed-28x28x1"
ConvtuiApp(load_preset(name), source=name).run()
"""
SEED_NUMBERS = "18,816"
"""The seed net's total params: on screen in the bare app's table and in convtui's summary alike."""
FEATURE_MAP_CELLS = "\u2580" * 12
"""A row of one heatmap's half-block cells: on screen only once feature maps are drawn."""


def on_screen_seconds(command: list[str], marker: str, timeout: float = 30.0) -> float:
    """Seconds from starting `command` in a fresh 120x40 tmux session until `marker` is on its screen."""
    session = f"convtui-bench-{os.getpid()}"
    started = time.perf_counter()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(SIZE[0]), "-y", str(SIZE[1]), *CHILD_ENV, *command], check=True)
    try:
        while time.perf_counter() - started < timeout:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            if marker in screen:
                return time.perf_counter() - started
            time.sleep(0.005)
        raise RuntimeError(f"{marker!r} not on screen after {timeout} s: {' '.join(command)}\n{screen}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def floor_seconds(preset: str) -> tuple[float, float, float]:
    """In this process: (importing the engine, initialising the weights, the forward pass) for `preset`."""
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")  # as the command line does, before numpy is imported
    begun = time.perf_counter()
    from convtui.engine.forward import forward
    from convtui.catalogue import default_sample
    from convtui.engine.images import load_image
    from convtui.engine.weights import initial_weights
    from convtui.model.preset import load_preset

    info = load_preset(preset).infer()
    imported = time.perf_counter()
    weights = initial_weights(info, 0)
    initialised = time.perf_counter()
    image = load_image(default_sample(info.input_shape), info.input_shape)
    loaded = time.perf_counter()
    forward(info, image.pixels, weights)
    ran = time.perf_counter()
    return imported - begun, initialised - imported, ran - loaded


CHILD_ENV: list[str] = []
"""`env` arguments for the timed processes: bytecode cached as an installed package has it, in a
folder of the benchmark's own (a shell with PYTHONDONTWRITEBYTECODE=1 would otherwise compile
all of convtui's modules at every start, and none of Textual's, which are cached in site-packages)."""


def terminal_figures(repeats: int, app_only: bool) -> None:
    if shutil.which("tmux") is None:
        print("tmux not found: the real-terminal figures are skipped")
        return
    with tempfile.TemporaryDirectory() as folder:
        CHILD_ENV[:] = [
            "env",
            "-u",
            "PYTHONDONTWRITEBYTECODE",
            f"PYTHONPYCACHEPREFIX={Path(folder, 'pycache')}",
        ]
        bare_script = Path(folder, "bare_app.py")
        bare_script.write_text(BARE_APP)
        Path(folder, "app_only.py").write_text(APP_ONLY)
        convtui = [str(Path(sys.executable).with_name("convtui"))]
        if app_only:
            convtui = [sys.executable, str(Path(folder, "app_only.py"))]
        elif not Path(convtui[0]).exists():
            convtui = [sys.executable, "-m", "convtui"]
        bare, seed, vgg16 = [], [], []
        # One idle session keeps the tmux server up between runs: a server that exits as the last
        # session ends can refuse the next new-session ("server exited unexpectedly").
        keeper = f"convtui-bench-keeper-{os.getpid()}"
        subprocess.run(["tmux", "new-session", "-d", "-s", keeper, "sleep", "3600"], check=True)
        on_screen_seconds([sys.executable, str(bare_script)], SEED_NUMBERS)  # warm-up: bytecode written, files in the page cache
        on_screen_seconds([*convtui, "vgg16"], FEATURE_MAP_CELLS)
        for _ in range(repeats):  # alternating, so a busy moment of the machine hits all three alike
            bare.append(on_screen_seconds([sys.executable, str(bare_script)], SEED_NUMBERS))
            seed.append(on_screen_seconds(convtui, SEED_NUMBERS))
            vgg16.append(on_screen_seconds([*convtui, "vgg16"], FEATURE_MAP_CELLS))
        subprocess.run(["tmux", "kill-session", "-t", keeper], capture_output=True)
    print(f"in tmux at {SIZE[0]}x{SIZE[1]}, {repeats} runs alternating, from the command started to the figure on screen")
    print(f"  bare Textual app, a DataTable               {milliseconds(bare)}")
    print(f"  convtui, the seed's total params            {milliseconds(seed)}")
    print(f"  ratio convtui / bare (medians)               {statistics.median(seed) / statistics.median(bare):.2f}x   goal <= 1.3x")
    floors = [floor_seconds("vgg16") for _ in range(max(3, repeats // 2))]
    imports = floors[0][0]
    init, run = (statistics.median(values) for values in list(zip(*floors))[1:])
    print(f"  convtui vgg16, its feature maps             {milliseconds(vgg16)}   goal <= 0.8 s")
    print(f"  vgg16's floor, in-process: weights {1000 * init:.0f} ms + forward {1000 * run:.0f} ms = {1000 * (init + run):.0f} ms"
          f" (importing the engine: {1000 * imports:.0f} ms)")
    print(f"  vgg16 above its floor + the bare app         {1000 * (statistics.median(vgg16) - init - run - statistics.median(bare)):.0f} ms")
    print("  (the maps on screen are layer 0's early look: a long run shows the selected layer before the rest runs)")
    timelines = [vgg16_timeline_seconds() for _ in range(max(3, repeats // 2))]
    print(f"  vgg16 headless, in-process: layer 0's look   {milliseconds([early for early, _ in timelines])}")
    print(f"  vgg16 headless, in-process: whole run done   {milliseconds([done for _, done in timelines])}")


def milliseconds(values: list[float]) -> str:
    return f"median {1000 * statistics.median(values):7.1f} ms   (min {1000 * min(values):.1f}, max {1000 * max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--terminal-only", action="store_true", help="only the tmux figures")
    parser.add_argument("--app-only", action="store_true", help="start the app module directly, not through the command line")
    arguments = parser.parse_args()
    repeats = arguments.repeats
    with tempfile.TemporaryDirectory() as folder:
        # Recovery copies and recent files of the benchmark's own, here and in every app it starts:
        # none of this user's asks to be opened, and none of the benchmark's is left behind.
        os.environ.update(XDG_CACHE_HOME=folder, XDG_STATE_HOME=folder)
        measure(repeats, arguments.terminal_only, arguments.app_only)


def measure(repeats: int, terminal_only: bool, app_only: bool) -> None:
    terminal_figures(repeats, app_only)
    if terminal_only:
        return

    startups = [startup_seconds() for _ in range(max(3, repeats // 2))]
    print("start-up to the first complete screen (seed net, table + heatmaps painted), goal < 1 s")
    print(f"  whole process (interpreter start included)   {milliseconds([whole for whole, _ in startups])}")
    print(f"  from the script's first line                 {milliseconds([inside for _, inside in startups])}")

    handled, shown = asyncio.run(edit_timings("vgg16", repeats, wait_for_run=False))
    print("an edit on VGG16 (layer 1's filters halved or restored) to the updated table, goal < 50 ms")
    print(f"  propagation and the table's rows replaced   {milliseconds(handled)}")
    print(f"  to the next painted screen                   {milliseconds(shown)}")

    _, rerun = asyncio.run(edit_timings("seed-28x28x1", repeats, wait_for_run=True))
    print("the seed net's rerun after an edit, to the heatmaps painted, goal < 100 ms")
    print(f"  edit -> forward pass -> heatmaps on screen    {milliseconds(rerun)}")


if __name__ == "__main__":
    main()
