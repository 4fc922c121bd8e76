"""Writing Python source: literals, calls, and the pieces every exported file shares."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from convtui.model.stack import Stack

INDENT = "    "
DOCSTRING_WIDTH = 96


def literal(value: Any) -> str:
    """Python source for a value: strings in double quotes, (x,) for one-element tuples."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(round(value, 12))
    if isinstance(value, (tuple, list)):
        items = ", ".join(literal(item) for item in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    return repr(value)


def call(function: str, positional: Sequence[Any] = (), keywords: Mapping[str, Any] | None = None) -> str:
    """`function(positional..., name=value...)`; values are written with `literal`, raw code with `Code`."""
    parts = [source(value) for value in positional]
    parts += [f"{name}={source(value)}" for name, value in (keywords or {}).items()]
    return f"{function}({', '.join(parts)})"


class Code(str):
    """Source text written as is by `call` (not as a string literal)."""


def source(value: Any) -> str:
    return str(value) if isinstance(value, Code) else literal(value)


def identifier(name: str) -> str:
    """A name usable as a Keras model name: letters, digits and underscores."""
    return re.sub(r"\W+", "_", name).strip("_") or "model"


def docstring(stack: Stack, paragraphs: Sequence[str], bullets: Sequence[str] = ()) -> str:
    """The generated file's docstring: the stack's name and description, paragraphs, a bullet list; wrapped."""
    title = f"{stack.name}: {stack.description}" if stack.description else stack.name
    blocks = [textwrap.fill(text, DOCSTRING_WIDTH) for text in (title, *paragraphs)]
    if bullets:
        blocks.append("\n".join(textwrap.fill(text, DOCSTRING_WIDTH, initial_indent="- ", subsequent_indent="  ") for text in bullets))
    text = "\n\n".join(blocks).replace(chr(34) * 3, chr(39) * 3)
    return f'"""{text}\n"""'


def weights_location(weights_path: str) -> str:
    """An absolute path as is; a relative one from the generated file's folder, so the pair can move together."""
    path = PurePath(weights_path)
    if path.is_absolute():
        return f"Path({literal(str(path))})"
    return f"Path(__file__).parent / {literal(path.as_posix())}"


def commented(code: str, comment: str) -> str:
    return f"{code}  # {comment}" if comment else code
