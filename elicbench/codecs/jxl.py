"""``jxl``: JPEG XL through pillow-jxl-plugin (libjxl)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .base import CodecError, Option, QualityScale
from .catalog import register_codec
from .pillow_common import PluginCodec


@register_codec("jxl")
class JpegXL(PluginCodec):
    """JPEG XL (libjxl inside pillow-jxl-plugin), lossy, one thread.

    Effort 7 is libjxl's default. Kodak (4 images): q=0 -> 0.14 bpp, q=90 -> 1.7 bpp.
    The plug-in does not report its libjxl version (its wheel 1.3.8 bundles libjxl 0.12 through
    jpegxl-rs 0.15); the plug-in version identifies it.
    """
    plot_colour = "#17becf"

    extension = "jxl"
    quality_scale = QualityScale("quality", 0, 99)
    default_qualities = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90)
    options = {
        "effort": Option(7, "encoder effort, 1 (fastest) - 9", choices=tuple(range(1, 10)), parse=int),
    }
    summary = "JPEG XL (pillow-jxl-plugin), quality 0-99, effort 7"
    plugin_module, plugin_package, plugin_extra = "pillow_jxl", "pillow-jxl-plugin", "jxl"

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        q, _ = self._encode_inputs(image, quality)   # importing the plug-in registers Pillow's "JXL" format
        buf = io.BytesIO()
        # quality 100 would be lossless; the scale stops at 99. No EXIF/XMP: the fresh image has none.
        Image.fromarray(image).save(buf, format="JXL", quality=q, effort=self.settings["effort"], lossless=False,
                                    num_threads=1)
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        plugin = self._require()
        is_jpeg, info, pixels, _icc, _boxes = plugin.Decoder(num_threads=1)(data)
        if is_jpeg or info.mode != "RGB":
            raise CodecError(f"{self.label}: expected an RGB JPEG XL image, got mode {info.mode}"
                             + (" (a reconstructed JPEG)" if is_jpeg else ""))
        return np.frombuffer(pixels, np.uint8).reshape(info.height, info.width, 3)
