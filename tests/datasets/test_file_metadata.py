"""What a dataset folder holds beyond pixels (issue 13, item 6): EXIF orientation and ICC profiles are
recorded per image in the manifest and not applied (one warning per run); a broken symbolic link is an image
that cannot be read, so it becomes an error row like any unreadable file, never a silent gap."""
from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest
from PIL import Image, ImageCms

from elicbench.datasets import (DatasetWarning, ImageLoadError, ignored_metadata, ignored_metadata_warning,
                                image_record, load_rgb, resolve_dataset)
from elicbench.datasets.base import ImageRef
from elicbench.results import load_results

RNG = np.random.default_rng(7)


def _pixels(h: int = 20, w: int = 30) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _rotated_jpeg(path, orientation: int = 6) -> np.ndarray:
    a = _pixels()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(a).save(path, exif=exif, quality=95)
    return a


def _profile(kind: str) -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile(kind)).tobytes()


# --- EXIF orientation -------------------------------------------------------------------------------

def test_exif_orientation_is_recorded_not_applied(tmp_path):
    _rotated_jpeg(tmp_path / "o.jpg", 6)
    rgb, conversion = load_rgb(tmp_path / "o.jpg")
    assert rgb.shape == (20, 30, 3) and conversion == ""          # as stored: 30 wide, 20 high
    assert ignored_metadata(tmp_path / "o.jpg") == {"exif_orientation": 6,
                                                    "exif_orientation_meaning": "rotated 90 clockwise"}


def test_orientation_1_and_no_exif_are_nothing_to_record(tmp_path):
    _rotated_jpeg(tmp_path / "upright.jpg", 1)
    Image.fromarray(_pixels()).save(tmp_path / "plain.png")
    assert ignored_metadata(tmp_path / "upright.jpg") == {}
    assert ignored_metadata(tmp_path / "plain.png") == {}
    assert ignored_metadata(tmp_path / "missing.png") == {}     # unreadable: load_rgb says why, not this


# --- ICC profiles ----------------------------------------------------------------------------------

def test_icc_profile_is_recorded_not_applied(tmp_path):
    a = _pixels()
    icc = _profile("LAB")
    Image.fromarray(a).save(tmp_path / "lab.png", icc_profile=icc)
    rgb, conversion = load_rgb(tmp_path / "lab.png")
    np.testing.assert_array_equal(rgb, a)                         # values as stored, no colour conversion
    assert conversion == ""
    record = ignored_metadata(tmp_path / "lab.png")["icc_profile"]
    assert record["bytes"] == len(icc) and record["srgb"] is False
    assert record["description"] == ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    assert len(record["sha256"]) == 64


def test_srgb_profile_is_recorded_but_not_warned_about(tmp_path):
    Image.fromarray(_pixels()).save(tmp_path / "s.png", icc_profile=_profile("sRGB"))
    record = image_record(ImageRef("d", "s", tmp_path / "s.png"))
    assert record["icc_profile"]["srgb"] is True
    assert ignored_metadata_warning([record]) is None


def test_one_warning_names_the_images_with_ignored_metadata(tmp_path):
    records = [{"name": f"r{i}", "exif_orientation": 8, "exif_orientation_meaning": "rotated 90 counter-clockwise"}
               for i in range(5)]
    records.append({"name": "lab", "icc_profile": {"description": "Lab identity built-in", "srgb": False}})
    text = ignored_metadata_warning(records)
    assert text.startswith("5 image(s) have an EXIF orientation that viewers apply, not applied here: "
                           "r0 (8: rotated 90 counter-clockwise), r1 (8: rotated 90 counter-clockwise), "
                           "r2 (8: rotated 90 counter-clockwise) and 2 more; 1 image(s) have a non-sRGB ICC "
                           "profile, not applied here: lab (Lab identity built-in).")
    assert "manifest.json" in text


# --- broken symbolic links -------------------------------------------------------------------------

def test_a_broken_symlink_is_listed_and_cannot_be_read(tmp_path):
    Image.fromarray(_pixels()).save(tmp_path / "a.png")
    (tmp_path / "gone.png").symlink_to(tmp_path / "nowhere" / "gone.png")
    (tmp_path / "loop1.png").symlink_to(tmp_path / "loop2.png")
    (tmp_path / "loop2.png").symlink_to(tmp_path / "loop1.png")
    (tmp_path / "link.png").symlink_to(tmp_path / "a.png")        # a working link is an ordinary image
    (tmp_path / "dir.png").mkdir()                                 # a directory is not an image: skipped
    dataset = resolve_dataset(str(tmp_path))
    assert [r.name for r in dataset.images] == ["a", "gone", "link", "loop1", "loop2"]
    by_name = {r.name: r for r in dataset.images}
    assert load_rgb(by_name["link"])[0].shape == (20, 30, 3)
    with pytest.raises(ImageLoadError, match=r"gone\.png: cannot read image: broken symbolic link to "
                                             r".*nowhere/gone\.png \(the target does not exist\)"):
        load_rgb(by_name["gone"])
    with pytest.raises(ImageLoadError, match=r"loop1\.png: cannot read image: symbolic link to .*loop2\.png that "
                                             r"loops back on itself"):
        load_rgb(by_name["loop1"])
    record = image_record(by_name["gone"])
    assert record["sha256"] is None and record["bytes"] is None and "broken symbolic link" in record["error"]


# --- a run ------------------------------------------------------------------------------------------

def test_a_run_records_ignored_metadata_warns_once_and_makes_broken_links_error_rows(tmp_path):
    from elicbench.runner import RunConfig, run_benchmark

    images = tmp_path / "imgs"
    images.mkdir()
    _rotated_jpeg(images / "rotated.jpg", 6)
    Image.fromarray(_pixels()).save(images / "lab.png", icc_profile=_profile("LAB"))
    Image.fromarray(_pixels()).save(images / "srgb.png", icc_profile=_profile("sRGB"))
    (images / "gone.png").symlink_to(tmp_path / "deleted.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = run_benchmark(RunConfig(dataset=str(images), codecs=["jpeg"], qualities={"jpeg": [50]},
                                          out=tmp_path / "run", jobs=1, progress=False))
    ours = [w for w in caught if issubclass(w.category, DatasetWarning)]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert "rotated (6: rotated 90 clockwise)" in message and "lab (Lab identity built-in)" in message
    assert "srgb" not in message.replace("non-sRGB", "")

    # The broken link is an error row naming the file; the other images ran.
    assert not outcome.ok and [f["image"] for f in outcome.failures] == ["gone"]
    df = load_results(outcome.run_dir / "results.csv").set_index("image")
    assert "gone.png: cannot read image: broken symbolic link" in df.loc["gone", "error"]
    assert (df.drop(index="gone")["error"] == "").all()
    assert df.loc["rotated", "width"] == 30 and df.loc["rotated", "height"] == 20   # coded as stored

    manifest = json.loads((outcome.run_dir / "manifest.json").read_text())
    by_name = {im["name"]: im for im in manifest["dataset"]["images"]}
    assert by_name["rotated"]["exif_orientation"] == 6
    assert by_name["lab"]["icc_profile"]["srgb"] is False
    assert by_name["srgb"]["icc_profile"]["srgb"] is True
    assert by_name["gone"]["sha256"] is None and "broken symbolic link" in by_name["gone"]["error"]
