"""Bjøntegaard-delta metrics: BD-rate (%) and BD-quality (dB) between two RD curves.

BD-rate: log10(bpp) is interpolated as a function of quality (PSNR or MS-SSIM dB) for both
curves; the mean difference test - anchor over the quality interval both curves cover gives
``(10**mean - 1) * 100`` percent: the average bitrate change at equal quality (negative = test
needs fewer bits). BD-quality swaps the roles: quality as a function of log10(bpp), mean
difference in dB at equal rate. Both integrate over the overlap only; nothing is extrapolated.

Methods (same names and results as the ``bjontegaard`` package, checked in tests):

* ``pchip`` (default): piecewise cubic Hermite interpolation through the points (monotone,
  no overshoot), integrated exactly; the interpolation used by the JVET common-test-conditions
  spreadsheet. Needs 2 points (2 points: a straight line).
* ``akima``: Akima's piecewise cubic spline (scipy's ``Akima1DInterpolator``). Needs 2 points
  (2 points: a straight line, as the package does).
* ``cubic``: the classic VCEG-M33 Bjøntegaard method, a least-squares 3rd-order polynomial fit
  through all points, integrated over the overlap. Needs 4 points.

With fewer than 4 points the pchip/akima result is returned with a warning (BD metrics were
defined for 4 rate points). The value is NaN, with ``reason`` saying why, when the data are not
finite or bpp is not positive, when a curve has too few distinct points, when the curves do not
overlap, or when they overlap too little to mean anything.

*Overlap* is measured as the ``bjontegaard`` package measures it for its ``min_overlap``: the length
of the interval both curves cover (in the variable integrated over: quality for BD-rate, log10(bpp)
for BD-quality) divided by the length of the interval either covers. The package only warns below
its threshold (75 %); here a value from less than ``MIN_OVERLAP`` (25 %) is not given at all: NaN,
with ``reason`` "overlap 4 % < 25 %: ..." (a 0.5-dB demo curve against JPEG's 14 dB: the number
would describe a sliver of the anchor). 25 % keeps the usual comparisons: JPEG against the
published VTM curve covers 47 % of their joint PSNR range on 2 Kodak images (77 % of
JPEG's own).
A *small overlap* warning is given when the common interval covers less than 50 % of either
curve's own span (the averaged difference then describes only part of a curve). A curve
whose quality does not rise strictly with bpp is *not monotonic*: its points are sorted by the
variable being integrated over, points sharing that value are averaged, and a warning says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np

from .curves import Curve

METHODS = ("pchip", "akima", "cubic")
MIN_POINTS = {"pchip": 2, "akima": 2, "cubic": 4}
#: Warn below this fraction of either curve's span covered by the overlap.
SMALL_OVERLAP = 0.5
#: No BD value below this overlap: common interval / interval either curve covers (the measure of
#: the bjontegaard package's ``min_overlap``). README, "BD-rate needs overlap".
MIN_OVERLAP = 0.25
#: Bootstrap defaults for the per-image mean's confidence interval.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95


@dataclass
class BDResult:
    """A BD value: percent for BD-rate, dB for BD-quality. NaN with ``reason`` when undefined.

    ``overlap`` is the integration interval in the base variable: quality (dB) for BD-rate,
    bpp for BD-quality (NaN, NaN when there is none).
    """

    value: float
    method: str
    overlap: tuple[float, float]
    warnings: list[str] = field(default_factory=list)
    reason: str | None = None
    kind: str = "rate"
    #: Overlap as a fraction of the interval either curve covers (module docstring); NaN when not computed.
    overlap_fraction: float = math.nan
    #: A few words for a table cell beside "n/a" ('overlap 4 % < 25 %', 'no overlap'); "" when ok.
    short_reason: str = ""

    @property
    def ok(self) -> bool:
        return math.isfinite(self.value)


def percent_floor(fraction: float) -> str:
    """'4 %', '0.4 %': rounded down, so a fraction below a threshold never prints as the threshold."""
    pct = fraction * 100.0
    if 0 < pct < 1:
        return f"{math.floor(pct * 10) / 10:.1f} %"
    return f"{math.floor(pct + 1e-9):.0f} %"


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown BD method {method!r}; choose from {', '.join(METHODS)}")
    return method


def _axis_of(curve: Curve):
    from ..metrics import get_axis

    try:
        return get_axis(curve.metric)
    except KeyError:   # a hand-made curve with a metric nobody registered: treat as higher-is-better, no unit
        return None


def _monotonic_warning(curve: Curve, base: str) -> str | None:
    """A curve should get better with bpp: quality rise, or fall for a lower-is-better metric (CIEDE2000)."""
    order = np.argsort(curve.bpp, kind="stable")
    axis = _axis_of(curve)
    sign = 1.0 if axis is None or axis.higher_is_better else -1.0
    q = sign * curve.quality[order]
    if len(q) > 1 and np.any(np.diff(q) <= 0):
        verb = "rise" if sign > 0 else "fall"
        return (f"{curve.label}: quality does not {verb} strictly with bpp (not monotonic); "
                f"points sorted by {base}, points with equal {base} averaged")
    return None


def _distinct_sorted(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort by x; average y over equal x (an interpolant needs strictly increasing x)."""
    ux, inverse = np.unique(x, return_inverse=True)
    sums = np.zeros(len(ux))
    np.add.at(sums, inverse, y)
    counts = np.bincount(inverse, minlength=len(ux))
    return ux, sums / counts


def _integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: str) -> float:
    """Integral over [lo, hi] of the method's interpolant of y(x); x strictly increasing."""
    from scipy.interpolate import Akima1DInterpolator, PchipInterpolator

    if method == "cubic":
        # Centre x so the polynomial fit is well conditioned; the integral is unchanged.
        c = float(np.mean(x))
        poly = np.polynomial.Polynomial.fit(x - c, y, 3, domain=[-1, 1], window=[-1, 1])
        antiderivative = poly.integ()
        return float(antiderivative(hi - c) - antiderivative(lo - c))
    if method == "akima" and len(x) > 2:
        return float(Akima1DInterpolator(x, y).integrate(lo, hi))
    # pchip, and akima on 2 points: PCHIP through 2 points is the straight line.
    return float(PchipInterpolator(x, y).integrate(lo, hi))


@dataclass
class _Delta:
    value: float
    overlap: tuple[float, float]
    warnings: list[str]
    reason: str | None = None
    short: str = ""
    fraction: float = math.nan


def _bd_delta(anchor: Curve, test: Curve, method: str, kind: str, min_overlap: float) -> _Delta:
    """Mean of (test - anchor) of the interpolated dependent variable over the overlap."""
    check_method(method)
    nan2 = (math.nan, math.nan)
    warnings: list[str] = []
    base_name = "quality" if kind == "rate" else "bpp"
    for curve in (anchor, test):
        if len(curve) == 0:
            return _Delta(math.nan, nan2, warnings, f"{curve.label}: no points", "no points")
        if not (np.all(np.isfinite(curve.bpp)) and np.all(np.isfinite(curve.quality))):
            return _Delta(math.nan, nan2, warnings, f"{curve.label}: non-finite bpp or quality values",
                          "non-finite values")
        if np.any(curve.bpp <= 0):
            return _Delta(math.nan, nan2, warnings, f"{curve.label}: bpp must be positive for a log-rate BD metric",
                          "bpp not positive")

    prepared = []
    for curve in (anchor, test):
        log_rate = np.log10(curve.bpp)
        x, y = (curve.quality, log_rate) if kind == "rate" else (log_rate, curve.quality)
        note = _monotonic_warning(curve, base_name)
        if note:
            warnings.append(note)
        x, y = _distinct_sorted(x, y)
        need = MIN_POINTS[method]
        if len(x) < need:
            return _Delta(math.nan, nan2, warnings,
                          f"{curve.label}: {len(x)} distinct point(s); method {method!r} needs at least {need}",
                          f"{len(x)} point(s) < {need}")
        if len(x) < 4:
            warnings.append(f"{curve.label}: only {len(x)} points; BD metrics are meant for 4 or more")
        prepared.append((x, y))

    (xa, ya), (xt, yt) = prepared
    lo, hi = max(xa[0], xt[0]), min(xa[-1], xt[-1])
    axis = _axis_of(anchor)
    unit = " dB" if axis is None else (f" {axis.unit}" if axis.unit else "")
    shown = (lambda v: f"{v:.2f}{unit}") if kind == "rate" else (lambda v: f"{10 ** v:.3f} bpp")
    if not hi > lo:
        return _Delta(math.nan, nan2, warnings,
                      f"curves do not overlap in {base_name}: {anchor.label} spans {shown(xa[0])}..{shown(xa[-1])}, "
                      f"{test.label} spans {shown(xt[0])}..{shown(xt[-1])}", "no overlap", 0.0)
    overlap = (float(lo), float(hi)) if kind == "rate" else (float(10 ** lo), float(10 ** hi))
    union_lo, union_hi = min(xa[0], xt[0]), max(xa[-1], xt[-1])
    fraction = float((hi - lo) / (union_hi - union_lo))
    if fraction < min_overlap:
        short = f"overlap {percent_floor(fraction)} < {percent_floor(min_overlap)}"
        return _Delta(math.nan, overlap, warnings,
                      f"{short}: the curves share {shown(lo)}..{shown(hi)} of the {base_name} range "
                      f"{shown(union_lo)}..{shown(union_hi)} they cover together ({anchor.label}: "
                      f"{shown(xa[0])}..{shown(xa[-1])}, {test.label}: {shown(xt[0])}..{shown(xt[-1])}); "
                      f"a BD value needs at least {percent_floor(min_overlap)}", short, fraction)
    for label, x in ((anchor.label, xa), (test.label, xt)):
        covered = (hi - lo) / (x[-1] - x[0])
        if covered < SMALL_OVERLAP:
            warnings.append(f"small overlap: the common {base_name} range {shown(lo)}..{shown(hi)} covers only "
                            f"{covered:.0%} of {label}'s range")
    delta = (_integral(xt, yt, lo, hi, method) - _integral(xa, ya, lo, hi, method)) / (hi - lo)
    return _Delta(float(delta), overlap, warnings, None, "", fraction)


def bd_rate(anchor: Curve, test: Curve, method: str = "pchip", *, min_overlap: float = MIN_OVERLAP) -> BDResult:
    """Average bitrate difference (%) of ``test`` vs ``anchor`` at equal quality; NaN with a reason
    when the curves overlap on less than ``min_overlap`` of their joint quality range."""
    d = _bd_delta(anchor, test, method, "rate", min_overlap)
    value = (10.0 ** d.value - 1.0) * 100.0 if d.reason is None else math.nan
    return BDResult(value, method, d.overlap, d.warnings, d.reason, kind="rate", overlap_fraction=d.fraction,
                    short_reason=d.short)


def bd_quality(anchor: Curve, test: Curve, method: str = "pchip", *, min_overlap: float = MIN_OVERLAP) -> BDResult:
    """Average quality difference (dB: BD-PSNR, BD-MS-SSIM dB) of ``test`` vs ``anchor`` at equal
    rate; NaN with a reason when the curves overlap on less than ``min_overlap`` of their joint log-rate range."""
    d = _bd_delta(anchor, test, method, "quality", min_overlap)
    value = d.value if d.reason is None else math.nan
    return BDResult(value, method, d.overlap, d.warnings, d.reason, kind="quality", overlap_fraction=d.fraction,
                    short_reason=d.short)


def bootstrap_mean_ci(values: Iterable[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                      confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean: resample the values with replacement
    ``resamples`` times (numpy ``default_rng(seed)``), take the central ``confidence`` fraction of
    the resampled means. (NaN, NaN) for fewer than 2 values, where no spread can be estimated.
    """
    v = np.asarray(list(values), dtype=float)
    if v.size < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(resamples, v.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    lo, hi = np.percentile(means, [tail, 100.0 - tail])
    return (float(lo), float(hi))


@dataclass
class PerImageBD:
    """BD values of each image's own curves, their mean and a bootstrap CI of the mean."""

    values: dict[str, float]
    reasons: dict[str, str]
    mean: float
    ci: tuple[float, float]
    method: str
    kind: str = "rate"

    @property
    def n(self) -> int:
        """Images with a finite value (the ones in the mean)."""
        return sum(math.isfinite(v) for v in self.values.values())


def per_image_bd(anchor: Mapping[str, Curve], test: Mapping[str, Curve], *, kind: str = "rate",
                 method: str = "pchip", resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                 confidence: float = CONFIDENCE, min_overlap: float = MIN_OVERLAP) -> PerImageBD:
    """BD-rate (``kind="rate"``) or BD-quality (``"quality"``) per image, for the images both
    mappings (image name -> that image's curve) have; images where the value is NaN are listed in
    ``reasons`` and left out of the mean and the CI.
    """
    if kind not in ("rate", "quality"):
        raise ValueError(f"kind must be 'rate' or 'quality', got {kind!r}")
    check_method(method)
    compute = bd_rate if kind == "rate" else bd_quality
    values: dict[str, float] = {}
    reasons: dict[str, str] = {}
    for image in sorted(set(anchor) & set(test)):
        result = compute(anchor[image], test[image], method, min_overlap=min_overlap)
        values[image] = result.value
        if result.reason:
            reasons[image] = result.reason
    finite = [v for v in values.values() if math.isfinite(v)]
    mean = float(np.mean(finite)) if finite else math.nan
    ci = bootstrap_mean_ci(finite, resamples=resamples, seed=seed, confidence=confidence)
    return PerImageBD(values, reasons, mean, ci, method, kind)
