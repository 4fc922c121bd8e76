"""Input images for the engine: samples drawn by the package itself, and image or .npy files.

Whatever the source, `load_image` returns float32 pixels at exactly the (H, W, C) shape the stack
asks for, plus plain sentences saying what was done to get there (resized, converted to grey, ...),
so the user never wonders why the network sees something other than their file.

Sizes in notes are written height x width (x channels), the order of the stack's (H, W, C) shape.
A sample name wins over a file of the same name; write `./digit` to load such a file.
"""

from __future__ import annotations

import difflib
import io
import math
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from types import MappingProxyType

import numpy as np
from PIL import ExifTags, Image, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError

from convtui.catalogue import SAMPLE_ENTRIES, SAMPLE_NAMES, ImageShape
from convtui.errors import EngineError
Point = tuple[float, float]

PILLOW_FORMATS = ("PNG", "JPEG", "BMP", "GIF")
NPY_MAGIC = b"\x93NUMPY"
LUMINANCE_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)
LUMINANCE_NOTE = "converted RGB to grey by luminance (ITU-R 601: 0.299 R + 0.587 G + 0.114 B)"
RESIZE_FILTER = Image.Resampling.BILINEAR  # weights >= 0: never overshoots the source's range
MAX_SUPERSAMPLING = 4
MAX_CANVAS_SIDE = 4096
MAX_REASON_LENGTH = 120
MAX_PICTURE_PIXELS = 30_000_000  # a 30-megapixel RGB photo is already 360 MB as float32
OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")  # "<_io.BytesIO object at 0x7f...>" says nothing to a user


# --------------------------------------------------------------------------- samples


@dataclass(frozen=True, slots=True)
class Canvas:
    """A drawing surface addressed in fractions of the picture, so one drawing fits any size."""

    draw: ImageDraw.ImageDraw
    width: int
    height: int

    def points(self, *fractions: Point) -> list[Point]:
        return [(x * self.width, y * self.height) for x, y in fractions]

    def box(self, left: float, top: float, right: float, bottom: float) -> list[float]:
        (x0, y0), (x1, y1) = self.points((left, top), (right, bottom))
        return [x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)]

    def thickness(self, fraction: float) -> int:
        """A stroke width as a fraction of the shorter side, at least one pixel."""
        return max(1, round(fraction * min(self.width, self.height)))


@dataclass(frozen=True, slots=True)
class Sample:
    """A built-in picture: `draw(height, width)` gives (H, W, C) float32 in [0, 1], C its own channels."""

    name: str
    description: str
    default_shape: ImageShape
    draw: Callable[[int, int], np.ndarray]


def render(
    mode: str, background: int | tuple[int, ...], height: int, width: int, paint: Callable[[Canvas], None], blur: float = 0.0
) -> np.ndarray:
    """Paint on a canvas a few times larger, then average blocks down: anti-aliased edges at any size.

    `blur` is a Gaussian radius as a fraction of the shorter side (soft strokes, like a scanned pen).
    """
    factor = max(1, min(MAX_SUPERSAMPLING, MAX_CANVAS_SIDE // max(height, width)))
    picture = Image.new(mode, (width * factor, height * factor), background)
    paint(Canvas(ImageDraw.Draw(picture), picture.width, picture.height))
    if blur > 0:
        picture = picture.filter(ImageFilter.GaussianBlur(blur * min(picture.size)))
    pixels = np.asarray(picture.reduce(factor), dtype=np.float32) / 255.0
    return pixels.reshape(height, width, -1)


def quadratic_curve(start: Point, control: Point, end: Point, steps: int = 12) -> list[Point]:
    """Points along a quadratic Bezier curve: a pen stroke that bends instead of a straight segment."""
    points = []
    for step in range(steps + 1):
        t = step / steps
        points.append(
            (
                (1 - t) ** 2 * start[0] + 2 * (1 - t) * t * control[0] + t**2 * end[0],
                (1 - t) ** 2 * start[1] + 2 * (1 - t) * t * control[1] + t**2 * end[1],
            )
        )
    return points


def paint_seven(canvas: Canvas) -> None:
    """A slightly slanted, curved "7" inside MNIST's central 20x20 box of 28x28, round pen ends."""
    stroke = quadratic_curve((0.28, 0.25), (0.50, 0.21), (0.71, 0.22)) + quadratic_curve(
        (0.71, 0.22), (0.58, 0.45), (0.46, 0.80)
    )[1:]
    width = canvas.thickness(0.1)
    points = canvas.points(*stroke)
    canvas.draw.line(points, fill=255, width=width, joint="curve")
    for x, y in (points[0], points[-1]):
        canvas.draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)


def paint_shapes(canvas: Canvas) -> None:
    """A white square, a light grey circle and a mid grey triangle on black."""
    canvas.draw.rectangle(canvas.box(0.08, 0.08, 0.44, 0.44), fill=255)
    canvas.draw.ellipse(canvas.box(0.54, 0.08, 0.92, 0.46), fill=180)
    canvas.draw.polygon(canvas.points((0.5, 0.54), (0.86, 0.92), (0.14, 0.92)), fill=110)


SKY = (135, 190, 235)
GROUND = (70, 150, 60)
SUN = (250, 215, 50)


def paint_scene(canvas: Canvas) -> None:
    """Sky, ground, sun and a house: a few flat colour regions with edges in every direction."""
    canvas.draw.rectangle(canvas.box(0.0, 0.62, 1.0, 1.0), fill=GROUND)
    canvas.draw.ellipse(canvas.box(0.70, 0.08, 0.90, 0.28), fill=SUN)
    canvas.draw.rectangle(canvas.box(0.16, 0.42, 0.50, 0.78), fill=(200, 70, 50))
    canvas.draw.polygon(canvas.points((0.12, 0.43), (0.33, 0.22), (0.54, 0.43)), fill=(110, 40, 30))
    canvas.draw.rectangle(canvas.box(0.29, 0.58, 0.37, 0.78), fill=(90, 55, 30))
    canvas.draw.rectangle(canvas.box(0.20, 0.49, 0.26, 0.56), fill=(250, 240, 200))
    canvas.draw.rectangle(canvas.box(0.40, 0.49, 0.46, 0.56), fill=(250, 240, 200))


def draw_checkerboard(height: int, width: int) -> np.ndarray:
    """Sharp squares, white top-left, eight along the shorter side: every edge a filter can find."""
    cell = max(1, min(height, width) // 8)
    rows = np.arange(height)[:, None] // cell
    columns = np.arange(width)[None, :] // cell
    return ((rows + columns) % 2 == 0).astype(np.float32)[:, :, None]


def draw_gradient(height: int, width: int) -> np.ndarray:
    """Dark left to bright right, sampled at pixel centres: a smooth ramp with no edges at all."""
    ramp = (np.arange(width, dtype=np.float32) + 0.5) / width
    return np.broadcast_to(ramp, (height, width))[:, :, None].copy()


DRAWINGS: dict[str, Callable[[int, int], np.ndarray]] = {
    "digit": lambda height, width: render("L", 0, height, width, paint_seven, blur=0.025),
    "shapes": lambda height, width: render("L", 0, height, width, paint_shapes),
    "checkerboard": draw_checkerboard,
    "gradient": draw_gradient,
    "scene": lambda height, width: render("RGB", SKY, height, width, paint_scene),
}
SAMPLES: Mapping[str, Sample] = MappingProxyType(
    {name: Sample(name, entry.description, entry.default_shape, DRAWINGS[name]) for name, entry in SAMPLE_ENTRIES.items()}
)
WHAT_TO_GIVE = f"give a PNG, JPEG, BMP, GIF or .npy file, or a sample name: {', '.join(SAMPLE_NAMES)}"


def suggestion(name: str) -> str:
    """ "did you mean 'digit'? " for a near miss of a sample name, else nothing."""
    close = difflib.get_close_matches(name, SAMPLE_NAMES, n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def find_sample(name: str) -> Sample:
    if name not in SAMPLES:
        raise EngineError(f"unknown sample name; {suggestion(name)}the samples are: {', '.join(SAMPLE_NAMES)}", file=name)
    return SAMPLES[name]


def sample_default_shape(name: str) -> ImageShape:
    """The size a sample is shown at when no stack asks for one (digit: MNIST's 28x28x1)."""
    return find_sample(name).default_shape


def sample_image(name: str, height: int, width: int, channels: int) -> np.ndarray:
    """A sample drawn at (height, width), fitted to `channels`; float32 in [0, 1], the same every call."""
    return load_sample(find_sample(name), check_shape((height, width, channels))).pixels


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True, eq=False, slots=True)
class LoadedImage:
    """An image ready for the stack: read-only (H, W, C) float32 pixels, where they came from, what was done."""

    pixels: np.ndarray
    source: str
    original_shape: tuple[int, ...]
    notes: tuple[str, ...] = ()
    is_sample: bool = False


def load_image(source: str | Path, shape: tuple[int, ...] | None = None) -> LoadedImage:
    """A sample (by name) or a file (by path) at exactly `shape` (H, W, C); None keeps the source's own size.

    Raises EngineError, naming the source, for anything that cannot become such an image.
    """
    wanted = None if shape is None else check_shape(shape)
    if isinstance(source, str) and source in SAMPLES:
        return load_sample(SAMPLES[source], wanted)
    return load_file(Path(source), str(source), wanted)


def image_summary_line(loaded: LoadedImage) -> str:
    """One line for the CLI and the app: "digit (sample), 28x28x1" or "cat.jpg, 480x640x3 -> 28x28x1: ..."."""
    label = f"{loaded.source} (sample)" if loaded.is_sample else Path(loaded.source).name
    sizes = size_text(loaded.original_shape)
    if tuple(loaded.pixels.shape) != tuple(loaded.original_shape):
        sizes += f" -> {size_text(loaded.pixels.shape)}"
    return f"{label}, {sizes}" + (f": {'; '.join(loaded.notes)}" if loaded.notes else "")


def size_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(side) for side in shape)


def check_shape(shape: tuple[int, ...]) -> ImageShape:
    """The stack's input must be an image shape; a flat input (a Dense-only stack) cannot take one."""
    if len(shape) != 3 or not all(isinstance(side, Integral) and not isinstance(side, bool) and side > 0 for side in shape):
        raise EngineError(
            f"an image cannot feed input shape {tuple(shape)}; "
            "give the stack an image input shape (height, width, channels) of positive whole numbers",
            field_name="input_shape",
        )
    height, width, channels = (int(side) for side in shape)
    return height, width, channels


def load_sample(sample: Sample, shape: ImageShape | None) -> LoadedImage:
    height, width, channels = shape or sample.default_shape
    drawn = sample.draw(height, width)
    pixels, notes = fit_channels(drawn, channels, sample.name)
    return LoadedImage(read_only(pixels), sample.name, drawn.shape, notes, is_sample=True)


def load_file(path: Path, label: str, shape: ImageShape | None) -> LoadedImage:
    data = read_file(path, label)
    decode = decode_npy if data.startswith(NPY_MAGIC) or path.suffix.lower() == ".npy" else decode_picture
    pixels, original_shape, notes = decode(data, label)
    if shape is not None:
        pixels, channel_notes = fit_channels(pixels, shape[2], label)
        pixels, resize_notes = resize(pixels, shape[0], shape[1])
        notes = notes + channel_notes + resize_notes
    return LoadedImage(read_only(pixels), label, original_shape, notes)


def read_only(pixels: np.ndarray) -> np.ndarray:
    """A contiguous float32 copy nobody can change behind the LoadedImage's back."""
    frozen = np.array(pixels, dtype=np.float32, order="C")
    frozen.flags.writeable = False
    return frozen


def reason(error: BaseException) -> str:
    """A library's error message on one short line, for the parentheses of ours."""
    text = " ".join(OBJECT_REPR.sub("", str(error)).split()) or type(error).__name__
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 3] + "..."


def read_file(path: Path, label: str) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        looks_like_a_path = path.suffix or len(path.parts) > 1
        missing = "no such file" if looks_like_a_path else "no such file or sample name"
        raise EngineError(f"{missing}; {suggestion(label)}{WHAT_TO_GIVE}", file=label) from None
    except IsADirectoryError:
        raise EngineError(f"is a directory, not an image file; {WHAT_TO_GIVE}", file=label) from None
    except (OSError, ValueError) as error:  # permission denied, a path through a file, a NUL in the name
        detail = getattr(error, "strerror", None) or reason(error)
        raise EngineError(f"cannot read the file ({detail}); check the path and its permissions", file=label) from None
    if not data:
        raise EngineError(f"the file is empty (0 bytes); {WHAT_TO_GIVE}", file=label)
    return data


Decoded = tuple[np.ndarray, tuple[int, ...], tuple[str, ...]]


def decode_npy(data: bytes, label: str) -> Decoded:
    """A NumPy array used as given: no rescaling, since only the user knows what its numbers mean."""
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as error:  # numpy raises ValueError, EOFError, OSError, ... on damaged data
        raise EngineError(f"cannot read .npy file ({reason(error)}); save one image with numpy.save", file=label) from None
    if not isinstance(loaded, np.ndarray):
        raise EngineError("is a .npz archive, not a .npy array; save one image with numpy.save", file=label)
    pixels = npy_pixels(loaded, label)
    return pixels, loaded.shape, (f"used the array's values as given, not rescaled ({pixels.min():.4g} to {pixels.max():.4g})",)


def npy_pixels(array: np.ndarray, label: str) -> np.ndarray:
    """(H, W), (H, W, C) or (1, H, W, C) of finite numbers, as (H, W, C) float32."""
    if array.dtype.kind not in "biuf":
        raise EngineError(f"the array holds {array.dtype} values, not numbers; save a numeric array (float32, uint8, ...)", file=label)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    elif array.ndim == 2:
        array = array[:, :, None]
    elif array.ndim != 3:
        raise EngineError(
            f"an array of shape {array.shape} is not one image; save shape (H, W), (H, W, C) or (1, H, W, C)", file=label
        )
    if array.size == 0:
        raise EngineError(f"the array is empty (shape {array.shape}); save an image with at least one pixel", file=label)
    with np.errstate(over="ignore", invalid="ignore"):
        pixels = array.astype(np.float32)
    bad = int(np.count_nonzero(~np.isfinite(pixels)))
    if bad:
        raise EngineError(
            f"the array has {bad} NaN or infinite values (or values beyond float32's range); replace them with finite numbers",
            file=label,
        )
    return pixels


FULL_SCALE = {"L": 255, "LA": 255, "RGB": 255, "RGBA": 255, "I;16": 65535, "I;16L": 65535, "I;16B": 65535}


def decode_picture(data: bytes, label: str) -> Decoded:
    """Pillow's reading of the file, its many exception types turned into one EngineError."""
    try:
        # MAX_PICTURE_PIXELS is stricter than the size Pillow warns about on opening
        with warnings.catch_warnings(action="ignore", category=Image.DecompressionBombWarning):
            return first_frame(data)
    except UnidentifiedImageError:  # also Pillow's answer to a zero-size image
        message = f"cannot read image: not a PNG, JPEG, BMP or GIF file (cannot identify image file); {WHAT_TO_GIVE}"
    except Image.DecompressionBombError as error:
        message = f"the image is too large to read safely ({reason(error)}); give a smaller image"
    except Exception as error:  # Pillow's decoders raise OSError, SyntaxError, ValueError, ... on damaged data
        message = f"cannot read image: the file is damaged or truncated ({reason(error)}); {WHAT_TO_GIVE}"
    raise EngineError(message, file=label)


def first_frame(data: bytes) -> Decoded:
    """The first frame of a PNG, JPEG, BMP or GIF as grey or RGB in [0, 1], alpha resolved."""
    with Image.open(io.BytesIO(data), formats=PILLOW_FORMATS) as picture:
        check_picture_size(picture)
        picture.load()
        original_shape = (picture.height, picture.width, len(picture.getbands()))
        pixels, notes = picture_pixels(picture)
        if getattr(picture, "is_animated", False):
            notes.append("used the first frame of the animation")
    return pixels, original_shape, tuple(notes)


def check_picture_size(picture: Image.Image) -> None:
    """Refuse a huge (or lying) header before decoding: Pillow's own bomb check allows 89 megapixels."""
    if picture.width * picture.height > MAX_PICTURE_PIXELS:
        raise Image.DecompressionBombError(
            f"{picture.height}x{picture.width} pixels, more than {MAX_PICTURE_PIXELS // 1_000_000} megapixels"
        )


def picture_pixels(picture: Image.Image) -> tuple[np.ndarray, list[str]]:
    notes = []
    if picture.getexif().get(ExifTags.Base.Orientation, 1) != 1:
        picture = ImageOps.exif_transpose(picture)
        notes.append("turned upright as its EXIF orientation says")
    picture, mode_notes = to_known_mode(picture)
    pixels = np.asarray(picture).astype(np.float32) / FULL_SCALE[picture.mode]
    pixels, alpha_notes = resolve_alpha(pixels.reshape(picture.height, picture.width, -1))
    return pixels, notes + mode_notes + alpha_notes


def to_known_mode(picture: Image.Image) -> tuple[Image.Image, list[str]]:
    """Bring Pillow's many modes (palette, bilevel, CMYK, ...) down to the few whose range we know."""
    if picture.mode in FULL_SCALE:
        notes = ["scaled 16-bit values to [0, 1] (divided by 65535)"] if FULL_SCALE[picture.mode] == 65535 else []
        return picture, notes
    if picture.mode == "1":
        return picture.convert("L"), []
    target = "RGBA" if picture.has_transparency_data else "RGB"
    what = "the palette" if picture.mode in ("P", "PA") else picture.mode
    return picture.convert(target), [f"converted {what} to {target}"]


def resolve_alpha(pixels: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Composite on black: transparent parts become background, as in MNIST's white-on-black digits."""
    if pixels.shape[2] not in (2, 4):
        return pixels, []
    colour, alpha = pixels[:, :, :-1], pixels[:, :, -1:]
    if np.all(alpha == 1.0):
        return colour, ["dropped the alpha channel (fully opaque)"]
    return colour * alpha, ["composited on black by the alpha channel (transparent parts became black)"]


def resize(pixels: np.ndarray, height: int, width: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Bilinear (anti-aliased when shrinking) per channel in float, stretching to the asked size.

    The filter's weights are non-negative, so values stay in the source's range; the clip only
    removes float rounding.
    """
    old_height, old_width = pixels.shape[:2]
    if (old_height, old_width) == (height, width):
        return pixels, ()
    channels = [
        np.asarray(Image.fromarray(np.ascontiguousarray(pixels[:, :, index])).resize((width, height), RESIZE_FILTER))
        for index in range(pixels.shape[2])
    ]
    resized = np.clip(np.stack(channels, axis=2), pixels.min(), pixels.max())
    note = f"resized from {old_height}x{old_width} to {height}x{width} (bilinear)"
    old_aspect, new_aspect = old_width / old_height, width / height
    if not math.isclose(old_aspect, new_aspect, rel_tol=0.01):
        note += f", stretched: width/height was {old_aspect:.2f}, is {new_aspect:.2f}"
    return resized, (note,)


def fit_channels(pixels: np.ndarray, channels: int, label: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """RGB becomes grey by luminance; grey is repeated over any number of channels; nothing else converts."""
    notes = []
    if pixels.shape[2] == 3 and channels != 3:
        pixels = (pixels @ LUMINANCE_WEIGHTS)[:, :, None]
        notes.append(LUMINANCE_NOTE)
    if pixels.shape[2] == 1 and channels != 1:
        pixels = np.repeat(pixels, channels, axis=2)
        notes.append(f"repeated grey over {channels} channels")
    if pixels.shape[2] != channels:
        raise EngineError(channel_mismatch(pixels.shape, channels), file=label)
    return pixels, tuple(notes)


def channel_mismatch(shape: tuple[int, ...], channels: int) -> str:
    message = (
        f"cannot turn {shape[2]} channels into the stack's {channels}: only grey (1) and RGB (3) convert; "
        f"give an image with {' or '.join(str(count) for count in sorted({1, 3, channels}))} channels"
    )
    if shape[0] <= 4 < shape[2]:
        message += f" (shape {shape} looks channels-first; transpose it to (H, W, C))"
    return message
