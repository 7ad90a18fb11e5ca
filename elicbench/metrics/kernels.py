"""The metrics' compiled loops (numba): separable filtering, and MS-SSIM's mean of SSIM terms.

Imported by the metrics at their first call, not on import, so that ``list``, ``report`` and ``plot``
never load numba. Compiled code is cached next to this file (or in numba's user cache directory);
where neither can be written, each process compiles its own (about 3 s at the first call).

MS-SSIM (``mean_ssim_terms``): each output row is made in three steps that stay in L1 cache: the 11-tap Gaussian down the
columns for the four maps x, y, x*y and (x-y)^2 (one simple loop per map, which LLVM vectorises),
the same taps along the row, then the contrast-structure (or full SSIM) term of each pixel.
Compared with the banded BLAS products it replaces, this does the 22 multiply-adds per pixel
and map that the separable window needs instead of about 84, and never leaves the cache.

SSIMULACRA2 (``ssimulacra2_sums``): the same two passes for its five maps, with its border rules,
then its SSIM and edge maps, reduced row by row to the sums its features are made of.

The arithmetic is float32 in a fixed order (no fastmath, so no reassociation or contraction):
the value does not depend on the vector width of the machine. Row sums accumulate in float64.
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


_TWO = np.float32(2.0)
# The window length is a compile-time constant: LLVM then unrolls the taps and vectorises over the
# row (with a run-time length the row pass was 2x slower). Both metrics use 11 taps (sigma 1.5).
TAPS = 11


@_compiled
def _filter_columns(x, y, top, taps, v0, v1, v2, v3):   # pragma: no cover - compiled
    """v0..v3 = the taps applied down the columns to x, y, x*y, (x-y)^2, rows top .. top + len(taps) - 1."""
    w = x.shape[1]
    v0[:] = 0
    v1[:] = 0
    v2[:] = 0
    v3[:] = 0
    for k in range(TAPS):
        t = taps[k]
        rx = x[top + k]
        ry = y[top + k]
        # Four loops rather than one: each is a plain vectorisable stream (the maps could alias).
        for j in range(w):
            v0[j] += t * rx[j]
        for j in range(w):
            v1[j] += t * ry[j]
        for j in range(w):
            v2[j] += t * (rx[j] * ry[j])
        for j in range(w):
            d = rx[j] - ry[j]
            v3[j] += t * (d * d)


@_compiled
def _filter_row(v, taps, out):   # pragma: no cover - compiled
    """out[j] = sum_k taps[k] v[j + k] (VALID); taps has TAPS entries."""
    for j in range(out.shape[0]):
        s = np.float32(0.0)
        for k in range(TAPS):
            s += taps[k] * v[j + k]
        out[j] = s


@_compiled
def _terms(mu_x, mu_y, e_xy, e_dd, c1, c2, with_luminance, out):   # pragma: no cover - compiled
    """cs = (2 cov_xy + C2) / (var_x + var_y + C2), times the luminance term when asked.

    var_x + var_y = 2 cov_xy + var_(x-y): the filtered difference map keeps the denominator
    accurate in float32 when x and y are close.
    """
    for j in range(out.shape[0]):
        mxy = mu_x[j] * mu_y[j]
        num = _TWO * (e_xy[j] - mxy) + c2
        dmu = mu_x[j] - mu_y[j]
        dmu2 = dmu * dmu
        cs = num / (e_dd[j] - dmu2 + num)
        if with_luminance:   # l = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)
            cs *= (_TWO * mxy + c1) / (dmu2 + _TWO * mxy + c1)
        out[j] = cs


@_compiled
def mean_ssim_terms(x, y, taps, c1, c2, with_luminance):   # pragma: no cover - compiled
    """Mean over the VALID region of the contrast-structure map (with_luminance: the SSIM map)
    of two contiguous float32 planes, with the separable window ``taps`` (TAPS float32 values)."""
    h, w = x.shape
    out_h, out_w = h - TAPS + 1, w - TAPS + 1
    v0 = np.empty(w, np.float32)
    v1 = np.empty(w, np.float32)
    v2 = np.empty(w, np.float32)
    v3 = np.empty(w, np.float32)
    mu_x = np.empty(out_w, np.float32)
    mu_y = np.empty(out_w, np.float32)
    e_xy = np.empty(out_w, np.float32)
    e_dd = np.empty(out_w, np.float32)
    terms = np.empty(out_w, np.float32)
    total = 0.0
    for i in range(out_h):
        _filter_columns(x, y, i, taps, v0, v1, v2, v3)
        _filter_row(v0, taps, mu_x)
        _filter_row(v1, taps, mu_y)
        _filter_row(v2, taps, e_xy)
        _filter_row(v3, taps, e_dd)
        _terms(mu_x, mu_y, e_xy, e_dd, c1, c2, with_luminance, terms)
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
def _ssimulacra2_maps(x, y, mu_x, mu_y, e_xx, e_yy, e_dd, c2, ssim, edge):   # pragma: no cover - compiled
    """One row of SSIMULACRA2's SSIM error map and edge map (float32, a loop LLVM vectorises).

    SSIM error: max(1 - l * cs, 0) with l = 1 - (mu_x - mu_y)^2 and
    cs = (2 cov + c2) / (var_x + var_y + c2), where 2 cov + c2 is computed as
    (var_x + var_y + c2) - var_(x-y), so that close images lose no precision in float32.
    Edge: (1 + |y - mu_y|) / (1 + |x - mu_x|) - 1.
    """
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for j in range(ssim.shape[0]):
        md = mu_x[j] - mu_y[j]
        md2 = md * md
        den_s = (e_xx[j] - mu_x[j] * mu_x[j]) + (e_yy[j] - mu_y[j] * mu_y[j]) + c2
        num_s = den_s - (e_dd[j] - md2)
        ssim[j] = max(one - (one - md2) * num_s / den_s, zero)
        edge[j] = (one + abs(y[j] - mu_y[j])) / (one + abs(x[j] - mu_x[j])) - one


@_compiled
def ssimulacra2_sums(x, y, taps, c2, sums):   # pragma: no cover - compiled
    """SSIMULACRA2's maps of one channel at one scale, reduced to float64 sums over the pixels:
    sums = [SSIM error, its 4th power, ringing, its 4th power, blur, its 4th power].

    x, y: the two images' XYB planes (float32, contiguous, same shape). Row by row: the window
    ``taps`` down the columns of x, y, x*x, y*y and (x-y)^2 with the rows mirrored at the top and
    bottom, then along the row with zeros beyond the left and right edges (the oracle's borders);
    then the SSIM and edge maps of the row (ringing: the edge map's positive part, blur: its
    negative part) and their sums.
    """
    h, w = x.shape
    r = TAPS // 2
    # Column sums, r zeros at each end (they stay zero: the horizontal border).
    c0 = np.zeros(w + 2 * r, np.float32)
    c1 = np.zeros(w + 2 * r, np.float32)
    c2_ = np.zeros(w + 2 * r, np.float32)
    c3 = np.zeros(w + 2 * r, np.float32)
    c4 = np.zeros(w + 2 * r, np.float32)
    mu_x = np.empty(w, np.float32)
    mu_y = np.empty(w, np.float32)
    e_xx = np.empty(w, np.float32)
    e_yy = np.empty(w, np.float32)
    e_dd = np.empty(w, np.float32)
    ssim = np.empty(w, np.float32)
    edge = np.empty(w, np.float32)
    zero = np.float32(0.0)
    for k in range(6):
        sums[k] = 0.0
    for i in range(h):
        for j in range(r, r + w):
            c0[j] = 0
            c1[j] = 0
            c2_[j] = 0
            c3[j] = 0
            c4[j] = 0
        for k in range(TAPS):
            t = taps[k]
            src = _mirrored(i + k - r, h)
            rx = x[src]
            ry = y[src]
            for j in range(w):
                c0[r + j] += t * rx[j]
            for j in range(w):
                c1[r + j] += t * ry[j]
            for j in range(w):
                c2_[r + j] += t * (rx[j] * rx[j])
            for j in range(w):
                c3[r + j] += t * (ry[j] * ry[j])
            for j in range(w):
                d = rx[j] - ry[j]
                c4[r + j] += t * (d * d)
        _filter_row(c0, taps, mu_x)
        _filter_row(c1, taps, mu_y)
        _filter_row(c2_, taps, e_xx)
        _filter_row(c3, taps, e_yy)
        _filter_row(c4, taps, e_dd)
        _ssimulacra2_maps(x[i], y[i], mu_x, mu_y, e_xx, e_yy, e_dd, c2, ssim, edge)
        for j in range(w):
            s = ssim[j]
            ring = max(edge[j], zero)
            blur = max(-edge[j], zero)
            s2 = s * s
            r2 = ring * ring
            b2 = blur * blur
            sums[0] += s
            sums[1] += s2 * s2
            sums[2] += ring
            sums[3] += r2 * r2
            sums[4] += blur
            sums[5] += b2 * b2
