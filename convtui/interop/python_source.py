"""Writing Python source: literals, calls, and the pieces every exported file shares, the graph walk first."""

from __future__ import annotations

import json
import keyword
import re
import textwrap
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from convtui.model.graph import INPUT_NAME
from convtui.model.stack import LayerInfo, Stack, StackInfo

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


# --- the graph walk both exporters share ----------------------------------------------------

INPUT_VARIABLE = "inputs"
CHAIN_VARIABLE = "x"
"""A node's output that only the next node reads (a chain's) goes through `x`; any other gets its own name."""


@dataclass(frozen=True)
class Step:
    """One node of the exported code: what it reads and the local variable its output goes to."""

    info: LayerInfo
    sources: tuple[str, ...]
    target: str


@dataclass(frozen=True)
class GraphWalk:
    """The nodes to write in file order, the variables the model returns, and the nodes Keras would leave out."""

    steps: tuple[Step, ...]
    outputs: tuple[str, ...]
    unused: tuple[LayerInfo, ...]


def python_name(name: str, taken: Collection[str], reserved: Collection[str] = ()) -> str:
    """A Python identifier for a layer name, not in `taken` nor `reserved` nor a keyword (a suffix otherwise)."""
    base = re.sub(r"\W+", "_", ascii_letters(name), flags=re.ASCII).strip("_") or "layer"
    if base[0].isdigit():
        base = f"layer_{base}"
    if keyword.iskeyword(base) or base in reserved:
        base += "_"
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}_{number}"
    return candidate


def ascii_letters(name: str) -> str:
    """The name with accents dropped ("côdé" -> "code"), so that its variable still reads as the layer's name."""
    return "".join(character for character in unicodedata.normalize("NFKD", name) if not unicodedata.combining(character))


def graph_walk(stack_info: StackInfo) -> GraphWalk:
    """Every used node with its input and output variables, so both exporters write the same dataflow."""
    used = [info for info in stack_info.layers if info.index not in stack_info.unused]
    output_names = stack_info.outputs or tuple(info.name for info in stack_info.output_layers)  # in the order `outputs` gives
    readers: dict[str, list[int]] = {}
    for position, info in enumerate(used):
        for name in info.inputs:
            readers.setdefault(name, []).append(position)
    for name in output_names:
        readers.setdefault(name, []).append(len(used))  # the model's return, after the last node
    variables = {INPUT_NAME: INPUT_VARIABLE}
    for position, info in enumerate(used):
        chained = readers.get(info.name) == [position + 1]
        variables[info.name] = CHAIN_VARIABLE if chained else python_name(f"x_{info.name}", variables.values())
    steps = tuple(Step(info, tuple(variables[name] for name in info.inputs), variables[info.name]) for info in used)
    unused = tuple(info for info in stack_info.layers if info.index in stack_info.unused)
    return GraphWalk(steps, tuple(variables[name] for name in output_names) or (INPUT_VARIABLE,), unused)


def unused_comment(info: LayerInfo) -> str:
    """The line that says why a node is not in the code."""
    return f'# layer {info.index} "{info.name}" ({info.layer.label}) leads to no output: left out, as Keras leaves it out'


def node_title(info: LayerInfo) -> str:
    return f'# layer {info.index} "{info.name}": {info.layer.label}'
