"""Tiled transforms: ELIC on large images in bounded memory, with the result of the whole image.

The memory of ELIC coding is almost all in the full-resolution transforms: ``full`` ELIC peaks
at 2.3 GB encoding and 5.0 GB decoding a 2048x1365 image on the CPU, growing with the pixel
count; next comes the exact (float64) hyper-synthesis h_s. So g_a, g_s and h_s run tile by
tile, each tile cropped out with a *halo* at least as wide as the transform's
receptive field: every output value kept from a tile then depends only on inputs inside its
crop, and inside the crop the convolutions see what they see in the whole image (the image
borders, where ``same`` padding adds zeros, are borders of the crop too). The tiled y and x̂
therefore equal the untiled ones up to float rounding of the summation order (h_s, computed in
exact arithmetic, gives identical Ψ); there are no tile seams and no rate overhead. Only the work
in the halos is repeated. The context and parameter networks and the range coder run on the whole
latent (1/16 of the size per side).

Tiles are planned on a grid of 64-pixel blocks (the padded size is a multiple of 64), split
as evenly as possible. Crops start at multiples of 16 pixels so the four stride-2 stages of
g_a sample the same grid as in the whole image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

#: Tiles are whole 64-pixel blocks (the padded image is made of them).
BLOCK = 64
#: g_a downsamples by 16: crops in pixels must start on this grid.
LATENT_STRIDE = 16


@dataclass(frozen=True)
class Span:
    """One tile along one axis: keep [core_start, core_stop) computed from [crop_start, crop_stop)."""

    core_start: int
    core_stop: int
    crop_start: int
    crop_stop: int

    def scaled(self, factor: int, divisor: int = 1) -> "Span":
        """The span in units ``factor / divisor`` times finer (every end must land on the new grid)."""
        ends = [v * factor for v in (self.core_start, self.core_stop, self.crop_start, self.crop_stop)]
        if any(v % divisor for v in ends):
            raise ValueError(f"{self} x {factor}/{divisor} does not land on whole units")
        return Span(*(v // divisor for v in ends))

    @property
    def core_in_crop(self) -> slice:
        """Where the core lies in the crop's output."""
        return slice(self.core_start - self.crop_start, self.core_stop - self.crop_start)

    @property
    def core(self) -> slice:
        return slice(self.core_start, self.core_stop)

    @property
    def crop(self) -> slice:
        return slice(self.crop_start, self.crop_stop)


def split_blocks(num_blocks: int, tile_blocks: int) -> list[tuple[int, int]]:
    """[start, stop) block ranges covering ``num_blocks`` in tiles of at most ``tile_blocks``, as even as possible.

    ``tile_blocks <= 0`` means one tile.
    """
    if num_blocks < 1:
        raise ValueError(f"nothing to tile: {num_blocks} blocks")
    if tile_blocks <= 0 or num_blocks <= tile_blocks:
        return [(0, num_blocks)]
    count = math.ceil(num_blocks / tile_blocks)
    base, extra = divmod(num_blocks, count)
    out, start = [], 0
    for i in range(count):
        stop = start + base + (1 if i < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def plan_axis(length: int, tile: int, halo: int, unit: int) -> list[Span]:
    """Spans along an axis of ``length`` units, where a 64-pixel block is ``unit`` units.

    ``tile`` (pixels, a multiple of 64, or 0 = no tiling) bounds the core; ``halo`` (units) is
    added on both sides of the core, clipped to the axis.
    """
    if length % unit:
        raise ValueError(f"axis of {length} units is not made of whole {BLOCK}-pixel blocks ({unit} units each)")
    spans = []
    for start, stop in split_blocks(length // unit, tile // BLOCK if tile > 0 else 0):
        core_start, core_stop = start * unit, stop * unit
        spans.append(Span(core_start, core_stop, max(0, core_start - halo), min(length, core_stop + halo)))
    return spans


def plan(height: int, width: int, tile: int, halo: int, unit: int) -> list[tuple[Span, Span]]:
    """(row span, column span) of every tile, row-major."""
    rows = plan_axis(height, tile, halo, unit)
    cols = plan_axis(width, tile, halo, unit)
    return [(r, c) for r in rows for c in cols]


def apply(fn, x, tiles, out, factor: int = 1, divisor: int = 1):
    """Run ``fn`` on each tile's crop of ``x`` (1, H, W, C) and write the core of its output into
    ``out``, whose grid is ``factor / divisor`` times finer than x's (the output's last two axes are
    width and channels; a leading batch axis is optional). Returns ``out``."""
    for rows, cols in tiles:
        part = np.asarray(fn(x[:, rows.crop, cols.crop]))
        r, c = rows.scaled(factor, divisor), cols.scaled(factor, divisor)
        out[..., r.core, c.core, :] = part[..., r.core_in_crop, c.core_in_crop, :]
    return out


def check_tile(tile: int) -> int:
    """The ``tile`` setting as an int: 0 (no tiling) or a positive multiple of 64 pixels."""
    tile = int(tile)
    if tile < 0 or tile % BLOCK:
        raise ValueError(f"tile must be 0 (whole image) or a positive multiple of {BLOCK} pixels, got {tile}")
    return tile


# --- receptive fields --------------------------------------------------------------------------

def _conv_margin(kernel: int, stride: int) -> int:
    """Farthest input offset, from stride*i, read by output i of a ``same`` convolution on an even input."""
    pad_total = max(kernel - stride, 0)
    before = pad_total // 2
    return max(before, kernel - 1 - before)


def _transposed_margin(kernel: int, stride: int, radius: int) -> int:
    """Input radius read by outputs within ``radius`` of a tile core of a ``same`` transposed convolution.

    A ``same`` Conv2DTranspose is the gradient of a ``same`` Conv2D, so output j receives input i
    iff stride*i - before <= j <= stride*i - before + kernel - 1 (``before`` as in the forward
    convolution). Cores start and stop on multiples of ``stride`` (tiles are whole 64-pixel blocks).
    """
    before = max(kernel - stride, 0) // 2
    left = (radius - before + kernel - 1) // stride
    right = (radius + before + stride - 1) // stride
    return max(left, right, 0)


def input_radius(layers: Iterable[Any], radius: int = 0) -> int:
    """Radius (in input samples) that outputs within ``radius`` of a point depend on.

    Walks Keras layers from the last to the first: Conv2D, Conv2DTranspose, the blocks of
    ``layers`` (ResidualBottleneck: ``branch``; SimpleAttention: ``trunk`` / ``gate`` /
    ``gate_out``) and point-wise layers. An unknown layer with a kernel is an error, so a
    change of architecture cannot silently make the halo too small.
    """
    for layer in reversed(list(layers)):
        kind = type(layer).__name__
        if hasattr(layer, "trunk") and hasattr(layer, "gate"):
            radius = max(input_radius(layer.trunk, radius),
                         input_radius(list(layer.gate) + [layer.gate_out], radius))
        elif hasattr(layer, "branch"):
            radius = max(radius, input_radius(layer.branch, radius))
        elif kind in ("Conv2DTranspose",):
            (k, _), (s, _) = layer.kernel_size, layer.strides
            if layer.padding != "same":
                raise ValueError(f"{layer.name}: only 'same' padding is supported for tiling")
            radius = _transposed_margin(k, s, radius)
        elif kind in ("Conv2D", "CheckerboardConv2D"):
            (k, _), (s, _) = layer.kernel_size, layer.strides
            if layer.padding != "same":
                raise ValueError(f"{layer.name}: only 'same' padding is supported for tiling")
            radius = s * radius + _conv_margin(k, s)
        elif hasattr(layer, "kernel_size") or hasattr(layer, "layers"):
            raise ValueError(f"cannot compute the receptive field of layer {layer.name} ({kind})")
    return radius


def analysis_halo(g_a_layers: Iterable[Any]) -> int:
    """Halo of g_a tiles in pixels: its receptive radius rounded up to the 16-pixel latent grid."""
    return math.ceil(input_radius(g_a_layers) / LATENT_STRIDE) * LATENT_STRIDE


def synthesis_halo(g_s_layers: Iterable[Any]) -> int:
    """Halo of g_s tiles in latent samples (radius of one output pixel in ŷ)."""
    return input_radius(g_s_layers)
