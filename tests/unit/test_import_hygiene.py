"""The model stays light: importing it, loading a preset and propagating bring in no numpy, rich or textual.

Each check runs in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import convtui
from convtui.model import builtin_preset_names

PACKAGE = Path(convtui.__file__).parent
COMMAND_LINE = "convtui.cli"

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


def imported_names(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    """Every module (or name in one) that `path` imports, anywhere in it, inside functions too; relative imports made absolute."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            names += [module, *(f"{module}.{alias.name}" for alias in node.names)]
    return names


def imports_command_line(name: str) -> bool:
    return name == COMMAND_LINE or name.startswith(COMMAND_LINE + ".")


def test_nothing_but_the_command_line_imports_the_command_line():
    """Dependencies point one way: the app, the model, the engine, the renderers and interop never import convtui.cli."""
    offenders = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if PACKAGE / "cli" not in path.parents and path != PACKAGE / "__main__.py"
        for name in imported_names(path)
        if imports_command_line(name)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "statement",
    ["import convtui.cli", "from convtui import cli", "from convtui.cli.output import output_console", "from ..cli import parser", "from .. import cli"],
)
def test_the_check_sees_every_form_of_the_import_even_inside_a_function(tmp_path, statement):
    module = tmp_path / "convtui" / "tui" / "widget.py"
    module.parent.mkdir(parents=True)
    module.write_text(f"def later():\n    {statement}\n")
    assert any(imports_command_line(name) for name in imported_names(module, tmp_path))
    module.write_text("from convtui.interop.export import path_in_code\nfrom .. import client\n")
    assert not any(imports_command_line(name) for name in imported_names(module, tmp_path))


def test_opening_the_app_module_loads_no_command_line():
    code = "import sys\nimport convtui.tui.app\nprint(sorted(name for name in sys.modules if name.startswith('convtui.cli')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr
