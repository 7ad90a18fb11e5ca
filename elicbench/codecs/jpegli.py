"""``jpegli``: Google's JPEG encoder from the libjxl project (adaptive quantisation, better
quantisation tables), through the ``pyjpegli`` wheel. Its files are ordinary JPEG: they are decoded
here by Pillow's libjpeg-turbo, the standard decoder the ``jpeg`` codec uses, so the comparison
with libjpeg-turbo's encoder is one of encoders only.

(The ``imagecodecs`` wheels for Python 3.11 were checked too: 2025.11.11 has ``MOZJPEG.available``
False and no jpegli codec, so ``pyjpegli`` is the one maintained wheel with a stronger JPEG encoder.)
"""
from __future__ import annotations

import numpy as np

from .base import CodecError
from .catalog import register_codec
from .jpeg import Jpeg
from .pillow_common import PluginCodec, open_with_pillow


@register_codec("jpegli")
class Jpegli(PluginCodec):
    """JPEG through jpegli (pyjpegli), quality 1-100 (libjpeg-compatible scale), pyjpegli's default
    settings (it exposes quality only)."""

    plot_colour = "#7b4173"  # plum: apart from libjpeg-turbo's blue on one plot
    # JPEG files on libjpeg's quality scale: the same scale and sweep as `jpeg`, so that the two
    # encoders are compared at the same settings.
    extension = Jpeg.extension
    quality_scale = Jpeg.quality_scale
    default_qualities = Jpeg.default_qualities
    summary = "JPEG encoded by jpegli (pyjpegli), decoded by libjpeg-turbo; quality 1-100"
    plugin_module, plugin_package, plugin_extra = "pyjpegli", "pyjpegli", "jpegli"

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        q, encoder = self._encode_inputs(image, quality)
        h, w = image.shape[:2]
        return encoder.encode(np.ascontiguousarray(image).tobytes(), w, h, int(q))

    def decode(self, data: bytes) -> np.ndarray:
        try:
            return open_with_pillow(data, Jpeg.pillow.name)
        except OSError as exc:
            raise CodecError(f"{self.label}: not a decodable JPEG ({exc})") from None
