"""The metrics' compiled loops (numba): the SSIM statistics of MS-SSIM and SSIMULACRA2, row by row.

Imported by the metrics at their first call, not on import, so that ``list``, ``report`` and ``plot``
never load numba. Compiled code is cached next to this file (or in numba's user cache directory);
where neither can be written, each process compiles its own (about 3 s at the first call).

Both metrics need, around every pixel, Gaussian-weighted means of x, y, x*y and (x-y)^2 (11 taps,
sigma 1.5, separable). Each output row is made in steps that stay in L1 cache: the taps down the
columns for the four maps (one simple loop per map, which LLVM vectorises), the taps along the
row, then the metric's per-pixel terms and their sum. Compared with the banded BLAS products this
replaces, it does the 22 multiply-adds per pixel and map that the separable window needs instead
of about 84, and never leaves the cache.

- MS-SSIM (``mean_ssim_terms``): VALID filtering (only where the window fits), the
  contrast-structure (or full SSIM) term.
- SSIMULACRA2 (``ssimulacra2_sums``): full-size filtering with its borders (rows mirrored, zero
  columns), its SSIM error and edge maps, reduced to the sums its features are made of.

The covariance comes from the filtered (x-y)^2: var_x + var_y = 2 cov_xy + var_(x-y), which keeps
the denominators accurate in float32 when x and y are close (and identical images exact).

The arithmetic is float32 in a fixed order (no fastmath, so no reassociation or contraction):
the value does not depend on the vector width of the machine. Sums accumulate in float64.
"""
from __future__ import annotations

import numba
import numpy as np


def _compiled(function):
    """``numba.njit`` with the on-disk cache when there is somewhere to write it."""
    try:
        return numba.njit(nogil=True, cache=True)(function)
    except RuntimeError:   # numba found no writable cache directory (read-only install, no HOME)
        return numba.njit(nogil=True)(function)


_ONE = np.float32(1.0)
_TWO = np.float32(2.0)
_ZERO = np.float32(0.0)
# The window length is a compile-time constant: LLVM then unrolls the taps and vectorises over the
# row (with a run-time length the row pass was 2x slower). Both metrics use 11 taps (sigma 1.5).
TAPS = 11


@_compiled
def _zeros(n):   # pragma: no cover - compiled
    return np.zeros(n, np.float32)


@_compiled
def _add_tap(rx, ry, t, sx, sy, sxy, sdd):   # pragma: no cover - compiled
    """One tap down the columns: sx += t x, sy += t y, sxy += t x*y, sdd += t (x-y)^2 along a row.

    Four loops rather than one: each is a plain vectorisable stream (the sums could alias)."""
    w = rx.shape[0]
    for j in range(w):
        sx[j] += t * rx[j]
    for j in range(w):
        sy[j] += t * ry[j]
    for j in range(w):
        sxy[j] += t * (rx[j] * ry[j])
    for j in range(w):
        d = rx[j] - ry[j]
        sdd[j] += t * (d * d)


@_compiled
def _filter_row(v, taps, out):   # pragma: no cover - compiled
    """out[j] = sum_k taps[k] v[j + k] (VALID); taps has TAPS entries."""
    for j in range(out.shape[0]):
        s = np.float32(0.0)
        for k in range(TAPS):
            s += taps[k] * v[j + k]
        out[j] = s


@_compiled
def _contrast_structure(mu_x, mu_y, e_xy, e_dd, c2, out):   # pragma: no cover - compiled
    """out = cs = (2 cov_xy + C2) / (var_x + var_y + C2).

    var_x + var_y + C2 = var_(x-y) + (2 cov_xy + C2), from the filtered (x-y)^2."""
    for j in range(out.shape[0]):
        num = _TWO * (e_xy[j] - mu_x[j] * mu_y[j]) + c2
        dmu = mu_x[j] - mu_y[j]
        out[j] = num / (e_dd[j] - dmu * dmu + num)


@_compiled
def mean_ssim_terms(x, y, taps, c1, c2, with_luminance):   # pragma: no cover - compiled
    """Mean over the VALID region of the contrast-structure map (with_luminance: the SSIM map)
    of two contiguous float32 planes, with the separable window ``taps`` (TAPS float32 values)."""
    h, w = x.shape
    out_h, out_w = h - TAPS + 1, w - TAPS + 1
    # x, y, x*y, (x-y)^2 filtered down the columns (separate arrays: rows of one 2-D array measured
    # 5-9 % slower), then along the row: mu_x, mu_y, E[xy], E[(x-y)^2].
    sx, sy, sxy, sdd = _zeros(w), _zeros(w), _zeros(w), _zeros(w)
    rows = np.empty((4, out_w), np.float32)
    terms = np.empty(out_w, np.float32)
    total = 0.0
    for i in range(out_h):
        sx[:] = 0
        sy[:] = 0
        sxy[:] = 0
        sdd[:] = 0
        for k in range(TAPS):
            _add_tap(x[i + k], y[i + k], taps[k], sx, sy, sxy, sdd)
        _filter_row(sx, taps, rows[0])
        _filter_row(sy, taps, rows[1])
        _filter_row(sxy, taps, rows[2])
        _filter_row(sdd, taps, rows[3])
        _contrast_structure(rows[0], rows[1], rows[2], rows[3], c2, terms)
        if with_luminance:   # l = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)
            for j in range(out_w):
                mxy = rows[0, j] * rows[1, j]
                dmu = rows[0, j] - rows[1, j]
                terms[j] *= (_TWO * mxy + c1) / (dmu * dmu + _TWO * mxy + c1)
        row = 0.0
        for j in range(out_w):
            row += terms[j]
        total += row
    return total / (out_h * out_w)


@_compiled
def _mirrored(row, h):   # pragma: no cover - compiled
    """The source row of padded row ``row`` under numpy's "symmetric" padding (d c b a | a b c d),
    which repeats with period 2h when the padding is wider than the image."""
    src = row % (2 * h)
    return 2 * h - 1 - src if src >= h else src


@_compiled
def ssimulacra2_sums(x, y, taps, c2, sums):   # pragma: no cover - compiled
    """SSIMULACRA2's maps of one channel at one scale, reduced to float64 sums over the pixels:
    sums = [SSIM error, its 4th power, ringing, its 4th power, blur, its 4th power].

    x, y: the two images' XYB planes (float32, contiguous, same shape). The window ``taps`` is
    applied at full size, with the rows mirrored at the top and bottom and zeros beyond the left
    and right edges (the oracle's borders). SSIM error: max(1 - l * cs, 0) with
    l = 1 - (mu_x - mu_y)^2 on XYB's 0..1 scale; edge: (1 + |y - mu_y|) / (1 + |x - mu_x|) - 1,
    whose positive part is ringing and negative part blur.
    """
    h, w = x.shape
    r = TAPS // 2
    # Filtered down the columns, with r zeros at each end that stay zero (the horizontal border).
    sx, sy, sxy, sdd = _zeros(w + 2 * r), _zeros(w + 2 * r), _zeros(w + 2 * r), _zeros(w + 2 * r)
    rows = np.empty((4, w), np.float32)
    cs = np.empty(w, np.float32)
    for k in range(6):
        sums[k] = 0.0
    for i in range(h):
        sx[r:r + w] = 0
        sy[r:r + w] = 0
        sxy[r:r + w] = 0
        sdd[r:r + w] = 0
        for k in range(TAPS):
            src = _mirrored(i + k - r, h)
            _add_tap(x[src], y[src], taps[k], sx[r:], sy[r:], sxy[r:], sdd[r:])
        _filter_row(sx, taps, rows[0])
        _filter_row(sy, taps, rows[1])
        _filter_row(sxy, taps, rows[2])
        _filter_row(sdd, taps, rows[3])
        _contrast_structure(rows[0], rows[1], rows[2], rows[3], c2, cs)
        xi, yi, mu_x, mu_y = x[i], y[i], rows[0], rows[1]
        for j in range(w):
            dmu = mu_x[j] - mu_y[j]
            ssim = max(_ONE - (_ONE - dmu * dmu) * cs[j], _ZERO)
            edge = (_ONE + abs(yi[j] - mu_y[j])) / (_ONE + abs(xi[j] - mu_x[j])) - _ONE
            ring = max(edge, _ZERO)
            blur = max(-edge, _ZERO)
            s2 = ssim * ssim
            r2 = ring * ring
            b2 = blur * blur
            sums[0] += ssim
            sums[1] += s2 * s2
            sums[2] += ring
            sums[3] += r2 * r2
            sums[4] += blur
            sums[5] += b2 * b2
