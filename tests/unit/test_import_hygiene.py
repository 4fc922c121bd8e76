"""The model stays light: importing it, loading a preset and propagating bring in no numpy, rich or textual.

Each check runs in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from convtui.model import builtin_preset_names

REPORT = """
import json, sys
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1].split(",")))
print(json.dumps(heavy))
"""


def heavy_modules_after(code: str, forbidden: tuple[str, ...] = ("numpy", "rich", "textual")) -> list[str]:
    script = code + "\n" + REPORT
    result = subprocess.run(
        [sys.executable, "-c", script, ",".join(forbidden)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_the_model_imports_no_numpy_rich_or_textual():
    assert heavy_modules_after("import convtui.model\nimport convtui.model.explain") == []


def test_loading_a_builtin_preset_and_inferring_imports_no_numpy_rich_or_textual():
    assert "seed-28x28x1" in builtin_preset_names()
    code = "from convtui import load_preset\ninfo = load_preset('seed-28x28x1').infer()\nassert info.total_params == 18816"
    assert heavy_modules_after(code) == []


def test_loading_a_preset_file_saving_it_and_explaining_imports_no_numpy_rich_or_textual(tmp_path):
    path = tmp_path / "copy.toml"
    code = (
        "from convtui import load_preset, save_preset\n"
        "from convtui.model.explain import explain\n"
        f"save_preset(load_preset('seed-28x28x3-5x5'), {str(path)!r})\n"
        f"info = load_preset({str(path)!r}).infer()\n"
        "explain(info, 1, 'torch')\n"
    )
    assert heavy_modules_after(code) == []


@pytest.mark.parametrize("arguments", [["summary", "seed-28x28x1", "--json"], ["summary", "seed-28x28x1"], ["presets"]])
def test_the_summary_and_presets_commands_never_import_textual_or_numpy(arguments):
    code = (
        "import contextlib, io\n"
        "from convtui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main({arguments!r}) == 0\n"
    )
    assert heavy_modules_after(code, ("textual", "numpy")) == []
