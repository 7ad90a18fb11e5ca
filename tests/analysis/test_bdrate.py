import math
import warnings

import numpy as np
import pytest

from elicbench.analysis.bdrate import (
    METHODS, MIN_OVERLAP, bd_quality, bd_rate, bootstrap_mean_ci, per_image_bd, percent_floor,
)
from elicbench.analysis.curves import Curve
from elicbench.analysis.reference import reference_curve

# A plausible codec curve: PSNR rising ~3 dB per doubling of the rate, slightly concave.
BPP = np.array([0.12, 0.25, 0.5, 0.9, 1.6, 2.4])
PSNR = 26 + 3.1 * np.log2(BPP / 0.12) - 0.08 * np.log2(BPP / 0.12) ** 2


def curve(label="c", bpp=BPP, quality=PSNR):
    return Curve(label, np.asarray(bpp, float), np.asarray(quality, float), "test")


@pytest.mark.parametrize("method", METHODS)
def test_curve_against_itself_is_zero(method):
    r = bd_rate(curve("a"), curve("b"), method)
    q = bd_quality(curve("a"), curve("b"), method)
    assert r.reason is None and q.reason is None
    assert r.value == pytest.approx(0.0, abs=1e-9)
    assert q.value == pytest.approx(0.0, abs=1e-9)
    assert r.overlap == pytest.approx((PSNR.min(), PSNR.max()))


@pytest.mark.parametrize("method", METHODS)
def test_rates_scaled_by_0_9_give_minus_10_percent(method):
    r = bd_rate(curve("anchor"), curve("test", bpp=BPP * 0.9), method)
    assert r.value == pytest.approx(-10.0, abs=1e-6)
    assert r.warnings == []
    # And the other way round: +11.1 %.
    back = bd_rate(curve("anchor", bpp=BPP * 0.9), curve("test"), method)
    assert back.value == pytest.approx(100 / 0.9 - 100, abs=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_quality_shift_gives_bd_quality(method):
    q = bd_quality(curve("anchor"), curve("test", quality=PSNR + 0.5), method)
    assert q.value == pytest.approx(0.5, abs=1e-9)
    assert q.kind == "quality"
    # The overlap of BD-quality is in bpp.
    assert q.overlap == pytest.approx((BPP.min(), BPP.max()))


@pytest.mark.parametrize("metric", ["psnr", "ms_ssim_db"])
@pytest.mark.parametrize("method", METHODS)
def test_elic_paper_vs_vtm_matches_bjontegaard_package(method, metric):
    bjontegaard = pytest.importorskip("bjontegaard")
    anchor = reference_curve("vtm").curve(metric)
    test = reference_curve("elic-paper").curve(metric)
    kwargs = dict(method=method, require_matching_points=False, min_overlap=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want_rate = bjontegaard.bd_rate(anchor.bpp, anchor.quality, test.bpp, test.quality, **kwargs)
        want_quality = bjontegaard.bd_psnr(anchor.bpp, anchor.quality, test.bpp, test.quality, **kwargs)
    got = bd_rate(anchor, test, method)
    assert got.value == pytest.approx(want_rate, abs=0.01)
    assert bd_quality(anchor, test, method).value == pytest.approx(want_quality, abs=0.001)
    # ELIC beats VTM on Kodak in the paper: a clearly negative BD-rate.
    assert got.value < -5


def test_elic_paper_vs_vtm_values():
    """The published-points numbers reported in the shipped SOURCE.md."""
    anchor, test = reference_curve("vtm").curve("psnr"), reference_curve("elic-paper").curve("psnr")
    values = {m: round(bd_rate(anchor, test, m).value, 2) for m in METHODS}
    assert values == {"pchip": -7.36, "akima": -7.36, "cubic": -7.50}


def test_non_overlapping_curves_give_nan_with_reason():
    high = curve("high", quality=PSNR + 30)
    r = bd_rate(curve("low"), high)
    assert math.isnan(r.value) and not r.ok
    assert "do not overlap" in r.reason and "low" in r.reason and "high" in r.reason
    q = bd_quality(curve("low"), curve("far", bpp=BPP * 100))
    assert math.isnan(q.value) and "do not overlap in bpp" in q.reason


def test_too_few_points_per_method():
    three = curve("three", bpp=BPP[:3], quality=PSNR[:3])
    cubic = bd_rate(curve(), three, "cubic")
    assert math.isnan(cubic.value) and "needs at least 4" in cubic.reason
    pchip = bd_rate(curve(), three, "pchip")
    assert math.isfinite(pchip.value)
    assert any("only 3 points" in w for w in pchip.warnings)
    one = curve("one", bpp=BPP[:1], quality=PSNR[:1])
    assert "needs at least 2" in bd_rate(curve(), one, "pchip").reason
    two = curve("two", bpp=BPP[1:3], quality=PSNR[1:3])
    # (its PSNR range is 23 % of the anchor's: below MIN_OVERLAP, which this test is not about)
    assert math.isfinite(bd_rate(curve(), two, "akima", min_overlap=0).value)


def test_non_finite_or_non_positive_data_give_nan():
    bad = PSNR.copy()
    bad[2] = np.nan
    r = bd_rate(curve(), curve("bad", quality=bad))
    assert math.isnan(r.value) and "non-finite" in r.reason
    zero = BPP.copy()
    zero[0] = 0.0
    assert "positive" in bd_rate(curve(), curve("zero", bpp=zero)).reason


def test_non_monotonic_curve_is_sorted_and_flagged():
    wobbly = PSNR.copy()
    wobbly[3] = wobbly[2] - 0.05  # quality drops although the rate rises
    r = bd_rate(curve(), curve("wobbly", quality=wobbly))
    assert math.isfinite(r.value)
    assert any("not monotonic" in w and "wobbly" in w for w in r.warnings)
    # Unsorted input gives the same result as sorted input.
    order = np.array([3, 0, 5, 1, 4, 2])
    shuffled = bd_rate(curve(), curve("shuffled", bpp=BPP[order] * 0.9, quality=PSNR[order]))
    assert shuffled.value == pytest.approx(-10.0, abs=1e-6)
    assert shuffled.warnings == []


def test_small_overlap_warns():
    # Overlap 45 % of each curve's span, 29 % of the range both cover: a value, with a warning.
    shifted = curve("shifted", quality=PSNR + 0.55 * (PSNR.max() - PSNR.min()))
    r = bd_rate(curve(), shifted)
    assert math.isfinite(r.value)
    assert r.overlap_fraction == pytest.approx(0.45 / 1.55)
    assert any("small overlap" in w for w in r.warnings)


def _package_overlap(anchor, test, kind):
    """The overlap as the bjontegaard package computes it for min_overlap (its bjontegaard_delta)."""
    base_a = anchor.quality if kind == "rate" else np.log10(anchor.bpp)
    base_t = test.quality if kind == "rate" else np.log10(test.bpp)
    common = min(base_a.max(), base_t.max()) - max(base_a.min(), base_t.min())
    return max(common, 0) / (max(base_a.max(), base_t.max()) - min(base_a.min(), base_t.min()))


def test_overlap_below_min_overlap_gives_nan_with_reason():
    """Issue 11: a 0.5-dB demo-ELIC curve against JPEG's 14 dB gave '+7.53 %' from 4 % of the range."""
    jpeg = curve("jpeg", bpp=[0.22, 0.33, 0.53, 0.70, 0.84, 0.97, 1.12, 1.50, 2.05, 2.59],
                 quality=[22.84, 26.31, 28.47, 29.79, 30.64, 31.36, 32.06, 33.62, 35.64, 37.38])
    demo = curve("elic (demo weights)", bpp=[0.18, 0.27, 0.34, 0.46], quality=[24.37, 24.62, 24.63, 24.92])
    r = bd_rate(jpeg, demo)
    assert MIN_OVERLAP == 0.25
    assert math.isnan(r.value) and not r.ok
    assert r.overlap_fraction == pytest.approx(_package_overlap(jpeg, demo, "rate"))
    assert r.overlap_fraction == pytest.approx((24.92 - 24.37) / (37.38 - 22.84))
    assert r.short_reason == "overlap 3 % < 25 %"
    assert r.reason.startswith("overlap 3 % < 25 %: the curves share 24.37 dB..24.92 dB")
    assert "a BD value needs at least 25 %" in r.reason
    assert r.overlap == pytest.approx((24.37, 24.92))  # the interval is still reported
    # The same curves with the rule off give the number the issue saw as a result.
    assert math.isfinite(bd_rate(jpeg, demo, min_overlap=0).value)
    # BD-PSNR is integrated over log-rate, where these curves share 27 %: it is given, with a warning.
    q = bd_quality(jpeg, demo)
    assert q.ok and q.overlap_fraction == pytest.approx(_package_overlap(jpeg, demo, "quality"))
    assert any("small overlap" in w for w in q.warnings)
    # Per image the same rule applies.
    per = per_image_bd({"i": jpeg}, {"i": demo})
    assert per.n == 0 and per.reasons["i"].startswith("overlap 3 %")


@pytest.mark.parametrize("shift, shown", [(0.0, True), (0.59, True), (0.61, False), (0.995, False)])
def test_min_overlap_threshold_is_the_package_measure(shift, shown):
    """Overlap = common interval / interval either curve covers; 25 % of it is the cut."""
    span = PSNR.max() - PSNR.min()
    shifted = curve("shifted", quality=PSNR + shift * span)
    r = bd_rate(curve(), shifted)
    fraction = (1 - shift) / (1 + shift)
    assert r.overlap_fraction == pytest.approx(fraction)
    assert r.ok is shown
    if not shown:
        assert r.short_reason == f"overlap {percent_floor(fraction)} < 25 %"


def test_percent_floor_never_rounds_up_to_the_threshold():
    assert percent_floor(0.2499) == "24 %" and percent_floor(0.25) == "25 %"
    assert percent_floor(0.0038) == "0.3 %" and percent_floor(0.038) == "3 %"


def test_unknown_method():
    with pytest.raises(ValueError, match="pchip"):
        bd_rate(curve(), curve(), "linear")


def test_bootstrap_ci_contains_mean_and_is_deterministic():
    rng = np.random.default_rng(1)
    values = rng.normal(-20, 6, size=24)
    lo, hi = bootstrap_mean_ci(values)
    assert lo < values.mean() < hi
    assert (lo, hi) == bootstrap_mean_ci(values)
    assert (lo, hi) != bootstrap_mean_ci(values, seed=1)
    # Roughly the normal-theory width: 2 * 1.96 * sd / sqrt(n).
    assert hi - lo == pytest.approx(2 * 1.96 * values.std() / np.sqrt(24), rel=0.25)
    wide = bootstrap_mean_ci(values, confidence=0.99)
    assert wide[0] < lo and wide[1] > hi
    assert all(math.isnan(v) for v in bootstrap_mean_ci([3.0]))


def test_per_image_bd_uses_common_images_and_skips_nan():
    anchor = {f"i{k}": curve(f"a{k}", bpp=BPP * (1 + k / 10)) for k in range(4)}
    test = {f"i{k}": curve(f"t{k}", bpp=BPP * (1 + k / 10) * (0.8 + k / 100)) for k in range(3)}
    test["i2"] = curve("t2", quality=PSNR + 50)  # no overlap: NaN
    test["extra"] = curve("x")
    per = per_image_bd(anchor, test, method="pchip")
    assert sorted(per.values) == ["i0", "i1", "i2"]
    assert per.n == 2 and list(per.reasons) == ["i2"]
    assert per.values["i0"] == pytest.approx(-20.0, abs=1e-6)
    assert per.values["i1"] == pytest.approx(-19.0, abs=1e-6)
    assert per.mean == pytest.approx(-19.5, abs=1e-6)
    assert per.ci[0] <= per.mean <= per.ci[1]


@pytest.mark.parametrize("n_anchor", [2, 3])
@pytest.mark.parametrize("method", ["pchip", "akima"])
def test_short_curves_match_bjontegaard_package(method, n_anchor):
    bjontegaard = pytest.importorskip("bjontegaard")
    anchor = curve("a", bpp=[0.1, 0.3, 0.9][-n_anchor:], quality=[28.0, 32.0, 36.5][-n_anchor:])
    test = curve("t", bpp=[0.09, 0.25, 0.8, 1.5], quality=[28.2, 32.1, 37.0, 39.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = bjontegaard.bd_rate(anchor.bpp, anchor.quality, test.bpp, test.quality, method=method,
                                   require_matching_points=False, min_overlap=0)
    assert bd_rate(anchor, test, method).value == pytest.approx(want, abs=0.01)


@pytest.mark.parametrize("method", METHODS)
def test_lower_is_better_metric(method):
    """CIEDE2000 falls as bpp rises. BD-rate is the mean log-rate difference at equal quality, so it is
    the same number as on the negated values of a higher-is-better axis; BD-quality keeps the metric's
    own sign (negative = test better); no 'not monotonic' warning for a curve falling with bpp."""
    bpp = [0.25, 0.5, 1.0, 2.0]
    anchor_q, test_q = np.array([6.0, 4.2, 2.9, 1.8]), np.array([5.1, 3.6, 2.5, 1.6])
    lower = [Curve(n, np.array(bpp), q, "test", metric="ciede2000") for n, q in (("a", anchor_q), ("t", test_q))]
    negated = [Curve(n, np.array(bpp), -q, "test", metric="psnr") for n, q in (("a", anchor_q), ("t", test_q))]
    r = bd_rate(*lower, method)
    assert r.value == pytest.approx(bd_rate(*negated, method).value) and r.value < 0   # test needs fewer bits
    assert not [w for w in r.warnings if "monotonic" in w]
    q = bd_quality(*lower, method)
    assert q.value == pytest.approx(-bd_quality(*negated, method).value) and q.value < 0
    rising = bd_rate(Curve("a", np.array(bpp), anchor_q[::-1], "test", metric="ciede2000"), lower[1], method)
    assert any("does not fall strictly" in w for w in rising.warnings)
