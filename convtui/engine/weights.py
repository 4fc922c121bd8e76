"""Weights: Keras's default initialisers from a seed, the "edges" filter bank, .npz files, and
which of them a run starts from (one choice for the commands, the app's opening and the API).

Each weight tensor draws from its own generator, seeded by (seed, layer name, weight name),
so editing one layer leaves the other layers' weights as they were, on any machine.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convtui.errors import EngineError
from convtui.files import atomic_file
from convtui.model.arguments import describe
from convtui.model.layers import Layer, WeightInfo
from convtui.model.preset import existing_preset_weights_path, seed_to_use
from convtui.model.stack import LayerInfo, Stack, StackInfo

StackWeights = dict[int, dict[str, np.ndarray]]
"""Layer index -> Keras weight name -> array in Keras's layout."""

TRUNCATED_NORMAL_STDDEV_CORRECTION = 0.87962566103423978
"""Keras's VarianceScaling divides by this so a normal truncated at 2 stddev keeps the variance."""

WEIGHT_KEY = re.compile(r"^layers\.(\d+)\.([A-Za-z_]+)$")
IGNORED_KEYS = re.compile(r"^(input|layers\.\d+\.output)$")
"""Keys that `convtui run --save` writes beside the weights; a weights file may carry them."""


# --- initialisers ---------------------------------------------------------------------------


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras's compute_fans: the last two axes are (in, out), the others the receptive field."""
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive_field, shape[-1] * receptive_field


RandomKey = tuple[int, ...]
"""What seeds one weight tensor: (seed, layer index, crc32 of the weight name)."""
Draw = Callable[[np.random.Generator, np.ndarray], None]
"""Fills one chunk of a tensor in place from its own generator."""

CHUNK_VALUES = 1 << 20
"""Large tensors are drawn in chunks of this many values, each from its own generator, on all cores:
VGG16's 138M weights in a fraction of a second, and the same values whatever the core count."""


def random_tensor(key: RandomKey, shape: tuple[int, ...], draw: Draw) -> np.ndarray:
    values = np.empty(math.prod(shape), np.float32)
    chunks = range(0, values.size, CHUNK_VALUES)

    def fill(start: int) -> None:
        generator = np.random.Generator(np.random.SFC64([*key, start // CHUNK_VALUES]))
        draw(generator, values[start : start + CHUNK_VALUES])

    if len(chunks) > 1:
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # numpy releases the GIL while it draws
            list(pool.map(fill, chunks))
    else:
        for start in chunks:
            fill(start)
    return values.reshape(shape)


def uniform(limit: float) -> Draw:
    """Uniform in [-limit, limit), drawn directly in float32."""

    def draw(generator: np.random.Generator, out: np.ndarray) -> None:
        generator.random(out=out, dtype=np.float32)
        out *= np.float32(2 * limit)
        out -= np.float32(limit)

    return draw


def truncated_normal(stddev: float) -> Draw:
    """Normal samples redrawn until within two standard deviations, as Keras's TruncatedNormal."""

    def draw(generator: np.random.Generator, out: np.ndarray) -> None:
        generator.standard_normal(out=out, dtype=np.float32)
        outside = np.abs(out) > 2
        while outside.any():
            out[outside] = generator.standard_normal(int(outside.sum()), dtype=np.float32)
            outside = np.abs(out) > 2
        out *= np.float32(stddev)

    return draw


Initializer = Callable[[RandomKey, tuple[int, ...]], np.ndarray]


def variance_scaling(scale: float, mode: str, distribution: str) -> Initializer:
    def initialise(key: RandomKey, shape: tuple[int, ...]) -> np.ndarray:
        fan_in, fan_out = fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(1.0, fan)
        if distribution == "uniform":
            return random_tensor(key, shape, uniform(float(np.sqrt(3.0 * variance))))
        return random_tensor(key, shape, truncated_normal(float(np.sqrt(variance)) / TRUNCATED_NORMAL_STDDEV_CORRECTION))

    return initialise


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": variance_scaling(1.0, "fan_avg", "uniform"),
    "glorot_normal": variance_scaling(1.0, "fan_avg", "normal"),
    "he_uniform": variance_scaling(2.0, "fan_in", "uniform"),
    "he_normal": variance_scaling(2.0, "fan_in", "normal"),
    "lecun_uniform": variance_scaling(1.0, "fan_in", "uniform"),
    "lecun_normal": variance_scaling(1.0, "fan_in", "normal"),
    "zeros": lambda key, shape: np.zeros(shape, np.float32),
    "ones": lambda key, shape: np.ones(shape, np.float32),
}
CONSTANT_WEIGHTS = {"bias": 0.0, "beta": 0.0, "gamma": 1.0, "moving_mean": 0.0, "moving_variance": 1.0}


# --- the "edges" bank -----------------------------------------------------------------------


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates in [-1, 1] (0 at the centre) of a kernel."""
    rows = np.linspace(-1, 1, height) if height > 1 else np.zeros(1)
    columns = np.linspace(-1, 1, width) if width > 1 else np.zeros(1)
    return np.meshgrid(rows, columns, indexing="ij")


def _identity(height: int, width: int) -> np.ndarray:
    kernel = np.zeros((height, width))
    kernel[(height - 1) // 2, (width - 1) // 2] = 1.0
    return kernel


def _box(height: int, width: int) -> np.ndarray:
    return np.full((height, width), 1.0 / (height * width))


def _laplacian(height: int, width: int) -> np.ndarray:
    kernel = np.ones((height, width))
    kernel[(height - 1) // 2, (width - 1) // 2] = 1.0 - height * width
    return kernel


def _gaussian(height: int, width: int) -> np.ndarray:
    rows, columns = _grid(height, width)
    kernel = np.exp(-2.0 * (rows**2 + columns**2))
    return kernel / kernel.sum()


EDGE_FILTERS: dict[str, Callable[[int, int], np.ndarray]] = {
    # 3x3 gives the classic kernels: Sobel [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] and its transpose.
    "sobel x (vertical edges)": lambda h, w: _grid(h, w)[1] * (2 - np.abs(_grid(h, w)[0])),
    "sobel y (horizontal edges)": lambda h, w: _grid(h, w)[0] * (2 - np.abs(_grid(h, w)[1])),
    "laplacian (outlines)": _laplacian,
    "box blur": _box,
    "sharpen": lambda h, w: 2 * _identity(h, w) - _box(h, w),
    "identity": _identity,
    "diagonal edges \\": lambda h, w: _grid(h, w)[1] - _grid(h, w)[0],
    "diagonal edges /": lambda h, w: _grid(h, w)[1] + _grid(h, w)[0],
    "gaussian blur": _gaussian,
    "emboss": lambda h, w: _grid(h, w)[0] + _grid(h, w)[1] + _identity(h, w),
}


def edge_filter_name(index: int) -> str:
    """The name of bank filter `index`; past the bank's end the filters repeat with the sign flipped."""
    names = list(EDGE_FILTERS)
    name = names[index % len(names)]
    return name if (index // len(names)) % 2 == 0 else f"-{name}"


def edge_filter(index: int, height: int, width: int) -> np.ndarray:
    names = list(EDGE_FILTERS)
    sign = 1.0 if (index // len(names)) % 2 == 0 else -1.0
    return sign * EDGE_FILTERS[names[index % len(names)]](height, width)


def edges_kernel(layer: Layer, weight: WeightInfo) -> np.ndarray:
    """Bank filters repeated over input channels (divided by their count, so the scale stays)."""
    height, width, third, fourth = weight.shape
    kernel = np.zeros(weight.shape)
    if weight.depthwise:  # (kh, kw, C, multiplier): channel c, multiplier m -> filter m
        for multiplier in range(fourth):
            kernel[:, :, :, multiplier] = edge_filter(multiplier, height, width)[:, :, None]
        return kernel
    if layer.type_name == "Conv2DTranspose":  # (kh, kw, filters, C_in)
        for output in range(third):
            kernel[:, :, output, :] = edge_filter(output, height, width)[:, :, None] / fourth
        return kernel
    for output in range(fourth):  # (kh, kw, C_in, filters)
        kernel[:, :, :, output] = edge_filter(output, height, width)[:, :, None] / third
    return kernel


# --- building the weights of a stack --------------------------------------------------------


def weight_key(seed: int, layer_name: str, name: str) -> RandomKey:
    """A layer's stream follows its name, not its position: inserting or deleting a layer leaves
    every other layer's initial weights as they were."""
    return (seed, zlib.crc32(layer_name.encode()), zlib.crc32(name.encode()))


def initial_weight(layer: Layer, layer_name: str, weight: WeightInfo, seed: int) -> np.ndarray:
    constant = weight.initial_value if weight.initial_value is not None else CONSTANT_WEIGHTS.get(weight.name)
    if constant is not None:
        return np.full(weight.shape, constant, dtype=np.float32)
    initializer = getattr(layer, "kernel_initializer", "glorot_uniform")
    if initializer == "edges":
        if weight.name != "pointwise_kernel":
            return edges_kernel(layer, weight).astype(np.float32)
        initializer = "glorot_uniform"
    return INITIALIZERS[initializer](weight_key(seed, layer_name, weight.name), weight.shape)


def stack_seed(stack: Stack | StackInfo, seed: object = None) -> int:
    """`seed` checked, else the one the stack's preset names, else 0 (a StackInfo names none)."""
    return seed_to_use(seed, stack.seed if isinstance(stack, Stack) else None, EngineError)


def initial_weights(stack: Stack | StackInfo, seed: int | None = None) -> StackWeights:
    """Keras's initial weights for every valid layer; the same seed gives the same weights.

    `seed` defaults to the one the stack's preset names (`seed = N`), else 0, as `convtui run` does.
    """
    seed = stack_seed(stack, seed)
    stack_info = stack.infer() if isinstance(stack, Stack) else stack
    return {
        info.index: {weight.name: initial_weight(info.layer, info.name, weight, seed) for weight in info.weights}
        for info in stack_info.layers
        if info.is_valid and info.weights
    }


# --- .npz files -----------------------------------------------------------------------------


def weights_to_arrays(weights: StackWeights) -> dict[str, np.ndarray]:
    return {f"layers.{index}.{name}": array for index, named in weights.items() for name, array in named.items()}


def save_arrays(arrays: dict[str, np.ndarray], path: str | Path, *, compressed: bool = False) -> Path:
    """Write an .npz atomically (see convtui.files); zip-compressed on request (smaller, slower)."""
    with atomic_file(path, EngineError) as file:
        (np.savez_compressed if compressed else np.savez)(file, **arrays)
    return Path(path)


def load_weights(path: str | Path, stack: Stack | StackInfo, seed: int | None = None) -> StackWeights:
    """Weights from an .npz with keys `layers.{i}.{name}`; missing keys are initialised from the seed
    (default: the stack's, as `initial_weights`)."""
    return load_weights_and_missing(path, stack, seed)[0]


def load_weights_and_missing(path: str | Path, stack: Stack | StackInfo, seed: int | None = None) -> tuple[StackWeights, list[str]]:
    """`load_weights`, and the keys the file lacked (initialised from the seed), so callers can say so."""
    stack_info = stack.infer() if isinstance(stack, Stack) else stack
    weights = initial_weights(stack_info, stack_seed(stack, seed))
    loaded = set()
    for key, array in read_npz(path).items():
        if IGNORED_KEYS.match(key):
            continue
        index, name = parse_weight_key(key, path)
        name = current_weight_name(stack_info, index, name)
        weights[index][name] = checked_weight(array, key, index, name, stack_info, path)
        loaded.add(f"layers.{index}.{name}")  # under Keras 3's name, which a Keras 2 key was renamed to
    return weights, [key for key in weights_to_arrays(weights) if key not in loaded]


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    file = str(path)
    if Path(path).is_dir():
        raise EngineError("is a folder; give an .npz file of weights", file=file)
    if not Path(path).is_file():
        raise EngineError("no such weights file; give an .npz written by `convtui run --save` or numpy.savez", file=file)
    if not zipfile.is_zipfile(path):
        raise EngineError("is not an .npz (zip) archive; give a file written by `convtui run --save` or numpy.savez", file=file)
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            raise EngineError("is a single .npy array, not an .npz archive of named weights; write it with numpy.savez", file=file)
        with loaded as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise EngineError(f"is not a readable .npz file ({error}); give a file written by numpy.savez", file=file) from None
    for key, array in arrays.items():
        if not isinstance(array, np.ndarray):
            raise EngineError(f'member "{key}" is not a NumPy array; give a file written by numpy.savez', file=file)
    return arrays


def parse_weight_key(key: str, path: str | Path) -> tuple[int, str]:
    match = WEIGHT_KEY.match(key)
    if match is None:
        raise EngineError(f'key "{key}" is not of the form layers.{{index}}.{{weight name}}, e.g. layers.0.kernel', file=str(path))
    return int(match.group(1)), match.group(2)


KERAS_2_WEIGHT_NAMES = {("DepthwiseConv2D", "depthwise_kernel"): "kernel"}
"""Weight names Keras 2 used that Keras 3 renamed; files written with them still load."""


def current_weight_name(stack_info: StackInfo, index: int, name: str) -> str:
    if index >= len(stack_info.layers):
        return name
    return KERAS_2_WEIGHT_NAMES.get((stack_info.layers[index].layer.type_name, name), name)


def checked_weight(array: np.ndarray, key: str, index: int, name: str, stack_info: StackInfo, path: str | Path) -> np.ndarray:
    file = str(path)
    if index >= len(stack_info.layers):
        raise EngineError(f'key "{key}": the stack has only {len(stack_info.layers)} layers (0 to {len(stack_info.layers) - 1})', file=file)
    info = stack_info.layers[index]
    expected = {weight.name: weight.shape for weight in info.weights}
    if name not in expected:
        known = ", ".join(expected) or "no weights"
        raise EngineError(f'key "{key}": layer {index} ({info.layer.type_name}) has {known}', file=file)
    if tuple(array.shape) != expected[name]:
        raise EngineError(
            f'key "{key}" has shape {tuple(array.shape)} but layer {index} ({info.layer.type_name}) needs {expected[name]} (Keras layout):'
            " the file was made for another stack or input shape; use it with the ones it was made for, or without these weights",
            file=file,
        )
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array) or not np.isfinite(array).all():
        raise EngineError(f'key "{key}" must hold finite real numbers', file=file)
    return array.astype(np.float32)


# --- the weights a run starts from ----------------------------------------------------------

SHOWN_MISSING = 6
"""How many missing keys a note names before "and N more"."""


@dataclass(frozen=True)
class ChosenWeights:
    """The weights a run starts from, the .npz they came from (None: all from the seed), the keys it lacked, and the seed."""

    weights: StackWeights
    path: str | None
    missing: tuple[str, ...]
    seed: int

    @property
    def note(self) -> str | None:
        """What a run says when the file lacks some weights: whoever meant to load trained weights must not be shown seeded ones in silence."""
        if not self.missing:
            return None
        more = f" and {len(self.missing) - SHOWN_MISSING} more" if len(self.missing) > SHOWN_MISSING else ""
        shown = ", ".join(self.missing[:SHOWN_MISSING]) + more
        return f"{self.path} lacks {len(self.missing)} weight(s), initialised from seed {self.seed}: {shown}"


def chosen_weights(
    stack: Stack | StackInfo,
    stack_info: StackInfo | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    seed: int | None = None,
    source: str | None = None,
) -> ChosenWeights:
    """The weights a run starts from, as `convtui run` and the API pick them: `path` (--weights), else the
    .npz the stack's preset names (relative to the folder of `source`, by default the file it was read
    from), else Keras's initialisers. The seed (given, else the preset's, else 0) fills what a file lacks.
    A Keras model's own weights come first; whoever opened the model holds them.
    """
    if stack_info is None:
        stack_info = stack.infer() if isinstance(stack, Stack) else stack
    seed = stack_seed(stack, seed)
    if path is None and isinstance(stack, Stack):
        path = existing_preset_weights_path(stack, source)
    if path is None:
        return ChosenWeights(initial_weights(stack_info, seed), None, (), seed)
    weights, missing = load_weights_and_missing(path, stack_info, seed)
    return ChosenWeights(weights, os.fspath(path), tuple(missing), seed)


def noted(chosen: ChosenWeights) -> StackWeights:
    """The weights, with the note as a warning, for the API (the commands print it their own way)."""
    if chosen.note is not None:
        warnings.warn(chosen.note, stacklevel=3)
    return chosen.weights


def preset_weights(stack: Stack, seed: int | None = None) -> StackWeights:
    """The weights `convtui run` starts from for this stack: its preset's `weights` file, else the seed's
    (`seed`, else the preset's). Make them once to run many images with the same weights."""
    return noted(chosen_weights(stack, seed=seed))


# --- weights given by a caller --------------------------------------------------------------


def checked_weights(weights: object, stack_info: StackInfo) -> StackWeights:
    """Weights a script gives `forward`, as float32 and checked against what every layer needs, so a wrong
    one is one line naming the layer rather than a NumPy error deep inside it. The check looks at keys and
    shapes only (never at every value), so it costs nothing next to the pass."""
    if not isinstance(weights, Mapping):
        raise EngineError(f"weights must be a dict of layer index -> {{weight name: array}}, found {kind(weights)}")
    for key in weights:
        if isinstance(key, bool) or not isinstance(key, numbers.Integral) or not 0 <= key < len(stack_info.layers):
            raise EngineError(unknown_layer_key(key, stack_info))
    return {
        info.index: layer_weights(info, weights.get(info.index, {}))
        for info in stack_info.layers
        if info.weights or weights.get(info.index)
    }


def kind(value: object) -> str:
    """A Python value named by its type: a script's wrong argument may be too long to print."""
    return f"a {type(value).__name__}"


def unknown_layer_key(key: object, stack_info: StackInfo) -> str:
    names = [info.name for info in stack_info.layers]
    count = len(names)
    if key in names:
        index = names.index(key)  # type: ignore[arg-type]
        return f"weights are keyed by layer index, found {key!r}: that is layer {index}'s name, so key its weights {index}"
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        return f"weights for layer {key}: this stack has only {count} layers (0-{count - 1}); remove that key"
    return f"weights are keyed by layer index (0-{count - 1}), found {describe(key)}"


def layer_weights(info: LayerInfo, given: object) -> dict[str, np.ndarray]:
    """One layer's weights, each float32 (no copy when it already is) and of the shape the layer needs."""
    if not isinstance(given, Mapping) or len(given) != len(info.weights) or any(weight.name not in given for weight in info.weights):
        raise weights_problem(info, given)
    arrays = {}
    for weight in info.weights:
        try:
            array = np.asarray(given[weight.name], np.float32)
        except (TypeError, ValueError):
            raise weights_problem(info, given, f"{weight.name} is not an array of numbers (found {kind(given[weight.name])})") from None
        if array.shape != weight.shape:
            raise weights_problem(info, given, f"{weight.name} has shape {array.shape} but needs {weight.shape} (Keras's layout, as initial_weights makes it)")
        arrays[weight.name] = array
    return arrays


def weights_problem(info: LayerInfo, given: object, problem: str | None = None) -> EngineError:
    """What is wrong with one layer's weights: the layer by index, type and name, the weight, what it needs."""
    needed = ", ".join(f"{weight.name} {weight.shape}" for weight in info.weights) or "no weights"
    if problem is None and not isinstance(given, Mapping):
        problem = f"weights must be a dict of weight name -> array, found {kind(given)}"
    elif problem is None:
        unknown = [name for name in given if name not in {weight.name for weight in info.weights}]
        missing = [weight.name for weight in info.weights if weight.name not in given]
        what = "no weights given" if len(missing) == len(info.weights) else f"{', '.join(missing)} missing"
        problem = (
            f"has no weight {unknown[0]!r}: it has {needed}" if unknown
            else f"{what} (it needs {needed}); give every weight of a layer, e.g. start from initial_weights(stack) and replace some"
        )
    return EngineError(f"{info.name}: {problem}", layer_index=info.index, layer_type=info.layer.type_name)
