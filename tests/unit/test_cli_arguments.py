"""The command line's own parsing: a mistyped command, option values that start with a dash."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from convtui.cli.parser import build_parser, value_options, with_attached_values, with_default_command


@pytest.mark.parametrize(("typed", "meant"), [("sumary", "summary"), ("rn", "run"), ("exprt", "export"), ("presest", "presets")])
def test_a_mistyped_command_says_which_was_meant(run_cli, typed, meant):
    result = run_cli(typed, "vgg16")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"convtui: error: unknown command '{typed}'; did you mean '{meant}'?\n"


def test_a_file_or_builtin_named_like_a_command_still_opens_as_a_stack(run_cli, tmp_path):
    """`convtui sumary` is the app on ./sumary when that file exists: the check never hides a real stack."""
    (tmp_path / "sumary").write_text('input_shape = [8, 8, 1]\nlayers = "no"\n', encoding="utf-8")
    result = run_cli("sumary", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown command" not in result.stderr and "sumary" in result.stderr


def test_a_word_like_no_command_is_still_taken_as_a_preset(run_cli):
    result = run_cli("vgg", "--no-such-flag")
    assert "unknown command" not in result.stderr


def run_options() -> set[str]:
    parser = build_parser()
    commands = next(action for action in parser._actions if action.dest == "command")
    return value_options(commands.choices["run"])


def test_the_options_that_take_a_value_are_found_and_flags_are_not():
    options = run_options()
    assert {"--max-memory", "--filters", "--seed", "--layer", "--image", "--weights"} <= options
    assert not options & {"--no-color", "--help", "-h"}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--max-memory", "-3G"], ["--max-memory=-3G"]),
        (["--filters", "-3:", "--layer", "-1"], ["--filters=-3:", "--layer=-1"]),
        (["-o", "-3.py"], ["-o-3.py"]),
        (["--no-color", "-3"], ["--no-color", "-3"]),  # a flag takes no value
        (["--max-memory", "--no-color"], ["--max-memory", "--no-color"]),  # an option is not a value
        (["--max-memory=-3G"], ["--max-memory=-3G"]),
    ],
)
def test_a_value_starting_with_a_dash_and_a_digit_is_attached_to_its_option(argv, expected):
    assert with_attached_values(argv, {*run_options(), "-o"}) == expected


def test_the_app_takes_the_forward_options_of_run():
    parser = build_parser()
    arguments = parser.parse_args(["app", "vgg16", "--max-memory", "4G", "--seed", "7", "--image", "scene"])
    assert (arguments.preset, arguments.max_memory, arguments.seed, arguments.image) == ("vgg16", 4 * 2**30, 7, "scene")
    defaults = parser.parse_args(["app"])
    assert (defaults.preset, defaults.max_memory, defaults.seed, defaults.image) == ("seed-28x28x1", 2 * 2**30, None, None)


def probe_huge_pages(environment: dict[str, str]) -> str:
    """Whether NumPy, imported by a command after main() started, asks for huge pages."""
    code = (
        "import sys; from convtui.cli import main; main(['summary', 'seed-28x28x1', '--json']);"
        " import numpy; print(numpy._core.multiarray._get_madvise_hugepage(), file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    return result.stderr.strip()


def test_the_cli_turns_numpys_huge_pages_off_unless_the_user_chose():
    environment = {key: value for key, value in os.environ.items() if key != "NUMPY_MADVISE_HUGEPAGE"}
    assert probe_huge_pages(environment) == "False"
    assert probe_huge_pages({**environment, "NUMPY_MADVISE_HUGEPAGE": "1"}) == "True"


@pytest.mark.parametrize("word", ["diff.toml", "import.h5", "summry.toml", "sub/run"])
def test_a_path_that_does_not_exist_is_not_taken_for_a_mistyped_command(run_cli, word):
    result = run_cli(word)
    assert result.returncode == 2 and "unknown command" not in result.stderr and "no such file" in result.stderr


@pytest.mark.parametrize("arguments", [["--seed", "3"], ["--image", "digit"], ["--max-memory", "1G"]])
def test_the_apps_options_work_without_a_preset(arguments):
    parsed = build_parser().parse_args(with_default_command(arguments, ["app", "run", "summary"]))
    assert parsed.command == "app" and parsed.preset == "seed-28x28x1"


def test_a_bad_option_of_the_implied_app_points_to_the_command_the_user_typed(run_cli):
    implied = run_cli("--seed", "-5")
    assert implied.returncode == 2
    assert implied.stderr.strip().endswith("see `convtui --help`")
    assert "convtui app" not in implied.stderr
    explicit = run_cli("app", "--seed", "-5")
    assert explicit.returncode == 2 and explicit.stderr.strip().endswith("see `convtui app --help`")
    assert "--seed N" in run_cli("--help").stdout


@pytest.mark.parametrize(("argv", "points_to"), [(("summary", "seed-28x28x1", "--seed", "3"), "convtui summary"), (("--bogus",), "convtui")])
def test_an_option_the_command_does_not_take_points_to_that_commands_help(run_cli, argv, points_to):
    """`summary` has no --seed: the message names the command's own --help, where the user finds what it takes, after
    the prefix every error has."""
    result = run_cli(*argv)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"convtui: error: unrecognized arguments: {' '.join(argv[2:] or argv)}; see `{points_to} --help`\n"
