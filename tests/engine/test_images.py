"""Samples and image loading: right shape, right values, and an EngineError for every bad input."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from convtui.engine.images import (
    SAMPLE_NAMES,
    LoadedImage,
    image_summary_line,
    load_image,
    sample_default_shape,
    sample_image,
)
from convtui.errors import EngineError

LUMA = np.array([0.299, 0.587, 0.114])


def load_error(source: str | Path, shape: tuple[int, ...] = (28, 28, 1)) -> str:
    """The message of the EngineError loading must raise: one line, starting with the source."""
    with pytest.raises(EngineError) as caught:
        load_image(source, shape)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{source}: "), message
    return message


def save_picture(path: Path, pixels: np.ndarray, mode: str | None = None, **options: object) -> Path:
    Image.fromarray(pixels, mode=mode).save(path, **options)
    return path


def random_bytes_image(height: int, width: int, channels: int, seed: int = 0) -> np.ndarray:
    shape = (height, width, channels) if channels > 1 else (height, width)
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


# --------------------------------------------------------------------------- samples


def test_the_required_samples_exist() -> None:
    assert {"digit", "shapes", "checkerboard", "gradient", "scene"} <= set(SAMPLE_NAMES)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_samples_are_deterministic(name: str) -> None:
    np.testing.assert_array_equal(sample_image(name, 40, 30, 3), sample_image(name, 40, 30, 3))


@pytest.mark.parametrize("name", SAMPLE_NAMES)
@pytest.mark.parametrize("shape", [(28, 28, 1), (1, 1, 1), (2, 3, 3), (7, 50, 3), (224, 224, 3), (33, 17, 4)])
def test_samples_have_the_asked_shape_dtype_and_range(name: str, shape: tuple[int, int, int]) -> None:
    pixels = sample_image(name, *shape)
    assert pixels.shape == shape
    assert pixels.dtype == np.float32
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_samples_are_not_blank(name: str) -> None:
    assert sample_image(name, 64, 64, 1).std() > 0.1


def test_default_shapes_are_natural_and_used_without_a_shape() -> None:
    assert sample_default_shape("digit") == (28, 28, 1)
    assert sample_default_shape("scene") == (224, 224, 3)
    for name in SAMPLE_NAMES:
        assert load_image(name).pixels.shape == sample_default_shape(name)


def test_digit_looks_like_an_mnist_digit() -> None:
    digit = sample_image("digit", 28, 28, 1)[:, :, 0]
    bright = digit > 0.5
    assert 0.05 < bright.mean() < 0.30  # MNIST digits light roughly 10-20% of the pixels
    assert digit[4:24, 4:24].sum() / digit.sum() > 0.95  # drawn in the central 20x20 box
    assert digit[:2].max() == 0 and digit[-2:].max() == 0  # a black margin, as in MNIST
    rows_with_ink = np.flatnonzero(bright.any(axis=1))
    assert rows_with_ink[-1] - rows_with_ink[0] >= 12  # a tall stroke, not a blob
    assert np.count_nonzero((digit > 0.1) & (digit < 0.9)) >= 20  # soft, anti-aliased edges


def test_digit_at_a_larger_size_is_the_same_drawing() -> None:
    small = sample_image("digit", 28, 28, 1)[:, :, 0]
    large = sample_image("digit", 112, 112, 1)[:, :, 0]
    shrunk = large.reshape(28, 4, 28, 4).mean(axis=(1, 3))
    assert np.abs(shrunk - small).mean() < 0.05


@pytest.mark.parametrize(("height", "width", "cell"), [(32, 32, 4), (24, 40, 3), (5, 5, 1)])
def test_checkerboard_alternates_in_square_cells(height: int, width: int, cell: int) -> None:
    board = sample_image("checkerboard", height, width, 1)[:, :, 0]
    rows, columns = np.indices((height, width))
    expected = ((rows // cell + columns // cell) % 2 == 0).astype(np.float32)
    np.testing.assert_array_equal(board, expected)
    assert board[0, 0] == 1.0 and board[0, cell] == 0.0 and board[cell, 0] == 0.0


def test_gradient_rises_left_to_right_and_is_constant_down() -> None:
    gradient = sample_image("gradient", 10, 16, 1)[:, :, 0]
    assert np.all(np.diff(gradient, axis=1) > 0)
    assert np.all(gradient == gradient[0])
    assert gradient[0, 0] < 0.05 and gradient[0, -1] > 0.95


def test_scene_has_sky_ground_and_sun_in_distinct_colours() -> None:
    scene = sample_image("scene", 224, 224, 3)
    sky = scene[5, 5]
    ground = scene[-5, 5]
    sun = scene[40, 179]
    assert sky[2] > sky[1] > sky[0]  # blue
    assert ground[1] > ground[0] and ground[1] > ground[2]  # green
    assert sun[0] > 0.9 and sun[1] > 0.8 and sun[2] < 0.3  # yellow
    for first, second in [(sky, ground), (sky, sun), (ground, sun)]:
        assert np.abs(first - second).max() > 0.3
    assert len(np.unique(scene.reshape(-1, 3).round(2), axis=0)) >= 6


def test_scene_in_grey_is_its_luminance() -> None:
    colour = sample_image("scene", 30, 40, 3)
    grey = sample_image("scene", 30, 40, 1)
    np.testing.assert_allclose(grey[:, :, 0], colour @ LUMA, atol=1e-6)


def test_grey_samples_repeat_over_channels() -> None:
    pixels = sample_image("shapes", 16, 16, 3)
    np.testing.assert_array_equal(pixels[:, :, 0], pixels[:, :, 1])
    np.testing.assert_array_equal(pixels[:, :, 0], pixels[:, :, 2])


def test_unknown_sample_name_suggests_the_closest() -> None:
    with pytest.raises(EngineError, match="did you mean 'checkerboard'"):
        sample_image("checkerbord", 8, 8, 1)


@pytest.mark.parametrize("shape", [(784,), (0, 28, 1), (28, 28, -1), (28, 28), (28.0, 28, 1)])
def test_a_shape_that_is_not_an_image_is_an_engine_error(shape: tuple) -> None:
    with pytest.raises(EngineError, match="input shape") as caught:
        load_image("digit", shape)
    assert caught.value.field_name == "input_shape"


def test_loaded_sample_is_described_on_one_line() -> None:
    assert image_summary_line(load_image("digit", (28, 28, 1))) == "digit (sample), 28x28x1"
    line = image_summary_line(load_image("scene", (32, 32, 1)))
    assert line.startswith("scene (sample), 32x32x3 -> 32x32x1: converted RGB to grey by luminance")


# --------------------------------------------------------------------------- files: values


@pytest.mark.parametrize("extension", [".png", ".bmp"])
def test_lossless_rgb_round_trips_exactly(tmp_path: Path, extension: str) -> None:
    original = random_bytes_image(12, 9, 3)
    path = save_picture(tmp_path / f"picture{extension}", original)
    loaded = load_image(path, (12, 9, 3))
    np.testing.assert_allclose(loaded.pixels, original / 255.0, atol=1e-7)
    assert loaded.notes == ()
    assert loaded.original_shape == (12, 9, 3)
    assert loaded.source == str(path)


def test_grey_png_round_trips_exactly(tmp_path: Path) -> None:
    original = random_bytes_image(10, 11, 1)
    loaded = load_image(save_picture(tmp_path / "grey.png", original), (10, 11, 1))
    np.testing.assert_allclose(loaded.pixels[:, :, 0], original / 255.0, atol=1e-7)


def test_jpeg_is_close_to_what_was_saved(tmp_path: Path) -> None:
    smooth = np.tile(np.linspace(0, 255, 32).astype(np.uint8), (32, 1))
    loaded = load_image(save_picture(tmp_path / "ramp.jpg", smooth, quality=95), (32, 32, 1))
    assert np.abs(loaded.pixels[:, :, 0] - smooth / 255.0).max() < 0.05


def test_16_bit_png_is_scaled_by_65535(tmp_path: Path) -> None:
    original = np.array([[0, 1000, 30000], [40000, 65534, 65535]], dtype=np.uint16)
    loaded = load_image(save_picture(tmp_path / "deep.png", original), (2, 3, 1))
    np.testing.assert_allclose(loaded.pixels[:, :, 0], original / 65535.0, rtol=1e-6)
    assert any("16-bit" in note for note in loaded.notes)


def test_bilevel_png_gives_zeros_and_ones(tmp_path: Path) -> None:
    path = tmp_path / "bilevel.png"
    Image.fromarray(np.eye(4, dtype=np.uint8) * 255).convert("1").save(path)
    np.testing.assert_array_equal(load_image(path, (4, 4, 1)).pixels[:, :, 0], np.eye(4))


def test_rgba_is_composited_on_black(tmp_path: Path) -> None:
    pixels = np.array([[[200, 100, 50, 255], [200, 100, 50, 0], [200, 100, 50, 128]]], dtype=np.uint8)
    loaded = load_image(save_picture(tmp_path / "alpha.png", pixels), (1, 3, 3))
    colour = np.array([200, 100, 50]) / 255.0
    np.testing.assert_allclose(loaded.pixels[0], [colour, 0 * colour, colour * 128 / 255], atol=1e-6)
    assert loaded.original_shape == (1, 3, 4)
    assert any("composited on black" in note for note in loaded.notes)


def test_opaque_alpha_is_just_dropped(tmp_path: Path) -> None:
    pixels = random_bytes_image(5, 5, 4)
    pixels[:, :, 3] = 255
    loaded = load_image(save_picture(tmp_path / "opaque.png", pixels), (5, 5, 3))
    np.testing.assert_allclose(loaded.pixels, pixels[:, :, :3] / 255.0, atol=1e-7)
    assert "dropped the alpha channel (fully opaque)" in loaded.notes


def test_grey_with_alpha_is_composited(tmp_path: Path) -> None:
    pixels = np.array([[[255, 255], [255, 0]]], dtype=np.uint8)
    loaded = load_image(save_picture(tmp_path / "la.png", pixels, mode="LA"), (1, 2, 1))
    np.testing.assert_allclose(loaded.pixels[0, :, 0], [1.0, 0.0])


def test_palette_png_and_its_transparency(tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    picture = Image.fromarray(np.array([[0, 1, 2]], dtype=np.uint8), mode="P")
    picture.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    picture.save(path, transparency=2)
    loaded = load_image(path, (1, 3, 3))
    np.testing.assert_allclose(loaded.pixels[0], [[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert "converted the palette to RGBA" in loaded.notes


def test_gif_uses_the_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.fromarray(np.full((4, 4), value, dtype=np.uint8)) for value in (0, 255)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    loaded = load_image(path, (4, 4, 1))
    np.testing.assert_allclose(loaded.pixels, 0.0, atol=1e-6)
    assert "used the first frame of the animation" in loaded.notes


def test_single_frame_gif_keeps_its_colours(tmp_path: Path) -> None:
    pixels = np.zeros((3, 3, 3), dtype=np.uint8)
    pixels[0] = (255, 0, 0)
    pixels[1] = (0, 128, 255)
    loaded = load_image(save_picture(tmp_path / "still.gif", pixels), (3, 3, 3))
    np.testing.assert_allclose(loaded.pixels, pixels / 255.0, atol=1e-6)
    assert "used the first frame of the animation" not in loaded.notes


def test_jpeg_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "phone.jpg"
    picture = Image.new("L", (40, 20))  # 20 high, 40 wide; orientation 6 means "rotate to upright"
    exif = picture.getexif()
    exif[0x0112] = 6
    picture.save(path, exif=exif)
    loaded = load_image(path)
    assert loaded.pixels.shape == (40, 20, 1)
    assert "turned upright as its EXIF orientation says" in loaded.notes


def test_no_shape_keeps_the_file_as_it_is(tmp_path: Path) -> None:
    loaded = load_image(save_picture(tmp_path / "own.png", random_bytes_image(6, 7, 3)))
    assert loaded.pixels.shape == (6, 7, 3)
    assert loaded.notes == ()


# --------------------------------------------------------------------------- files: conversions


def test_rgb_to_grey_uses_the_itu_601_formula(tmp_path: Path) -> None:
    pixels = np.array([[[200, 100, 50], [0, 255, 0], [10, 20, 250]]], dtype=np.uint8)
    loaded = load_image(save_picture(tmp_path / "colour.png", pixels), (1, 3, 1))
    expected = ((pixels / 255.0) @ LUMA)[0]
    np.testing.assert_allclose(loaded.pixels[0, :, 0], expected, atol=1e-6)
    assert loaded.pixels[0, 0, 0] == pytest.approx((0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255, abs=1e-6)
    assert loaded.notes == ("converted RGB to grey by luminance (ITU-R 601: 0.299 R + 0.587 G + 0.114 B)",)


def test_grey_is_repeated_over_three_channels(tmp_path: Path) -> None:
    original = random_bytes_image(4, 4, 1)
    loaded = load_image(save_picture(tmp_path / "grey.png", original), (4, 4, 3))
    for channel in range(3):
        np.testing.assert_allclose(loaded.pixels[:, :, channel], original / 255.0, atol=1e-7)
    assert loaded.notes == ("repeated grey over 3 channels",)


def test_rgb_to_four_channels_goes_through_grey(tmp_path: Path) -> None:
    loaded = load_image(save_picture(tmp_path / "colour.png", random_bytes_image(4, 4, 3)), (4, 4, 4))
    assert loaded.pixels.shape == (4, 4, 4)
    assert loaded.notes[0].startswith("converted RGB to grey by luminance")
    assert loaded.notes[1] == "repeated grey over 4 channels"


def test_resizing_is_noted_with_the_stretch(tmp_path: Path) -> None:
    path = save_picture(tmp_path / "wide.png", random_bytes_image(48, 64, 3))
    loaded = load_image(path, (28, 28, 3))
    assert loaded.pixels.shape == (28, 28, 3)
    assert loaded.notes == ("resized from 48x64 to 28x28 (bilinear), stretched: width/height was 1.33, is 1.00",)
    assert image_summary_line(loaded) == f"wide.png, 48x64x3 -> 28x28x3: {loaded.notes[0]}"


def test_resizing_keeps_the_aspect_note_quiet_when_it_is_kept(tmp_path: Path) -> None:
    loaded = load_image(save_picture(tmp_path / "square.png", random_bytes_image(56, 56, 1)), (28, 28, 1))
    assert loaded.notes == ("resized from 56x56 to 28x28 (bilinear)",)


def test_shrinking_averages_instead_of_picking_pixels(tmp_path: Path) -> None:
    stripes = np.zeros((64, 64), dtype=np.uint8)
    stripes[:, ::2] = 255
    loaded = load_image(save_picture(tmp_path / "stripes.png", stripes), (16, 16, 1))
    np.testing.assert_allclose(loaded.pixels[:, 1:-1], 0.5, atol=0.01)  # picking pixels would give 0 or 1
    np.testing.assert_allclose(loaded.pixels, 0.5, atol=0.05)  # the edges see fewer stripes


def test_resizing_stays_within_the_source_range(tmp_path: Path) -> None:
    array = np.random.default_rng(1).uniform(-2.0, 3.0, size=(9, 13, 2)).astype(np.float32)
    np.save(tmp_path / "values.npy", array)
    for shape in [(30, 5, 2), (3, 40, 2), (4, 4, 2)]:
        pixels = load_image(tmp_path / "values.npy", shape).pixels
        assert pixels.shape == shape
        assert array.min() <= pixels.min() and pixels.max() <= array.max()


def test_resizing_a_constant_keeps_it(tmp_path: Path) -> None:
    np.save(tmp_path / "flat.npy", np.full((10, 10), 0.25, dtype=np.float32))
    np.testing.assert_allclose(load_image(tmp_path / "flat.npy", (23, 7, 1)).pixels, 0.25, atol=1e-7)


# --------------------------------------------------------------------------- .npy


@pytest.mark.parametrize(
    ("stored_shape", "expected_shape"),
    [((5, 6), (5, 6, 1)), ((5, 6, 3), (5, 6, 3)), ((1, 5, 6, 2), (5, 6, 2))],
)
def test_npy_shapes_are_accepted_and_values_kept(tmp_path: Path, stored_shape: tuple, expected_shape: tuple) -> None:
    array = np.arange(np.prod(stored_shape), dtype=np.float64).reshape(stored_shape) * 7 - 20
    np.save(tmp_path / "array.npy", array)
    loaded = load_image(tmp_path / "array.npy", expected_shape)
    np.testing.assert_array_equal(loaded.pixels, array.reshape(expected_shape).astype(np.float32))
    assert loaded.original_shape == stored_shape
    assert loaded.notes[0].startswith("used the array's values as given, not rescaled (-20 to ")


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float16, np.bool_])
def test_npy_numeric_dtypes_become_float32_unscaled(tmp_path: Path, dtype: type) -> None:
    array = (np.arange(12).reshape(3, 4) % 2).astype(dtype)
    np.save(tmp_path / "array.npy", array)
    pixels = load_image(tmp_path / "array.npy", (3, 4, 1)).pixels
    assert pixels.dtype == np.float32
    np.testing.assert_array_equal(pixels[:, :, 0], array.astype(np.float32))


def test_npy_is_recognised_without_its_extension(tmp_path: Path) -> None:
    with open(tmp_path / "array.data", "wb") as file:
        np.save(file, np.ones((2, 2)))
    assert load_image(tmp_path / "array.data", (2, 2, 1)).pixels.sum() == 4


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.zeros(5), "is not one image"),
        (np.zeros((1, 2, 2, 2, 1)), "is not one image"),
        (np.zeros((2, 4, 4, 1)), "is not one image"),
        (np.zeros((0, 28)), "the array is empty"),
        (np.array([["a", "b"]]), "not numbers"),
        (np.zeros((2, 2), dtype=np.complex64), "not numbers"),
        (np.array([[np.nan, 1.0]]), "1 NaN or infinite"),
        (np.array([[np.inf, -np.inf]]), "2 NaN or infinite"),
        (np.array([[1e300, 1.0]]), "beyond float32's range"),
        (np.zeros((4, 4, 5)), "cannot turn 5 channels into the stack's 3"),
    ],
)
def test_bad_npy_arrays_are_engine_errors(tmp_path: Path, array: np.ndarray, expected: str) -> None:
    path = tmp_path / "bad.npy"
    np.save(path, array)
    assert expected in load_error(path, (4, 4, 3))


def test_npy_of_python_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "objects.npy"
    np.save(path, np.array([[{}, []]], dtype=object), allow_pickle=True)
    assert "cannot read .npy file" in load_error(path)


def test_npz_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "archive.npy"
    with open(path, "wb") as file:
        np.savez(file, image=np.zeros((2, 2)))
    assert ".npz archive" in load_error(path)


def test_channels_first_array_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "chw.npy"
    np.save(path, np.zeros((3, 32, 32), dtype=np.float32))
    assert "looks channels-first" in load_error(path, (32, 32, 3))


# --------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path: Path) -> None:
    message = load_error(tmp_path / "nowhere.png")
    assert message.endswith(": no such file; give a PNG, JPEG, BMP, GIF or .npy file, or a sample name: " + ", ".join(SAMPLE_NAMES))


def test_misspelt_sample_name_suggests_the_sample() -> None:
    assert load_error("digt").startswith("digt: no such file or sample name; did you mean 'digit'? give a PNG")


def test_npy_summary_line_shows_the_values_are_kept(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.linspace(0, 255, 64).reshape(8, 8))
    line = image_summary_line(load_image(tmp_path / "x.npy", (4, 4, 1)))
    assert line == "x.npy, 8x8 -> 4x4x1: used the array's values as given, not rescaled (0 to 255); resized from 8x8 to 4x4 (bilinear)"


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in load_error(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert "the file is empty (0 bytes)" in load_error(path)


def test_text_file_with_an_image_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("not a picture at all")
    assert "not a PNG, JPEG, BMP or GIF file (cannot identify image file)" in load_error(path)


def test_other_image_formats_are_refused(tmp_path: Path) -> None:
    path = save_picture(tmp_path / "picture.tiff", random_bytes_image(4, 4, 3))
    assert "not a PNG, JPEG, BMP or GIF file" in load_error(path)


@pytest.mark.parametrize("extension", [".png", ".jpg", ".bmp", ".gif"])
def test_truncated_images(tmp_path: Path, extension: str) -> None:
    whole = save_picture(tmp_path / f"whole{extension}", random_bytes_image(64, 64, 3)).read_bytes()
    path = tmp_path / f"cut{extension}"
    path.write_bytes(whole[: len(whole) // 2])
    assert "cannot read image" in load_error(path)


def test_truncated_npy(tmp_path: Path) -> None:
    np.save(tmp_path / "whole.npy", np.zeros((16, 16)))
    path = tmp_path / "cut.npy"
    path.write_bytes((tmp_path / "whole.npy").read_bytes()[:200])
    assert "cannot read .npy file" in load_error(path)


def png_bytes(width: int, height: int, rows: bytes | None = None) -> bytes:
    """A hand-made grey PNG, so sizes Pillow refuses to write (0, or a lying header) can be tested."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    if rows is None:
        rows = b"\0" * (height * (width + 1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_zero_size_png(tmp_path: Path) -> None:
    path = tmp_path / "zero.png"
    path.write_bytes(png_bytes(0, 5))
    load_error(path)
    (tmp_path / "fine.png").write_bytes(png_bytes(3, 5))  # the hand-made PNG itself is valid
    assert load_image(tmp_path / "fine.png").pixels.shape == (5, 3, 1)


def test_huge_header_is_refused_before_decoding_and_quietly(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(png_bytes(20_000, 5_000, rows=b"\0" * 100))  # 100 megapixels claimed, 100 bytes given
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning must not reach the terminal
        assert "too large to read safely (5000x20000 pixels, more than 30 megapixels)" in load_error(path)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_picture(tmp_path / "locked.png", random_bytes_image(4, 4, 1))

    def refuse(self: Path) -> bytes:  # chmod 0 does not stop root, who may run the tests
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert "cannot read the file (Permission denied); check the path" in load_error(path)


def test_a_path_through_a_file(tmp_path: Path) -> None:
    file = save_picture(tmp_path / "file.png", random_bytes_image(4, 4, 1))
    assert "cannot read the file (Not a directory)" in load_error(file / "inside.png")


def test_loaded_pixels_are_read_only_float32(tmp_path: Path) -> None:
    loaded = load_image(save_picture(tmp_path / "p.png", random_bytes_image(4, 4, 3)), (8, 8, 1))
    assert isinstance(loaded, LoadedImage)
    assert loaded.pixels.dtype == np.float32 and loaded.pixels.flags.c_contiguous
    with pytest.raises(ValueError):
        loaded.pixels[0, 0, 0] = 1.0


# --------------------------------------------------------------------------- fuzzing

MAGIC_PREFIXES = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"GIF89a", b"GIF87a", b"\x93NUMPY", b"PK\x03\x04"]
EXTENSIONS = ["", ".png", ".jpg", ".bmp", ".gif", ".npy"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(MAGIC_PREFIXES), body=st.binary(max_size=300), extension=st.sampled_from(EXTENSIONS))
def test_random_bytes_raise_only_engine_errors(tmp_path: Path, prefix: bytes, body: bytes, extension: str) -> None:
    path = tmp_path / f"fuzz{extension}"
    path.write_bytes(prefix + body)
    try:
        loaded = load_image(path, (8, 8, 1))
    except EngineError as error:
        assert str(error).startswith(f"{path}: ") and "\n" not in str(error)
    else:
        assert loaded.pixels.shape == (8, 8, 1)


def valid_files() -> dict[str, bytes]:
    files = {}
    for extension, pillow_format in [(".png", "PNG"), (".jpg", "JPEG"), (".bmp", "BMP"), (".gif", "GIF")]:
        buffer = io.BytesIO()
        Image.fromarray(random_bytes_image(16, 16, 3)).save(buffer, pillow_format)
        files[extension] = buffer.getvalue()
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((16, 16, 3), dtype=np.float32))
    files[".npy"] = buffer.getvalue()
    return files


VALID_FILES = valid_files()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    extension=st.sampled_from(sorted(VALID_FILES)),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)), max_size=3),
)
def test_damaged_valid_files_raise_only_engine_errors(
    tmp_path: Path, extension: str, cut: float, flips: list[tuple[float, int]]
) -> None:
    data = bytearray(VALID_FILES[extension][: max(1, int(cut * len(VALID_FILES[extension])))])
    for position, value in flips:
        data[int(position * len(data))] = value
    path = tmp_path / f"damaged{extension}"
    path.write_bytes(bytes(data))
    try:
        loaded = load_image(path, (8, 8, 3))
    except EngineError as error:
        assert str(error).startswith(f"{path}: ")
    else:
        assert loaded.pixels.shape == (8, 8, 3) and np.isfinite(loaded.pixels).all()
