import math

import numpy as np
import pandas as pd
import pytest

from elicbench.analysis.curves import complete_images, image_curves, rd_curves


def frame(rows):
    base = {"dataset": "d", "error": "", "target_bpp": np.nan, "encode_s": 0.01, "decode_s": 0.005, "psnr_y": np.nan}
    return pd.DataFrame([{**base, **r} for r in rows])


def rows_for(codec, image, points, **extra):
    """points: [(quality, bpp, psnr, ms_ssim)]"""
    return [{"codec": codec, "image": image, "quality": q, "bpp": b, "psnr": p, "ms_ssim": m, **extra}
            for q, b, p, m in points]


def test_means_over_images_sorted_by_bpp():
    df = frame(rows_for("jpeg", "a", [(90, 2.0, 40.0, 0.99), (50, 1.0, 34.0, 0.97)])
               + rows_for("jpeg", "b", [(90, 3.0, 38.0, 0.98), (50, 1.4, 32.0, 0.95)]))
    c = rd_curves(df, "psnr")["jpeg"]
    assert c.bpp.tolist() == pytest.approx([1.2, 2.5])
    assert c.quality.tolist() == pytest.approx([33.0, 39.0])
    assert c.knobs == ("50", "90")
    assert c.images == ("a", "b") and c.n_images == 2
    # MS-SSIM dB of the mean MS-SSIM, not the mean of per-image dB values.
    m = rd_curves(df, "ms_ssim_db")["jpeg"]
    assert m.quality[0] == pytest.approx(-10 * math.log10(1 - 0.96))
    assert m.metric == "ms_ssim_db"


def test_image_failing_at_one_point_is_left_out_of_all_points():
    df = frame(rows_for("webp", "a", [(50, 1.0, 34.0, 0.97), (90, 2.0, 40.0, 0.99)])
               + rows_for("webp", "b", [(50, 9.0, 20.0, 0.5)])
               + [{"codec": "webp", "image": "b", "quality": 90, "bpp": np.nan, "psnr": np.nan, "ms_ssim": np.nan,
                   "error": "CodecError: boom"}])
    c = rd_curves(df, "psnr")["webp"]
    assert c.images == ("a",) and c.excluded == ("b",)
    assert c.bpp.tolist() == [1.0, 2.0]
    assert complete_images(df) == {"webp": {"a"}}
    # Per-image curves keep b's one usable point.
    per = image_curves(df, "psnr")["webp"]
    assert len(per["a"]) == 2 and len(per["b"]) == 1


def test_infinite_psnr_is_not_usable():
    df = frame(rows_for("x", "a", [(1, 1.0, 30.0, 0.9), (2, 2.0, math.inf, 1.0)])
               + rows_for("x", "b", [(1, 1.0, 31.0, 0.9), (2, 2.0, 35.0, 0.95)]))
    assert rd_curves(df, "psnr")["x"].images == ("b",)


def test_images_filter_and_codec_without_images_is_omitted():
    df = frame(rows_for("a", "i1", [(1, 1.0, 30.0, 0.9)]) + rows_for("a", "i2", [(1, 3.0, 20.0, 0.8)])
               + rows_for("b", "i2", [(1, 1.0, 30.0, 0.9)]))
    curves = rd_curves(df, "psnr", images=["i1"])
    assert list(curves) == ["a"] and curves["a"].bpp.tolist() == [1.0]


def test_rate_matched_rows_group_by_target():
    df = frame(rows_for("elic", "a", [(0.0035, 0.48, 33.0, 0.97)], target_bpp=0.5)
               + rows_for("elic", "b", [(0.0067, 0.53, 31.0, 0.96)], target_bpp=0.5))
    c = rd_curves(df, "psnr")["elic"]
    assert len(c) == 1 and c.knobs == ("target 0.5 bpp",)
    assert c.bpp[0] == pytest.approx(0.505)


def test_several_datasets_and_unknown_metric_are_refused():
    df = frame(rows_for("a", "i", [(1, 1.0, 30.0, 0.9)]))
    df2 = df.assign(dataset="other")
    with pytest.raises(ValueError, match="several datasets"):
        rd_curves(pd.concat([df, df2]), "psnr")
    with pytest.raises(ValueError, match="ms_ssim_db"):
        rd_curves(df, "ssim")
