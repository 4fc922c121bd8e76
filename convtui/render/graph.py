"""The graph drawn in text: a gutter of branch lanes left of each row of a stack's table, drawn
the way `git log --graph` draws merges (git's graph.c): one column per live edge, a node where
its row is, lanes that merge into it (`●─╯`) and fork from it (`●─╮`) on the node's own line.

API, independent of Textual (the summary and the app's stack table both call it):

    cells = graph_gutter(stack_info, rows=None, ascii=False)

- `rows`: the table's rows below the input, from `convtui.model.blocks.table_rows` (a folded
  block is one row, one node); None: every layer.
- The result: one `GutterCell` for the input row, then one per row, all the same width.
  `cell.node` is the row's first line, `cell.through` each further line of a taller row (the
  lanes going on down), `cell.lines(height)` both. One line per row is enough to read the graph.
- A layer that nothing uses on the way to an output is drawn hollow (`○`). Lanes are coloured by
  column (Rich drops the colour where the console has none); `ascii=True` draws `* | - . ' +`
  for consoles without Unicode.

Each lane carries one edge (a value on its way to one consumer): a value used twice forks into
two lanes at its producer, and each lane ends in the row that takes it. A node sits in the
leftmost lane it takes; its first consumer continues straight down below it; further consumers
get the first free column to its right.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from convtui.model.blocks import TableRow, row_inputs, table_rows
from convtui.model.graph import INPUT_NAME
from convtui.model.info import StackInfo


@dataclass(frozen=True, slots=True)
class Glyphs:
    node: str
    unused: str
    lane: str
    across: str
    fork: str
    fork_middle: str
    merge: str
    merge_middle: str
    cross: str


UNICODE = Glyphs(node="●", unused="○", lane="│", across="─", fork="╮", fork_middle="┬", merge="╯", merge_middle="┴", cross="┼")
ASCII = Glyphs(node="*", unused="o", lane="|", across="-", fork=".", fork_middle=".", merge="'", merge_middle="'", cross="+")
LANE_STYLES = ("cyan", "magenta", "yellow", "green", "blue", "red")


@dataclass(frozen=True, slots=True)
class GutterCell:
    """The gutter of one table row: its node line, and the line that repeats below it in a taller row."""

    node: Text
    through: Text

    def lines(self, height: int) -> list[Text]:
        return [self.node, *(self.through.copy() for _ in range(height - 1))]


@dataclass(frozen=True, slots=True)
class Links:
    """What a row takes from rows above and gives to rows below, by name."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    unused: bool


@dataclass(frozen=True, slots=True)
class Step:
    """One row's place in the lanes: its node's column, the lanes it merges and forks, those alive around it."""

    node: int
    merges: tuple[int, ...]
    forks: tuple[int, ...]
    passing: tuple[int, ...]
    below: tuple[int, ...]
    unused: bool

    @property
    def extent(self) -> int:
        return max((self.node, *self.merges, *self.forks))

    @property
    def width(self) -> int:
        return max((self.extent, *self.passing, *self.below)) + 1


def row_links(stack_info: StackInfo, rows: Sequence[TableRow]) -> list[Links]:
    """The input row, then each row: the names it takes from outside itself and the names it holds."""
    links = [Links((), (INPUT_NAME,), False)]
    for row in rows:
        names = tuple(stack_info.layers[index].name for index in row.layers)
        unused = all(index in stack_info.unused for index in row.layers)
        links.append(Links(row_inputs(stack_info, row.layers), names, unused))
    return links


Lanes = list[tuple[str, int] | None]
"""Per column, the edge it carries (a name and the row that takes it), or None when free."""


def free_column(lanes: Lanes, start: int, taken: Sequence[int]) -> int:
    column = start
    while column < len(lanes) and (lanes[column] is not None or column in taken):
        column += 1
    return column


def place(lanes: Lanes, column: int, edge: tuple[str, int]) -> None:
    lanes.extend([None] * (column + 1 - len(lanes)))
    lanes[column] = edge


def lane_steps(links: Sequence[Links]) -> list[Step]:
    """Walk the rows top to bottom, keeping one column per edge still waiting for its consumer."""
    consumers: dict[str, list[int]] = defaultdict(list)
    for row, link in enumerate(links):
        for name in link.inputs:
            consumers[name].append(row)
    lanes: Lanes = []
    steps = []
    for row, link in enumerate(links):
        mine = [column for column, edge in enumerate(lanes) if edge is not None and edge[1] == row]
        node = mine[0] if mine else free_column(lanes, 0, ())
        below: Lanes = [None if column in mine else edge for column, edge in enumerate(lanes)]
        edges = sorted((consumer, name) for name in link.outputs for consumer in consumers[name] if consumer > row)
        forks = []
        for position, (consumer, name) in enumerate(edges):
            column = node if position == 0 else free_column(below, node + 1, mine)
            place(below, column, (name, consumer))
            if position:
                forks.append(column)
        passing = [column for column, edge in enumerate(lanes) if edge is not None and column not in mine]
        alive = [column for column, edge in enumerate(below) if edge is not None]
        steps.append(Step(node, tuple(mine[1:]), tuple(forks), tuple(passing), tuple(alive), link.unused))
        while below and below[-1] is None:
            below.pop()
        lanes = below
    return steps


def lane_style(column: int) -> str:
    return LANE_STYLES[column % len(LANE_STYLES)]


def node_line(step: Step, width: int, glyphs: Glyphs) -> Text:
    """The row's node, with the horizontal to the lanes it merges and forks in those lanes' colours."""
    extent = step.extent
    ends = sorted((*step.merges, *step.forks))
    text = Text()
    for column in range(width):
        inside = step.node < column < extent
        joining = lane_style(next((end for end in ends if end >= column), extent))
        if column == step.node:
            text.append(glyphs.unused if step.unused else glyphs.node, "dim" if step.unused else "bold")
        elif column in step.merges:
            text.append(glyphs.merge if column == extent else glyphs.merge_middle, lane_style(column))
        elif column in step.forks:
            text.append(glyphs.fork if column == extent else glyphs.fork_middle, lane_style(column))
        elif column in step.passing:
            text.append(glyphs.cross if inside else glyphs.lane, lane_style(column))
        else:
            text.append(glyphs.across if inside else " ", joining)
        if column < width - 1:
            spans = step.node <= column < extent
            text.append(glyphs.across if spans else " ", lane_style(next(end for end in ends if end > column)) if spans else "")
    return text


def through_line(step: Step, width: int, glyphs: Glyphs) -> Text:
    """The lanes alive below the row, for its further lines."""
    text = Text()
    for column in range(width):
        alive = column in step.below
        text.append(glyphs.lane if alive else " ", lane_style(column) if alive else "")
        if column < width - 1:
            text.append(" ")
    return text


def graph_gutter(stack_info: StackInfo, rows: Sequence[TableRow] | None = None, *, ascii: bool = False) -> list[GutterCell]:
    """One cell for the input row, then one per row (default: every layer), all as wide as the widest."""
    steps = lane_steps(row_links(stack_info, table_rows(stack_info) if rows is None else rows))
    columns = max(step.width for step in steps)
    glyphs = ASCII if ascii else UNICODE
    return [GutterCell(node_line(step, columns, glyphs), through_line(step, columns, glyphs)) for step in steps]


def gutter_width(cells: Sequence[GutterCell]) -> int:
    return cells[0].node.cell_len if cells else 0
