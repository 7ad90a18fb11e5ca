"""``jpeg2000``: JPEG 2000 (JP2 files) through Pillow's OpenJPEG."""
from __future__ import annotations

from typing import Any

from .base import QualityScale
from .catalog import register_codec
from .pillow_common import PillowCodec, PillowFormat, yes_no_option


@register_codec("jpeg2000")
class Jpeg2000(PillowCodec):
    """JPEG 2000 (JP2 file) through Pillow's OpenJPEG.

    The rate knob is OpenJPEG's compression ratio (``quality_mode="rates"``): the file holds about
    24/ratio bits per pixel for 8-bit RGB, so a sweep lands on exact rates (ratio 240 -> 0.10 bpp,
    12 -> 2.0 bpp); higher ratio = fewer bits. (The "dB" mode spreads one setting over 0.04-0.8 bpp
    across Kodak images.) Pillow's defaults (reversible 5/3 wavelet, no colour transform) give
    32.0 dB at 1.2 bpp on Kodak (24 images) against 37.1 dB for the usual lossy choice, the
    irreversible 9/7 wavelet with the YCbCr colour transform, which is the default here.
    """
    plot_colour = "#8c564b"

    extension = "jp2"
    pillow = PillowFormat("JPEG2000", feature="jpg_2000", library="openjpeg")
    quality_scale = QualityScale("compression ratio", 1, 1000, integer=False, higher_means_more_bits=False)
    default_qualities = (240, 192, 128, 96, 64, 48, 32, 24, 16, 12)
    options = {
        "irreversible": yes_no_option(True, "irreversible 9/7 wavelet (false: reversible 5/3)"),
        "mct": yes_no_option(True, "RGB -> YCbCr multiple-component transform"),
    }
    summary = "JPEG 2000 (OpenJPEG via Pillow), compression ratio 1-1000, 9/7 wavelet + YCbCr"

    def save_params(self, quality: int | float) -> dict[str, Any]:
        return {"quality_mode": "rates", "quality_layers": [quality],
                "irreversible": self.settings["irreversible"], "mct": int(self.settings["mct"])}
