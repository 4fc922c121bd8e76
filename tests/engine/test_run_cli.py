"""`convtui run` as a user runs it: a subprocess, its output piped (so plain ASCII), its exit status.

The numbers the output shows are checked against the run's own `--save` file, whose values are in
turn checked against a plain NumPy convolution of the saved input with the saved weights.
"""

from __future__ import annotations

import math
import os
import pty
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from convtui.engine import forward, initial_weights, load_image
from convtui.model.preset import MAX_SEED, load_preset
from convtui.model.units import readable_size

RAMP = " .:-=+*#%@"
NUMBER = r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"
RANGE = re.compile(rf"^({NUMBER})\.\.({NUMBER})$")
TITLE = re.compile(r"^#(\d+)$")
MARKER = re.compile(r"^\((dead|nan)\)$")
ANSI = re.compile(r"\x1b")
COLOR_CODE = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")
"""An SGR sequence that sets a foreground or background colour (bold alone is not one)."""

SEED_SHAPES = {
    "input": (1, 28, 28, 1),
    "layers.0.output": (1, 26, 26, 32),
    "layers.1.output": (1, 24, 24, 64),
    "layers.0.kernel": (3, 3, 1, 32),
    "layers.0.bias": (32,),
    "layers.1.kernel": (3, 3, 32, 64),
    "layers.1.bias": (64,),
}


def plain_environment(**changes: str) -> dict[str, str]:
    """This process's environment with nothing forcing or forbidding colour or a width, then `changes`."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if key not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE", "NO_COLOR", "COLUMNS", "LINES")
    }
    return {**kept, **changes}


def run(*arguments: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m convtui run ...`, stdout and stderr piped, nothing in the environment forcing colour or a width."""
    return subprocess.run(
        [sys.executable, "-m", "convtui", "run", *map(str, arguments)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=cwd,
        env=plain_environment(),
        timeout=120,
    )


def run_in_terminal(*arguments: str, cwd: Path, **environment: str) -> str:
    """`convtui run ...` writing to a real terminal (a pseudo-terminal, as `script` gives), with `environment` set."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "convtui", "run", *arguments],
        stdin=terminal, stdout=terminal, stderr=terminal, cwd=cwd, env=plain_environment(**environment),
    )  # fmt: skip
    os.close(terminal)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(controller, 1 << 16)
        except OSError:  # EIO: the process has closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.wait(timeout=120) == 0, shown.decode(errors="replace")
    return shown.decode("utf-8")


@dataclass
class Tile:
    index: int
    markers: list[str]
    low: float
    high: float
    rows: list[str]  # the map's text lines, as printed


def is_title_line(line: str) -> bool:
    tokens = line.split()
    return bool(tokens) and all(TITLE.match(token) or MARKER.match(token) for token in tokens) and TITLE.match(tokens[0]) is not None


def is_range_line(line: str) -> bool:
    tokens = line.split()
    return bool(tokens) and all(RANGE.match(token) for token in tokens)


def parse_grid(text: str) -> list[Tile]:
    """Every tile of the feature-map grid: title ('#3' and markers), map lines, 'min..max' line."""
    lines = text.splitlines()
    tiles: list[Tile] = []
    number = 0
    while number < len(lines):
        line = lines[number]
        if not is_title_line(line):
            number += 1
            continue
        starts = [match.start() for match in re.finditer(r"#\d+", line)]
        end = next(later for later in range(number + 1, len(lines)) if is_range_line(lines[later]))
        ranges = lines[end].split()
        assert len(ranges) == len(starts), f"{len(starts)} titles but {len(ranges)} ranges at line {end}"
        bounds = [*starts[1:], None]
        for start, stop, range_text in zip(starts, bounds, ranges):
            title_tokens = line[start:stop].split()
            low, high = RANGE.match(range_text).groups()
            rows = [lines[row][start:stop] if stop else lines[row][start:] for row in range(number + 1, end)]
            tiles.append(Tile(int(title_tokens[0][1:]), [token.strip("()") for token in title_tokens[1:]], float(low), float(high), rows))
        number = end + 1
    return tiles


def ramp_levels(tile: Tile, height: int, width: int) -> np.ndarray:
    """The ramp level of each pixel of a map drawn at its own size (two characters a pixel)."""
    assert len(tile.rows) == height, f"#{tile.index}: {len(tile.rows)} lines for {height} pixel rows"
    levels = np.zeros((height, width), int)
    for row, text in enumerate(tile.rows):
        text = text.ljust(2 * width)
        for column in range(width):
            pair = text[2 * column : 2 * column + 2]
            assert pair[0] == pair[1] and pair[0] in RAMP, f"#{tile.index} row {row}: {pair!r}"
            levels[row, column] = RAMP.index(pair[0])
    return levels


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str, exit_code: int = 2) -> str:
    assert result.returncode == exit_code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert "\n" not in message, message
    assert message.startswith("convtui"), message
    assert result.stdout == ""
    for word in words:
        assert word in message, message
    return message


def naive_conv_relu(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """relu(valid 3x3 Keras convolution), with plain loops over the kernel taps, in float64."""
    kernel_h, kernel_w, channels, filters = kernel.shape
    batch, height, width, _ = x.shape
    out = np.zeros((batch, height - kernel_h + 1, width - kernel_w + 1, filters))
    for a in range(kernel_h):
        for b in range(kernel_w):
            patch = x[:, a : a + out.shape[1], b : b + out.shape[2], :].astype(np.float64)
            out += patch @ kernel[a, b].astype(np.float64)
    return np.maximum(out + bias, 0.0)


# ------------------------------------------------------------------------ the seed net, saved


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    folder = tmp_path_factory.mktemp("seed-run")
    result = run("seed-28x28x1", "--no-color", "--save", "seed.npz", cwd=folder)
    assert result.returncode == 0, result.stderr
    return result, folder / "seed.npz"


def test_the_seed_run_is_plain_ascii_without_escapes(seed_run) -> None:
    result, _ = seed_run
    assert not ANSI.search(result.stdout)
    assert result.stdout.isascii()
    assert "Traceback" not in result.stderr


def test_the_seed_run_shows_the_input_first(seed_run) -> None:
    result, _ = seed_run
    lines = result.stdout.splitlines()
    assert lines[0].startswith("input: digit")
    assert "28x28x1" in lines[0]
    heading = next(number for number, line in enumerate(lines) if line.startswith("layer "))
    picture = [line for line in lines[1:heading] if line]  # the map, then an empty line
    assert len(picture) >= 20  # the digit, a line of text per pixel row (shrunk at most a little)
    assert all(set(line) <= set(RAMP) for line in picture)
    assert any("@" in line for line in picture)  # the brightest stroke pixels
    assert all(line.startswith("  ") for line in picture)  # the digit's black margin
    assert not picture[0].strip() and not picture[-1].strip()


def test_the_seed_run_shows_the_last_spatial_layers_64_maps_with_their_ranges(seed_run) -> None:
    result, saved = seed_run
    heading = next(line for line in result.stdout.splitlines() if line.startswith("layer "))
    assert heading.startswith("layer 1 Conv2D(64, 3x3, relu)")
    assert "64 of 64" in result.stdout
    tiles = parse_grid(result.stdout)
    assert [tile.index for tile in tiles] == list(range(64))
    with np.load(saved) as archive:
        output = archive["layers.1.output"][0]
    for tile in tiles:
        expected_low, expected_high = float(output[..., tile.index].min()), float(output[..., tile.index].max())
        assert math.isclose(tile.low, expected_low, rel_tol=5e-3, abs_tol=1e-12), (tile.index, tile.low, expected_low)
        assert math.isclose(tile.high, expected_high, rel_tol=5e-3, abs_tol=1e-12), (tile.index, tile.high, expected_high)
        assert ("dead" in tile.markers) == (not output[..., tile.index].any()), tile.index


def test_save_writes_the_input_every_output_and_every_weight(seed_run) -> None:
    _, saved = seed_run
    with np.load(saved) as archive:
        arrays = {key: archive[key] for key in archive.files}
    assert {key: array.shape for key, array in arrays.items()} == SEED_SHAPES
    assert all(array.dtype == np.float32 for array in arrays.values())
    np.testing.assert_array_equal(arrays["input"][0], load_image("digit", (28, 28, 1)).pixels)
    weights = initial_weights(load_preset("seed-28x28x1"), seed=0)  # --seed defaults to 0
    for index in (0, 1):
        for name in ("kernel", "bias"):
            np.testing.assert_array_equal(arrays[f"layers.{index}.{name}"], weights[index][name])


def test_save_says_what_it_writes_and_how_large_before_writing(seed_run) -> None:
    result, saved = seed_run
    with np.load(saved) as archive:
        size = sum(archive[key].nbytes for key in archive.files)
    assert f"{readable_size(size)} to seed.npz: the input, 2 layer output(s) and the weights" in result.stderr


@pytest.mark.parametrize(
    ("layers", "kept"),
    [("none", []), ("1", [1]), ("-1", [1]), ("0:1", [0]), ("conv2d_1,0", [0, 1])],
)
def test_save_layers_chooses_the_outputs_and_compress_keeps_the_values(layers, kept, seed_run, tmp_path: Path) -> None:
    result = run("seed-28x28x1", "--no-color", "--save", "part.npz", "--save-layers", layers, "--compress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "part.npz") as part, np.load(seed_run[1]) as whole:
        assert sorted(key for key in part.files if key.endswith(".output")) == [f"layers.{index}.output" for index in kept]
        for key in part.files:
            np.testing.assert_array_equal(part[key], whole[key])
    assert "compressing" in result.stderr


def test_save_layers_refuses_what_is_no_layer(tmp_path: Path) -> None:
    result = run("seed-28x28x1", "--save", "x.npz", "--save-layers", "conv9", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == 'convtui: error: --save-layers: "conv9" is not a layer name, an index or a slice (A:B or A:B:STEP); use e.g. 0:3,-1,add'
    assert not (tmp_path / "x.npz").exists()


def test_the_saved_outputs_are_the_convolutions_of_the_saved_input_and_weights(seed_run) -> None:
    """Anyone can check the numbers: a plain NumPy convolution of the file's own input and weights."""
    _, saved = seed_run
    with np.load(saved) as archive:
        arrays = {key: archive[key] for key in archive.files}
    first = naive_conv_relu(arrays["input"], arrays["layers.0.kernel"], arrays["layers.0.bias"])
    np.testing.assert_allclose(arrays["layers.0.output"], first, rtol=1e-4, atol=1e-5 * np.abs(first).max())
    second = naive_conv_relu(arrays["layers.0.output"], arrays["layers.1.kernel"], arrays["layers.1.bias"])
    np.testing.assert_allclose(arrays["layers.1.output"], second, rtol=1e-4, atol=1e-5 * np.abs(second).max())


def test_the_saved_weights_rerun_through_the_engine_reproduce_the_outputs(seed_run) -> None:
    _, saved = seed_run
    with np.load(saved) as archive:
        arrays = {key: archive[key] for key in archive.files}
    weights = {index: {name: arrays[f"layers.{index}.{name}"] for name in ("kernel", "bias")} for index in (0, 1)}
    result = forward(load_preset("seed-28x28x1"), arrays["input"], weights)
    for index, output in enumerate(result.outputs):
        np.testing.assert_allclose(output, arrays[f"layers.{index}.output"], rtol=1e-5, atol=1e-6)


def test_loading_the_saved_file_gives_the_same_text(seed_run, tmp_path: Path) -> None:
    result, saved = seed_run
    again = run("seed-28x28x1", "--no-color", "--weights", saved, "--seed", "7", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == result.stdout


def test_another_seed_gives_other_maps(seed_run, tmp_path: Path) -> None:
    result, _ = seed_run
    other = run("seed-28x28x1", "--no-color", "--seed", "1", cwd=tmp_path)
    assert other.returncode == 0, other.stderr
    assert other.stdout != result.stdout
    assert other.stdout.splitlines()[0] == result.stdout.splitlines()[0]


# ------------------------------------------------------------------------ options


def test_without_no_color_piped_output_is_still_plain_ascii(tmp_path: Path) -> None:
    result = run("seed-28x28x1", "--layer", "0", "--filters", "0:2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not ANSI.search(result.stdout)
    assert result.stdout.isascii()
    assert "\u2580" not in result.stdout  # no half blocks


TERMINAL_RUN = ("seed-28x28x1", "--layer", "0", "--filters", "0:2", "--width", "100")


def test_a_colour_terminal_gets_colour_half_blocks(tmp_path: Path) -> None:
    shown = run_in_terminal(*TERMINAL_RUN, cwd=tmp_path, TERM="xterm-256color")
    assert "\u2580" in shown and COLOR_CODE.search(shown)


@pytest.mark.parametrize("environment", [{"TERM": "dumb"}, {"TERM": "xterm-256color", "NO_COLOR": "1"}], ids=["dumb", "no-color-variable"])
def test_a_terminal_without_colour_gets_the_ascii_ramp_exactly_as_with_no_color(tmp_path: Path, environment: dict[str, str]) -> None:
    """Half blocks without their colours carry nothing: TERM=dumb and NO_COLOR mean --no-color."""
    shown = run_in_terminal(*TERMINAL_RUN, cwd=tmp_path, **environment)
    assert "\u2580" not in shown and not COLOR_CODE.search(shown)
    assert shown == run_in_terminal(*TERMINAL_RUN, "--no-color", cwd=tmp_path, **environment)


def test_layer_and_filters_show_exactly_the_chosen_filters(tmp_path: Path) -> None:
    result = run("seed-28x28x1", "--no-color", "--layer", "0", "--filters", "0:4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    heading = next(line for line in result.stdout.splitlines() if line.startswith("layer "))
    assert heading.startswith("layer 0 Conv2D(32, 3x3, relu)")
    assert "4 of 32" in result.stdout
    assert [tile.index for tile in parse_grid(result.stdout)] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [(["--filters", "-3:"], [29, 30, 31]), (["--filters", "-1"], [31]), (["--filters=-3:-1"], [29, 30]), (["--filters", "5"], [5])],
)
def test_filters_count_from_the_end_like_python_slices(tmp_path: Path, filters: list[str], expected: list[int]) -> None:
    result = run("seed-28x28x1", "--no-color", "--width", "200", "--layer", "0", *filters, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [tile.index for tile in parse_grid(result.stdout)] == expected


def seed_maps_at_full_size(tmp_path: Path, scale: str) -> tuple[list[Tile], np.ndarray]:
    """Layer 1's first 12 maps, wide enough that each 24x24 map is drawn pixel for pixel."""
    result = run("seed-28x28x1", "--no-color", "--width", "250", "--filters", "0:12", "--scale", scale, "--save", "run.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"scale per {scale}" in " ".join(result.stdout.split())
    with np.load(tmp_path / "run.npz") as archive:
        output = archive["layers.1.output"][0].astype(np.float64)
    tiles = parse_grid(result.stdout)
    assert [tile.index for tile in tiles] == list(range(12))
    return tiles, output


def assert_order_kept(values: np.ndarray, levels: np.ndarray) -> None:
    """A brighter character never stands for a smaller value."""
    order = np.argsort(values, kind="stable")
    assert (np.diff(levels[order]) >= 0).all()


def test_scale_map_spreads_each_map_over_the_whole_ramp(tmp_path: Path) -> None:
    tiles, output = seed_maps_at_full_size(tmp_path, "map")
    live = 0
    for tile in tiles:
        values = output[..., tile.index]
        levels = ramp_levels(tile, 24, 24)
        assert_order_kept(values.ravel(), levels.ravel())
        if values.max() > values.min():
            live += 1
            assert levels.ravel()[values.argmax()] == len(RAMP) - 1, tile.index
            assert levels.ravel()[values.argmin()] == 0, tile.index
        else:
            assert len(set(levels.ravel())) == 1
    assert live >= 6


def test_scale_layer_puts_all_maps_on_one_range(tmp_path: Path) -> None:
    tiles, output = seed_maps_at_full_size(tmp_path, "layer")
    maps = output[..., :12]
    every_value = np.concatenate([maps[..., tile.index].ravel() for tile in tiles])
    every_level = np.concatenate([ramp_levels(tile, 24, 24).ravel() for tile in tiles])
    assert_order_kept(every_value, every_level)  # comparable across tiles
    assert every_level[every_value.argmax()] == len(RAMP) - 1
    weak = [tile for tile in tiles if 0 < maps[..., tile.index].max() < 0.4 * maps.max()]
    assert weak, "the seed net's maps should differ in strength"
    for tile in weak:  # a weak map stays in the lower half of the ramp
        assert ramp_levels(tile, 24, 24).max() <= len(RAMP) // 2, tile.index


def test_dead_maps_are_marked(tmp_path: Path) -> None:
    preset = tmp_path / "small.toml"
    preset.write_text('name = "small"\ninput_shape = [8, 8, 1]\n\n[[layers]]\ntype = "Conv2D"\nfilters = 4\nkernel_size = 3\nactivation = "relu"\n')
    np.savez(tmp_path / "dead.npz", **{"layers.0.bias": np.full(4, -10.0, np.float32)})
    result = run(preset, "--no-color", "--image", "gradient", "--weights", tmp_path / "dead.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    tiles = parse_grid(result.stdout)
    assert [tile.index for tile in tiles] == [0, 1, 2, 3]
    assert all("dead" in tile.markers for tile in tiles)
    assert all(tile.low == tile.high == 0 for tile in tiles)
    assert "4 dead" in " ".join(result.stdout.split())
    alive = run(preset, "--no-color", "--image", "gradient", cwd=tmp_path)
    assert alive.returncode == 0, alive.stderr
    assert not all("dead" in tile.markers for tile in parse_grid(alive.stdout))


# ------------------------------------------------------------------------ errors: one line, no traceback


def test_an_unknown_image_name_suggests_the_sample(tmp_path: Path) -> None:
    assert_one_line_error(run("seed-28x28x1", "--image", "digt", cwd=tmp_path), "digt", "did you mean 'digit'")


def test_a_corrupt_image_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20)
    assert_one_line_error(run("seed-28x28x1", "--image", "broken.png", cwd=tmp_path), "broken.png")


def test_a_layer_out_of_range_is_one_line(tmp_path: Path) -> None:
    message = assert_one_line_error(run("seed-28x28x1", "--layer", "2", cwd=tmp_path), "--layer", "0 to 1")
    assert message == "convtui: error: --layer 2 is out of range: the stack has layers 0 to 1, or -2 to -1 from the end"


@pytest.mark.parametrize(("layer", "shown"), [("-1", "layer 1 Conv2D(64, 3x3, relu)"), ("-2", "layer 0 Conv2D(32, 3x3, relu)")])
def test_a_negative_layer_counts_from_the_end(tmp_path: Path, layer: str, shown: str) -> None:
    result = run("seed-28x28x1", "--no-color", "--layer", layer, "--filters", "0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert next(line for line in result.stdout.splitlines() if line.startswith("layer ")).startswith(shown)


def test_a_negative_layer_past_the_first_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run("seed-28x28x1", "--layer", "-3", cwd=tmp_path), "--layer -3", "-2 to -1")


def test_a_stack_without_a_spatial_layer_shows_the_last_layers_bars(tmp_path: Path) -> None:
    (tmp_path / "flat.toml").write_text(
        'input_shape = [4, 4, 1]\n\n[[layers]]\ntype = "Flatten"\n\n[[layers]]\ntype = "Dense"\nunits = 3\n', encoding="utf-8"
    )
    result = run("flat.toml", "--no-color", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    heading = next(number for number, line in enumerate(lines) if line.startswith("layer "))
    assert lines[heading].startswith("layer 1 Dense(3) -> (3,)")
    assert [line.split()[0] for line in lines[heading + 1:heading + 4]] == ["#0", "#1", "#2"]


@pytest.mark.parametrize("layer", [[], ["--layer", "0"]])
def test_a_stack_without_layers_says_so_whatever_the_layer_asked(tmp_path: Path, layer: list[str]) -> None:
    (tmp_path / "empty.toml").write_text('name = "empty"\ninput_shape = [8, 8, 1]\nlayers = []\n')
    message = assert_one_line_error(run("empty.toml", *layer, cwd=tmp_path))
    assert message == "convtui: error: empty.toml: the stack has no layers to run; add a layer first"


@pytest.mark.parametrize("typed", ["64:70", ":0", "-100"])
def test_filters_selecting_nothing_is_one_line_that_repeats_what_was_typed(tmp_path: Path, typed: str) -> None:
    message = assert_one_line_error(run("seed-28x28x1", "--filters", typed, cwd=tmp_path), "--filters")
    assert message == f"convtui: error: --filters {typed} selects nothing: the layer has filters 0 to 63"


@pytest.mark.parametrize("size", ["lots", "12Q", "-1G", "inf"])
def test_a_bad_max_memory_is_one_line(tmp_path: Path, size: str) -> None:
    assert_one_line_error(run("seed-28x28x1", "--max-memory", size, cwd=tmp_path), "--max-memory")


@pytest.mark.parametrize("arguments", [["--max-memory", "-3G"], ["--max-memory=-3G"]])
def test_a_negative_max_memory_reaches_its_own_check(tmp_path: Path, arguments: list[str]) -> None:
    """Not argparse's "expected one argument": the value starts with a dash but is the option's."""
    message = assert_one_line_error(run("seed-28x28x1", *arguments, cwd=tmp_path), "--max-memory")
    assert "'-3G' is not a positive size" in message


@pytest.mark.parametrize(("seed", "accepted"), [(str(MAX_SEED), True), (str(MAX_SEED + 1), False), ("99999999999999999999999", False), ("-5", False)])
def test_the_seed_has_the_apps_bounds(tmp_path: Path, seed: str, accepted: bool) -> None:
    result = run("seed-28x28x1", "--seed", seed, "--layer", "0", "--filters", "0", cwd=tmp_path)
    if accepted:
        assert result.returncode == 0, result.stderr
    else:
        assert_one_line_error(result, "--seed", f"from 0 to {MAX_SEED:,}")


def test_a_missing_preset_weights_file_names_the_preset_and_the_path_it_looked_at(tmp_path: Path) -> None:
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "net.toml").write_text(
        'name = "net"\ninput_shape = [8, 8, 1]\nweights = "nope.npz"\n\n[[layers]]\ntype = "Conv2D"\nfilters = 2\nkernel_size = 3\n'
    )
    message = assert_one_line_error(run(Path("presets") / "net.toml", cwd=tmp_path))
    assert message.startswith(f"convtui: error: {Path('presets') / 'net.toml'}: field 'weights': names \"nope.npz\", but there is no {tmp_path / 'presets' / 'nope.npz'} ")


def test_the_memory_guard_refusal_names_the_layer(tmp_path: Path) -> None:
    # 100K holds the 28x28x1 input (3 KB) and the weights (74 KB) but not layer 0's output too: the guard names that layer.
    assert_one_line_error(run("seed-28x28x1", "--max-memory", "100K", cwd=tmp_path), "layer 0", "--max-memory")


def test_a_weights_file_with_a_wrong_shape_is_one_line(tmp_path: Path) -> None:
    np.savez(tmp_path / "wrong.npz", **{"layers.1.kernel": np.zeros((3, 3, 32, 16), np.float32)})
    assert_one_line_error(run("seed-28x28x1", "--weights", "wrong.npz", cwd=tmp_path), "wrong.npz", "layers.1.kernel", "(3, 3, 32, 64)")


def test_a_truncated_weights_file_is_one_line(tmp_path: Path) -> None:
    np.savez(tmp_path / "whole.npz", **{f"layers.0.{name}": value for name, value in initial_weights(load_preset("seed-28x28x1"))[0].items()})
    data = (tmp_path / "whole.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    assert_one_line_error(run("seed-28x28x1", "--weights", "cut.npz", cwd=tmp_path), "cut.npz")


def test_an_invalid_stack_exits_1_naming_the_layer(tmp_path: Path) -> None:
    preset = tmp_path / "broken.toml"
    preset.write_text('name = "broken"\ninput_shape = [3, 3, 1]\n\n[[layers]]\ntype = "Conv2D"\nfilters = 2\nkernel_size = 5\n')
    assert_one_line_error(run(preset, cwd=tmp_path), "broken.toml", "layer 0", exit_code=1)
