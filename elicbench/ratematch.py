"""Rate matching: find, per image and codec, the quality whose bpp is closest to a target.

Rule (documented in README): evaluate the file size (encode only) at qualities chosen by
bisection over the codec's quality scale — integer steps for integer scales, the sorted list of
available rate points for codecs with discrete choices (ELIC: one model per lambda), and for
continuous scales until the bracket is narrower than 1/1000 of the range. Bisection assumes bpp
grows with quality (or falls, for scales where higher means fewer bits); to stay correct when a
codec is not quite monotonic, the answer is the evaluated quality with the smallest
|bpp - target| (ties: the lower bpp). That quality is then coded and measured like any job
(``elicbench.worker``).
"""
from __future__ import annotations

from .codecs.base import Codec


def _candidates(codec: Codec) -> list[float] | None:
    scale = codec.quality_scale
    if scale.choices is not None:
        return sorted(scale.choices, key=float)
    if scale.integer:
        return list(range(int(scale.low), int(scale.high) + 1))
    return None


def search_quality(codec: Codec, image, target_bpp: float) -> tuple[float, dict[float, float]]:
    """Return (best quality, {quality: bpp evaluated})."""
    from .metrics import bits_per_pixel

    h, w = image.shape[:2]
    tried: dict[float, float] = {}

    def bpp_at(q: float) -> float:
        if q not in tried:
            tried[q] = bits_per_pixel(len(codec.encode(image, q)), w, h)
        return tried[q]

    # Orient so that position increases bits.
    up = codec.quality_scale.higher_means_more_bits
    cands = _candidates(codec)
    if cands is not None:
        order = cands if up else cands[::-1]
        lo, hi = 0, len(order) - 1
        if bpp_at(order[lo]) < target_bpp < bpp_at(order[hi]):
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if bpp_at(order[mid]) <= target_bpp:
                    lo = mid
                else:
                    hi = mid
    else:
        a, b = (codec.quality_scale.low, codec.quality_scale.high)
        lo_q, hi_q = (a, b) if up else (b, a)
        if bpp_at(lo_q) < target_bpp < bpp_at(hi_q):
            tol = abs(b - a) / 1000
            while abs(hi_q - lo_q) > tol:
                mid = (lo_q + hi_q) / 2
                if bpp_at(mid) <= target_bpp:
                    lo_q = mid
                else:
                    hi_q = mid
    best = min(tried, key=lambda q: (abs(tried[q] - target_bpp), tried[q]))
    return best, tried
