"""``jpegli``: Google's JPEG encoder from the libjxl project (adaptive quantisation, better
quantisation tables), through the ``pyjpegli`` wheel. Its files are ordinary JPEG: they are decoded
here by Pillow's libjpeg-turbo, the standard decoder the ``jpeg`` codec uses, so the comparison
with libjpeg-turbo's encoder is one of encoders only.

(The ``imagecodecs`` wheels for Python 3.11 were checked too: 2025.11.11 has ``MOZJPEG.available``
False and no jpegli codec, so ``pyjpegli`` is the one maintained wheel with a stronger JPEG encoder.)
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .base import CodecError, QualityScale
from .catalog import register_codec
from .pillow import PluginCodec, _check_rgb, _package_version, _pillow_version, _to_array


@register_codec("jpegli")
class Jpegli(PluginCodec):
    """JPEG through jpegli (pyjpegli), quality 1-100 (libjpeg-compatible scale), pyjpegli's default
    settings (it exposes quality only)."""

    extension = "jpg"
    plot_colour = "#7b4173"  # plum: apart from libjpeg-turbo's blue on one plot
    quality_scale = QualityScale("quality", 1, 100)
    default_qualities = (5, 10, 20, 30, 40, 50, 60, 75, 85, 90)
    summary = "JPEG encoded by jpegli (pyjpegli), decoded by libjpeg-turbo; quality 1-100"
    plugin_module, plugin_package, plugin_extra = "pyjpegli", "pyjpegli", "jpegli"

    @classmethod
    def versions(cls) -> dict[str, str]:
        out = _pillow_version()
        out["pyjpegli"] = _package_version("pyjpegli") or "not installed"
        return out

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        q = int(self.validate_quality(quality))
        encoder = self._require()
        _check_rgb(image, self.label)
        h, w = image.shape[:2]
        return encoder.encode(np.ascontiguousarray(image).tobytes(), w, h, q)

    def decode(self, data: bytes) -> np.ndarray:
        try:
            with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
                return _to_array(im)
        except OSError as exc:
            raise CodecError(f"{self.label}: not a decodable JPEG ({exc})") from None
