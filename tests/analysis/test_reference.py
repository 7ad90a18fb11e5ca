import numpy as np
import pytest

from elicbench.analysis.reference import (
    UnknownReferenceError, check_reference_names, reference_curve, reference_curves, reference_datasets,
)


def test_shipped_kodak_curves():
    curves = reference_curves("kodak")
    assert {"vtm", "elic-paper", "hm", "bpg444", "av1-aomenc", "jpeg2000-openjpeg"} <= set(curves)
    vtm = curves["vtm"]
    assert len(vtm.bpp) == 8 and np.all(np.diff(vtm.bpp) > 0)
    assert vtm.psnr[0] == pytest.approx(26.1448)
    assert vtm.ms_ssim_db[0] == pytest.approx(-10 * np.log10(1 - 0.860608))
    for c in curves.values():
        assert "CompressAI" in c.source or "ELIC" in c.source
        assert np.all((c.ms_ssim > 0) & (c.ms_ssim < 1))
    assert "kodak" in reference_datasets()


def test_curve_view_and_prefix():
    c = reference_curve("ref:elic-paper").curve("ms_ssim_db")
    assert c.label == "ref:elic-paper" and c.metric == "ms_ssim_db"
    assert c.source.startswith("published:")
    with pytest.raises(ValueError, match="psnr and ms_ssim"):
        reference_curve("vtm").curve("psnr_y")


def test_unknown_names_list_known_ones():
    with pytest.raises(UnknownReferenceError, match="known: .*vtm"):
        reference_curve("vvc")
    with pytest.raises(UnknownReferenceError, match="available for: kodak"):
        reference_curves("imagenet")
    assert check_reference_names(["ref:vtm", "hm"]) == ["vtm", "hm"]
    with pytest.raises(UnknownReferenceError, match="'vvc'"):
        check_reference_names(["vtm", "vvc"])


def test_points_are_read_only():
    with pytest.raises(ValueError):
        reference_curve("vtm").bpp[0] = 1.0


def test_published_image_count_comes_from_the_shipped_source_note():
    from elicbench.analysis.reference import published_image_count

    assert published_image_count("kodak") == 24          # SOURCE.md: "... on Kodak (24 images, ..."
    assert published_image_count("no-such-dataset") is None
