"""The ``jpeg2000`` codec (OpenJPEG through Pillow): the compression ratio sets the rate, the default wavelet."""
from __future__ import annotations

from elicbench.metrics import bits_per_pixel, psnr

from codec_helpers import make


def test_jpeg2000_ratio_sets_the_rate(photo):
    """Compression ratio r on 8-bit RGB gives about 24/r bits per pixel, whatever the content."""
    codec = make("jpeg2000")
    for n in (1, 23):
        image = photo(n)
        bpp = bits_per_pixel(len(codec.encode(image, 48)), image.shape[1], image.shape[0])
        assert 0.47 < bpp <= 0.5, (n, bpp)


def test_jpeg2000_default_beats_pillows_default_wavelet(crop):
    """The 9/7 wavelet + YCbCr default is better than Pillow's reversible default at the same rate."""
    ours, reversible = make("jpeg2000"), make("jpeg2000", irreversible="false", mct="no")
    assert psnr(crop, ours.decode(ours.encode(crop, 24))) > psnr(crop, reversible.decode(reversible.encode(crop, 24))) + 1
