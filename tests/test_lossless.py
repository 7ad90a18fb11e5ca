"""Lossless rows (README, "Lossless rows"): one rule for infinite PSNR in summary, curves, report, plot and check.

The run: a folder with a flat grey image (which JPEG codes exactly at every quality) and a photo, coded by
jpeg (lossy, lossless on the flat image) and by jpeg2000 with the reversible wavelet at ratio 1 (lossless on
both). Every job succeeds; what differs is only whether a PSNR is finite.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from elicbench.analysis.curves import coverage_notes, left_out, omitted_codecs, rd_curves
from elicbench.analysis.runs import load_run
from elicbench.metrics import mse_from_psnr, pooled_psnr, psnr
from elicbench.results import SUMMARY_COLUMNS, load_results

LOSSLESS_J2K = "jpeg2000[irreversible=False]"
JPEG_QS = [30, 50, 70, 90]


# --- the arithmetic --------------------------------------------------------------------------------

def test_mse_from_psnr_inverts_psnr_and_maps_lossless_to_zero():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-9, 10, a.shape), 0, 255).astype(np.uint8)
    mse = float(np.mean((a.astype(float) - b) ** 2))
    # results.csv stores repr(psnr), which round-trips exactly; the MSE comes back to float rounding.
    assert mse_from_psnr(float(repr(psnr(a, b)))) == pytest.approx(mse, rel=1e-12)
    assert mse_from_psnr(math.inf) == 0.0
    assert np.isnan(mse_from_psnr(math.nan))
    np.testing.assert_allclose(mse_from_psnr(np.array([20.0, math.inf])), [255.0 ** 2 / 100, 0.0])


def test_pooled_psnr_weighs_images_by_pixels_and_counts_lossless_ones():
    # One image with MSE 10 and a lossless one of the same size: pooled MSE 5.
    assert pooled_psnr([10 * math.log10(255 ** 2 / 10), math.inf]) == pytest.approx(10 * math.log10(255 ** 2 / 5))
    # Pixel weights: a 3x larger lossless image pulls the pooled MSE to 10/4 (CLIC: MSE over all pixels).
    assert pooled_psnr([10 * math.log10(255 ** 2 / 10), math.inf], [100, 300]) == \
        pytest.approx(10 * math.log10(255 ** 2 / 2.5))
    assert pooled_psnr([math.inf, math.inf]) == math.inf          # only when every image is lossless
    assert pooled_psnr([30.0, math.nan]) == pytest.approx(30.0)   # no PSNR: left out
    assert math.isnan(pooled_psnr([math.nan]))


# --- a real run ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lossless_run(tmp_path_factory):
    from skimage import data

    from elicbench.runner import RunConfig, run_benchmark

    root = tmp_path_factory.mktemp("lossless")
    images = root / "imgs"
    images.mkdir()
    Image.fromarray(np.full((200, 240, 3), 128, np.uint8)).save(images / "flat.png")
    Image.fromarray(np.ascontiguousarray(data.astronaut()[:200, :240])).save(images / "photo.png")
    outcome = run_benchmark(RunConfig(
        dataset=str(images), codecs=["jpeg", "jpeg2000"], qualities={"jpeg": JPEG_QS, "jpeg2000": [1]},
        options={"jpeg2000": {"irreversible": "false"}}, out=root / "run", jobs=1, progress=False))
    assert outcome.ok and outcome.completed == 10     # every job succeeded
    return outcome.run_dir


def _rows(run_dir):
    return load_results(run_dir / "results.csv")


def test_the_rows_hold_infinite_psnr_where_coding_was_lossless(lossless_run):
    df = _rows(lossless_run)
    jpeg = df[df["codec"] == "jpeg"]
    assert (jpeg.loc[jpeg["image"] == "flat", "psnr"] == math.inf).all()
    assert np.isfinite(jpeg.loc[jpeg["image"] == "photo", "psnr"]).all()
    assert (df.loc[df["codec"] == LOSSLESS_J2K, "psnr"] == math.inf).all()


def test_summary_counts_what_the_psnr_mean_leaves_out_and_pools_the_mse(lossless_run):
    df = _rows(lossless_run)
    summary = pd.read_csv(lossless_run / "summary.csv")
    assert list(summary.columns)[:len(SUMMARY_COLUMNS)] == SUMMARY_COLUMNS
    for column in ("n_images", "bpp", "psnr", "ms_ssim_db"):       # the contract's columns stay
        assert column in summary
    jpeg = summary[summary["codec"] == "jpeg"].set_index("quality")
    for q in JPEG_QS:
        rows = df[(df["codec"] == "jpeg") & (df["quality"] == q)].set_index("image")
        point = jpeg.loc[q]
        assert point["n_images"] == 2 and point["n_failed"] == 0
        assert point["bpp"] == pytest.approx(rows["bpp"].mean())                  # both images
        assert point["n_psnr_inf"] == 1
        assert point["psnr"] == pytest.approx(rows.loc["photo", "psnr"])          # the finite one only
        # Pooled over both (equal sizes): the flat image adds MSE 0, so the MSE halves: +3.01 dB.
        assert point["psnr_pooled"] == pytest.approx(rows.loc["photo", "psnr"] + 10 * math.log10(2))
        assert point["n_psnr_y_inf"] == 1 and np.isfinite(point["psnr_y_pooled"])
    j2k = summary[summary["codec"] == LOSSLESS_J2K].iloc[0]
    assert j2k["n_images"] == 2 and j2k["n_failed"] == 0 and j2k["n_psnr_inf"] == 2
    assert math.isnan(j2k["psnr"]) and j2k["psnr_pooled"] == math.inf   # every image lossless


def test_curves_leave_lossless_images_out_of_mean_psnr_and_say_why(lossless_run):
    df = _rows(lossless_run)
    curves = rd_curves(df, "psnr")
    assert list(curves) == ["jpeg"]
    jpeg = curves["jpeg"]
    assert jpeg.images == ("photo",) and jpeg.excluded == ("flat",)
    assert jpeg.why_excluded == {"flat": "lossless (PSNR infinite) at 30, 50, 70, 90"}
    # Same images at every point: bpp is the photo's too, never a mix of both images.
    photo = df[(df["codec"] == "jpeg") & (df["image"] == "photo")].sort_values("bpp")
    np.testing.assert_allclose(jpeg.bpp, photo["bpp"])
    assert left_out(df, "psnr")[LOSSLESS_J2K] == {"flat": "lossless (PSNR infinite) at 1",
                                                 "photo": "lossless (PSNR infinite) at 1"}
    why = omitted_codecs(df, "psnr")[LOSSLESS_J2K]
    assert "every image was coded losslessly" in why and "no image was coded successfully" not in why


def test_pooled_and_ms_ssim_curves_keep_lossless_images(lossless_run):
    df = _rows(lossless_run)
    summary = pd.read_csv(lossless_run / "summary.csv")
    pooled = rd_curves(df, "psnr_pooled")
    assert list(pooled) == ["jpeg"] and pooled["jpeg"].images == ("flat", "photo")
    expected = summary[summary["codec"] == "jpeg"].sort_values("bpp")
    np.testing.assert_allclose(pooled["jpeg"].quality, expected["psnr_pooled"])   # summary and curve agree
    np.testing.assert_allclose(pooled["jpeg"].bpp, expected["bpp"])
    assert rd_curves(df, "ms_ssim_db")["jpeg"].images == ("flat", "photo")
    # The lossless codec's only point is infinite: no curve, and the reason says so.
    assert "every image was coded losslessly at every rate point" in omitted_codecs(df, "psnr_pooled")[LOSSLESS_J2K]


def test_report_names_what_is_left_out_instead_of_calling_it_a_failure(lossless_run, tmp_path):
    from elicbench.report import build_report

    report = build_report([load_run(lossless_run)], anchor="jpeg", visual_bpp=None, plots=False, out_dir=tmp_path)
    assert not any("no image was coded successfully" in w for w in report.warnings)
    assert any(w.startswith(f"{LOSSLESS_J2K}: every image was coded losslessly (PSNR infinite)") for w in report.warnings)
    assert any(w.startswith("jpeg: 1 of 2 images left out of its PSNR (RGB) curve, coded losslessly")
               and "flat at 30, 50, 70, 90" in w for w in report.warnings)
    assert "every image was coded losslessly" in report.markdown and "1 of 2 images left out" in report.markdown
    assert report.rows[0].n_images == 1
    # --metric psnr_pooled counts the flat image.
    pooled = build_report([load_run(lossless_run)], anchor="jpeg", metric="psnr_pooled", visual_bpp=None,
                          plots=False, out_dir=tmp_path)
    assert pooled.rows[0].codec == "jpeg" and pooled.rows[0].n_images == 2
    assert "BD-PSNR (pooled)" in pooled.markdown


def test_psnr_pooled_with_published_curves_is_a_usage_error(lossless_run):
    from elicbench.report.table import ReportInputError, dataset_rows

    df = _rows(lossless_run).assign(dataset="kodak")
    with pytest.raises(ReportInputError, match="published curves give psnr and ms_ssim"):
        dataset_rows(df, "kodak", anchor="jpeg", metric="psnr_pooled", with_ref=["vtm"])


def test_plot_says_what_it_does_not_draw(lossless_run):
    from elicbench.analysis.runs import combined_results
    from elicbench.report.plot import dataset_figures

    df = combined_results([load_run(lossless_run)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figures = dict(dataset_figures(df, df["dataset"].iloc[0]))
    messages = [str(w.message) for w in caught]
    assert any(m.startswith(f"{LOSSLESS_J2K}: every image was coded losslessly") for m in messages)
    footnote = figures["rd_psnr"].get_supxlabel()
    assert "jpeg: 1 of 2 images left out of its PSNR (RGB) curve" in footnote.replace("\n    ", " ")
    assert LOSSLESS_J2K in figures["rd_psnr"].get_supxlabel()
    assert LOSSLESS_J2K in figures["time_encode"].get_supxlabel()     # timing plots use the PSNR curves
    import matplotlib.pyplot as plt

    for fig in figures.values():
        plt.close(fig)


def test_check_compares_lossless_rows_and_names_the_rule(lossless_run, tmp_path):
    from elicbench.check import check_baseline

    result = check_baseline(lossless_run, out=tmp_path / "new", jobs=1, progress=False)
    assert result.passed, result.text
    status = {c["codec"]: c["status"] for c in result.curves}
    assert status[LOSSLESS_J2K].startswith("n/a (no curve in the baseline: every image was coded losslessly")
    assert "note: jpeg: 1 of 2 images left out of its PSNR (RGB) curve" in result.text


def test_check_says_when_a_row_stops_being_lossless():
    from elicbench.check import Tolerances, compare

    base = pd.DataFrame([{"image": "flat", "codec": "jpeg", "quality": 50.0, "bytes": 100.0, "psnr": math.inf,
                          "ms_ssim": 1.0, "error": ""}])
    new = base.assign(psnr=48.1, ms_ssim=1.0)
    rows = compare(base, new, {"jpeg": True}, Tolerances())
    assert rows[0]["verdict"] == "regressed"
    assert "PSNR inf -> 48.1 dB (worse: no longer lossless)" in rows[0]["problem"]
    assert compare(base, base.copy(), {"jpeg": True}, Tolerances()) == []       # inf == inf: no move
    back = compare(new, base, {"jpeg": True}, Tolerances())
    assert back[0]["verdict"] == "changed" and "now lossless" in back[0]["problem"]


def test_rate_matched_table_leaves_infinite_psnr_out_of_the_mean_and_counts_it():
    from elicbench.report.matched import matched_markdown, matched_table

    rows = [{"dataset": "d", "codec": "jpeg", "target_bpp": 0.5, "image": image, "bpp": 0.5, "psnr": value,
             "ms_ssim": 0.99, "encode_s": 0.01, "decode_s": 0.01, "error": ""}
            for image, value in (("flat", math.inf), ("photo", 31.0))]
    table = matched_table(pd.DataFrame(rows))
    assert table.loc[0, "psnr"] == pytest.approx(31.0) and table.loc[0, "n_psnr_inf"] == 1
    assert "1 lossless row(s) (PSNR infinite) left out" in matched_markdown(table)


def test_coverage_notes_are_empty_without_lossless_rows(lossless_run):
    df = _rows(lossless_run)
    assert coverage_notes(df[df["image"] == "photo"], "psnr") == [LOSSLESS_J2K + ": " +
                                                                  omitted_codecs(df[df["image"] == "photo"])[LOSSLESS_J2K]]
    assert coverage_notes(df[(df["image"] == "photo") & (df["codec"] == "jpeg")], "psnr") == []
