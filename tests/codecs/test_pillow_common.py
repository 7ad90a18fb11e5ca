"""The Pillow codecs on real photographs (Kodak, or the `photo` fallback): round trips, rates, options, errors, determinism.

What one codec alone does is tested beside it (test_jpeg.py, test_jpeg2000.py, test_avif.py)."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from elicbench.codecs import BadCodecInput, get_codec
from elicbench.codecs import pillow_common
from elicbench.metrics import bits_per_pixel, psnr

from codec_helpers import low_high, make

ALL = ["jpeg", "webp", "jpeg2000", "avif", "avif-svt", "avif-rav1e", "jxl", "heif"]
FAST = ["jpeg", "webp", "jpeg2000"]   # whole default sweeps at full size take well under a second


@pytest.mark.parametrize("name", ALL)
def test_round_trip_rate_and_quality_rise_together(name, crop):
    codec = make(name)
    low, high = low_high(codec)
    results = []
    for q in (low, high):
        data = codec.encode(crop, q)
        out = codec.decode(data)
        assert isinstance(data, bytes)
        assert out.dtype == np.uint8 and out.shape == crop.shape
        results.append((len(data), psnr(crop, out)))
    (small, p_low), (big, p_high) = results
    assert small < big, f"{name}: {low} gave {small} B, {high} gave {big} B"
    assert 20 < p_low < p_high < 60, (p_low, p_high)


@pytest.mark.parametrize("name", ALL)
def test_stored_bytes_are_a_complete_file(name, crop, tmp_path):
    """bpp counts the whole file: the bytes written to disk decode on their own to the same pixels."""
    codec = make(name)
    data = codec.encode(crop, low_high(codec)[1])
    path = tmp_path / f"image.{codec.extension}"
    path.write_bytes(data)
    h, w = crop.shape[:2]
    assert bits_per_pixel(path.stat().st_size, w, h) == 8 * len(data) / (w * h)
    # A fresh instance with other settings decodes them: decoding uses nothing but the file.
    other = {"jpeg": {"subsampling": "4:4:4"}, "webp": {"method": 0}, "avif": {"speed": 9}}.get(name, {})
    assert np.array_equal(make(name, **other).decode(path.read_bytes()), codec.decode(data))


@pytest.mark.parametrize("name", ALL)
def test_deterministic_codecs_give_the_same_bytes_twice(name, crop):
    codec = make(name)
    assert codec.deterministic
    q = low_high(codec)[0]
    assert codec.encode(crop, q) == make(name).encode(crop, q)


@pytest.mark.parametrize("name", FAST)
def test_default_sweep_spans_the_rates(name, photo):
    """On a full 768x512 photograph the default sweep rises monotonically from low to high bpp."""
    codec = make(name)
    image = photo(23)
    h, w = image.shape[:2]
    qs = sorted(codec.qualities(), reverse=not codec.quality_scale.higher_means_more_bits)
    bpp = [bits_per_pixel(len(codec.encode(image, q)), w, h) for q in qs]
    assert all(a < b for a, b in zip(bpp, bpp[1:])), bpp
    assert bpp[0] < 0.3 and bpp[-1] > 1.0, bpp


@pytest.mark.parametrize(("name", "bad", "expected"), [
    ("jpeg", 0, "quality 0 is out of range [1, 100]"),
    ("jpeg", 101, "quality 101 is out of range [1, 100]"),
    ("webp", -1, "out of range [0, 100]"),
    ("jpeg2000", 0.5, "compression ratio 0.5 is out of range [1, 1000]"),
    ("avif", 50.5, "quality must be a whole number"),
    ("jpeg", "high", "quality must be a number"),
])
def test_quality_out_of_range(name, bad, expected, crop):
    with pytest.raises(BadCodecInput, match=expected.replace("[", r"\[").replace("]", r"\]")):
        make(name).encode(crop, bad)


def test_unknown_option_and_bad_values():
    with pytest.raises(BadCodecInput, match=r"jpeg: unknown option\(s\) qualiti; options: optimize, progressive, subsampling"):
        get_codec("jpeg")(qualiti=3)
    with pytest.raises(BadCodecInput, match="subsampling='4:1:1' not in"):
        get_codec("jpeg")(subsampling="4:1:1")
    with pytest.raises(BadCodecInput, match="optimize='maybe' is not valid"):
        get_codec("jpeg")(optimize="maybe")
    with pytest.raises(BadCodecInput, match="speed=11 not in"):
        get_codec("avif")(speed="11")
    with pytest.raises(BadCodecInput, match="threads='0' is not valid"):
        get_codec("avif")(threads="0")
    with pytest.raises(BadCodecInput, match="subsampling='4:4:4' not in"):
        get_codec("avif-svt")(subsampling="4:4:4")   # SVT-AV1 encodes 4:2:0 only


def test_options_parse_from_command_line_text():
    codec = get_codec("avif")(speed="4", threads="2")
    assert codec.settings == {"speed": 4, "subsampling": "4:2:0", "threads": 2}
    assert codec.label == "avif[speed=4,threads=2]"   # aom's output depends on the thread count
    assert get_codec("jpeg2000")(irreversible="no").settings["irreversible"] is False


def test_encode_rejects_non_rgb_input(crop):
    codec = make("jpeg")
    with pytest.raises(BadCodecInput, match=r"expects an RGB uint8 array of shape \(H, W, 3\), got uint8\(256, 384\)"):
        codec.encode(crop[..., 0], 50)
    with pytest.raises(BadCodecInput, match="got float64"):
        codec.encode(crop.astype(np.float64), 50)


def test_versions_name_the_libraries():
    import PIL

    jpeg = get_codec("jpeg").versions()
    assert jpeg["pillow"] == PIL.__version__
    assert jpeg["libjpeg-turbo"][0].isdigit()
    assert get_codec("webp").versions()["libwebp"][0].isdigit()
    assert get_codec("jpeg2000").versions()["openjpeg"][0].isdigit()
    avif = get_codec("avif").versions()
    assert {"libavif", "aom", "dav1d"} <= set(avif)
    if get_codec("avif-svt").availability():
        svt = get_codec("avif-svt").versions()
        assert svt["pillow-avif-plugin"] == "1.6.0" and "svt-av1" in svt


@pytest.mark.parametrize(("name", "module", "extra"), [("jxl", "pillow_jxl", "jxl"), ("heif", "pillow_heif", "heif")])
def test_optional_codec_without_its_plugin(name, module, extra, monkeypatch, crop):
    """Registered always; without the plug-in, unavailable with the install command as the reason."""
    monkeypatch.setitem(sys.modules, module, None)   # makes `import module` raise ImportError
    pillow_common._import_optional.cache_clear()
    try:
        cls = get_codec(name)
        available = cls.availability()
        assert not available
        assert f"pip install 'elicbench[{extra}]'" in available.reason
        with pytest.raises(pillow_common.CodecUnavailable, match=f"elicbench\\[{extra}\\]"):
            cls().encode(crop, 50)
    finally:
        pillow_common._import_optional.cache_clear()
