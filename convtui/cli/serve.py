"""`convtui serve`: the app in a browser, through textual-serve, one app per browser tab.

The arguments are checked here, once, as `convtui PRESET` checks them (a stack that cannot be
opened is one line and exit 2), so that no tab opens on an error; convtui.web (and aiohttp with
it) is imported only when the server starts.
"""

from __future__ import annotations

import argparse

from convtui.cli.options import DEFAULT_PRESET, MODEL_FILE_HELP, add_forward_options
from convtui.cli.sources import load_source
from convtui.cli.values import host_name, port_number

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve the app to a web browser (one app per tab)",
        description="Serve the app through textual-serve: every browser tab that opens the address runs `convtui PRESET ...`"
        " on this machine, in this folder.",
    )
    parser.add_argument("preset", nargs="?", default=DEFAULT_PRESET, help=f"built-in preset name, .toml file, or {MODEL_FILE_HELP}")
    parser.add_argument("--host", type=host_name, default=DEFAULT_HOST, help=f"the address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0: every network)")
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"the port to listen on, 1 to 65535 (default {DEFAULT_PORT})")
    add_forward_options(parser)
    parser.set_defaults(handler=handle, seed=None, max_memory=None)  # the app's own defaults apply to what is not given


def app_arguments(arguments: argparse.Namespace) -> list[str]:
    """The `convtui ...` arguments of every tab's app: the preset and the app's options that were given, as the app parses them."""
    given = [
        ("--input-shape", None if arguments.input_shape is None else ",".join(map(str, arguments.input_shape))),
        ("--image", arguments.image),
        ("--seed", None if arguments.seed is None else str(arguments.seed)),
        ("--max-memory", None if arguments.max_memory is None else str(arguments.max_memory)),
    ]
    # `app` first: a preset file named like a command (./train) opens as a preset, not as that command.
    return ["app", arguments.preset, *(f"{option}={value}" for option, value in given if value is not None)]


def handle(arguments: argparse.Namespace) -> int:
    from convtui.web import serve_app

    load_source(arguments.preset, input_shape=arguments.input_shape)  # what the app opens first: its errors end here, once
    serve_app(app_arguments(arguments), host=arguments.host, port=arguments.port)
    return 0
