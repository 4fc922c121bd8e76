"""The app's responsiveness, in a headless terminal: start-up to the first complete screen, an
edit on VGG16 to the updated table on screen, and the seed net's rerun after an edit to the
heatmaps on screen. Medians of several tries; prints figures, asserts nothing.

    python benchmarks/bench_app.py [--repeats 7]

Goals (issue 4): start-up under 1 s, VGG16 edit under 50 ms, seed net heatmaps within 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
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
            assert table.get_row_at(2)[1].plain == changed.label
            if wait_for_run:
                await until(lambda: app.view_state.run.status == "done")
            await painted(app)
            shown.append(time.perf_counter() - start)
            await until(lambda: app.view_state.run.status == "done")
            await pilot.pause()
    return handled, shown


def milliseconds(values: list[float]) -> str:
    return f"median {1000 * statistics.median(values):7.1f} ms   (min {1000 * min(values):.1f}, max {1000 * max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats

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
