"""`convtui serve` checks its arguments as `convtui PRESET` does, then hands convtui.web the app's own command line.

convtui.web.serve_app is replaced by a recorder: no server starts here (tests/web covers the server).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from convtui.cli import main
from convtui.cli.parser import build_parser

Served = list[tuple[list[str], str, int]]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    calls: Served = []

    def record(app_arguments: Sequence[str], host: str, port: int) -> None:
        calls.append((list(app_arguments), host, port))

    monkeypatch.setattr("convtui.web.serve_app", record)
    return calls


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def exit_code_of(arguments: list[str]) -> int:
    try:
        return main(arguments)
    except SystemExit as exit:
        return int(exit.code or 0)


def test_serve_alone_serves_the_default_preset_on_this_machine(served: Served):
    assert main(["serve"]) == 0
    assert served == [(["app", "seed-28x28x1"], "127.0.0.1", 8000)]


def test_the_app_options_given_are_passed_on_and_the_app_parses_them_to_the_same_values(served: Served):
    given = ["lenet5", "--host", "0.0.0.0", "--port", "9000", "--seed", "3", "--input-shape", "32,32,1", "--image", "digit", "--max-memory", "1G"]
    assert main(["serve", *given]) == 0
    [(app_arguments, host, port)] = served
    assert (host, port) == ("0.0.0.0", 9000)
    assert app_arguments[:2] == ["app", "lenet5"]
    opened = build_parser().parse_args(app_arguments)
    assert (opened.preset, opened.seed, opened.input_shape, opened.image, opened.max_memory) == ("lenet5", 3, (32, 32, 1), "digit", 2**30)


def test_options_not_given_are_left_to_the_app(served: Served):
    assert main(["serve", "lenet5", "--port", "8001"]) == 0
    assert served[0][0] == ["app", "lenet5"]


def test_a_preset_file_is_passed_as_typed_for_the_app_runs_in_the_same_folder(served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train").write_text('name = "mine"\ninput_shape = [8, 8, 1]\n\n[[layers]]\ntype = "Flatten"\n')
    assert main(["serve", "./train"]) == 0
    assert served[0][0] == ["app", "./train"]  # `app` first: never the train command


@pytest.mark.parametrize("port", ["0", "65536", "-1", "http", "80.5"])
def test_a_port_out_of_range_is_one_line_and_exit_2(served: Served, capsys: pytest.CaptureFixture[str], port: str):
    assert exit_code_of(["serve", "--port", port]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("convtui: error: argument --port: ") and "is not a port; give a whole number from 1 to 65535" in line
    assert served == []


def test_an_empty_host_is_one_line_and_exit_2(served: Served, capsys: pytest.CaptureFixture[str]):
    assert exit_code_of(["serve", "--host", " "]) == 2
    assert "argument --host: is empty" in one_error_line(capsys.readouterr().err)
    assert served == []


def test_a_preset_that_does_not_exist_is_the_apps_own_error_before_any_server(served: Served, capsys: pytest.CaptureFixture[str], tmp_path: Path):
    missing = tmp_path / "nope.toml"
    assert exit_code_of(["serve", str(missing)]) == 2
    serve_error = one_error_line(capsys.readouterr().err)
    assert serve_error.startswith(f"convtui: error: {missing}: no such file or built-in preset")
    assert served == []


def test_the_app_options_are_checked_as_the_app_checks_them(served: Served, capsys: pytest.CaptureFixture[str]):
    assert exit_code_of(["serve", "--seed", "-3"]) == 2
    assert "argument --seed: '-3' is not a seed" in one_error_line(capsys.readouterr().err)
    assert exit_code_of(["serve", "lenet5", "--input-shape", "0,0,1"]) == 2
    assert "is not an input shape" in one_error_line(capsys.readouterr().err)
    assert served == []


def test_other_commands_never_load_the_web_server():
    code = (
        "import contextlib, io, json, sys\n"
        "from convtui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['summary', 'seed-28x28x1'])\n"
        "print(json.dumps(sorted(name for name in sys.modules if name.split('.')[0] in ('aiohttp', 'textual_serve') or name == 'convtui.web')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []
