"""`convtui app` (and `convtui [PRESET]`, which means it): open the interactive app."""

from __future__ import annotations

import argparse

from convtui.cli.options import DEFAULT_PRESET, MODEL_FILE_HELP, add_forward_options
from convtui.cli.sources import chosen_seed, load_source
from convtui.startup import pause_collection, resume_collection


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("app", help="open the interactive app (the default)", description="Open the app.")
    parser.add_argument("preset", nargs="?", default=DEFAULT_PRESET, help=f"built-in preset name, .toml file, or {MODEL_FILE_HELP}")
    add_forward_options(parser)
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    """A preset (built-in name or .toml), or a Keras model file opened with its weights and import notes."""
    pause_collection()  # until the app's first frame is shown (startup.py)
    try:
        from convtui.tui.app import ConvtuiApp

        opened = load_source(arguments.preset, input_shape=arguments.input_shape)
        app = ConvtuiApp(
            opened.stack,
            weights=opened.weights,
            notes=opened.notes,
            source=arguments.preset,
            seed=chosen_seed(arguments.seed, opened),
            image=arguments.image,
            max_memory=arguments.max_memory,
        )
        app.run()
    finally:
        resume_collection()  # the app did on its first frame, unless it ended before
    return app.return_code or 0  # non-zero when the app ended on an error, so a crash is not a success
