"""Layer arguments as a person types them in a form field: TOML values, bare words allowed.

`3`, `[3, 5]`, `true`, `0.5` and `"same"` read as TOML does; a bare word such as `same` or
`relu` is taken as that string; an empty field or `none` means None (Keras's default for
optional arguments). The layer's own converters then check the value, as for a preset.
"""

from __future__ import annotations

import tomllib
from typing import Any

from convtui.model.preset import compact, toml_value

NONE_WORDS = ("", "none", "null")


def parse_value(text: str) -> Any:
    stripped = text.strip()
    if stripped.lower() in NONE_WORDS:
        return None
    try:
        return tomllib.loads(f"value = {stripped}")["value"]
    except tomllib.TOMLDecodeError:
        return stripped


def value_text(value: Any) -> str:
    """The inverse of `parse_value` for normalised arguments: (3, 3) is written 3, strings bare."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return toml_value(compact(value))


def parse_names(text: str) -> tuple[str, ...]:
    """A layer's inputs as typed: "a, b" or ["a", "b"]; commas separate, brackets and quotes are optional."""
    parts = (part.strip().strip("\"'") for part in text.strip().strip("[]").split(","))
    return tuple(part for part in parts if part)
