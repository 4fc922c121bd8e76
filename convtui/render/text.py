"""Line breaking shared by what prints text at a width: the train command's end line and rows, the app's table cells."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len


def packed(pieces: Sequence[str], width: int, separator: str = " ") -> list[str]:
    """`pieces` joined by `separator` in as few lines as fit in `width`, broken only between pieces: a path or a
    command given as one piece stays whole, where a terminal cuts it at the edge. A piece wider than that gets a
    line of its own; a line does not start with the spaces a piece may lead with."""
    lines: list[str] = []
    for piece in pieces:
        if lines and cell_len(lines[-1] + separator + piece) <= width:
            lines[-1] += separator + piece
        else:
            lines.append(piece.lstrip())
    return lines
