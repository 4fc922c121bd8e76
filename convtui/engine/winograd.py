"""Winograd F(m x m, 3 x 3): a 3x3 stride-1 convolution in fewer multiplications than im2col.

Lavin & Gray's minimal filtering: an (m+2)x(m+2) input tile d and a 3x3 filter g give the
m x m output tile  A^T [(G g G^T) . (B^T d B)] A, with 36 products for 16 outputs (m = 4, 2.25
per output instead of 9) or 16 for 4 (m = 2). The matrices come from interpolation points
(`toom_cook`). Every stage is one BLAS call over the whole band:

  tiles      (a*a, tiles, C)  gathered from the padded input          (a = m + 2)
  transform  (B^T kron B^T) @ tiles                                   one (a*a x a*a) product
  products   batched matmul over the a*a positions with (a*a, C, F)   the transformed filters
  outputs    (A^T kron A^T) @ products, written into the image        one (m*m x a*a) product

The bias is added to one position of the products (see `toom_cook`) and a relu/relu6 is
applied by the write itself. The filters' transform (G kron G) @ kernel is computed once per set
of weights (callers cache it). The image is cut into bands of tile rows so the transform-domain
buffers stay near the CPU caches (measured faster for large layers); buffers come from the
caller's scratch, two per band: the products overwrite the gathered tiles and the output tiles
the transformed ones, each dead by then (half the scratch, so more of it is still in cache when
the next band or layer comes: VGG16's forward measured about 2.5% faster).

With several threads (threads.py) the bands of a large layer are dealt to the threads, each band
doing all four stages on one core with its own scratch; a deep layer on a small map (too few tiles
per band for its filters) is instead gathered and transformed in bands, then split by filters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convtui.engine.im2col import FLOAT_BYTES, Epilogue, Pads, Scratch, Write, copy_shifted, image_segments, row_blocks
from convtui.engine import threads
from convtui.engine.threads import run_parallel, run_shared, split_evenly

KERNEL_SIZE = 3
BAND_BYTES = 8 * 2**20
"""Target size of a band's transform-domain buffer (tuned on VGG16's layers)."""


@dataclass(frozen=True, slots=True)
class TileTransform:
    """The Kronecker forms of one F(m x m, 3 x 3) algorithm's three transform matrices."""

    output_tile: int
    data: np.ndarray  # B^T kron B^T: (a*a, a*a) float32
    filter: np.ndarray  # G kron G: (a*a, 9) float64, applied once per kernel
    output: np.ndarray  # A^T kron A^T: (m*m, a*a) float32
    bias_position: int  # the product a constant added to reaches every output pixel unchanged

    @property
    def input_tile(self) -> int:
        return self.output_tile + KERNEL_SIZE - 1


def toom_cook(points: Sequence[Fraction | int]) -> TileTransform:
    """F(m, 3) from m + 1 finite interpolation points, one of them 1, and infinity (Toom-Cook), exactly.

    The correlation y = A^T [(G g) . (B^T d)] of a tile d (n = m + 2 values) with a filter g:
    A^T[i, j] = p_j^i and G[j, k] = p_j^k / prod_{l != j} (p_j - p_l) evaluate at the points;
    B^T's row j holds the coefficients of prod_{l != j} (x - p_l) (its Lagrange basis
    polynomial, times that product). Infinity contributes the leading coefficients: the last
    column of A^T and row of G are unit vectors, B^T's last row is prod_l (x - p_l). Each B^T
    row is scaled to coprime integers and G's row divided by the same scale.

    A^T's column for the point 1 is all ones, so a bias added to the products at (1, 1) adds it
    to every output pixel: one small add per band instead of a pass over the outputs.
    """
    points = [Fraction(point) for point in points]
    size = len(points) + 1
    output_tile = size - KERNEL_SIZE + 1
    data_rows, filter_rows = [], []
    for point in points:
        others = [other for other in points if other != point]
        row, scale = _coprime_integers(_monic_polynomial(others) + [Fraction(0)])
        data_rows.append(row)
        filter_rows.append([point**k / (math.prod(point - other for other in others) * scale) for k in range(KERNEL_SIZE)])
    data_rows.append(_monic_polynomial(points))
    filter_rows.append([Fraction(int(k == KERNEL_SIZE - 1)) for k in range(KERNEL_SIZE)])
    output_rows = [[point**i for point in points] + [Fraction(int(i == output_tile - 1))] for i in range(output_tile)]
    data_matrix, filter_matrix, output_matrix = (np.array(rows, np.float64) for rows in (data_rows, filter_rows, output_rows))
    one = points.index(Fraction(1))
    return TileTransform(
        output_tile=output_tile,
        data=np.kron(data_matrix, data_matrix).astype(np.float32),
        filter=np.kron(filter_matrix, filter_matrix),
        output=np.kron(output_matrix, output_matrix).astype(np.float32),
        bias_position=one * size + one,
    )


def _monic_polynomial(roots: Sequence[Fraction]) -> list[Fraction]:
    """Coefficients of prod (x - root), constant term first."""
    coefficients = [Fraction(1)]
    for root in roots:
        coefficients = [low - root * high for low, high in zip([Fraction(0), *coefficients], [*coefficients, Fraction(0)])]
    return coefficients


def _coprime_integers(row: list[Fraction]) -> tuple[list[Fraction], Fraction]:
    """The row times the smallest positive scale that makes its entries coprime integers, and that scale."""
    common_denominator = math.lcm(*(value.denominator for value in row))
    scale = Fraction(common_denominator, math.gcd(*(int(value * common_denominator) for value in row)))
    return [value * scale for value in row], scale


# Points 0, 1, -1 for F(2x2); for F(4x4), 0, 1, -1, 1/2, -2 rather than Lavin & Gray's 0, +-1, +-2:
# measured 2.5x smaller float32 error on VGG-like layers (as Barabasz et al. 2018 found).
TRANSFORMS: dict[int, TileTransform] = {
    transform.output_tile: transform for transform in (toom_cook([0, 1, -1]), toom_cook([0, 1, -1, Fraction(1, 2), -2]))
}


def transform_filters(kernel: np.ndarray, output_tile: int) -> np.ndarray:
    """G g G^T for every (input channel, filter) pair of a Keras (3, 3, C, F) kernel: (a*a, C, F) float32.

    Computed in float64 so the cached filters carry no error of their own.
    """
    _, _, channels, filters = kernel.shape
    transform = TRANSFORMS[output_tile]
    flat = np.asarray(kernel, np.float64).reshape(KERNEL_SIZE * KERNEL_SIZE, channels * filters)
    return (transform.filter @ flat).astype(np.float32).reshape(-1, channels, filters)


def winograd_conv3x3(
    x: np.ndarray,
    transformed_filters: np.ndarray,
    pads: Pads,
    output_tile: int,
    epilogue: Epilogue,
    scratch: Scratch,
    band_bytes: int = BAND_BYTES,
    *,
    workers: Sequence[Scratch] = (),
) -> np.ndarray:
    """A 3x3, stride-1, dilation-1, ungrouped convolution of an NHWC batch, any padding.

    The output is computed whole tiles at a time; a map that is not a multiple of the tile is
    cropped by one copy at the end. `workers` (one scratch per thread, see threads.py): a layer
    with enough work is split across them (`_parallel_plan`); none or one, today's single pass.
    """
    transform = TRANSFORMS[output_tile]
    batch, height, width, _ = x.shape
    (top, bottom), (left, right) = pads
    out_h, out_w = height + top + bottom - KERNEL_SIZE + 1, width + left + right - KERNEL_SIZE + 1
    tile_rows, tile_columns = -(-out_h // output_tile), -(-out_w // output_tile)
    positions, channels, filters = transformed_filters.shape
    output = np.empty((batch, tile_rows * output_tile, tile_columns * output_tile, filters), np.float32)
    row_bytes = positions * tile_columns * max(channels, filters) * FLOAT_BYTES
    layer = _Layer(x, transformed_filters, output, (top, left), tile_columns, transform, epilogue, row_bytes)
    mode, tasks = _parallel_plan(batch * tile_rows, batch * tile_rows * tile_columns, transformed_filters.nbytes, filters, len(workers))
    workers = workers[:tasks]
    if mode == "rows":
        enough = MIN_TILES_PER_TASK_SMALL_FILTERS if transformed_filters.nbytes <= SMALL_FILTER_BYTES else MIN_TILES_PER_TASK
        bands = min(tasks * threads.BANDS_PER_THREAD, batch * tile_rows, batch * tile_rows * tile_columns // enough)
        parts = split_evenly(batch * tile_rows, max(bands, tasks))
        per_task_bytes = max(band_bytes // tasks, MIN_TASK_BAND_BYTES)
        run_shared(lambda index, worker: _row_task(layer, parts[index], tile_rows, worker, per_task_bytes), len(parts), workers)
    elif mode == "filters":
        chunks = split_evenly(filters, tasks)
        for images, rows in row_blocks(batch, tile_rows, row_bytes, band_bytes):
            images, rows = slice(images.start, min(images.stop, batch)), range(rows.start, min(rows.stop, tile_rows))
            band = scratch("winograd_transformed", (positions, (images.stop - images.start) * len(rows) * tile_columns, channels))
            parts = split_evenly((images.stop - images.start) * len(rows), len(workers))
            run_parallel([partial(_gather_task, layer, band, images, rows, part, worker) for part, worker in zip(parts, workers)])
            target = output[images, rows.start * output_tile : rows.stop * output_tile]
            run_parallel([partial(_filter_task, layer, band, target, chunk, worker) for chunk, worker in zip(chunks, workers)])
    else:
        _bands(layer, slice(0, batch), range(tile_rows), scratch, band_bytes)
    return output if output.shape[1:3] == (out_h, out_w) else np.ascontiguousarray(output[:, :out_h, :out_w])


MIN_TILES_PER_TASK = 64
"""A band of fewer tiles makes the products memory-bound when the transformed filters (36*C*F
values) are large: each band reads all of them for that few tiles' worth of arithmetic."""
MIN_TILES_PER_TASK_SMALL_FILTERS = 16
"""The same floor when the transformed filters fit in a core's caches (`SMALL_FILTER_BYTES`)."""
SMALL_FILTER_BYTES = 4 * 2**20
MIN_FILTERS_PER_TASK = 16
"""Split by filters, fewer per task make the products' and the output transform's rows too short."""
MIN_TASK_BAND_BYTES = 2**20
"""The band target per task is BAND_BYTES shared by the tasks (so the scratch of all of them is
about one single-threaded band, plus a tile row each at worst), but not below this."""


def _parallel_plan(units: int, tiles: int, filter_bytes: int, filters: int, workers: int) -> tuple[str, int]:
    """("rows" | "filters" | "whole", task count) for `workers` threads.

    Bands of tile rows when every task gets enough tiles; else chunks of filters over a band
    transformed once (deep layers on small maps: each task reads only its share of the filters);
    else one pass, today's single-threaded path (with BLAS's own threads).
    """
    workers = min(workers, tiles * (filter_bytes // FLOAT_BYTES) // threads.MIN_MACS_PER_TASK)
    if workers <= 1:
        return "whole", 1
    enough = MIN_TILES_PER_TASK_SMALL_FILTERS if filter_bytes <= SMALL_FILTER_BYTES else MIN_TILES_PER_TASK
    if tiles // workers >= enough and units >= workers:
        return "rows", workers
    tasks = min(workers, filters // MIN_FILTERS_PER_TASK)
    return ("filters", tasks) if tasks > 1 else ("whole", 1)


@dataclass(frozen=True, slots=True)
class _Layer:
    """One call's arrays and geometry, shared by its bands."""

    x: np.ndarray
    filters: np.ndarray
    output: np.ndarray
    offsets: tuple[int, int]
    tile_columns: int
    transform: TileTransform
    epilogue: Epilogue
    row_bytes: int


def _bands(layer: _Layer, images: slice, rows: range, scratch: Scratch, band_bytes: int) -> None:
    """Tile rows `rows` of images `images`, in bands of about `band_bytes`: gather, transform, products, write."""
    transform, step = layer.transform, layer.transform.output_tile
    positions, _, filters = layer.filters.shape
    for band_images, band_rows in row_blocks(images.stop - images.start, len(rows), layer.row_bytes, band_bytes):
        chosen = slice(images.start + band_images.start, images.start + band_images.stop)
        first, end = rows.start + band_rows.start, rows.start + min(band_rows.stop, len(rows))
        band = _transformed_band(layer.x[chosen], first, end, layer.tile_columns, layer.offsets, transform, scratch)
        products = scratch("winograd_tiles", (positions, band.shape[1], filters))  # the tiles are transformed: reuse their buffer
        np.matmul(band, layer.filters, out=products)
        if layer.epilogue.bias is not None:
            np.add(products[transform.bias_position], layer.epilogue.bias, out=products[transform.bias_position])
        target = layer.output[chosen, first * step : end * step]
        _write_band(products, target, layer.epilogue.write or np.copyto, transform, scratch)


def _row_task(layer: _Layer, part: range, tile_rows: int, scratch: Scratch, band_bytes: int) -> None:
    """Global tile rows `part` (image * tile_rows + row) of the batch, in bands."""
    for images, rows in image_segments(part, tile_rows):
        _bands(layer, images, rows, scratch, band_bytes)


def _gather_task(layer: _Layer, band: np.ndarray, images: slice, rows: range, part: range, scratch: Scratch) -> None:
    """Tile rows `part` (counted across the band's images) of a band: gathered and transformed into their tiles of `band`."""
    tile_rows, columns = len(rows), layer.tile_columns
    for segment_images, segment_rows in image_segments(part, tile_rows):
        first_tile = (segment_images.start * tile_rows + segment_rows.start) * columns
        end_tile = first_tile + (segment_images.stop - segment_images.start) * len(segment_rows) * columns
        chosen = slice(images.start + segment_images.start, images.start + segment_images.stop)
        _transformed_band(
            layer.x[chosen],
            rows.start + segment_rows.start,
            rows.start + segment_rows.stop,
            columns,
            layer.offsets,
            layer.transform,
            scratch,
            out=band[:, first_tile:end_tile],
        )


def _filter_task(layer: _Layer, band: np.ndarray, target: np.ndarray, chunk: range, scratch: Scratch) -> None:
    """Filters `chunk` of a transformed band: products, bias, output transform, write."""
    transform = layer.transform
    positions, count, _ = band.shape
    chosen = slice(chunk.start, chunk.stop)
    products = scratch("winograd_tiles", (positions, count, len(chunk)))
    np.matmul(band, layer.filters[:, :, chosen], out=products)
    bias = layer.epilogue.bias
    if bias is not None:
        np.add(products[transform.bias_position], bias[chosen], out=products[transform.bias_position])
    _write_band(products, target[..., chosen], layer.epilogue.write or np.copyto, transform, scratch)


def _transformed_band(
    x: np.ndarray,
    first_row: int,
    end_row: int,
    tile_columns: int,
    offsets: tuple[int, int],
    transform: TileTransform,
    scratch: Scratch,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """B^T d B for every tile of tile rows [first_row, end_row): (a*a, tiles, C), in `out` if given (a view
    whose last two axes are contiguous), else in scratch."""
    batch, _, _, channels = x.shape
    step, size = transform.output_tile, transform.input_tile
    top, left = offsets
    rows = end_row - first_row
    image = scratch("winograd_input", (batch, rows * step + size - step, tile_columns * step + size - step, channels))
    copy_shifted(image, x, first_row * step - top, -left, 0.0)
    step_n, step_h, step_w, step_c = image.strides
    tile_view = as_strided(
        image, (size, size, batch, rows, tile_columns, channels), (step_h, step_w, step_n, step * step_h, step * step_w, step_c)
    )
    tiles = scratch("winograd_tiles", tile_view.shape)
    np.copyto(tiles, tile_view)
    count = batch * rows * tile_columns
    transformed = scratch("winograd_transformed", (size * size, count, channels)) if out is None else out
    flat = transformed.reshape(size * size, count * channels)
    assert np.may_share_memory(flat, transformed), "out must be reshapable without a copy"
    np.matmul(transform.data, tiles.reshape(size * size, count * channels), out=flat)
    return transformed


def _write_band(products: np.ndarray, target: np.ndarray, write: Write, transform: TileTransform, scratch: Scratch) -> None:
    """A^T M A for every tile of the band, written (activated) into the band's rows of whole tiles."""
    positions, count, filters = products.shape
    step = transform.output_tile
    batch, rows, columns, _ = target.shape
    tiles = scratch("winograd_transformed", (step, step, batch, rows // step, columns // step, filters))  # dead after the products
    np.matmul(transform.output, products.reshape(positions, count * filters), out=tiles.reshape(step * step, count * filters))
    write(target.reshape(batch, rows // step, step, columns // step, step, filters), tiles.transpose(2, 3, 0, 4, 1, 5))


def winograd_kernel_gradient(
    x: np.ndarray, d_output: np.ndarray, pads: Pads, output_tile: int, scratch: Scratch, band_bytes: int = BAND_BYTES
) -> np.ndarray:
    """The (3, 3, C, F) kernel gradient of a 3x3, stride-1, ungrouped convolution, the forward's algorithm run backwards.

    The forward is linear in the transformed filters U = G g G^T, so with M = U . V (V = B^T d B,
    the input tiles as the forward transforms them) and y = A^T M A per tile, the gradient of U
    at each of the a*a positions is sum over tiles of V^T (A^T dy A): one batched product over
    the positions of (C x tiles) by (tiles x F), then G^T . G once. About a quarter of im2col's
    multiplications (m = 4); partial tiles at the edges see zero output gradients.
    """
    transform = TRANSFORMS[output_tile]
    batch, out_h, out_w, filters = d_output.shape
    channels = x.shape[-1]
    step, positions = output_tile, transform.input_tile**2
    tile_rows, tile_columns = -(-out_h // step), -(-out_w // step)
    offsets = (pads[0][0], pads[1][0])
    gradient = np.zeros((positions, channels, filters), np.float32)
    row_bytes = positions * tile_columns * (channels + filters) * FLOAT_BYTES
    for images, rows in row_blocks(batch, tile_rows, row_bytes, band_bytes):
        images = slice(images.start, min(images.stop, batch))
        first, end = rows.start, min(rows.stop, tile_rows)
        inputs = _transformed_band(x[images], first, end, tile_columns, offsets, transform, scratch)
        outputs = _transformed_output_gradients(d_output[images], first, end, tile_columns, transform, scratch)
        gradient += inputs.transpose(0, 2, 1) @ outputs
    flat = transform.filter.T @ gradient.reshape(positions, channels * filters).astype(np.float64)
    return flat.astype(np.float32).reshape(KERNEL_SIZE, KERNEL_SIZE, channels, filters)


def _transformed_output_gradients(
    d_output: np.ndarray, first_row: int, end_row: int, tile_columns: int, transform: TileTransform, scratch: Scratch
) -> np.ndarray:
    """A^T dy A (the adjoint of the output transform) for every m x m tile of output gradients in tile rows
    [first_row, end_row): (a*a, tiles, F), zeros past the map's edge."""
    batch, _, _, filters = d_output.shape
    step = transform.output_tile
    rows = end_row - first_row
    image = scratch("winograd_gradient_input", (batch, rows * step, tile_columns * step, filters))
    copy_shifted(image, d_output, first_row * step, 0, 0.0)
    tiles = scratch("winograd_gradient_tiles", (step, step, batch, rows, tile_columns, filters))
    np.copyto(tiles, image.reshape(batch, rows, step, tile_columns, step, filters).transpose(2, 4, 0, 1, 3, 5))
    count = batch * rows * tile_columns
    transformed = scratch("winograd_gradient_transformed", (transform.input_tile**2, count, filters))
    np.matmul(transform.output.T, tiles.reshape(step * step, count * filters), out=transformed.reshape(-1, count * filters))
    return transformed
