"""Training data with nothing downloaded: sets drawn by convtui, a folder of class folders, or an .npz.

Whatever the source, `load_dataset` returns float32 images at exactly the stack's (H, W, C) with
integer labels, split into training and validation, plus sentences saying what was done to the
images (scaled, resized, converted), as `convtui run` says it of one image. Every problem is a
DataError naming the file and what to do, raised before any training starts.

- Generated: `shapes`, `digits`, `stripes`, optionally with a count (`digits:5000`); drawn at the
  stack's own size from the seed, the same set for the same seed on any machine.
- A folder with one sub-folder of PNG, JPEG, BMP or GIF images per class (sub-folder names sorted
  are the classes); shuffled once with the seed, as Keras's image_dataset_from_directory does.
- An .npz with `x` (N, H, W) or (N, H, W, C) and `y` (N,) integer labels, or Keras's mnist.npz
  layout (`x_train`, `y_train`, `x_test`, `y_test`); `x_test`/`y_test` become the validation set.
  uint8 images are divided by 255; other numbers are used as given.

The validation split takes the last fraction of the examples, in order, as Keras's
`fit(validation_split=...)` does; a file's own test set replaces it.
"""

from __future__ import annotations

import math
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convtui.catalogue import GENERATED_CLASSES, SHAPE_NAMES
from convtui.engine.images import Canvas, LoadedImage, fit_channels, load_image, quadratic_curve, render, resize
from convtui.errors import ConvtuiError, EngineError
from convtui.model.info import StackInfo
from convtui.model.units import counted

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
DEFAULT_VALIDATION_SPLIT = 0.1
MAX_GENERATED = 1_000_000
Point = tuple[float, float]


class DataError(ConvtuiError):
    """Training data that cannot be used: unreadable, mislabelled, or not what the stack can learn from."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Examples ready for the stack: (N, H, W, C) float32 images and (N,) int64 labels, training and validation."""

    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    class_names: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """One line: "digits: 10,800 training and 1,200 validation images, 10 classes"."""
        return (
            f"{self.source}: {len(self.x_train):,} training and {len(self.x_validation):,} validation images "
            f"of {'x'.join(map(str, self.x_train.shape[1:]))}, {counted(len(self.class_names), 'class', 'classes')}"
        )


# --- generated sets -----------------------------------------------------------------------------


Painter = Callable[[np.random.Generator, int, int, int], np.ndarray]
"""(generator, class, height, width) -> one (H, W, 1) image in [0, 1]."""


def regular_polygon(centre: Point, radius: float, sides: int, turn: float, inner: float = 1.0) -> list[Point]:
    """Vertices of a regular polygon (a star when `inner` < 1: every other vertex pulled in), first one up."""
    count = sides * (2 if inner < 1 else 1)
    points = []
    for vertex in range(count):
        angle = turn - math.pi / 2 + 2 * math.pi * vertex / count
        reach = radius * inner if vertex % 2 else radius
        points.append((centre[0] + reach * math.cos(angle), centre[1] + reach * math.sin(angle)))
    return points


def paint_shape(kind: str, centre: Point, radius: float, turn: float, grey: int) -> Callable[[Canvas], None]:
    def paint(canvas: Canvas) -> None:
        x, y = centre
        if kind in ("circle", "ring"):
            canvas.draw.ellipse(canvas.box(x - radius, y - radius, x + radius, y + radius), fill=grey)
            if kind == "ring":
                hole = radius * 0.55
                canvas.draw.ellipse(canvas.box(x - hole, y - hole, x + hole, y + hole), fill=0)
        elif kind == "cross":
            arm = radius * 0.32
            for angle in (turn, turn + math.pi / 2):
                bar = [(x + dx * math.cos(angle) - dy * math.sin(angle), y + dx * math.sin(angle) + dy * math.cos(angle))
                       for dx, dy in ((-radius, -arm), (radius, -arm), (radius, arm), (-radius, arm))]
                canvas.draw.polygon(canvas.points(*bar), fill=grey)
        else:
            sides, inner, offset = SHAPE_POLYGONS[kind]
            canvas.draw.polygon(canvas.points(*regular_polygon(centre, radius, sides, turn + offset, inner)), fill=grey)

    return paint


SHAPE_POLYGONS = {"square": (4, 1.0, math.pi / 4), "triangle": (3, 1.0, 0.0), "star": (5, 0.45, 0.0), "diamond": (4, 1.0, 0.0)}
"""Polygon shapes: (sides, inner radius as a fraction for stars, turn of the first vertex)."""
MAX_TURN = math.radians(10)
"""Small turns only: a square turned 45 degrees is the diamond class."""


def paint_shapes_example(rng: np.random.Generator, label: int, height: int, width: int) -> np.ndarray:
    """One shape at a jittered place, size, turn and grey, with pixel noise."""
    centre = (rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65))
    radius, turn, grey = rng.uniform(0.2, 0.32), rng.uniform(-MAX_TURN, MAX_TURN), int(rng.uniform(150, 255))
    pixels = render("L", 0, height, width, paint_shape(SHAPE_NAMES[label], centre, radius, turn, grey))
    return noisy(rng, pixels, 0.05)


def noisy(rng: np.random.Generator, pixels: np.ndarray, spread: float) -> np.ndarray:
    return np.clip(pixels + rng.normal(0.0, spread, pixels.shape).astype(np.float32), 0.0, 1.0)


def arc(centre: Point, radii: Point, start: float, end: float, steps: int = 16) -> list[Point]:
    """Points along an ellipse from `start` to `end` degrees (0 is right, 90 is down, as y grows downwards)."""
    angles = np.radians(np.linspace(start, end, steps))
    return [(centre[0] + radii[0] * math.cos(angle), centre[1] + radii[1] * math.sin(angle)) for angle in angles]


DIGIT_STROKES: tuple[tuple[list[Point], ...], ...] = (
    (arc((0.5, 0.5), (0.19, 0.3), 0, 360, 24),),
    ([(0.4, 0.3), (0.52, 0.2), (0.52, 0.8)],),
    (arc((0.5, 0.36), (0.18, 0.16), 190, 380) + [(0.32, 0.8), (0.7, 0.8)],),
    (arc((0.48, 0.35), (0.17, 0.15), 200, 450) + arc((0.48, 0.65), (0.19, 0.15), 270, 520)[1:],),
    ([(0.62, 0.8), (0.62, 0.2), (0.28, 0.62), (0.74, 0.62)],),
    ([(0.68, 0.2), (0.37, 0.2), (0.34, 0.47)] + arc((0.5, 0.63), (0.19, 0.17), 225, 500),),
    (quadratic_curve((0.64, 0.2), (0.3, 0.35), (0.32, 0.64)) + arc((0.5, 0.64), (0.18, 0.16), 180, 540)[1:],),
    ([(0.3, 0.22), (0.7, 0.22), (0.45, 0.8)],),
    (arc((0.5, 0.35), (0.15, 0.14), 0, 360), arc((0.5, 0.65), (0.18, 0.16), 0, 360)),
    (arc((0.5, 0.36), (0.17, 0.15), 0, 360), [(0.67, 0.36), (0.6, 0.8)]),
)
"""Each digit's pen strokes in a unit box, y down, inside MNIST's central 20x20 of 28x28."""


def slanted(points: list[Point], variation: np.ndarray) -> list[Point]:
    """A hand's variation: slant, turn, scale and shift about the centre, then a little wobble per point."""
    slant, turn, scale, shift_x, shift_y = variation[:5]
    moved = []
    for index, (x, y) in enumerate(points):
        x, y = (x - 0.5 + slant * (0.5 - y)) * scale, (y - 0.5) * scale
        x, y = x * math.cos(turn) - y * math.sin(turn), x * math.sin(turn) + y * math.cos(turn)
        wobble = variation[5 + index % 8]
        moved.append((0.5 + x + shift_x + wobble, 0.5 + y + shift_y - wobble))
    return moved


def paint_digit_example(rng: np.random.Generator, label: int, height: int, width: int) -> np.ndarray:
    """A handwritten-looking digit: slant, turn, size, place and pen width drawn per example, soft strokes."""
    variation = np.concatenate([
        [rng.uniform(-0.35, 0.35), rng.uniform(-0.15, 0.15), rng.uniform(0.8, 1.1), rng.uniform(-0.06, 0.06), rng.uniform(-0.06, 0.06)],
        rng.normal(0.0, 0.008, 8),
    ])  # fmt: skip
    pen = rng.uniform(0.07, 0.12)

    def paint(canvas: Canvas) -> None:
        width_pixels = canvas.thickness(pen)
        for stroke in DIGIT_STROKES[label]:
            points = canvas.points(*slanted(stroke, variation))
            canvas.draw.line(points, fill=255, width=width_pixels, joint="curve")
            for x, y in (points[0], points[-1]):
                canvas.draw.ellipse([x - width_pixels / 2, y - width_pixels / 2, x + width_pixels / 2, y + width_pixels / 2], fill=255)

    return render("L", 0, height, width, paint, blur=0.02)


STRIPE_ANGLES = (90.0, 0.0, 45.0, 135.0)
"""The direction along which each class's brightness varies (degrees, y down)."""


def paint_stripes_example(rng: np.random.Generator, label: int, height: int, width: int) -> np.ndarray:
    """Soft stripes at a jittered angle, period and phase, with pixel noise."""
    angle = math.radians(STRIPE_ANGLES[label] + rng.uniform(-10, 10))
    side = min(height, width)
    period = rng.uniform(max(3.0, side / 10), max(4.0, side / 3))
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = (columns * math.cos(angle) + rows * math.sin(angle)) * (2 * math.pi / period) + rng.uniform(0, 2 * math.pi)
    return noisy(rng, (0.5 + 0.5 * np.sin(phase))[:, :, None].astype(np.float32), 0.1)


@dataclass(frozen=True)
class GeneratedSet:
    """A set convtui draws: its classes, how one example is painted, and how many it draws by default."""

    class_names: tuple[str, ...]
    paint: Painter
    default_count: int


GENERATED: dict[str, GeneratedSet] = {
    "shapes": GeneratedSet(GENERATED_CLASSES["shapes"], paint_shapes_example, 4000),
    "digits": GeneratedSet(GENERATED_CLASSES["digits"], paint_digit_example, 12000),
    "stripes": GeneratedSet(GENERATED_CLASSES["stripes"], paint_stripes_example, 2000),
}


def generated_name(source: str) -> tuple[str, str] | None:
    """("digits", "5000") for "digits:5000", ("digits", "") for "digits"; None when it names no generated set."""
    name, _, count = source.partition(":")
    return (name, count) if name in GENERATED else None


def generated_count(source: str, count: str) -> int:
    if not count:
        return GENERATED[source.partition(":")[0]].default_count
    if not count.isdigit() or not 1 <= int(count) <= MAX_GENERATED:
        raise DataError(f"'{count}' is not a number of examples; write NAME:COUNT with 1 to {MAX_GENERATED:,}, e.g. digits:5000", file=source)
    return int(count)


def generate(name: str, count: int, shape: tuple[int, int, int], seed: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """`count` examples, classes balanced and in random order, drawn at (H, W) and fitted to C channels."""
    kind = GENERATED[name]
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(kind.class_names))
    height, width, channels = shape
    images = np.empty((count, height, width, 1), np.float32)
    for index, label in enumerate(labels):
        images[index] = kind.paint(rng, int(label), height, width)
    fitted, notes = fit_batch_channels(images, channels, name)
    return fitted, labels.astype(np.int64), notes


# --- files ------------------------------------------------------------------------------------


def fit_batch_channels(images: np.ndarray, channels: int, label: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """images.fit_channels on a whole (N, H, W, C) batch: rows of every image stacked into one tall picture."""
    count, height, width, _ = images.shape
    if images.shape[3] == channels:
        return images, ()
    fitted, notes = fit_channels(images.reshape(count * height, width, -1), channels, label)
    return fitted.reshape(count, height, width, channels), notes


def fit_batch_size(images: np.ndarray, height: int, width: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each image resized as `convtui run` resizes one (bilinear), when its size differs from the stack's."""
    if images.shape[1:3] == (height, width):
        return images, ()
    resized = [resize(image, height, width) for image in images]
    return np.stack([pixels for pixels, _ in resized]), resized[0][1]


def read_folder(folder: Path, shape: tuple[int, int, int], seed: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Every image of every class folder at the stack's shape, shuffled once with the seed; notes counted by kind."""
    classes = sorted(child for child in folder.iterdir() if child.is_dir() and not child.name.startswith("."))
    if not classes:
        raise DataError("has no class folders; put the images of each class in a sub-folder of it, e.g. DATA/cat/1.png, DATA/dog/1.png", file=str(folder))
    images, labels, notes = [], [], Counter[str]()
    for label, class_folder in enumerate(classes):
        files = sorted(path for path in class_folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file())
        if not files:
            raise DataError(f"class folder '{class_folder.name}' has no PNG, JPEG, BMP or GIF images; add some or remove the folder", file=str(class_folder))
        for path in files:
            loaded = read_image(path, shape)
            images.append(loaded.pixels)
            labels.append(label)
            notes.update(loaded.notes)
    order = np.random.default_rng(seed).permutation(len(images))
    counted = tuple(f"{note} ({count:,} image{'s' if count > 1 else ''})" for note, count in notes.items())
    return np.stack(images)[order], np.array(labels, np.int64)[order], tuple(child.name for child in classes), counted


def read_image(path: Path, shape: tuple[int, int, int]) -> LoadedImage:
    """One image of a class folder; an unreadable one stops everything, named, before any training."""
    try:
        return load_image(path, shape)
    except EngineError as error:
        problem = error.message.split(";")[0]
        raise DataError(f"{problem}; remove this image from its class folder or replace it with a PNG, JPEG, BMP or GIF", file=str(path)) from None


NPZ_LAYOUTS = (("x", "y"), ("x_train", "y_train"))
"""The training keys an .npz may have; `x_test` and `y_test` (Keras's mnist.npz) are the validation set."""
NPZ_HELP = "save x (N, H, W) or (N, H, W, C) and y (N,) integer labels with numpy.savez, or use Keras's mnist.npz layout (x_train, y_train, x_test, y_test)"


def read_npz_arrays(path: Path) -> dict[str, np.ndarray]:
    label = str(path)
    if not zipfile.is_zipfile(path):
        raise DataError(f"is not an .npz (zip) archive; {NPZ_HELP}", file=label)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"cannot read the archive ({str(error)[:120]}); {NPZ_HELP}", file=label) from None


def npz_images(array: np.ndarray, key: str, label: str) -> tuple[np.ndarray, str]:
    """(N, H, W[, C]) numbers as float32 (N, H, W, C): uint8 divided by 255, the rest as given; the note says which."""
    if array.ndim not in (3, 4) or array.shape[0] == 0 or array.dtype.kind not in "uif":
        raise DataError(f"'{key}' has shape {array.shape} of {array.dtype}; {NPZ_HELP}", file=label)
    images = array if array.ndim == 4 else array[..., None]
    if array.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255), "scaled uint8 images to [0, 1] (divided by 255)"
    pixels = images.astype(np.float32)
    if not np.isfinite(pixels).all():
        raise DataError(f"'{key}' has NaN or infinite values; replace them with finite numbers", file=label)
    return pixels, f"used {array.dtype} images as given, not rescaled ({pixels.min():.4g} to {pixels.max():.4g})"


def npz_labels(array: np.ndarray, key: str, count: int, images_key: str, label: str) -> np.ndarray:
    labels = array.reshape(-1) if array.ndim == 2 and array.shape[1] == 1 else array
    if labels.ndim != 1 or labels.dtype.kind not in "ui":
        raise DataError(f"'{key}' has shape {array.shape} of {array.dtype}; give one integer class label per image, shape (N,)", file=label)
    if len(labels) != count:
        raise DataError(f"'{images_key}' has {count:,} images but '{key}' has {len(labels):,} labels; give one label per image", file=label)
    if len(labels) and labels.min() < 0:
        raise DataError(f"'{key}' has a negative label ({labels.min()}); classes are numbered from 0", file=label)
    return labels.astype(np.int64)


Split = tuple[np.ndarray, np.ndarray]
"""(images, labels) of one part of a data set."""


def read_npz(path: Path, shape: tuple[int, int, int]) -> tuple[list[Split], tuple[str, ...]]:
    """The training split and, when the file has one, its test split, at the stack's shape; notes said once."""
    arrays = read_npz_arrays(path)
    label = str(path)
    layout = next((keys for keys in NPZ_LAYOUTS if all(key in arrays for key in keys)), None)
    if layout is None:
        raise DataError(f"has keys {', '.join(sorted(arrays)) or 'none'}; {NPZ_HELP}", file=label)
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DataError(f"has '{'x_test' if 'x_test' in arrays else 'y_test'}' without its pair; give both x_test and y_test, or neither", file=label)
    splits: list[Split] = []
    notes: list[str] = []
    for images_key, labels_key in [layout, *([("x_test", "y_test")] if "x_test" in arrays else [])]:
        images, scale_note = npz_images(arrays[images_key], images_key, label)
        labels = npz_labels(arrays[labels_key], labels_key, len(images), images_key, label)
        images, channel_notes = fit_batch_channels(images, shape[2], label)
        images, size_notes = fit_batch_size(images, shape[0], shape[1])
        splits.append((images, labels))
        notes += [note for note in (scale_note, *channel_notes, *size_notes) if note not in notes]
    return splits, tuple(notes)


# --- loading ----------------------------------------------------------------------------------


def output_classes(stack_info: StackInfo) -> int:
    """How many classes the stack can tell apart: its output must be one vector per image."""
    shape = stack_info.output_shape
    if shape is None or len(shape) != 1:
        raise DataError(
            f"the stack's output is {shape}, not one vector of class scores per image; end it with Flatten (or global pooling) and Dense(classes, activation=\"softmax\")"
        )
    return shape[0]


def check_labels(labels: np.ndarray, classes: int, source: str) -> None:
    if len(labels) and labels.max() >= classes:
        raise DataError(
            f"has labels up to {labels.max()} but the stack's output has {classes} values (classes 0 to {classes - 1}); "
            f"give the last layer {labels.max() + 1} units, or relabel the data",
            file=source,
        )


def split_at(count: int, validation_split: float) -> int:
    """Keras's rule: the first ceil(count * (1 - split)) examples train, the rest validate."""
    return int(math.ceil(count * (1.0 - validation_split)))


def load_dataset(source: str, stack_info: StackInfo, *, validation_split: float = DEFAULT_VALIDATION_SPLIT, seed: int = 0) -> Dataset:
    """The data a NAME (shapes, digits, stripes, NAME:COUNT), a folder or an .npz gives, at the stack's input shape."""
    classes = output_classes(stack_info)
    shape = stack_info.input_shape
    if (generated := generated_name(source)) is not None:
        images, labels, notes = generate(generated[0], generated_count(source, generated[1]), shape, seed)
        splits, names = [(images, labels)], GENERATED[generated[0]].class_names
    elif Path(source).is_dir():
        images, labels, names, notes = read_folder(Path(source), shape, seed)
        splits = [(images, labels)]
    elif Path(source).is_file():
        splits, notes = read_npz(Path(source), shape)
        names = tuple(str(label) for label in range(max(int(labels.max(initial=0)) for _, labels in splits) + 1))
    else:
        raise DataError(f"no such folder or .npz file, nor a generated set; the generated sets are {', '.join(GENERATED)} (or NAME:COUNT, e.g. digits:5000)", file=source)
    for _, labels in splits:
        check_labels(labels, classes, source)
    if len(splits) == 2:
        (images, labels), (test_images, test_labels) = splits
        notes = (*notes, f"validates on the file's test set (x_test: {len(test_images):,} images), not on a split of the training set")
        return Dataset(source, images, labels, test_images, test_labels, names, notes)
    images, labels = splits[0]
    cut = split_at(len(images), validation_split)
    return Dataset(source, images[:cut], labels[:cut], images[cut:], labels[cut:], names, notes)
