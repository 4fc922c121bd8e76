"""The app's first screen paints before numpy, Pillow, h5py, the engine or the Keras import and
exporters are imported: they load in the forward worker, or when first used (issue 10).

Each check runs in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("numpy", "PIL", "h5py", "convtui.engine")
"""Never imported before the first paint, nor any module of convtui.interop (its package is an index of names that
imports nothing)."""

REPORT = """
import json, sys
heavy = sorted(name for name in sys.modules if name.split(".")[0] in {"numpy", "PIL", "h5py"} and "." not in name
               or name == "convtui.engine" or name.startswith(("convtui.engine.", "convtui.interop.")))
print(json.dumps(heavy))
"""


def heavy_modules_after(code: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", code + "\n" + REPORT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_the_app_imports_nothing_heavy():
    assert heavy_modules_after("import convtui.tui.app") == []


@pytest.mark.parametrize("preset", ["seed-28x28x1", "vgg16"])
def test_building_the_app_imports_nothing_heavy(preset):
    code = (
        "from convtui.model.preset import load_preset\n"
        "from convtui.tui.app import ConvtuiApp\n"
        f"app = ConvtuiApp(load_preset({preset!r}), source={preset!r})\n"
        "app.update_title()\n"
    )
    assert heavy_modules_after(code) == []


FIRST_PAINT = """
import asyncio, importlib.abc, json, re, sys, threading

from convtui.model.preset import load_preset
from convtui.tui.app import ConvtuiApp

painted = []
numpy_imported = {}
app = ConvtuiApp(load_preset("seed-28x28x1"), source="seed-28x28x1")


class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and not numpy_imported:
            numpy_imported.update(thread=threading.current_thread().name, after_paints=len(painted))
        return None


sys.meta_path.insert(0, Watch())
display = app._display


def watched_display(screen, renderable):
    if renderable is not None and not numpy_imported:
        text = re.sub(r"\\x1b\\[[0-9;?]*[A-Za-z]", "", renderable.render_segments(app.console))
        painted.append("Total params 18,816" in text)
    display(screen, renderable)


app._display = watched_display


async def main():
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        while app.view_state.run.status != "done":
            await pilot.pause()
        await pilot.pause()


asyncio.run(main())
print(json.dumps({"painted_before_numpy": any(painted), "numpy": numpy_imported, "main": threading.main_thread().name}))
"""


def test_the_seed_numbers_are_painted_before_the_forward_worker_imports_numpy():
    result = subprocess.run([sys.executable, "-c", FIRST_PAINT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["painted_before_numpy"], report
    assert report["numpy"], "the forward pass never imported numpy"
    assert report["numpy"]["thread"] != report["main"], report  # in the worker, off the event loop


def test_the_catalogue_names_every_optimiser_the_engine_has_with_its_default_rate():
    """The parser's choices and the Train view's form (no numpy) come from the catalogue: it must list them all."""
    from convtui.catalogue import OPTIMIZER_DEFAULT_RATES
    from convtui.engine.optimizers import OPTIMIZERS

    assert set(OPTIMIZERS) == set(OPTIMIZER_DEFAULT_RATES)
    assert {name: kind().learning_rate for name, kind in OPTIMIZERS.items()} == {"sgd": 0.01, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.001}


DEFERRED = (
    "convtui.tui.widgets.feature_maps",
    "convtui.tui.widgets.explain",
    "convtui.tui.widgets.kernels",
    "convtui.tui.widgets.input_view",
    "convtui.tui.widgets.compare",
    "convtui.tui.widgets.train_view",
    "convtui.tui.train_session",
    "convtui.tui.screens.help",
    "convtui.tui.screens.layer_form",
    "convtui.tui.screens.layer_picker",
    "convtui.tui.screens.open_stack",
    "convtui.tui.screens.prompt",
    "convtui.tui.screens.dialog",
    "convtui.model.diff",
    "convtui.model.explain",
    "convtui.render.graph",
    "convtui.tui.graph_edits",
    "convtui.model.layers.activation",
    "convtui.model.layers.core",
    "convtui.model.layers.merging",
    "convtui.model.layers.normalization",
    "convtui.model.layers.pooling",
    "convtui.model.layers.reshaping",
    "convtui.cli.summary",
    "convtui.cli.run",
    "convtui.cli.train",
    "convtui.cli.presets",
    "convtui.cli.import_",
    "convtui.cli.export",
    "convtui.cli.diff",
    "convtui.cli.serve",
    "convtui.tui.widgets.view_tabs",
    "textual.widgets._tabbed_content",
)
"""The views, the dialogs and training: none of them is on the first screen; nor the layer families
the seed net (two Conv2D) does not use, a graph's lanes and edits, the formulas, the stack diff,
the command line's other commands, or the views' tabs (Textual's tabs with them)."""

FIRST_FRAME_THROUGH_THE_COMMAND = """
import gc, json, re, sys
import convtui.tui.app as app_module
from convtui.cli import main

report = {}
mounted = app_module.ConvtuiApp.on_mount


def on_mount(app):
    display = app._display

    def watched_display(screen, renderable):
        if renderable is not None and "frame" not in report:
            text = re.sub(r"\\x1b\\[[0-9;?]*[A-Za-z]", "", renderable.render_segments(app.console))
            if "Total params 18,816" in text:
                report["frame"] = {
                    "collecting": gc.isenabled(),
                    "loaded": sorted(name for name in DEFERRED if name in sys.modules),
                    "dialog_css": any("#dialog {" in source.content for source in app.stylesheet.source.values()),
                }
        display(screen, renderable)

    app._display = watched_display
    app.set_timer(0.5, lambda: (report.update(collecting_later=gc.isenabled()), app.exit()))
    mounted(app)


app_module.ConvtuiApp.on_mount = on_mount
main(["app", "seed-28x28x1"])
report["collecting_after"] = gc.isenabled()
print(json.dumps(report))
"""


def test_the_first_frame_comes_before_the_views_dialogs_and_training_load_and_before_any_collection():
    code = f"DEFERRED = {DEFERRED!r}\n" + FIRST_FRAME_THROUGH_THE_COMMAND
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env={**os.environ, "TERM": "xterm-256color"})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["frame"]["loaded"] == [], report
    assert not report["frame"]["dialog_css"], "the dialogs' CSS is read when the first dialog opens (dialogs.tcss)"
    assert not report["frame"]["collecting"], "the collector is paused until the first frame (convtui/startup.py)"
    assert report["collecting_later"] and report["collecting_after"], report


def test_the_collector_is_paused_only_where_it_ran_and_resumed_only_by_who_paused_it():
    import gc

    from convtui.startup import collection_paused, pause_collection, resume_collection

    assert gc.isenabled()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert gc.isenabled(), "the block restores a running collector"
        pause_collection()
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "a block inside the command's pause leaves it paused for the app"
        resume_collection()
        assert gc.isenabled()
        gc.disable()
        resume_collection()
        assert not gc.isenabled(), "a collector disabled by the caller is not turned on"
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_command_that_fails_before_the_app_runs_resumes_the_collector():
    code = "import gc; from convtui.cli import main; code = main(['no-such-preset']); print(code, gc.isenabled())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["2", "True"], result.stderr
