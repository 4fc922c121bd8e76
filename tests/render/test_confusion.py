"""The confusion matrix as `convtui train` prints it: its title on one line where the terminal is wide enough, and
ASCII (class names escaped) where the output cannot encode Unicode, instead of a UnicodeEncodeError."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

from convtui.render.confusion import ConfusionMatrix

TITLE = "Confusion matrix on the validation set: accuracy 0.5000"


def printed(matrix: ConfusionMatrix, width: int, encoding: str = "utf-8") -> list[str]:
    """The lines a console of `width` columns writing to an output in `encoding` prints, without trailing spaces."""
    file = io.TextIOWrapper(io.BytesIO(), encoding=encoding)
    Console(file=file, width=width, color_system=None).print(matrix)
    file.flush()
    return [line.rstrip() for line in file.buffer.getvalue().decode(encoding).splitlines()]  # type: ignore[attr-defined]


def test_the_title_takes_one_line_where_the_width_allows_however_narrow_the_table() -> None:
    lines = printed(ConfusionMatrix(np.array([[1]]), ("a",), title=TITLE), width=100)
    assert lines[0] == TITLE
    assert lines[1].split() == ["true", "\\", "predicted", "a", "accuracy"]


def test_the_title_wraps_at_the_width_it_is_given() -> None:
    lines = printed(ConfusionMatrix(np.array([[1, 1], [0, 2]]), ("a", "b"), title=TITLE), width=40)
    title_lines = lines[: lines.index(next(line for line in lines if line.startswith(" true")))]
    assert len(title_lines) == 2 and all(len(line) <= 40 for line in title_lines)
    assert " ".join(title_lines) == TITLE


def test_an_ascii_output_gets_dots_for_empty_cells_and_escaped_names() -> None:
    matrix = ConfusionMatrix(np.array([[3, 0], [1, 2]]), ("café", "thé"), title=TITLE)
    lines = printed(matrix, width=100, encoding="ascii")
    assert lines[2].split() == ["caf\\xe9", "3", ".", "1.00"]
    assert lines[3].split() == ["th\\xe9", "1", "2", "0.67"]


def test_a_unicode_output_keeps_the_middle_dot_and_the_names() -> None:
    lines = printed(ConfusionMatrix(np.array([[3, 0], [1, 2]]), ("café", "thé")), width=100)
    assert lines[1].split() == ["café", "3", "·", "1.00"]
