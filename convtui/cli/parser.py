"""The `convtui` parser: every command's subparser, and the reading of argv that argparse alone does not do
(the app as the default command, a mistyped command or option, option values that start with a dash, a file here
named like a built-in preset).

Each command's module is imported only when the parser needs its subparser: every one for the
top-level --help, the one named otherwise, so `convtui` opens the app without loading the other
commands. None of them imports anything heavy at the top.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from convtui.errors import printable

EXIT_USAGE = 2
PROGRAM = "convtui"
ERROR_PREFIX = f"{PROGRAM}: error:"
"""Every error's first words, argparse's too: a script greps one prefix."""

COMMAND_MODULES: dict[str, str] = {
    "app": "app",
    "summary": "summary",
    "run": "run",
    "train": "train",
    "presets": "presets",
    "import": "import_",
    "export": "export",
    "diff": "diff",
    "serve": "serve",
}
"""Each command and its module in convtui.cli (which adds its subparser with `add_command`), in --help's order."""
TOP_LEVEL_OPTIONS = ("-h", "--help", "--version")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, with the prefix of every other error, that says where to look, then exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{ERROR_PREFIX} {message}; see `{self.prog} --help`\n")


def build_parser(commands: Sequence[str] = tuple(COMMAND_MODULES)) -> argparse.ArgumentParser:
    """The parser with the subparsers of `commands` (all by default), their modules imported now."""
    from convtui import __version__

    parser = OneLineParser(
        prog=PROGRAM,
        description="Build a convolutional network and watch every shape, weight and feature map. "
        "`convtui [PRESET] [--seed N] [--image IMAGE] [--max-memory SIZE] [--input-shape H,W,C] [--threads N]` opens the app"
        " (the same as `convtui app ...`).",
    )
    parser.add_argument("--version", action="version", version=f"convtui {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in commands:
        add_command: Callable[[argparse._SubParsersAction], None] = importlib.import_module(f"convtui.cli.{COMMAND_MODULES[name]}").add_command
        add_command(subparsers)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each command's name and its parser."""
    return next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction)).choices


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """argv as the user means it: `convtui PRESET` opens the app, `convtui summray` is a typo, not a preset.

    The parser holds the named command's subparser only (every one for a top-level option such as --help).
    """
    names = list(COMMAND_MODULES)
    if argv and (meant := mistyped_command(argv[0], names)) is not None:
        print(f"{ERROR_PREFIX} unknown command '{printable(argv[0])}'; did you mean '{meant}'?", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    implied_app = not argv or argv[0] != "app"
    argv = with_default_command(argv, names)
    parser = build_parser([argv[0]] if argv[0] in COMMAND_MODULES else names)
    command = subcommands(parser).get(argv[0])
    if argv[0] == "app" and implied_app:
        command.prog = PROGRAM  # its errors point to `convtui --help`, the command the user typed
    if command is not None:
        argv = [argv[0], *with_attached_values(argv[1:], value_options(command))]
    arguments, extras = parser.parse_known_args(argv)
    if extras:  # the command's own parser says so: `convtui summary --help` lists what summary takes
        hint = meant_option(extras, command, argv[0]) if command is not None else None
        (command or parser).error(f"unrecognized arguments: {printable(' '.join(extras))}" + (f" (did you mean {hint}?)" if hint else ""))
    if command is not None:
        note_shadowed_builtins(arguments, command)
    return arguments


def meant_option(extras: list[str], command: argparse.ArgumentParser, name: str) -> str | None:
    """What the first unknown option was probably meant to be: the command's own word for it (its module's
    MEANT_OPTIONS: summary's `--csv` is `--format csv`), else the closest option it takes (`--explian`)."""
    option = next((extra.split("=", 1)[0] for extra in extras if extra.startswith("--")), None)
    if option is None:
        return None
    meant: dict[str, str] = getattr(importlib.import_module(f"convtui.cli.{COMMAND_MODULES[name]}"), "MEANT_OPTIONS", {})
    if option in meant:
        return meant[option]
    known = [string for action in command._actions for string in action.option_strings if string.startswith("--") and string != "--help"]
    matches = difflib.get_close_matches(option, known, n=1, cutoff=0.75)
    return matches[0] if matches else None


def note_shadowed_builtins(arguments: argparse.Namespace, command: argparse.ArgumentParser) -> None:
    """A stack named like a built-in (`lenet5`) opens the file of that name in this folder when there is one: a note
    says so, else the same command gives other numbers run from another folder, in silence."""
    from convtui.model.preset import builtin_preset_names

    builtins = set(builtin_preset_names())
    for action in command._actions:
        value = getattr(arguments, action.dest, None) if not action.option_strings else None
        if isinstance(value, str) and value in builtins and Path(value).exists():
            print(
                f"convtui: note: {value} is the file {Path(value).absolute()}, not the built-in preset {value}; rename the file"
                " (or run from another folder) to open the built-in",
                file=sys.stderr,
            )


def with_default_command(argv: list[str], commands: Sequence[str]) -> list[str]:
    """`convtui`, `convtui PRESET` and `convtui --seed 3` mean `convtui app ...`."""
    if not argv or (argv[0] not in commands and argv[0] not in TOP_LEVEL_OPTIONS):
        return ["app", *argv]
    return argv


def mistyped_command(word: str, commands: Sequence[str]) -> str | None:
    """The command a first word was probably meant to be; None when it may be a stack to open (a file, a built-in)."""
    from convtui.model.preset import is_builtin_name

    looks_like_a_path = "." in word or "/" in word or "\\" in word  # net.toml, model.keras, sub/net: "no such file" says more
    if word in commands or word.startswith("-") or looks_like_a_path or Path(word).exists() or is_builtin_name(word):
        return None
    matches = difflib.get_close_matches(word, commands, n=1)
    return matches[0] if matches else None


def value_options(parser: argparse.ArgumentParser) -> set[str]:
    """The option strings of `parser` that take a value (--max-memory, -o ...), not flags."""
    return {option for action in parser._actions if action.nargs != 0 for option in action.option_strings}


def with_attached_values(argv: list[str], options: set[str]) -> list[str]:
    """`--max-memory -3G` as `--max-memory=-3G`: argparse takes a value starting with a dash for an option.

    Attached, the value reaches its own validation, which says what is wrong with it.
    """
    joined: list[str] = []
    for argument in argv:
        option = joined[-1] if joined else ""
        if option in options and argument[:1] == "-" and argument[1:2].isdigit():
            joined[-1] = f"{option}={argument}" if option.startswith("--") else f"{option}{argument}"
        else:
            joined.append(argument)
    return joined
