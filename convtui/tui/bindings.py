"""The app's keys, in sections: the App binds them, the help screen lists them and the command
palette offers them, all from these lists.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.keys import format_key

EDIT_BINDINGS = [
    Binding("a", "add_layer", "Add layer", tooltip="Add a layer after the selected one; what took the selected layer takes the new one"),
    Binding("e", "edit_layer", "Edit", tooltip="Edit the selected layer's arguments (or Enter on its row)"),
    Binding("d,delete", "delete_layer", "Delete", show=False, tooltip="Delete the selected layer; what took it takes its input (you choose which, for a merge)"),
    Binding("K,shift+up", "move_layer(-1)", "Move up", show=False, tooltip="Move the selected layer up"),
    Binding("J,shift+down", "move_layer(1)", "Move down", show=False, tooltip="Move the selected layer down"),
    Binding("i", "input_shape", "Input shape", show=False, tooltip="Change the input shape (height, width, channels)"),
    Binding("r", "seed", "Seed", show=False, tooltip="Change the seed of the initial weights"),
    Binding("u,ctrl+z", "undo", "Undo"),
    Binding("U,ctrl+y", "redo", "Redo", show=False),
]
GRAPH_BINDINGS = [
    Binding("b", "branch", "Branch", tooltip="Add a layer that takes an earlier layer's output; the layers below keep what they take"),
    Binding("w", "wrap_residual", "Residual", tooltip="Wrap the selected layer (and those above it you choose) in a residual connection: an Add, a 1x1 projection if needed"),
    Binding("plus", "add_concatenate", "Concatenate", show=False, tooltip="Add a Concatenate after the selected layer, choosing its inputs"),
    Binding("z", "toggle_block", "Fold block", show=False, tooltip="Fold the selected layer's block into one row, or expand it"),
    Binding("Z", "toggle_all_blocks", "Fold all blocks", show=False, tooltip="Fold every block into one row each, or expand them all"),
]
"""After the file keys: the footer shows them last, where a narrow terminal leaves them out (help and the palette list them all)."""
CHANNEL_KEYS = Binding.Group("Channels", compact=True)
"""One footer entry, "<> Channels", shown while the Kernels tab is open (the app's `check_action`)."""
VIEW_BINDINGS = [
    Binding("c", "toggle_convention", "Keras/Torch", tooltip="Show shapes as Keras (H, W, C) or PyTorch (C, H, W)"),
    Binding("1", "show_tab('feature-maps')", "Feature maps", show=False),
    Binding("2", "show_tab('explain')", "Explain", show=False),
    Binding("3", "show_tab('kernels')", "Kernels", show=False),
    Binding("4", "show_tab('input')", "Input image", show=False),
    Binding("5", "show_tab('compare')", "Compare", show=False, tooltip="The stack beside a second one: shapes, params and MACs that change"),
    Binding("6", "show_tab('train')", "Train", show=False, tooltip="Train the stack on generated data, a folder or an .npz, and watch it learn"),
    Binding("v", "compare_with_file", "Compare with file…", show=False, tooltip="Pick a preset or a file (TOML or Keras model) to compare with"),
    Binding("right_square_bracket", "step_filter(1)", "Next filter", show=False),
    Binding("left_square_bracket", "step_filter(-1)", "Previous filter", show=False),
    Binding("right_curly_bracket", "step_filter_page(1)", "Next page of filters", show=False),
    Binding("left_curly_bracket", "step_filter_page(-1)", "Previous page of filters", show=False),
    Binding("less_than_sign", "step_channel_page(-1)", "Previous input channels", group=CHANNEL_KEYS, tooltip="Kernels view: the input channels before those shown"),
    Binding("greater_than_sign", "step_channel_page(1)", "Next input channels", group=CHANNEL_KEYS, tooltip="Kernels view: the input channels after those shown"),
    Binding("f", "toggle_enlarged", "Enlarge filter", show=False, tooltip="Show the selected filter large, with statistics"),
    Binding("m", "toggle_colour", "Colour/ASCII", show=False, tooltip="Colour cells or the plain ASCII ramp"),
    Binding("l", "toggle_scale", "Scale map/layer", show=False, tooltip="One colour scale per map, or one for the whole layer"),
    Binding("escape", "focus_stack", "Back to the stack", show=False, tooltip="Leave a field or a view: the stack table takes the keys again"),
]
FILE_BINDINGS = [
    Binding("o", "open", "Open", show=False, tooltip="Open a built-in preset, a TOML file or a Keras model (.keras, .h5, .json)"),
    Binding("s,ctrl+s", "save", "Save"),
    Binding("S", "save_as", "Save as", show=False),
    Binding("x", "export('keras')", "Export as Keras code", show=False, tooltip="Write a .py file whose build_model() builds the stack in Keras"),
    Binding("X", "export('pytorch')", "Export as PyTorch code", show=False, tooltip="Write a .py file whose build_model() builds the stack in PyTorch"),
    Binding("question_mark,f1", "help", "Help"),
    Binding("q", "quit", "Quit"),
]
TRAIN_BINDINGS = [
    Binding("t", "start_training", "Train: start / resume", show=False, tooltip="Start training with the Train tab's settings, or resume a paused run"),
    Binding("p", "pause_training", "Train: pause", show=False, tooltip="Pause after the current step: the views show the weights so far; edit the stack or the learning rate"),
    Binding("T", "stop_training", "Train: stop", show=False, tooltip="Stop after the current step; the weights trained so far stay the stack's"),
]
TRAIN_VIEW_BINDINGS = [
    Binding("t", "train('start')", "Train"),
    Binding("p", "train('pause')", "Pause"),
    Binding("T", "train('stop')", "Stop"),
]
"""The Train keys again, for the footer: the main screen shows them while the Train tab is open (its `check_action`);
elsewhere the App's hidden TRAIN_BINDINGS take the same keys."""
TABLE_BINDINGS = [
    Binding("home", "first_layer", "First layer"),
    Binding("end,ctrl+end", "scroll_bottom", "Last layer"),
    Binding("ctrl+home", "scroll_top", "The input row"),
    Binding("pageup,pagedown", "page", "A page of layers up / down"),
]
"""The layer table's own keys (its widget and Textual's DataTable bind them), listed here for the help only."""
APP_BINDINGS = [*EDIT_BINDINGS, *VIEW_BINDINGS, *FILE_BINDINGS, *GRAPH_BINDINGS, *TRAIN_BINDINGS]


def key_text(binding: Binding) -> str:
    """All of a binding's keys as a person reads them: "d / delete", "^z"."""
    shown = []
    for key in binding.key.split(","):
        *modifiers, name = key.strip().split("+")
        name = format_key(name)
        if "ctrl" in modifiers:
            modifiers.remove("ctrl")
            name = f"^{name}"
        shown.append("+".join([*modifiers, name]))
    return " / ".join(shown)
