"""The `convtui` command: the app by default, and `summary`, `run`, `train`, `import`, `export`, `diff`, `serve`, `presets`.

One module per command (its subparser and its handler), `parser` for the parser and argv,
`values` and `options` for what several commands parse alike, `sources`, `output` and `writing`
for what they open, print and write alike. Nothing else in convtui imports this package.

Errors the user can cause print one line on stderr and exit 2 (1 for a stack with an invalid
layer); a command imports numpy, the engine or textual only when it runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from convtui.cli.options import apply_engine_options
from convtui.cli.parser import parse_arguments
from convtui.errors import ConvtuiError


def main(argv: Sequence[str] | None = None) -> int:
    # NumPy asks the kernel for huge pages for every large array; the first touch of each can then
    # wait for memory compaction. convtui allocates every layer's output afresh (all are kept), and
    # `convtui run vgg16` took 0.73-1.26 s with them (median 1.15) and 0.88-0.93 s without. Read when
    # NumPy is imported, which no command has done yet; a value the user set is kept.
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    arguments = parse_arguments(list(sys.argv[1:] if argv is None else argv))
    apply_engine_options(arguments, os.environ)
    try:
        return arguments.handler(arguments)
    except ConvtuiError as error:
        print(f"convtui: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
