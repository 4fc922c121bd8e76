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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convtui.engine.im2col import FLOAT_BYTES, Epilogue, Pads, Scratch, Write, copy_shifted, row_blocks

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
) -> np.ndarray:
    """A 3x3, stride-1, dilation-1, ungrouped convolution of an NHWC batch, any padding.

    The output is computed whole tiles at a time; a map that is not a multiple of the tile is
    cropped by one copy at the end.
    """
    transform = TRANSFORMS[output_tile]
    batch, height, width, _ = x.shape
    (top, bottom), (left, right) = pads
    out_h, out_w = height + top + bottom - KERNEL_SIZE + 1, width + left + right - KERNEL_SIZE + 1
    tile_rows, tile_columns = -(-out_h // output_tile), -(-out_w // output_tile)
    positions, channels, filters = transformed_filters.shape
    output = np.empty((batch, tile_rows * output_tile, tile_columns * output_tile, filters), np.float32)
    row_bytes = positions * tile_columns * max(channels, filters) * FLOAT_BYTES
    for images, rows in row_blocks(batch, tile_rows, row_bytes, band_bytes):
        band = _transformed_band(x[images], rows.start, min(rows.stop, tile_rows), tile_columns, (top, left), transform, scratch)
        products = scratch("winograd_tiles", (positions, band.shape[1], filters))  # the tiles are transformed: reuse their buffer
        np.matmul(band, transformed_filters, out=products)
        if epilogue.bias is not None:
            np.add(products[transform.bias_position], epilogue.bias, out=products[transform.bias_position])
        target = output[images, rows.start * output_tile : rows.stop * output_tile]
        _write_band(products, target, epilogue.write or np.copyto, transform, scratch)
    return output if output.shape[1:3] == (out_h, out_w) else np.ascontiguousarray(output[:, :out_h, :out_w])


def _transformed_band(
    x: np.ndarray, first_row: int, end_row: int, tile_columns: int, offsets: tuple[int, int], transform: TileTransform, scratch: Scratch
) -> np.ndarray:
    """B^T d B for every tile of tile rows [first_row, end_row): (a*a, tiles, C)."""
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
    transformed = scratch("winograd_transformed", (size * size, count, channels))
    np.matmul(transform.data, tiles.reshape(size * size, count * channels), out=transformed.reshape(size * size, count * channels))
    return transformed


def _write_band(products: np.ndarray, target: np.ndarray, write: Write, transform: TileTransform, scratch: Scratch) -> None:
    """A^T M A for every tile of the band, written (activated) into the band's rows of whole tiles."""
    positions, count, filters = products.shape
    step = transform.output_tile
    batch, rows, columns, _ = target.shape
    tiles = scratch("winograd_transformed", (step, step, batch, rows // step, columns // step, filters))  # dead after the products
    np.matmul(transform.output, products.reshape(positions, count * filters), out=tiles.reshape(step * step, count * filters))
    write(target.reshape(batch, rows // step, step, columns // step, step, filters), tiles.transpose(2, 3, 0, 4, 1, 5))
